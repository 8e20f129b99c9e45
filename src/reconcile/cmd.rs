//! The `reconcile` command: against a tenant from the config, or the sandbox's
//! studio story (`--sandbox`); writes one pack.

use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::Utc;

use super::{Sources, exceptions, reconcile};
use crate::config::{self, EvidenceConfig};
use crate::evidence::record::{Record, Targets};
use crate::exit::Outcome;
use crate::http::Footprint;
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
    let login = crate::attest::legs::TestLogin::of_sandbox(&e);
    let ids = std::collections::BTreeSet::new();
    let residue = super::Residue { login: Some(&login), ids: &ids };
    let result =
        reconcile(&sources, &ex, &residue, &crate::scenario::plan::run_id(), &crate::scenario::cmd::operator(), now)
            .await;
    sb.shutdown().await;
    let (mut record, _) = result?;
    record.footprint = fp.snapshot();
    record.config = serde_json::json!({"sandbox": true, "seed_data": "studio"});
    record.targets = Targets::of_sandbox(&e);
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("evidence"));
    let evidence = EvidenceConfig::default();
    let o = crate::pack::cmd::Output { out: &out, evidence: &evidence, signer: signer.as_ref(), principal };
    crate::pack::cmd::write_record(&record, &raw, o, (!args.quiet).then(|| summary(&record)))
}

async fn on_config(args: &ReconcileArgs) -> anyhow::Result<Outcome> {
    let cfg = config::load(&args.config)?;
    let ex = load_exceptions(args.exceptions.as_deref().or(cfg.reconcile.exceptions.as_deref()))?;
    let (signer, principal) = crate::pack::cmd::signer(&args.signing, Some(&cfg.evidence))?;
    crate::pack::preflight(&cfg.evidence.formats, cfg.evidence.templates.as_deref())?;
    let fp = Footprint::new();
    let raw = Arc::new(RawLog::default());
    let crate::scenario::cmd::Systems { okta, graph, aws } =
        crate::scenario::cmd::config_clients(&cfg, &fp, &raw).await?;
    let sources = Sources {
        okta: &okta,
        graph: &graph,
        aws: &aws,
        entra_app: &cfg.entra.okta_app_id,
        aws_app: &cfg.aws.okta_app_id,
    };
    // `run`'s users are test residue: by the test login and by the journals.
    let ids = crate::scenario::journal::created_ids(&crate::scenario::cmd::journal_dir(&args.config));
    let login = crate::attest::legs::TestLogin::of_config(&cfg);
    let residue = super::Residue { login: login.as_ref(), ids: &ids };
    let (mut record, _) = reconcile(
        &sources,
        &ex,
        &residue,
        &crate::scenario::plan::run_id(),
        &crate::scenario::cmd::operator(),
        Utc::now(),
    )
    .await?;
    record.footprint = fp.snapshot();
    record.config = serde_json::to_value(&cfg).unwrap_or_default();
    record.targets = Targets::of_config(&cfg);
    let out = args.out.clone().unwrap_or_else(|| cfg.evidence.out_dir.clone());
    let o = crate::pack::cmd::Output { out: &out, evidence: &cfg.evidence, signer: signer.as_ref(), principal };
    crate::pack::cmd::write_record(&record, &raw, o, (!args.quiet).then(|| summary(&record)))
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
