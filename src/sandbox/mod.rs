//! The embedded sandbox tenant: an emulated Okta org, Microsoft Graph with its login
//! endpoint, and AWS (identitystore, sso-admin, CloudTrail), each on its own loopback
//! port, plus an admin endpoint with the ground truth. A faithful emulator, not a
//! mock: it answers in the vendors' wire formats (shared/api-fixtures) and provisions
//! like Okta does, after configurable delays, writing every audit trail on the way.

// Handlers return `Result<_, Response>` so a refusal can short-circuit with the vendor's
// error body; that Response is built at most once per request, so its size does not matter.
#![allow(clippy::result_large_err)]

pub mod admin;
pub mod aws;
pub mod clock;
pub mod cmd;
pub mod faults;
pub mod graph;
pub mod ids;
pub mod keys;
pub mod okta;
pub mod provisioner;
pub mod seed;
pub mod state;
pub mod studio;
mod web;

use std::net::SocketAddr;
use std::sync::Arc;

use serde::Serialize;
use tokio::net::TcpListener;
use tokio::sync::watch;

use faults::Faults;
use state::{Shared, Urls};

/// How to start a sandbox.
#[derive(Debug, Clone)]
pub struct Options {
    pub seed: u64,
    pub seed_data: SeedData,
    pub faults: Faults,
    /// Tenant seconds per real second.
    pub speed: f64,
    /// First of five consecutive ports; `None` lets the OS choose.
    pub port: Option<u16>,
    /// Tenant time at start; `None` takes the wall clock. Seed history is laid out
    /// backwards from it, so pinning it makes two sandboxes byte-identical.
    pub start: Option<chrono::DateTime<chrono::Utc>>,
    /// Studio only: how many current employees (default about 600). Benchmarks use
    /// 100,000 to measure the tool on a large tenant.
    pub people: Option<usize>,
    /// Studio only: System Log size to pad to with sign-in events (a large tenant's
    /// log is mostly sign-ins, which `attest` must page past, not read).
    pub log_events: Option<usize>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SeedData {
    /// The baseline: provisioning apps and the test groups, no people.
    Empty,
    /// The acquisition story: a studio's workforce, its old AWS accounts and a quarter of history.
    Studio,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            seed: 42,
            seed_data: SeedData::Empty,
            faults: Faults::default(),
            speed: 1.0,
            port: None,
            start: None,
            people: None,
            log_events: None,
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum SandboxError {
    #[error("cannot listen on 127.0.0.1:{port}: {source}")]
    Bind { port: u16, source: std::io::Error },
    #[error("cannot generate the sandbox's keys: {0}")]
    Keys(String),
    #[error("unknown seed data {0:?} (expected: empty, studio)")]
    SeedData(String),
}

impl std::str::FromStr for SeedData {
    type Err = SandboxError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "empty" => Ok(SeedData::Empty),
            "studio" => Ok(SeedData::Studio),
            other => Err(SandboxError::SeedData(other.to_string())),
        }
    }
}

/// Everything a client needs to reach the sandbox: printed as one JSON line.
/// The key names are a contract with scripts outside the project.
#[derive(Debug, Clone, Serialize)]
pub struct Endpoints {
    pub okta_url: String,
    pub okta_token: String,
    pub graph_url: String,
    pub login_url: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub aws_endpoint: String,
    pub aws_region: String,
    pub aws_access_key_id: String,
    pub aws_secret_access_key: String,
    pub identity_store_id: String,
    pub instance_arn: String,
    pub admin_url: String,
    pub aws_account_id: String,
    pub permission_set_arn: String,
    pub mover_permission_set_arn: String,
    pub okta_entra_app_id: String,
    pub okta_aws_app_id: String,
    pub okta_service_principal_id: String,
    pub test_group: String,
    pub mover_group: String,
    pub domain: String,
    pub okta_oauth_client_id: String,
    /// Key material, present once generated (the CLI always includes it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub okta_key_id: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub okta_private_key: Option<String>,
    /// PEM bundle (private key, then certificate) for Entra certificate credentials.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub graph_certificate: Option<String>,
}

/// A running sandbox. Dropping it stops the servers.
pub struct Sandbox {
    pub endpoints: Endpoints,
    pub shared: Arc<Shared>,
    stop: watch::Sender<bool>,
    tasks: Vec<tokio::task::JoinHandle<()>>,
}

async fn bind(port: Option<u16>, offset: u16) -> Result<TcpListener, SandboxError> {
    let port = port.map(|p| p.saturating_add(offset)).unwrap_or(0);
    TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .map_err(|source| SandboxError::Bind { port, source })
}

impl Sandbox {
    pub async fn start(opts: Options) -> Result<Sandbox, SandboxError> {
        let listeners = [
            bind(opts.port, 0).await?,
            bind(opts.port, 1).await?,
            bind(opts.port, 2).await?,
            bind(opts.port, 3).await?,
            bind(opts.port, 4).await?,
        ];
        let url = |l: &TcpListener| l.local_addr().map(|a| format!("http://{a}")).unwrap_or_default();
        let urls = Urls {
            okta: url(&listeners[0]),
            graph: url(&listeners[1]),
            login: url(&listeners[2]),
            aws: url(&listeners[3]),
            admin: format!("{}/_sandbox", url(&listeners[4])),
        };
        let mut rng = ids::Rng::new(opts.seed);
        let id = seed::identity(&mut rng);
        // Whole milliseconds: every trail shows at most that, so seeded times round-trip.
        let start = chrono::SubsecRound::trunc_subsecs(opts.start.unwrap_or_else(chrono::Utc::now), 3);
        let clock = clock::Clock::new(start, opts.speed);
        let session = &opts.faults.aws.session_duration;
        let (tenant, planted) = match opts.seed_data {
            SeedData::Empty => (seed::empty(&mut rng, &id, start, session), None),
            SeedData::Studio => {
                let (t, p) = studio::build(
                    &mut rng,
                    &id,
                    start,
                    &opts.faults,
                    opts.seed,
                    studio::Size { people: opts.people, log_events: opts.log_events },
                );
                (t, Some(p))
            }
        };
        let shared =
            Shared::new(tenant, clock, opts.faults, id.clone(), urls.clone(), provisioner::Queues::default(), planted);
        provisioner::start(&shared);
        let (graph, login) = graph::routers(shared.clone());
        let routers =
            [okta::router(shared.clone()), graph, login, aws::router(shared.clone()), admin::router(shared.clone())];
        let (stop, stopped) = watch::channel(false);
        let mut tasks = Vec::new();
        for (listener, router) in listeners.into_iter().zip(routers) {
            let mut rx = stopped.clone();
            tasks.push(tokio::spawn(async move {
                let shutdown = async move {
                    let _ = rx.wait_for(|s| *s).await;
                };
                let _ = axum::serve(listener, router).with_graceful_shutdown(shutdown).await;
            }));
        }
        let endpoints = Endpoints {
            okta_url: urls.okta.clone(),
            okta_token: id.okta_token.clone(),
            graph_url: urls.graph.clone(),
            login_url: urls.login.clone(),
            tenant_id: id.tenant_id.clone(),
            client_id: id.client_id.clone(),
            client_secret: id.client_secret.clone(),
            aws_endpoint: urls.aws.clone(),
            aws_region: id.aws_region.clone(),
            aws_access_key_id: id.aws_access_key_id.clone(),
            aws_secret_access_key: id.aws_secret_access_key.clone(),
            identity_store_id: id.identity_store_id.clone(),
            instance_arn: id.instance_arn.clone(),
            admin_url: urls.admin.clone(),
            aws_account_id: id.aws_account_id.clone(),
            permission_set_arn: id.permission_set_arn.clone(),
            mover_permission_set_arn: id.mover_permission_set_arn.clone(),
            okta_entra_app_id: id.okta_entra_app_id.clone(),
            okta_aws_app_id: id.okta_aws_app_id.clone(),
            okta_service_principal_id: id.okta_service_principal_id.clone(),
            test_group: id.test_group.clone(),
            mover_group: id.mover_group.clone(),
            domain: id.domain.clone(),
            okta_oauth_client_id: id.okta_oauth_client_id.clone(),
            okta_key_id: None,
            okta_private_key: None,
            graph_certificate: None,
        };
        Ok(Sandbox { endpoints, shared, stop, tasks })
    }

    /// Generates the key material (Okta service-app key, Entra certificate) if needed
    /// and adds it to the endpoints.
    pub fn with_key_material(&mut self) -> Result<&Endpoints, SandboxError> {
        let keys = self.shared.keys().map_err(SandboxError::Keys)?;
        self.endpoints.okta_key_id = Some(keys.okta_key_id.clone());
        self.endpoints.okta_private_key =
            Some(keys.okta_app.to_pkcs8_pem().map_err(|e| SandboxError::Keys(e.to_string()))?);
        self.endpoints.graph_certificate =
            Some(keys.graph_bundle_pem().map_err(|e| SandboxError::Keys(e.to_string()))?);
        Ok(&self.endpoints)
    }

    /// Waits until every queued provisioning job has run (tests await this instead of sleeping).
    pub async fn settled(&self) {
        while self.shared.queues.pending() > 0 {
            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
        }
    }

    /// Stops the servers and waits for them to finish their in-flight requests.
    pub async fn shutdown(self) {
        let _ = self.stop.send(true);
        for t in self.tasks {
            let _ = t.await;
        }
    }
}
