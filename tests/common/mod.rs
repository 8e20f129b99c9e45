//! Shared test helpers: start a sandbox on loopback, talk to it over real HTTP.
#![allow(dead_code)]

pub mod cli;
pub mod synthetic;

use std::time::Duration;

use jmlproof::sandbox::faults::Faults;
use jmlproof::sandbox::{Options, Sandbox, SeedData};
use serde_json::{Value, json};

pub async fn start(faults: Faults) -> Sandbox {
    Sandbox::start(Options { seed: 7, faults, ..Options::default() }).await.expect("sandbox starts")
}

pub async fn start_fast() -> Sandbox {
    start(Faults::fast()).await
}

/// A sandbox with the studio seed data (fast live provisioning). `start` pins the
/// tenant clock so two sandboxes can be compared byte for byte.
pub async fn start_studio(seed: u64, speed: f64, start: Option<chrono::DateTime<chrono::Utc>>) -> Sandbox {
    Sandbox::start(Options {
        seed,
        seed_data: SeedData::Studio,
        faults: Faults::fast(),
        speed,
        start,
        ..Options::default()
    })
    .await
    .expect("studio sandbox starts")
}

pub fn http() -> reqwest::Client {
    reqwest::Client::builder().timeout(Duration::from_secs(20)).build().expect("client")
}

pub struct Okta<'a> {
    pub sb: &'a Sandbox,
    pub c: reqwest::Client,
}

impl<'a> Okta<'a> {
    pub fn new(sb: &'a Sandbox) -> Self {
        Okta { sb, c: http() }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.sb.endpoints.okta_url)
    }

    pub fn req(&self, method: reqwest::Method, path: &str) -> reqwest::RequestBuilder {
        self.c
            .request(method, self.url(path))
            .header("authorization", format!("SSWS {}", self.sb.endpoints.okta_token))
            .header("accept", "application/json")
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.req(reqwest::Method::GET, path).send().await.expect("okta GET")
    }

    pub async fn json(&self, path: &str) -> Value {
        let r = self.get(path).await;
        assert_eq!(r.status(), 200, "GET {path}");
        r.json().await.expect("json")
    }

    pub async fn group_id(&self, name: &str) -> String {
        let v = self.json(&format!("/api/v1/groups?q={name}")).await;
        v[0]["id"].as_str().expect("group").to_string()
    }

    /// Creates an active user with a password in the given groups; returns the user.
    pub async fn create(&self, login: &str, first: &str, last: &str, groups: &[String]) -> Value {
        let body = json!({"profile": {"login": login, "email": login, "firstName": first, "lastName": last, "employeeNumber": format!("E{}", login.len())},
                          "credentials": {"password": {"value": "Xq7!corr3ct-h0rse"}}, "groupIds": groups});
        let r =
            self.req(reqwest::Method::POST, "/api/v1/users?activate=true").json(&body).send().await.expect("create");
        assert_eq!(r.status(), 200);
        r.json().await.expect("json")
    }

    pub async fn post(&self, path: &str, body: Value) -> reqwest::Response {
        self.req(reqwest::Method::POST, path).json(&body).send().await.expect("okta POST")
    }

    pub async fn put(&self, path: &str) -> reqwest::Response {
        self.req(reqwest::Method::PUT, path).send().await.expect("okta PUT")
    }

    pub async fn delete(&self, path: &str) -> reqwest::Response {
        self.req(reqwest::Method::DELETE, path).send().await.expect("okta DELETE")
    }

    /// Every System Log event (bounded query over the last day, paged to the end).
    pub async fn events(&self) -> Vec<Value> {
        let mut out = Vec::new();
        let since = (chrono::Utc::now() - chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let until = (chrono::Utc::now() + chrono::Duration::days(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
        let mut url = Some(self.url(&format!("/api/v1/logs?since={since}&until={until}&limit=1000")));
        while let Some(u) = url {
            let r = self
                .c
                .get(&u)
                .header("authorization", format!("SSWS {}", self.sb.endpoints.okta_token))
                .send()
                .await
                .expect("logs");
            assert_eq!(r.status(), 200);
            url = next_link(r.headers());
            out.extend(r.json::<Vec<Value>>().await.expect("json"));
        }
        out
    }
}

/// The `rel="next"` URL among Okta's `Link` headers (one header per relation).
pub fn next_link(h: &reqwest::header::HeaderMap) -> Option<String> {
    h.get_all("link")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .find(|v| v.ends_with("rel=\"next\""))
        .and_then(|v| v.split_once('<'))
        .and_then(|(_, r)| r.split_once('>'))
        .map(|(u, _)| u.to_string())
}

pub struct Graph<'a> {
    pub sb: &'a Sandbox,
    pub c: reqwest::Client,
    pub token: String,
}

impl<'a> Graph<'a> {
    pub async fn new(sb: &'a Sandbox) -> Graph<'a> {
        let c = http();
        let e = &sb.endpoints;
        let r = c
            .post(format!("{}/{}/oauth2/v2.0/token", e.login_url, e.tenant_id))
            .form(&[
                ("client_id", e.client_id.as_str()),
                ("client_secret", e.client_secret.as_str()),
                ("grant_type", "client_credentials"),
                ("scope", "https://graph.microsoft.com/.default"),
            ])
            .send()
            .await
            .expect("token");
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.expect("json");
        Graph { sb, c, token: v["access_token"].as_str().expect("token").to_string() }
    }

    pub async fn get(&self, path_and_query: &str) -> reqwest::Response {
        self.c
            .get(format!("{}/v1.0{path_and_query}", self.sb.endpoints.graph_url))
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("graph GET")
    }

    pub async fn json(&self, path_and_query: &str) -> Value {
        let r = self.get(path_and_query).await;
        assert_eq!(r.status(), 200, "GET {path_and_query}");
        r.json().await.expect("json")
    }

    /// The Entra user Okta linked through onPremisesImmutableId (advanced query).
    pub async fn by_immutable_id(&self, okta_id: &str) -> Option<Value> {
        let r = self
            .c
            .get(format!("{}/v1.0/users", self.sb.endpoints.graph_url))
            .query(&[("$filter", format!("onPremisesImmutableId eq '{okta_id}'")), ("$count", "true".into()), ("$select", "id,userPrincipalName,givenName,surname,mail,accountEnabled,onPremisesImmutableId,employeeId,signInSessionsValidFromDateTime".into())])
            .header("ConsistencyLevel", "eventual")
            .bearer_auth(&self.token)
            .send()
            .await
            .expect("graph");
        assert_eq!(r.status(), 200);
        let v: Value = r.json().await.expect("json");
        v["value"].as_array().and_then(|a| a.first().cloned())
    }
}

pub async fn admin(sb: &Sandbox, path: &str) -> Value {
    http().get(format!("{}{path}", sb.endpoints.admin_url)).send().await.expect("admin").json().await.expect("json")
}

/// Lays the given faults-file keys over the current faults.
pub async fn set_faults(sb: &Sandbox, toml: &str) {
    let r =
        http().patch(format!("{}/faults", sb.endpoints.admin_url)).body(toml.to_string()).send().await.expect("admin");
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap_or_default());
}

pub async fn aws_config(sb: &Sandbox, secret: &str) -> aws_config::SdkConfig {
    let e = &sb.endpoints;
    let creds = aws_sdk_identitystore::config::Credentials::new(
        e.aws_access_key_id.clone(),
        secret.to_string(),
        None,
        None,
        "test",
    );
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(e.aws_region.clone()))
        .endpoint_url(e.aws_endpoint.clone())
        .credentials_provider(creds)
        .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(1))
        .load()
        .await
}

/// A moto_server on loopback: the one `scripts/test.sh` started (JMLPROOF_MOTO_URL),
/// or one started here. A missing moto is a failure, never a skip.
pub struct Moto {
    pub url: String,
    child: Option<std::process::Child>,
}

impl Drop for Moto {
    fn drop(&mut self) {
        if let Some(c) = &mut self.child {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

pub async fn moto() -> Moto {
    let moto = match std::env::var("JMLPROOF_MOTO_URL") {
        Ok(url) => Moto { url, child: None },
        Err(_) => {
            let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
            let child = std::process::Command::new("moto_server")
                .args(["-H", "127.0.0.1", "-p", &port.to_string()])
                .stdout(std::process::Stdio::null())
                .stderr(std::process::Stdio::null())
                .spawn()
                .unwrap_or_else(|e| {
                    panic!(
                        "moto_server could not start ({e}): run scripts/test.sh, which installs moto[server] from PyPI"
                    )
                });
            Moto { url: format!("http://127.0.0.1:{port}"), child: Some(child) }
        }
    };
    // Wait (bounded) until it answers, then reset it to a known state.
    let c = http();
    for _ in 0..200 {
        if c.post(format!("{}/moto-api/reset", moto.url)).send().await.is_ok_and(|r| r.status().is_success()) {
            return moto;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    panic!("moto_server at {} did not answer within 20 s", moto.url);
}

/// SDK configuration for a loopback endpoint with static test credentials.
pub async fn sdk_config(endpoint: &str, region: &str, key: &str, secret: &str, attempts: u32) -> aws_config::SdkConfig {
    let creds =
        aws_sdk_identitystore::config::Credentials::new(key.to_string(), secret.to_string(), None, None, "test");
    aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(region.to_string()))
        .endpoint_url(endpoint)
        .credentials_provider(creds)
        .retry_config(
            aws_config::retry::RetryConfig::standard()
                .with_max_attempts(attempts)
                .with_initial_backoff(Duration::from_millis(50)),
        )
        .load()
        .await
}

/// One `collect` into `ledger` at the sandbox's time now, signed by `signer` as
/// ledger@acme.example, with the default 6-hour overlap.
pub async fn collect(
    sb: &Sandbox,
    c: &jmlproof::scenario::cmd::SandboxClients,
    ledger: &std::path::Path,
    signer: &jmlproof::pack::Signer,
    snapshots: bool,
) -> jmlproof::ledger::collect::Collected {
    let o = jmlproof::ledger::collect::Options {
        now: sb.shared.clock.now(),
        since: None,
        overlap: chrono::Duration::hours(6),
        signer: Some(signer),
        principal: "ledger@acme.example".into(),
        operator: "test".into(),
        snapshots,
    };
    let s = jmlproof::ledger::collect::Sources { okta: &c.okta, graph: &c.graph, aws: &c.aws };
    jmlproof::ledger::collect::collect(ledger, &s, &o).await.unwrap()
}
