//! The `reconcile` command: against a tenant from the config, or the sandbox's
//! studio story (`--sandbox`); writes one pack.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;

use super::{Sources, exceptions, reconcile};
use crate::aws::AwsClient;
use crate::config::{self, EvidenceConfig};
use crate::entra::GraphClient;
use crate::evidence::record::{Record, Targets};
use crate::exit::Outcome;
use crate::http::Footprint;
use crate::okta::OktaClient;
use crate::pack::cmd::SigningArgs;
use crate::raw::RawLog;
use crate::sandbox::{self, Sandbox, SeedData};

#[derive(Debug, Clone, clap::Args)]
pub struct ReconcileArgs {
    /// The config file (not read with --sandbox).
    #[arg(long, default_value = "jmlproof.toml")]
    pub config: PathBuf,
    /// Reconcile the embedded sandbox's studio story.
    #[arg(long)]
    pub sandbox: bool,
    /// Accepted exceptions (TOML); default: [reconcile] exceptions.
    #[arg(long)]
    pub exceptions: Option<PathBuf>,
    /// Where the pack goes (default: [evidence] out_dir, or ./evidence).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Print only the pack written.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub signing: SigningArgs,
}

pub fn main(args: ReconcileArgs) -> anyhow::Result<Outcome> {
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    rt.block_on(async move { if args.sandbox { on_sandbox(&args).await } else { on_config(&args).await } })
}

fn operator() -> String {
    std::env::var("USER").or_else(|_| std::env::var("USERNAME")).unwrap_or_else(|_| "unknown".into())
}

fn load_exceptions(path: Option<&std::path::Path>) -> anyhow::Result<Vec<exceptions::Exception>> {
    match path {
        Some(p) => exceptions::load(p).map_err(anyhow::Error::msg),
        None => Ok(Vec::new()),
    }
}

async fn on_sandbox(args: &ReconcileArgs) -> anyhow::Result<Outcome> {
    let ex = load_exceptions(args.exceptions.as_deref())?;
    let (signer, principal) = crate::pack::cmd::signer(&args.signing, None)?;
    let sb = Sandbox::start(sandbox::Options { seed_data: SeedData::Studio, ..sandbox::Options::default() }).await?;
    let now = sb.shared.clock.now();
    let e = sb.endpoints.clone();
    let fp = Footprint::new();
    let raw = Arc::new(RawLog::default());
    let c = crate::scenario::cmd::sandbox_clients(&e, &fp, Some(raw.clone())).await?;
    let sources = Sources {
        okta: &c.okta,
        graph: &c.graph,
        aws: &c.aws,
        entra_app: &e.okta_entra_app_id,
        aws_app: &e.okta_aws_app_id,
    };
    let result = reconcile(&sources, &ex, &crate::scenario::plan::run_id(), &operator(), now).await;
    sb.shutdown().await;
    let (mut record, _) = result?;
    record.footprint = fp.snapshot();
    record.config = serde_json::json!({"sandbox": true, "seed_data": "studio"});
    record.targets = Targets {
        okta_org: e.okta_url.clone(),
        entra_tenant: e.tenant_id.clone(),
        aws_identity_store: e.identity_store_id.clone(),
        aws_region: e.aws_region.clone(),
        okta_entra_app: e.okta_entra_app_id.clone(),
        okta_aws_app: e.okta_aws_app_id.clone(),
    };
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("evidence"));
    finish(args, record, &raw, &out, &EvidenceConfig::default(), signer.as_ref(), principal)
}

async fn on_config(args: &ReconcileArgs) -> anyhow::Result<Outcome> {
    let cfg = config::load(&args.config)?;
    let ex = load_exceptions(args.exceptions.as_deref().or(cfg.reconcile.exceptions.as_deref()))?;
    let (signer, principal) = crate::pack::cmd::signer(&args.signing, Some(&cfg.evidence))?;
    crate::pack::preflight(&cfg.evidence.formats, cfg.evidence.templates.as_deref())?;
    let fp = Footprint::new();
    let raw = Arc::new(RawLog::default());
    let okta = OktaClient::from_config(&cfg.okta, fp.clone(), Some(raw.clone()))?;
    let graph = GraphClient::from_config(&cfg.entra, fp.clone(), Some(raw.clone()))?;
    let aws = AwsClient::from_config(&cfg.aws, fp.clone(), Some(raw.clone())).await?;
    let sources = Sources {
        okta: &okta,
        graph: &graph,
        aws: &aws,
        entra_app: &cfg.entra.okta_app_id,
        aws_app: &cfg.aws.okta_app_id,
    };
    let (mut record, _) = reconcile(&sources, &ex, &crate::scenario::plan::run_id(), &operator(), Utc::now()).await?;
    record.footprint = fp.snapshot();
    record.config = serde_json::to_value(&cfg).unwrap_or_default();
    record.targets = Targets {
        okta_org: cfg.okta.org_url.to_string(),
        entra_tenant: cfg.entra.tenant_id.clone(),
        aws_identity_store: cfg.aws.identity_store_id.clone(),
        aws_region: cfg.aws.region.clone(),
        okta_entra_app: cfg.entra.okta_app_id.clone(),
        okta_aws_app: cfg.aws.okta_app_id.clone(),
    };
    let out = args.out.clone().unwrap_or_else(|| cfg.evidence.out_dir.clone());
    finish(args, record, &raw, &out, &cfg.evidence, signer.as_ref(), principal)
}

fn finish(
    args: &ReconcileArgs,
    record: Record,
    raw: &RawLog,
    out: &std::path::Path,
    evidence: &EvidenceConfig,
    signer: Option<&crate::pack::Signer>,
    principal: String,
) -> anyhow::Result<Outcome> {
    let contents = crate::pack::Contents {
        raw: raw.pack_files(&record.events),
        formats: &evidence.formats,
        templates: evidence.templates.as_deref(),
        signer,
        principal,
    };
    if !args.quiet {
        print!("{}", summary(&record));
    }
    let written = crate::pack::write(&out.join(crate::scenario::cmd::pack_name(&record)), &record, &contents)?;
    crate::pack::cmd::announce(&written);
    println!("evidence: {}", written.dir.display());
    Ok(crate::exit::of_record(&record))
}

/// Counts per class and system, then every finding that counts.
pub fn summary(r: &Record) -> String {
    let mut s = String::from("class                     system  findings  excepted\n");
    for ((class, system), (n, ok)) in super::counts(&r.findings) {
        let class = serde_json::to_value(class).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        let system = serde_json::to_value(system).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default();
        s.push_str(&format!("{class:<25} {system:<7} {n:>8}  {ok:>8}\n"));
    }
    let blocking = r.findings.iter().filter(|f| f.blocks()).count();
    s.push_str(&format!("{blocking} finding(s) that count (lingering, orphan, duplicate outside a live exception)\n"));
    s
}
