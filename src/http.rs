//! One HTTP policy for every client: timeouts, retries, rate-limit waits, the
//! plain-http rule, and the API footprint that goes into the evidence record.
//!
//! Retry rules (shared/research/okta.md §4, graph.md §4, aws.md): a 429 is always
//! retried, because the server refused the request without processing it; 5xx
//! and transport failures only when the caller says the request is idempotent,
//! because a lost response to a POST may hide a user that was created. The wait
//! is the one the server asks for (Okta's `X-Rate-Limit-Reset`, `Retry-After`,
//! AWS's `RetryAfterSeconds`), else exponential backoff with jitter.

use std::collections::BTreeMap;
use std::fmt;
use std::hash::{BuildHasher, Hasher};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};
use reqwest::StatusCode;
use reqwest::header::HeaderMap;
use url::{Host, Url};

use crate::duration;

/// The systems jmlproof talks to; the footprint and error texts name them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    Okta,
    Graph,
    /// Token endpoints (Okta's and Entra's), kept apart so auth traffic is visible.
    Login,
    Aws,
}

impl System {
    pub fn as_str(self) -> &'static str {
        match self {
            System::Okta => "okta",
            System::Graph => "graph",
            System::Login => "login",
            System::Aws => "aws",
        }
    }
}

impl fmt::Display for System {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

#[derive(Debug, Clone)]
pub struct Policy {
    pub connect_timeout: Duration,
    /// Whole request, headers and body.
    pub request_timeout: Duration,
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// Total time one call may spend waiting between attempts. A server that
    /// asks for more than what is left is not waited for: the call gives up.
    pub max_wait: Duration,
    pub backoff_base: Duration,
    pub backoff_cap: Duration,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            connect_timeout: Duration::from_secs(10),
            request_timeout: Duration::from_secs(30),
            max_retries: 5,
            max_wait: Duration::from_secs(120),
            backoff_base: Duration::from_millis(250),
            backoff_cap: Duration::from_secs(30),
        }
    }
}

/// Calls per system and endpoint, for the evidence record. Shared via `Arc`.
#[derive(Debug, Default)]
pub struct Footprint {
    counts: Mutex<BTreeMap<(System, String), Counts>>,
}

#[derive(Debug, Default, Clone, Copy)]
struct Counts {
    calls: u64,
    retries: u64,
    throttled: u64,
    errors: u64,
    waited_ms: u64,
}

/// One row of the footprint. `endpoint` is `METHOD label`, e.g. `GET /api/v1/users/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct EndpointStats {
    pub system: System,
    pub endpoint: String,
    /// Logical calls (a call and its retries count once).
    pub calls: u64,
    /// Extra attempts.
    pub retries: u64,
    /// 429 responses.
    pub throttled: u64,
    /// Attempts that failed in transport or got a 5xx.
    pub errors: u64,
    /// Time spent waiting between attempts, throttling and backoff.
    pub waited_ms: u64,
}

impl Footprint {
    pub fn new() -> Arc<Footprint> {
        Arc::new(Footprint::default())
    }

    fn add(&self, system: System, endpoint: &str, f: impl FnOnce(&mut Counts)) {
        // A panic elsewhere while holding the lock leaves counts that are still
        // valid numbers, so a poisoned lock is used as is.
        let mut counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        f(counts.entry((system, endpoint.to_string())).or_default());
    }

    /// Counts one attempt of a call made outside `HttpClient` (the AWS SDK, which
    /// retries by itself): the first attempt is a call, later ones are retries.
    pub fn record_attempt(&self, system: System, endpoint: &str, first: bool) {
        self.add(system, endpoint, |c| if first { c.calls += 1 } else { c.retries += 1 });
    }

    /// Counts a response outside `HttpClient`: throttled (429 or a throttling error) or a 5xx.
    pub fn record_outcome(&self, system: System, endpoint: &str, throttled: bool, server_error: bool) {
        self.add(system, endpoint, |c| {
            c.throttled += u64::from(throttled);
            c.errors += u64::from(server_error);
        });
    }

    /// Sorted by system, then endpoint.
    pub fn snapshot(&self) -> Vec<EndpointStats> {
        let counts = self.counts.lock().unwrap_or_else(PoisonError::into_inner);
        counts
            .iter()
            .map(|((system, endpoint), c)| EndpointStats {
                system: *system,
                endpoint: endpoint.clone(),
                calls: c.calls,
                retries: c.retries,
                throttled: c.throttled,
                errors: c.errors,
                waited_ms: c.waited_ms,
            })
            .collect()
    }
}

/// Every variant displays as one line naming the system (and the endpoint when
/// there is one). No header, token or query string is ever included.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error("{}{reason}", prefix(*system))]
    Url { system: Option<System>, reason: String },
    #[error("{system}: cannot build the HTTP client: {reason}")]
    Client { system: System, reason: String },
    /// `endpoint` is `METHOD label`.
    #[error("{system} {endpoint}: {cause}")]
    Request { system: System, endpoint: String, cause: String },
    #[error(
        "{system} {endpoint}: gave up after {attempts} attempt{} (last: {last}), waited {:.1}s",
        if *attempts == 1 { "" } else { "s" },
        waited.as_secs_f64()
    )]
    GaveUp { system: System, endpoint: String, attempts: u32, last: String, waited: Duration },
}

fn prefix(system: Option<System>) -> String {
    system.map(|s| format!("{s}: ")).unwrap_or_default()
}

/// Parses a URL and applies the transport rule: https anywhere, plain http only
/// to a loopback host (the sandbox, moto_server), nothing else.
pub fn check_url(url: &str) -> Result<Url, HttpError> {
    let parsed = Url::parse(url).map_err(|e| HttpError::Url { system: None, reason: format!("invalid URL: {e}") })?;
    check_parsed(&parsed).map_err(|reason| HttpError::Url { system: None, reason })?;
    Ok(parsed)
}

/// The rule itself, with a plain message; config validation shares it.
pub fn check_parsed(url: &Url) -> Result<(), String> {
    let host = url.host().ok_or_else(|| format!("{} URL has no host", url.scheme()))?;
    match url.scheme() {
        "https" => Ok(()),
        "http" if is_loopback(&host) => Ok(()),
        "http" => Err(format!("plain http is refused for non-loopback host {host} (use https)")),
        other => Err(format!("unsupported URL scheme {other:?} (use https)")),
    }
}

/// 127.0.0.0/8, ::1 and the name `localhost`. Other names are refused even if
/// they resolve to loopback: DNS can change between the check and the connect.
pub fn is_loopback(host: &Host<&str>) -> bool {
    match host {
        Host::Domain(name) => name.eq_ignore_ascii_case("localhost"),
        Host::Ipv4(ip) => ip.is_loopback(),
        Host::Ipv6(ip) => ip.is_loopback(),
    }
}

/// A `reqwest::Client` with the policy around it. Cheap to clone.
#[derive(Debug, Clone)]
pub struct HttpClient {
    client: reqwest::Client,
    system: System,
    policy: Policy,
    footprint: Arc<Footprint>,
    clock_offset: Arc<Mutex<Option<TimeDelta>>>,
}

enum Attempt {
    Done(reqwest::Response),
    /// `throttled`: the server asked us to slow down (429): it gets four times the
    /// retries of other failures, within the same wait budget.
    Retry {
        wait: Duration,
        last: String,
        throttled: bool,
    },
}

impl HttpClient {
    pub fn new(system: System, policy: Policy, footprint: Arc<Footprint>) -> Result<Self, HttpError> {
        let client = reqwest::Client::builder()
            .connect_timeout(policy.connect_timeout)
            .timeout(policy.request_timeout)
            .user_agent(concat!("jmlproof/", env!("CARGO_PKG_VERSION")))
            // None of the APIs redirect; following one could carry credentials
            // to another host or downgrade to plain http.
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| HttpError::Client { system, reason: root_reason(&e) })?;
        Ok(HttpClient { client, system, policy, footprint, clock_offset: Arc::default() })
    }

    pub fn system(&self) -> System {
        self.system
    }

    /// Server `Date` minus our clock, from the last response that had one.
    /// `Date` has one-second resolution, so this is accurate to about a second.
    pub fn clock_offset(&self) -> Option<TimeDelta> {
        *self.clock_offset.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Sends the request `make` builds, under the policy. `endpoint` is a path
    /// template without ids (`/api/v1/users/{id}`); it keys the footprint and
    /// names the call in errors. `make` is called once per attempt. Statuses that
    /// are not retried (or no longer) are returned as `Ok`: reading vendor errors
    /// is the client's job.
    pub async fn send(
        &self,
        endpoint: &str,
        idempotent: bool,
        make: impl Fn(&reqwest::Client) -> reqwest::RequestBuilder,
    ) -> Result<reqwest::Response, HttpError> {
        let mut waited = Duration::ZERO;
        let mut retry_for: Option<String> = None;
        let mut attempt: u32 = 0;
        loop {
            attempt += 1;
            let mut builder = make(&self.client);
            if self.system == System::Okta && attempt > 1 {
                // What Okta's SDKs send, so Okta support can tie retries together.
                if let Some(id) = &retry_for {
                    builder = builder.header("X-Okta-Retry-For", id.as_str());
                }
                builder = builder.header("X-Okta-Retry-Count", (attempt - 1).to_string());
            }
            let request = builder.build().map_err(|e| HttpError::Request {
                system: self.system,
                endpoint: endpoint.to_string(),
                cause: format!("invalid request: {}", root_reason(&e)),
            })?;
            let label = format!("{} {endpoint}", request.method());
            // Also covers URLs the server hands us (paging links).
            check_parsed(request.url()).map_err(|reason| HttpError::Url { system: Some(self.system), reason })?;
            let origin = request.url().origin().ascii_serialization();
            self.footprint.add(self.system, &label, |c| if attempt == 1 { c.calls += 1 } else { c.retries += 1 });

            let next = match self.client.execute(request).await {
                Ok(response) => self.judge(response, &label, idempotent, attempt, &mut retry_for).await,
                Err(e) => {
                    self.footprint.add(self.system, &label, |c| c.errors += 1);
                    let cause = transport_cause(&e, &origin, &self.policy);
                    if !(idempotent && is_transient(&e)) {
                        return Err(HttpError::Request { system: self.system, endpoint: label, cause });
                    }
                    Attempt::Retry { wait: backoff(attempt, &self.policy), last: cause, throttled: false }
                }
            };
            let (wait, last, throttled) = match next {
                Attempt::Done(response) => return Ok(response),
                Attempt::Retry { wait, last, throttled } => (wait, last, throttled),
            };
            let over_budget = waited + wait > self.policy.max_wait;
            // Throttling is waited out longer (a storm passes; the server says when), but
            // not forever: a server that asks for no wait at all would never use the budget.
            let cap = if throttled { self.policy.max_retries.saturating_mul(4) } else { self.policy.max_retries };
            if attempt > cap || over_budget {
                let last = if over_budget {
                    format!("{last}, next wait {} over the budget", duration::format(wait))
                } else {
                    last
                };
                return Err(HttpError::GaveUp {
                    system: self.system,
                    endpoint: label,
                    attempts: attempt,
                    last,
                    waited,
                });
            }
            tokio::time::sleep(wait).await;
            waited += wait;
            let ms = u64::try_from(wait.as_millis()).unwrap_or(u64::MAX);
            self.footprint.add(self.system, &label, |c| c.waited_ms += ms);
        }
    }

    /// Decides whether a response ends the call or is retried, and how long to wait.
    async fn judge(
        &self,
        response: reqwest::Response,
        label: &str,
        idempotent: bool,
        attempt: u32,
        retry_for: &mut Option<String>,
    ) -> Attempt {
        let now = Utc::now();
        let server_date = header_date(response.headers(), "date");
        if let Some(date) = server_date {
            *self.clock_offset.lock().unwrap_or_else(PoisonError::into_inner) = Some(date - now);
        }
        let status = response.status();
        let throttled = status == StatusCode::TOO_MANY_REQUESTS;
        if status.is_server_error() {
            self.footprint.add(self.system, label, |c| c.errors += 1);
        }
        let transient = matches!(status.as_u16(), 500 | 502 | 503 | 504);
        if !(throttled || (idempotent && transient)) {
            return Attempt::Done(response);
        }
        if throttled {
            self.footprint.add(self.system, label, |c| c.throttled += 1);
        }
        *retry_for = header_str(response.headers(), "x-okta-request-id").map(str::to_string);
        let headers = response.headers().clone();
        // AWS puts the wait in the JSON body; read it only there.
        let body = match self.system {
            System::Aws => read_capped(response, 64 * 1024).await,
            _ => None,
        };
        let wait = advised_wait(self.system, status, &headers, body.as_deref(), now)
            .unwrap_or_else(|| backoff(attempt, &self.policy));
        Attempt::Retry { wait, last: format!("HTTP {}", status.as_u16()), throttled }
    }
}

/// The body, unless it is longer than `cap` or fails to arrive.
async fn read_capped(mut response: reqwest::Response, cap: usize) -> Option<Vec<u8>> {
    let mut body = Vec::new();
    while let Some(chunk) = response.chunk().await.ok()? {
        if body.len() + chunk.len() > cap {
            return None;
        }
        body.extend_from_slice(&chunk);
    }
    Some(body)
}

/// The wait the server asked for, if it said.
fn advised_wait(
    system: System,
    status: StatusCode,
    headers: &HeaderMap,
    body: Option<&[u8]>,
    now: DateTime<Utc>,
) -> Option<Duration> {
    let date = header_date(headers, "date");
    if system == System::Okta && status == StatusCode::TOO_MANY_REQUESTS {
        // Okta SDKs: reset (epoch seconds) − Date + 1 s. Using the server's own
        // Date makes the wait independent of our clock's skew.
        let reset = header_str(headers, "x-rate-limit-reset").and_then(|v| v.trim().parse::<i64>().ok());
        if let (Some(reset), Some(date)) = (reset, date) {
            let secs = reset.saturating_sub(date.timestamp()).clamp(0, 86_400);
            return Some(Duration::from_secs(secs.unsigned_abs() + 1));
        }
    }
    if let Some(value) = header_str(headers, "retry-after") {
        let value = value.trim();
        if let Ok(secs) = value.parse::<f64>() {
            if secs.is_finite() && secs >= 0.0 {
                return Some(Duration::from_secs_f64(secs.min(86_400.0)));
            }
        } else if let Ok(at) = DateTime::parse_from_rfc2822(value) {
            let delta = at.with_timezone(&Utc) - date.unwrap_or(now);
            return Some(delta.to_std().unwrap_or(Duration::ZERO));
        }
    }
    if system == System::Aws {
        let value: serde_json::Value = serde_json::from_slice(body?).ok()?;
        let secs = value.get("RetryAfterSeconds")?.as_u64()?;
        if secs > 0 {
            return Some(Duration::from_secs(secs.min(86_400)));
        }
    }
    None
}

/// Exponential backoff with "equal jitter": half the step is fixed, half random,
/// so clients retrying together spread out but never retry at once.
fn backoff(attempt: u32, policy: &Policy) -> Duration {
    let factor = 2u32.saturating_pow(attempt.saturating_sub(1));
    let step = policy.backoff_base.saturating_mul(factor).min(policy.backoff_cap);
    let half = step / 2;
    let jitter_ms = u64::try_from(half.as_millis()).unwrap_or(u64::MAX);
    half + Duration::from_millis(random_u64() % jitter_ms.saturating_add(1))
}

/// Randomness without a dependency: std's hasher keys are random per instance.
fn random_u64() -> u64 {
    std::collections::hash_map::RandomState::new().build_hasher().finish()
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name)?.to_str().ok()
}

fn header_date(headers: &HeaderMap, name: &str) -> Option<DateTime<Utc>> {
    let value = header_str(headers, name)?;
    DateTime::parse_from_rfc2822(value.trim()).ok().map(|d| d.with_timezone(&Utc))
}

/// Worth retrying for an idempotent request: the connection failed, timed out,
/// or was dropped under us.
fn is_transient(e: &reqwest::Error) -> bool {
    e.is_connect()
        || e.is_timeout()
        || io_kind(e).is_some_and(|k| {
            use std::io::ErrorKind::*;
            matches!(k, ConnectionReset | ConnectionAborted | BrokenPipe | UnexpectedEof)
        })
        || chain(e).any(|s| s.to_string().contains("connection closed before message completed"))
}

fn transport_cause(e: &reqwest::Error, origin: &str, policy: &Policy) -> String {
    match (e.is_connect(), e.is_timeout()) {
        (true, true) => {
            format!("cannot connect to {origin}: timed out after {}", duration::format(policy.connect_timeout))
        }
        (true, false) => format!("cannot connect to {origin}: {}", root_reason(e)),
        (false, true) => format!("no response within {}", duration::format(policy.request_timeout)),
        (false, false) => root_reason(e),
    }
}

fn chain<'e>(e: &'e (dyn std::error::Error + 'static)) -> impl Iterator<Item = &'e (dyn std::error::Error + 'static)> {
    std::iter::successors(Some(e), |e| e.source())
}

fn io_kind(e: &reqwest::Error) -> Option<std::io::ErrorKind> {
    chain(e).find_map(|s| s.downcast_ref::<std::io::Error>()).map(|io| io.kind())
}

/// The innermost cause, in plain words. reqwest's own text is skipped: it
/// repeats the URL, which may carry paging tokens.
fn root_reason(e: &reqwest::Error) -> String {
    use std::io::ErrorKind::*;
    match io_kind(e) {
        Some(ConnectionRefused) => return "connection refused".into(),
        Some(ConnectionReset) => return "connection reset".into(),
        Some(ConnectionAborted) => return "connection aborted".into(),
        Some(TimedOut) => return "timed out".into(),
        _ => {}
    }
    let last = chain(e).skip(1).last().map(|s| s.to_string());
    last.unwrap_or_else(|| if e.is_body() { "error reading the body".into() } else { "request failed".into() })
        .replace('\n', " ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use axum::extract::State;
    use axum::http::HeaderMap as AxumHeaders;
    use axum::response::Response;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Instant;

    /// One scripted reply: status, headers, body. The last one repeats.
    type Reply = (u16, Vec<(&'static str, String)>, &'static str);

    struct Script {
        replies: Vec<Reply>,
        hits: AtomicUsize,
        seen: Mutex<Vec<AxumHeaders>>,
    }

    async fn reply(State(script): State<Arc<Script>>, headers: AxumHeaders) -> Response {
        let n = script.hits.fetch_add(1, Ordering::SeqCst);
        script.seen.lock().unwrap().push(headers);
        let (status, headers, body) = &script.replies[n.min(script.replies.len() - 1)];
        let mut response = Response::builder().status(*status);
        for (name, value) in headers {
            response = response.header(*name, value.as_str());
        }
        response.body(axum::body::Body::from(*body)).unwrap()
    }

    /// Serves `replies` on 127.0.0.1 with an OS-picked port; returns the base URL.
    async fn serve(replies: Vec<Reply>) -> (String, Arc<Script>) {
        let script = Arc::new(Script { replies, hits: AtomicUsize::new(0), seen: Mutex::default() });
        let app = axum::Router::new().fallback(reply).with_state(script.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        (format!("http://{addr}"), script)
    }

    fn fast_policy() -> Policy {
        Policy { backoff_base: Duration::from_millis(10), backoff_cap: Duration::from_millis(40), ..Policy::default() }
    }

    fn client(system: System, policy: Policy) -> (HttpClient, Arc<Footprint>) {
        let footprint = Footprint::new();
        (HttpClient::new(system, policy, footprint.clone()).unwrap(), footprint)
    }

    fn http_date(t: DateTime<Utc>) -> String {
        t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
    }

    async fn get(c: &HttpClient, base: &str, endpoint: &str, idempotent: bool) -> Result<reqwest::Response, HttpError> {
        let url = format!("{base}/x");
        c.send(endpoint, idempotent, |http| http.get(&url)).await
    }

    fn stats(footprint: &Footprint) -> EndpointStats {
        let mut rows = footprint.snapshot();
        assert_eq!(rows.len(), 1, "{rows:?}");
        rows.remove(0)
    }

    #[tokio::test]
    async fn okta_429_waits_for_the_reset_and_tags_the_retry() {
        let now = Utc::now();
        let throttled = vec![
            ("date", http_date(now)),
            ("x-rate-limit-reset", now.timestamp().to_string()),
            ("x-okta-request-id", "req-429-a".to_string()),
        ];
        let (base, script) = serve(vec![(429, throttled, "{}"), (200, vec![], "ok")]).await;
        let (c, footprint) = client(System::Okta, fast_policy());
        let started = Instant::now();
        let response = get(&c, &base, "/api/v1/users", true).await.unwrap();
        assert_eq!(response.status(), 200);
        // reset − Date = 0, plus Okta's 1 s margin.
        assert!(started.elapsed() >= Duration::from_secs(1));
        let row = stats(&footprint);
        assert_eq!((row.calls, row.retries, row.throttled, row.errors), (1, 1, 1, 0));
        assert_eq!(row.waited_ms, 1000);
        assert_eq!(row.endpoint, "GET /api/v1/users");
        let seen = script.seen.lock().unwrap();
        assert!(seen[0].get("x-okta-retry-for").is_none());
        assert_eq!(seen[1]["x-okta-retry-for"], "req-429-a");
        assert_eq!(seen[1]["x-okta-retry-count"], "1");
        assert!(seen[0]["user-agent"].to_str().unwrap().starts_with("jmlproof/"));
    }

    #[tokio::test]
    async fn okta_429_without_reset_falls_back_to_backoff() {
        let (base, script) = serve(vec![(429, vec![], ""), (200, vec![], "")]).await;
        let (c, footprint) = client(System::Okta, fast_policy());
        assert_eq!(get(&c, &base, "/api/v1/logs", false).await.unwrap().status(), 200);
        assert_eq!(script.hits.load(Ordering::SeqCst), 2);
        let row = stats(&footprint);
        assert!(row.waited_ms >= 5 && row.waited_ms <= 10, "{row:?}");
    }

    #[tokio::test]
    async fn graph_retry_after_decimal_seconds() {
        let (base, _) = serve(vec![(429, vec![("retry-after", "0.3".into())], ""), (200, vec![], "")]).await;
        let (c, footprint) = client(System::Graph, fast_policy());
        let started = Instant::now();
        assert_eq!(get(&c, &base, "/v1.0/users", false).await.unwrap().status(), 200);
        assert!(started.elapsed() >= Duration::from_millis(300));
        assert_eq!(stats(&footprint).waited_ms, 300);
    }

    #[tokio::test]
    async fn aws_retry_after_seconds_in_the_json_body() {
        let body = r#"{"__type":"ThrottlingException","Message":"Rate exceeded","RetryAfterSeconds":1}"#;
        let json = vec![("content-type", "application/x-amz-json-1.1".to_string())];
        let (base, _) = serve(vec![(429, json, body), (200, vec![], "{}")]).await;
        let (c, footprint) = client(System::Aws, fast_policy());
        assert_eq!(get(&c, &base, "ListUsers", true).await.unwrap().status(), 200);
        let row = stats(&footprint);
        assert_eq!((row.throttled, row.waited_ms), (1, 1000));
    }

    #[tokio::test]
    async fn retries_503_when_idempotent() {
        let (base, script) = serve(vec![(503, vec![], ""), (200, vec![], "")]).await;
        let (c, footprint) = client(System::Graph, fast_policy());
        assert_eq!(get(&c, &base, "/v1.0/users/{id}", true).await.unwrap().status(), 200);
        assert_eq!(script.hits.load(Ordering::SeqCst), 2);
        let row = stats(&footprint);
        assert_eq!((row.calls, row.retries, row.errors, row.throttled), (1, 1, 1, 0));
    }

    #[tokio::test]
    async fn never_retries_a_500_when_not_idempotent() {
        let (base, script) = serve(vec![(500, vec![], "boom"), (200, vec![], "")]).await;
        let (c, footprint) = client(System::Okta, fast_policy());
        let url = format!("{base}/api/v1/users");
        let response = c.send("/api/v1/users", false, |http| http.post(&url).body("{}")).await.unwrap();
        assert_eq!(response.status(), 500);
        assert_eq!(script.hits.load(Ordering::SeqCst), 1);
        let row = stats(&footprint);
        assert_eq!((row.endpoint.as_str(), row.calls, row.retries, row.errors), ("POST /api/v1/users", 1, 0, 1));
    }

    #[tokio::test]
    async fn other_statuses_are_returned_as_is() {
        let (base, script) = serve(vec![(404, vec![], "{}")]).await;
        let (c, _) = client(System::Okta, fast_policy());
        assert_eq!(get(&c, &base, "/api/v1/users/{id}", true).await.unwrap().status(), 404);
        assert_eq!(script.hits.load(Ordering::SeqCst), 1);
    }

    fn refused_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        drop(listener);
        port
    }

    #[tokio::test]
    async fn connection_refused_names_system_endpoint_and_origin() {
        let base = format!("http://127.0.0.1:{}", refused_port());
        let (c, footprint) = client(System::Okta, fast_policy());
        let err = get(&c, &base, "/api/v1/users/{id}", false).await.unwrap_err().to_string();
        assert_eq!(err, format!("okta GET /api/v1/users/{{id}}: cannot connect to {base}: connection refused"));
        assert_eq!(stats(&footprint).errors, 1);

        // Idempotent: retried, then reported with the last cause.
        let policy = Policy { max_retries: 2, ..fast_policy() };
        let (c, footprint) = client(System::Okta, policy);
        let err = get(&c, &base, "/api/v1/users/{id}", true).await.unwrap_err().to_string();
        assert!(
            err.starts_with("okta GET /api/v1/users/{id}: gave up after 3 attempts (last: cannot connect to"),
            "{err}"
        );
        assert_eq!(stats(&footprint).retries, 2);
    }

    #[tokio::test]
    async fn gives_up_after_max_retries() {
        let (base, script) = serve(vec![(503, vec![("retry-after", "0".into())], "")]).await;
        let (c, _) = client(System::Graph, Policy { max_retries: 2, ..fast_policy() });
        let err = get(&c, &base, "/v1.0/users", true).await.unwrap_err().to_string();
        assert_eq!(err, "graph GET /v1.0/users: gave up after 3 attempts (last: HTTP 503), waited 0.0s");
        assert_eq!(script.hits.load(Ordering::SeqCst), 3);
        // Throttling gets four times the retries: a 429 storm is waited out.
        let (base, script) = serve(vec![(429, vec![("retry-after", "0".into())], "")]).await;
        let (c, footprint) = client(System::Graph, Policy { max_retries: 2, ..fast_policy() });
        let err = get(&c, &base, "/v1.0/users", true).await.unwrap_err().to_string();
        assert_eq!(err, "graph GET /v1.0/users: gave up after 9 attempts (last: HTTP 429), waited 0.0s");
        assert_eq!(script.hits.load(Ordering::SeqCst), 9);
        let row = stats(&footprint);
        assert_eq!((row.calls, row.retries, row.throttled), (1, 8, 9));
    }

    #[tokio::test]
    async fn does_not_wait_beyond_the_budget() {
        let (base, script) = serve(vec![(429, vec![("retry-after", "600".into())], "")]).await;
        let (c, _) = client(System::Graph, Policy { max_wait: Duration::from_secs(5), ..fast_policy() });
        let started = Instant::now();
        let err = get(&c, &base, "/v1.0/auditLogs/directoryAudits", false).await.unwrap_err().to_string();
        assert!(started.elapsed() < Duration::from_secs(2));
        assert!(err.contains("gave up after 1 attempt (last: HTTP 429, next wait 10m over the budget)"), "{err}");
        assert_eq!(script.hits.load(Ordering::SeqCst), 1);
    }

    #[tokio::test]
    async fn request_timeout_is_reported() {
        async fn never() -> &'static str {
            std::future::pending().await
        }
        let app = axum::Router::new().fallback(never);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await });
        let policy = Policy { request_timeout: Duration::from_millis(200), ..fast_policy() };
        let (c, _) = client(System::Login, policy);
        let err = get(&c, &format!("http://{addr}"), "/oauth2/v1/token", false).await.unwrap_err().to_string();
        assert_eq!(err, "login GET /oauth2/v1/token: no response within 200ms");
    }

    #[tokio::test]
    async fn records_the_server_clock_offset() {
        let ahead = http_date(Utc::now() + TimeDelta::hours(1));
        let (base, _) = serve(vec![(200, vec![("date", ahead)], "")]).await;
        let (c, _) = client(System::Graph, fast_policy());
        assert!(c.clock_offset().is_none());
        get(&c, &base, "/v1.0/users", true).await.unwrap();
        let offset = c.clock_offset().unwrap().num_seconds();
        assert!((3597..=3601).contains(&offset), "{offset}");
    }

    #[tokio::test]
    async fn refuses_plain_http_to_other_hosts_before_connecting() {
        let (c, footprint) = client(System::Okta, fast_policy());
        let err = c.send("/api/v1/users", true, |http| http.get("http://example.com/api/v1/users")).await;
        assert_eq!(
            err.unwrap_err().to_string(),
            "okta: plain http is refused for non-loopback host example.com (use https)"
        );
        assert!(footprint.snapshot().is_empty());
    }

    #[test]
    fn check_url_allows_https_and_loopback_http_only() {
        for ok in [
            "https://acme.okta.com",
            "http://127.0.0.1:8080/x",
            "http://127.9.9.9",
            "http://[::1]:9000",
            "http://localhost:1",
            "http://LocalHost",
        ] {
            assert!(check_url(ok).is_ok(), "{ok}");
        }
        let err = check_url("http://example.com/x").unwrap_err().to_string();
        assert_eq!(err, "plain http is refused for non-loopback host example.com (use https)");
        for bad in ["http://localhost.example.com", "http://10.0.0.1", "http://[::2]", "ftp://127.0.0.1", "not a url"] {
            assert!(check_url(bad).is_err(), "{bad}");
        }
        assert!(check_url("ftp://x").unwrap_err().to_string().contains("unsupported URL scheme"));
    }

    #[test]
    fn advised_waits() {
        let now = Utc::now();
        let mut h = HeaderMap::new();
        let at =
            |h: &HeaderMap, sys, status: u16| advised_wait(sys, StatusCode::from_u16(status).unwrap(), h, None, now);
        assert_eq!(at(&h, System::Graph, 429), None);
        h.insert("retry-after", "2.128".parse().unwrap());
        assert_eq!(at(&h, System::Graph, 429), Some(Duration::from_millis(2128)));
        h.insert("retry-after", "-1".parse().unwrap());
        assert_eq!(at(&h, System::Graph, 503), None);
        h.insert("retry-after", "Wed, 21 Oct 2015 07:28:30 GMT".parse().unwrap());
        h.insert("date", "Wed, 21 Oct 2015 07:28:00 GMT".parse().unwrap());
        assert_eq!(at(&h, System::Graph, 503), Some(Duration::from_secs(30)));
        // Okta: reset − Date + 1; a reset in the past still waits the 1 s margin.
        let epoch = DateTime::parse_from_rfc2822("Wed, 21 Oct 2015 07:28:00 GMT").unwrap().timestamp();
        h.insert("x-rate-limit-reset", (epoch + 41).to_string().parse().unwrap());
        assert_eq!(at(&h, System::Okta, 429), Some(Duration::from_secs(42)));
        h.insert("x-rate-limit-reset", (epoch - 5).to_string().parse().unwrap());
        assert_eq!(at(&h, System::Okta, 429), Some(Duration::from_secs(1)));
        // The Okta rule is for 429s only; a 503 uses Retry-After.
        assert_eq!(at(&h, System::Okta, 503), Some(Duration::from_secs(30)));
        let body = br#"{"RetryAfterSeconds":3}"#;
        let none = HeaderMap::new();
        let aws = advised_wait(System::Aws, StatusCode::TOO_MANY_REQUESTS, &none, Some(body), now);
        assert_eq!(aws, Some(Duration::from_secs(3)));
        let zero =
            advised_wait(System::Aws, StatusCode::TOO_MANY_REQUESTS, &none, Some(b"{\"RetryAfterSeconds\":0}"), now);
        assert_eq!(zero, None);
        assert_eq!(advised_wait(System::Aws, StatusCode::TOO_MANY_REQUESTS, &none, Some(b"not json"), now), None);
    }

    #[test]
    fn backoff_grows_with_jitter_and_stays_under_the_cap() {
        let policy = Policy::default();
        for attempt in 1..=40 {
            let step =
                Duration::from_millis(250).saturating_mul(2u32.saturating_pow(attempt - 1)).min(policy.backoff_cap);
            let wait = backoff(attempt, &policy);
            assert!(wait >= step / 2 && wait <= step, "{attempt}: {wait:?}");
        }
    }

    #[test]
    fn snapshot_is_sorted_by_system_then_endpoint() {
        let footprint = Footprint::default();
        footprint.add(System::Aws, "POST ListUsers", |c| c.calls += 1);
        footprint.add(System::Okta, "GET /b", |c| c.calls += 1);
        footprint.add(System::Okta, "GET /a", |c| c.calls += 2);
        let rows: Vec<_> = footprint.snapshot().into_iter().map(|r| (r.system, r.endpoint, r.calls)).collect();
        assert_eq!(
            rows,
            [
                (System::Okta, "GET /a".into(), 2),
                (System::Okta, "GET /b".into(), 1),
                (System::Aws, "POST ListUsers".into(), 1)
            ]
        );
        let json = serde_json::to_string(&footprint.snapshot()[0]).unwrap();
        assert!(json.starts_with(r#"{"system":"okta","endpoint":"GET /a","calls":2"#), "{json}");
    }
}
