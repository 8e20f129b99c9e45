//! `jmlproof run`: the scripted JML test, against a real tenant from the config or
//! against the embedded sandbox (`--sandbox`), written as `run.json` in its own
//! folder under `--out`, with a short summary on the terminal.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};

use super::runner::{Clients, RunError, Settings, Slas, run};
use super::stop::Stop;
use crate::aws::AwsClient;
use crate::config::{self, ExternalId, LinkAttribute};
use crate::entra::GraphClient;
use crate::entra::token::{Credential, TokenSource};
use crate::evidence::record::{Record, Targets};
use crate::exit::Outcome;
use crate::http::{Footprint, HttpClient, Policy, System};
use crate::okta::OktaClient;
use crate::okta::auth::Auth;
use crate::raw::RawLog;
use crate::sandbox::{self, Sandbox};
use crate::secret::Secret;

#[derive(Debug, Clone, clap::Args)]
pub struct RunArgs {
    /// The config file (not read with --sandbox).
    #[arg(long, default_value = "jmlproof.toml")]
    pub config: PathBuf,
    /// Run against the embedded sandbox tenant, started in-process.
    #[arg(long)]
    pub sandbox: bool,
    /// The sandbox's faults file (with --sandbox).
    #[arg(long, requires = "sandbox")]
    pub sandbox_faults: Option<PathBuf>,
    /// Where the evidence folder goes (default: [evidence] out_dir, or ./evidence).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Phases to run after the joiner: mover, leaver (comma-separated).
    #[arg(long, default_value = "joiner,mover,leaver", value_delimiter = ',')]
    pub phases: Vec<String>,
    /// Print only the folder written and the outcome.
    #[arg(long)]
    pub quiet: bool,
    /// Progress on stderr as plain lines or JSON lines.
    #[arg(long, value_enum, default_value = "plain")]
    pub log_format: super::progress::LogFormat,
    #[command(flatten)]
    pub signing: crate::pack::cmd::SigningArgs,
}

pub fn main(args: RunArgs) -> anyhow::Result<Outcome> {
    for p in &args.phases {
        if !matches!(p.as_str(), "joiner" | "mover" | "leaver") {
            bail!("--phases: unknown phase {p:?} (expected joiner, mover, leaver)");
        }
    }
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    rt.block_on(async move {
        // Ctrl-C or SIGTERM raises the stop: the run tears down, writes what it has, exits 130.
        let stop = Arc::new(Stop::default());
        let signal = crate::signals::stop_signal();
        let raiser = stop.clone();
        tokio::spawn(async move {
            signal.await;
            raiser.raise();
        });
        let outcome = if args.sandbox { on_sandbox(&args, &stop).await } else { on_config(&args, &stop).await }?;
        Ok(if stop.raised() { Outcome::Interrupted } else { outcome })
    })
}

fn phases(args: &RunArgs) -> (bool, bool) {
    (args.phases.iter().any(|p| p == "mover"), args.phases.iter().any(|p| p == "leaver"))
}

async fn on_sandbox(args: &RunArgs, stop: &Stop) -> anyhow::Result<Outcome> {
    let faults = match &args.sandbox_faults {
        Some(p) => sandbox::faults::Faults::parse(
            &std::fs::read_to_string(p).with_context(|| format!("cannot read {}", p.display()))?,
            &p.display().to_string(),
        )
        .map_err(anyhow::Error::msg)?,
        None => sandbox::faults::Faults::default(),
    };
    // The key first: a bad key stops the run before it touches a tenant.
    let (signer, principal) = crate::pack::cmd::signer(&args.signing, None)?;
    let sb = Sandbox::start(sandbox::Options { faults, ..sandbox::Options::default() }).await?;
    let e = sb.endpoints.clone();
    let fp = Footprint::new();
    let raw = Arc::new(RawLog::default());
    let SandboxClients { okta, graph, aws } = sandbox_clients(&e, &fp, Some(raw.clone())).await?;
    let (mover, leaver) = phases(args);
    let settings =
        Settings { mover, leaver, operator: operator(), ..sandbox_settings(&e, PathBuf::from(".jmlproof/journal")) };
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("evidence"));
    let result = execute(
        &settings,
        &Clients {
            stop,
            progress: &super::progress::Progress::new(args.log_format, args.quiet),
            okta: &okta,
            graph: &graph,
            aws: &aws,
            raw: Some(&raw),
        },
        &fp,
        &Output {
            out: &out,
            quiet: args.quiet,
            formats: &crate::config::EvidenceConfig::default().formats,
            templates: None,
            signer: signer.as_ref(),
            principal,
        },
        serde_json::json!({"sandbox": true}),
    )
    .await;
    sb.shutdown().await;
    result
}

/// The three clients of one command, sharing a footprint and a raw log.
pub struct Systems {
    pub okta: OktaClient,
    pub graph: GraphClient,
    pub aws: AwsClient,
}

/// The clients pointed at a sandbox (static credentials, loopback endpoints).
pub type SandboxClients = Systems;

/// The clients a config describes (its credentials, the AWS SDK's chain).
pub async fn config_clients(cfg: &config::Config, fp: &Arc<Footprint>, raw: &Arc<RawLog>) -> anyhow::Result<Systems> {
    Ok(Systems {
        okta: OktaClient::from_config(&cfg.okta, fp.clone(), Some(raw.clone()))?,
        graph: GraphClient::from_config(&cfg.entra, fp.clone(), Some(raw.clone()))?,
        aws: AwsClient::from_config(&cfg.aws, fp.clone(), Some(raw.clone())).await?,
    })
}

/// Where `run` keeps its journals: `.jmlproof/journal` beside the config file.
pub fn journal_dir(config_path: &Path) -> PathBuf {
    config_path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new(".")).join(".jmlproof/journal")
}

pub async fn sandbox_clients(
    e: &sandbox::Endpoints,
    fp: &Arc<Footprint>,
    raw: Option<Arc<RawLog>>,
) -> anyhow::Result<SandboxClients> {
    sandbox_clients_with(e, fp, raw, Policy::default()).await
}

/// Clients for the sandbox under an HTTP policy of the caller's (the fault matrix
/// uses a short timeout, so "slower than the timeout" does not take half a minute).
pub async fn sandbox_clients_with(
    e: &sandbox::Endpoints,
    fp: &Arc<Footprint>,
    raw: Option<Arc<RawLog>>,
    policy: Policy,
) -> anyhow::Result<SandboxClients> {
    let http = |system| HttpClient::new(system, policy.clone(), fp.clone());
    let okta = OktaClient::new(
        &url::Url::parse(&e.okta_url)?,
        Auth::Ssws(Secret::new(e.okta_token.clone())),
        http(System::Okta)?,
        raw.clone(),
    )?;
    let secret = Credential::Secret(Secret::new(e.client_secret.clone()));
    let token =
        TokenSource::new(&url::Url::parse(&e.login_url)?, &e.tenant_id, &e.client_id, secret, http(System::Login)?)?;
    let graph = GraphClient::new(&url::Url::parse(&e.graph_url)?, token, http(System::Graph)?, raw.clone())?;
    let creds = aws_sdk_identitystore::config::Credentials::new(
        e.aws_access_key_id.clone(),
        e.aws_secret_access_key.clone(),
        None,
        None,
        "jmlproof-sandbox",
    );
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(e.aws_region.clone()))
        .endpoint_url(&e.aws_endpoint)
        .credentials_provider(creds)
        .timeout_config(
            aws_config::timeout::TimeoutConfig::builder()
                .connect_timeout(policy.connect_timeout)
                .operation_attempt_timeout(policy.request_timeout)
                .build(),
        )
        .load()
        .await;
    let aws = AwsClient::new(&sdk, &e.identity_store_id, &e.instance_arn, fp.clone(), raw);
    Ok(SandboxClients { okta, graph, aws })
}

/// The run's built-in settings for the sandbox. Its pushes land after 3–5 s: SLAs of
/// 20 s (plus 10 s grace) report a broken leg within a minute and let a healthy run
/// finish well under one.
pub fn sandbox_settings(e: &sandbox::Endpoints, journal_dir: PathBuf) -> Settings {
    Settings {
        run_id: super::plan::run_id(),
        operator: "sandbox".into(),
        prefix: "jmlproof-".into(),
        domain: e.domain.clone(),
        subjects: 3,
        max_users: 10,
        group: e.test_group.clone(),
        mover_group: e.mover_group.clone(),
        entra_app: e.okta_entra_app_id.clone(),
        aws_app: e.okta_aws_app_id.clone(),
        account_id: e.aws_account_id.clone(),
        permission_set_arn: e.permission_set_arn.clone(),
        mover_permission_set_arn: e.mover_permission_set_arn.clone(),
        link: LinkAttribute::OnPremisesImmutableId,
        external_id: ExternalId::OktaId,
        okta_sp_id: Some(e.okta_service_principal_id.clone()),
        sla: Slas {
            joiner: Duration::from_secs(20),
            mover: Duration::from_secs(20),
            leaver: Duration::from_secs(20),
            residual: Duration::from_secs(24 * 3600),
        },
        grace: Duration::from_secs(10),
        poll_start: Duration::from_millis(250),
        poll_max: Duration::from_secs(2),
        audit_wait: Duration::ZERO,
        mover: true,
        leaver: true,
        journal_dir,
        targets: Targets::of_sandbox(e),
    }
}

async fn on_config(args: &RunArgs, stop: &Stop) -> anyhow::Result<Outcome> {
    let cfg = config::load(&args.config)?;
    let Some(test) = &cfg.test else {
        bail!("{}: a run needs a [test] section (domain, group, mover_group)", args.config.display())
    };
    let (signer, principal) = crate::pack::cmd::signer(&args.signing, Some(&cfg.evidence))?;
    crate::pack::preflight(&cfg.evidence.formats, cfg.evidence.templates.as_deref())?;
    let fp = Footprint::new();
    let raw = Arc::new(RawLog::default());
    let Systems { okta, graph, aws } = config_clients(&cfg, &fp, &raw).await?;
    let (mover, leaver) = phases(args);
    let settings = Settings {
        run_id: super::plan::run_id(),
        operator: operator(),
        prefix: test.login_prefix.clone(),
        domain: test.domain.clone(),
        subjects: test.subjects,
        max_users: test.max_users,
        group: test.group.clone(),
        mover_group: test.mover_group.clone(),
        entra_app: cfg.entra.okta_app_id.clone(),
        aws_app: cfg.aws.okta_app_id.clone(),
        account_id: cfg.aws.account_id.clone(),
        permission_set_arn: cfg.aws.permission_set_arn.clone(),
        mover_permission_set_arn: cfg.aws.mover_permission_set_arn.clone(),
        link: cfg.entra.link_attribute,
        external_id: cfg.aws.external_id,
        okta_sp_id: cfg.entra.okta_service_principal_id.clone(),
        sla: Slas {
            joiner: cfg.sla.joiner.0,
            mover: cfg.sla.mover.0,
            leaver: cfg.sla.leaver.0,
            residual: cfg.sla.residual.0,
        },
        grace: test.grace.0,
        poll_start: Duration::from_secs(1),
        poll_max: Duration::from_secs(30),
        audit_wait: test.audit_wait.0,
        mover,
        leaver,
        journal_dir: journal_dir(&args.config),
        targets: Targets::of_config(&cfg),
    };
    let out = args.out.clone().unwrap_or_else(|| cfg.evidence.out_dir.clone());
    let config_json = serde_json::to_value(&cfg).unwrap_or_default();
    execute(
        &settings,
        &Clients {
            stop,
            progress: &super::progress::Progress::new(args.log_format, args.quiet),
            okta: &okta,
            graph: &graph,
            aws: &aws,
            raw: Some(&raw),
        },
        &fp,
        &Output {
            out: &out,
            quiet: args.quiet,
            formats: &cfg.evidence.formats,
            templates: cfg.evidence.templates.as_deref(),
            signer: signer.as_ref(),
            principal,
        },
        config_json,
    )
    .await
}

/// Who ran the command, from the environment.
pub fn operator() -> String {
    std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into())
}

/// Where and how the run's pack is written.
pub struct Output<'a> {
    pub out: &'a Path,
    pub quiet: bool,
    pub formats: &'a [crate::config::Format],
    pub templates: Option<&'a Path>,
    pub signer: Option<&'a crate::pack::Signer>,
    pub principal: String,
}

async fn execute(
    s: &Settings,
    c: &Clients<'_>,
    fp: &Arc<Footprint>,
    o: &Output<'_>,
    config: serde_json::Value,
) -> anyhow::Result<Outcome> {
    let mut record = match run(s, c, fp).await {
        Ok(r) => r,
        Err(RunError::Unsafe(e)) => bail!("{e}"),
        Err(e) => return Err(e.into()),
    };
    record.config = config;
    record.sla = crate::evidence::record::Sla {
        joiner_secs: s.sla.joiner.as_secs(),
        mover_secs: s.sla.mover.as_secs(),
        leaver_secs: s.sla.leaver.as_secs(),
        residual_secs: s.sla.residual.as_secs(),
        grace_secs: s.grace.as_secs(),
        audit_wait_secs: s.audit_wait.as_secs(),
        termination_secs: 0,
    };
    let dest = o.out.join(pack_name(&record));
    let raw = match c.raw.map(|r| r.pack_files(&record.events)).transpose() {
        Ok(raw) => raw.unwrap_or_default(),
        Err(e) => {
            // The run touched a tenant: the record is kept even when its raw log is not.
            let bare = crate::pack::write_bare(&dest, &record, &[])?;
            bail!("{e}; run.json alone was saved to {}", bare.dir.display());
        }
    };
    let contents = crate::pack::Contents {
        raw,
        formats: o.formats,
        templates: o.templates,
        signer: o.signer,
        principal: o.principal.clone(),
    };
    if !o.quiet {
        print!("{}", super::summary::render(&record));
    }
    let written = match crate::pack::write(&dest, &record, &contents) {
        Ok(w) => w,
        Err(e) => {
            // The run touched a tenant: its evidence is kept whatever failed in the views.
            let bare = crate::pack::write_bare(&dest, &record, &contents.raw)?;
            bail!(
                "the pack could not be written ({e}); run.json and raw/ were saved to {}; `jmlproof render {}/run.json --out DIR` makes the pack from them",
                bare.dir.display(),
                bare.dir.display()
            );
        }
    };
    crate::pack::cmd::announce(&written);
    println!("evidence: {}", written.dir.display());
    Ok(crate::exit::of_record(&record))
}

/// `jmlproof-run-2026-11-29T1412Z-7f3c`: sorts by time, unique by run id.
pub fn pack_name(record: &Record) -> String {
    format!("jmlproof-{}-{}-{}", record.kind, record.started.format("%Y-%m-%dT%H%MZ"), record.run_id)
}
