//! The emulated AWS endpoint: awsJson 1.1 on `POST /`, routed by `X-Amz-Target`
//! (identitystore, sso-admin, CloudTrail), every request SigV4-verified against the
//! sandbox's credentials, errors in AWS's `__type` shape.

mod cloudtrail;
mod identitystore;
pub mod sigv4;
mod ssoadmin;
pub mod store;

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use axum::routing::post;
use base64::Engine;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::state::{Shared, System};
use super::web::{self, Hit};

pub const JSON_11: &str = "application/x-amz-json-1.1";

pub struct AwsApi {
    pub shared: Arc<Shared>,
    /// Tenant times of recent LookupEvents calls (2 per second per account and Region).
    lookups: Mutex<VecDeque<DateTime<Utc>>>,
}

/// One call: the operation's input and the request id to answer with.
pub struct Call<'a> {
    pub api: &'a AwsApi,
    pub input: Map<String, Value>,
    pub request_id: String,
}

pub fn router(shared: Arc<Shared>) -> Router {
    let api = Arc::new(AwsApi { shared, lookups: Mutex::new(VecDeque::new()) });
    Router::new().route("/", post(dispatch)).with_state(api)
}

/// AWS's error shape: status 400 (500 for faults), `x-amzn-ErrorType`, `__type` and `Message`.
pub fn error(request_id: &str, status: StatusCode, kind: &str, message: &str, extra: Value) -> Response {
    let mut body = json!({"__type": kind, "Message": message});
    if let (Value::Object(b), Value::Object(e)) = (&mut body, extra) {
        b.extend(e);
    }
    body["RequestId"] = json!(request_id);
    let mut r = web::json(status, &body, JSON_11);
    web::set(r.headers_mut(), "x-amzn-errortype", kind);
    r
}

pub fn validation(call: &Call, message: &str) -> Response {
    error(&call.request_id, StatusCode::BAD_REQUEST, "ValidationException", message, json!({}))
}

pub fn ok(body: Value) -> Response {
    web::json(StatusCode::OK, &body, JSON_11)
}

impl Call<'_> {
    pub fn str(&self, key: &str) -> Option<&str> {
        self.input.get(key).and_then(Value::as_str)
    }

    /// `MaxResults` within [1, max], or the default; AWS's validation message otherwise.
    pub fn max_results(&self, default: usize, max: i64) -> Result<usize, Response> {
        match self.input.get("MaxResults") {
            None | Some(Value::Null) => Ok(default),
            Some(v) => match v.as_i64() {
                Some(n) if n > max => Err(validation(
                    self,
                    &format!(
                        "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to {max}"
                    ),
                )),
                Some(n) if n < 1 => Err(validation(
                    self,
                    &format!(
                        "1 validation error detected: Value '{n}' at 'maxResults' failed to satisfy constraint: Member must have value greater than or equal to 1"
                    ),
                )),
                Some(n) => Ok(n as usize),
                None => Err(validation(
                    self,
                    "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must be a number",
                )),
            },
        }
    }

    /// Decodes the opaque `NextToken` (an offset) the sandbox issued.
    pub fn offset(&self) -> Result<usize, Response> {
        match self.str("NextToken") {
            None => Ok(0),
            Some(t) => base64::engine::general_purpose::STANDARD
                .decode(t)
                .ok()
                .and_then(|b| String::from_utf8(b).ok())
                .and_then(|s| s.strip_prefix("sbx-page:").and_then(|n| n.parse().ok()))
                .ok_or_else(|| validation(self, "The NextToken is invalid or has expired.")),
        }
    }
}

pub fn next_token(offset: usize) -> String {
    base64::engine::general_purpose::STANDARD.encode(format!("sbx-page:{offset}"))
}

/// Pages a list: returns the page and the `NextToken` if more remain.
/// One page of a list operation as AWS sends it: `{"<key>": [...], "NextToken": "..."}`,
/// NextToken absent on the last page; `max` is both the default and the largest MaxResults.
pub fn page_of(call: &Call, key: &str, items: Vec<Value>, max: usize) -> Response {
    match paginate(call, items, max, max as i64) {
        Ok((page, next)) => {
            let mut body = serde_json::Map::new();
            body.insert(key.into(), Value::Array(page));
            if let Some(next) = next {
                body.insert("NextToken".into(), Value::String(next));
            }
            ok(Value::Object(body))
        }
        Err(r) => r,
    }
}

/// A page already cut from `total` items at `offset`, with its NextToken.
pub fn page_slice(key: &str, page: Vec<Value>, offset: usize, total: usize) -> Response {
    let mut body = serde_json::Map::new();
    let end = offset + page.len();
    body.insert(key.into(), Value::Array(page));
    if end < total {
        body.insert("NextToken".into(), Value::String(next_token(end)));
    }
    ok(Value::Object(body))
}

pub fn paginate(
    call: &Call,
    items: Vec<Value>,
    default: usize,
    max: i64,
) -> Result<(Vec<Value>, Option<String>), Response> {
    let size = call.max_results(default, max)?;
    let offset = call.offset()?;
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(size).collect();
    let next = (offset + page.len() < total).then(|| next_token(offset + page.len()));
    Ok((page, next))
}

async fn dispatch(State(api): State<Arc<AwsApi>>, uri: axum::http::Uri, headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("").to_string();
    // Route on the text after the last '.', so both CloudTrail target spellings work.
    let (prefix, op) = match target.rsplit_once('.') {
        Some((p, o)) => (p.rsplit('.').next().unwrap_or(p).to_string(), o.to_string()),
        None => (String::new(), String::new()),
    };
    let shared = api.shared.clone();
    let hit = web::pre(&shared, System::Aws, &format!("{prefix}.{op}")).await;
    let request_id = shared.tenant().rng.guid();
    if hit == Hit::Reset {
        return web::reset();
    }
    let faults = shared.faults().aws.api();
    let resp =
        handle(&api, Signed { uri: &uri, headers: &headers, body: &body }, &prefix, &op, hit, request_id.clone()).await;
    let mut resp = web::post(resp, hit, &faults).await;
    let h = resp.headers_mut();
    web::set(h, "x-amzn-requestid", &request_id);
    web::set(h, "date", &web::http_date(shared.now() + faults.clock_skew.0));
    resp
}

/// The parts of the HTTP request the signature covers.
struct Signed<'a> {
    uri: &'a axum::http::Uri,
    headers: &'a HeaderMap,
    body: &'a [u8],
}

async fn handle(api: &AwsApi, req: Signed<'_>, prefix: &str, op: &str, hit: Hit, request_id: String) -> Response {
    let Signed { uri, headers, body } = req;
    let service = match prefix {
        "AWSIdentityStore" => "identitystore",
        "SWBExternalService" => "sso",
        "CloudTrail_20131101" => "cloudtrail",
        _ => {
            return error(&request_id, StatusCode::BAD_REQUEST, "UnknownOperationException", "", json!({}));
        }
    };
    let id = &api.shared.id;
    let secret_for = |k: &str| (k == id.aws_access_key_id).then(|| id.aws_secret_access_key.clone());
    // The canonical query is the query's pairs sorted (empty for awsJson calls).
    let mut pairs: Vec<&str> = uri.query().unwrap_or("").split('&').filter(|p| !p.is_empty()).collect();
    pairs.sort_unstable();
    // AWS checks the signing time against its own clock, which a skew fault moves.
    let skew = api.shared.faults().aws.clock_skew.0;
    let mut clocks = vec![Utc::now(), api.shared.clock.now(), api.shared.clock.now() + skew];
    // An SDK's skew correction adopts the tenant time of the last Date header; when the
    // tenant clock runs fast or jumps, that falls behind at once. Any tenant time that
    // has already passed is then taken as a clock the client may follow.
    let clock = &api.shared.clock;
    if clock.runs_away()
        && let Some(t) = headers
            .get("x-amz-date")
            .and_then(|v| v.to_str().ok())
            .and_then(|s| chrono::NaiveDateTime::parse_from_str(s, "%Y%m%dT%H%M%SZ").ok())
            .map(|t| t.and_utc())
        && t >= clock.origin() - chrono::Duration::minutes(5)
        && t <= clock.now()
    {
        clocks.push(t);
    }
    match sigv4::verify("POST", uri.path(), &pairs.join("&"), headers, body, secret_for, &clocks) {
        Err(r) => {
            return error(&request_id, StatusCode::BAD_REQUEST, r.error_type, &r.message, json!({}));
        }
        Ok(auth) if auth.service != service => {
            return error(
                &request_id,
                StatusCode::BAD_REQUEST,
                "InvalidSignatureException",
                &format!("Credential should be scoped to correct service: '{service}'."),
                json!({}),
            );
        }
        Ok(auth) if auth.region != id.aws_region => {
            return error(
                &request_id,
                StatusCode::BAD_REQUEST,
                "InvalidSignatureException",
                &format!("Credential should be scoped to a valid region, not '{}'.", auth.region),
                json!({}),
            );
        }
        Ok(_) => {}
    }
    match hit {
        Hit::TooMany => {
            return error(
                &request_id,
                StatusCode::BAD_REQUEST,
                "ThrottlingException",
                "Rate exceeded",
                json!({"RetryAfterSeconds": 1}),
            );
        }
        Hit::Server(_) => {
            return error(
                &request_id,
                StatusCode::INTERNAL_SERVER_ERROR,
                "InternalServerException",
                "An internal error occurred.",
                json!({"RetryAfterSeconds": 1}),
            );
        }
        Hit::None | Hit::Reset | Hit::Malformed => {}
    }
    let input = match serde_json::from_slice::<Value>(if body.is_empty() { b"{}" } else { body }) {
        Ok(Value::Object(m)) => m,
        _ => {
            return error(
                &request_id,
                StatusCode::BAD_REQUEST,
                "SerializationException",
                "Start of structure or map found where not expected.",
                json!({}),
            );
        }
    };
    let call = Call { api, input, request_id };
    match service {
        "identitystore" => identitystore::handle(&call, op),
        "sso" => ssoadmin::handle(&call, op),
        _ => cloudtrail::handle(&call, op),
    }
}

impl AwsApi {
    /// CloudTrail LookupEvents allows 2 calls per second per account and Region.
    pub fn lookup_allowed(&self) -> bool {
        let now = self.shared.now();
        let mut q = self.lookups.lock().unwrap_or_else(|e| e.into_inner());
        while q.front().is_some_and(|t| *t <= now - chrono::Duration::seconds(1)) {
            q.pop_front();
        }
        if q.len() >= 2 {
            return false;
        }
        q.push_back(now);
        true
    }
}
