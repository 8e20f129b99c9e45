//! The `attest` command: against a tenant from the config, or the sandbox's studio
//! story (`--sandbox`); writes one pack.

use std::collections::BTreeSet;
use std::path::PathBuf;
use std::sync::Arc;

use anyhow::Context;
use chrono::{Duration, Utc};

use super::gather::Sources;
use super::{Settings, attest};
use crate::config::{self, EvidenceConfig};
use crate::evidence::record::Targets;
use crate::exit::Outcome;
use crate::http::Footprint;
use crate::pack::cmd::SigningArgs;
use crate::raw::RawLog;
use crate::sandbox::{self, Sandbox, SeedData};

#[derive(Debug, Clone, clap::Args)]
pub struct AttestArgs {
    /// Start of the period: a UTC date (2026-07-01) or an RFC 3339 timestamp.
    #[arg(long)]
    pub since: String,
    /// End of the period: a UTC date (that whole day is included) or an RFC 3339 timestamp.
    #[arg(long)]
    pub until: String,
    /// The config file (not read with --sandbox).
    #[arg(long, default_value = "jmlproof.toml")]
    pub config: PathBuf,
    /// Attest the embedded sandbox's studio story (its history ends today).
    #[arg(long)]
    pub sandbox: bool,
    /// HR's termination list (CSV: termination_date and employee_number or login): each
    /// must have an Okta deactivation within [sla] termination.
    #[arg(long)]
    pub terminations: Option<PathBuf>,
    /// Draw a reproducible sample of this many leavers for the auditor (with --seed).
    #[arg(long)]
    pub sample: Option<usize>,
    /// The sample's seed.
    #[arg(long, default_value_t = 0, requires = "sample")]
    pub seed: u64,
    /// Where the pack goes (default: [evidence] out_dir, or ./evidence).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// A ledger written by `jmlproof collect`, read beside the live APIs (ledger first,
    /// live for what it lacks). It must verify, or attest refuses it.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// The allowed_signers the ledger must verify against (default: the ledger's own,
    /// which shows it is intact, not who wrote it).
    #[arg(long, requires = "ledger")]
    pub ledger_signers: Option<PathBuf>,
    /// Print only the pack written.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub signing: SigningArgs,
}

pub fn main(args: AttestArgs) -> anyhow::Result<Outcome> {
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    rt.block_on(async move { if args.sandbox { on_sandbox(&args).await } else { on_config(&args).await } })
}

/// The ledger, verified before any tenant is touched; None without --ledger.
fn ledger(args: &AttestArgs) -> anyhow::Result<Option<crate::ledger::read::LedgerView>> {
    let Some(dir) = &args.ledger else { return Ok(None) };
    let trust = crate::pack::verify::Trust { allowed_signers: args.ledger_signers.as_deref(), identity: None };
    if args.ledger_signers.is_none() {
        eprintln!(
            "jmlproof: warning: the ledger is checked against its own allowed_signers (--ledger-signers names yours)"
        );
    }
    Ok(Some(crate::ledger::read::load(dir, &trust)?))
}

/// The record's note on the ledger used.
fn ledger_note(args: &AttestArgs, view: &crate::ledger::read::LedgerView) -> String {
    format!(
        "ledger {}: {} segments, head {}, signed by {}",
        args.ledger.as_deref().map(|p| p.display().to_string()).unwrap_or_default(),
        view.segments,
        view.head,
        view.signers.join(", ")
    )
}

fn hr_list(args: &AttestArgs) -> anyhow::Result<Vec<super::terminations::Termination>> {
    match &args.terminations {
        Some(p) => super::terminations::load(p).map_err(anyhow::Error::msg),
        None => Ok(Vec::new()),
    }
}

async fn on_sandbox(args: &AttestArgs) -> anyhow::Result<Outcome> {
    let (signer, principal) = crate::pack::cmd::signer(&args.signing, None)?;
    let terminations = hr_list(args)?;
    let view = ledger(args)?;
    let note = view.as_ref().map(|v| ledger_note(args, v));
    let sb = Sandbox::start(sandbox::Options { seed_data: SeedData::Studio, ..sandbox::Options::default() }).await?;
    let now = sb.shared.clock.now();
    let period = super::period::parse(&args.since, &args.until, now).map_err(anyhow::Error::msg)?;
    let e = sb.endpoints.clone();
    let fp = Footprint::new();
    let raw = Arc::new(RawLog::default());
    let c = crate::scenario::cmd::sandbox_clients(&e, &fp, Some(raw.clone())).await?;
    let settings = Settings {
        run_id: crate::scenario::plan::run_id(),
        operator: crate::scenario::cmd::operator(),
        period,
        now,
        leaver_sla: Duration::hours(1),
        test_login: Some(super::legs::TestLogin::of_sandbox(&e)),
        test_ids: BTreeSet::new(),
        sample: args.sample.map(|n| (n, args.seed)),
        terminations,
        termination_sla: Duration::hours(24),
        ledger: view,
    };
    let sources = Sources {
        okta: &c.okta,
        graph: &c.graph,
        aws: &c.aws,
        entra_app: &e.okta_entra_app_id,
        aws_app: &e.okta_aws_app_id,
    };
    let result = attest(&settings, &sources, Some(&raw)).await;
    sb.shutdown().await;
    let mut record = result?;
    record.footprint = fp.snapshot();
    record.notes.extend(note);
    record.config = serde_json::json!({"sandbox": true, "seed_data": "studio"});
    record.targets = Targets::of_sandbox(&e);
    let out = args.out.clone().unwrap_or_else(|| PathBuf::from("evidence"));
    let defaults = EvidenceConfig::default();
    let o = crate::pack::cmd::Output { out: &out, evidence: &defaults, signer: signer.as_ref(), principal };
    crate::pack::cmd::write_record(&record, &raw, o, (!args.quiet).then(|| summary(&record)))
}

async fn on_config(args: &AttestArgs) -> anyhow::Result<Outcome> {
    let cfg = config::load(&args.config)?;
    let terminations = hr_list(args)?;
    let view = ledger(args)?;
    let note = view.as_ref().map(|v| ledger_note(args, v));
    let (signer, principal) = crate::pack::cmd::signer(&args.signing, Some(&cfg.evidence))?;
    crate::pack::preflight(&cfg.evidence.formats, cfg.evidence.templates.as_deref())?;
    let now = Utc::now();
    let period = super::period::parse(&args.since, &args.until, now).map_err(anyhow::Error::msg)?;
    let fp = Footprint::new();
    let raw = Arc::new(RawLog::default());
    let crate::scenario::cmd::Systems { okta, graph, aws } =
        crate::scenario::cmd::config_clients(&cfg, &fp, &raw).await?;
    // `run`'s users are test residue: by their login prefix and by the journals.
    let test_ids = crate::scenario::journal::created_ids(&crate::scenario::cmd::journal_dir(&args.config));
    let settings = Settings {
        run_id: crate::scenario::plan::run_id(),
        operator: crate::scenario::cmd::operator(),
        period,
        now,
        leaver_sla: Duration::from_std(cfg.sla.leaver.0).unwrap_or(Duration::hours(1)),
        test_login: super::legs::TestLogin::of_config(&cfg),
        test_ids,
        sample: args.sample.map(|n| (n, args.seed)),
        terminations,
        termination_sla: Duration::from_std(cfg.sla.termination.0).unwrap_or(Duration::hours(24)),
        ledger: view,
    };
    let sources = Sources {
        okta: &okta,
        graph: &graph,
        aws: &aws,
        entra_app: &cfg.entra.okta_app_id,
        aws_app: &cfg.aws.okta_app_id,
    };
    let mut record = attest(&settings, &sources, Some(&raw)).await?;
    record.footprint = fp.snapshot();
    record.notes.extend(note);
    record.config = serde_json::to_value(&cfg).unwrap_or_default();
    record.targets = Targets::of_config(&cfg);
    let out = args.out.clone().unwrap_or_else(|| cfg.evidence.out_dir.clone());
    let o = crate::pack::cmd::Output { out: &out, evidence: &cfg.evidence, signer: signer.as_ref(), principal };
    crate::pack::cmd::write_record(&record, &raw, o, (!args.quiet).then(|| summary(&record)))
}

/// The terminal summary: leavers, set-apart deactivations, coverage, and the
/// per-leg table `run` prints.
fn summary(r: &crate::evidence::record::Record) -> String {
    let mut s = String::new();
    if let Some(p) = &r.period {
        s.push_str(&format!(
            "period {} to {}: {} leavers, {} set apart\n",
            crate::report::fmt::time(&p.since),
            crate::report::fmt::time(&p.until),
            r.subjects.len(),
            r.excluded.len()
        ));
    }
    for c in &r.coverage {
        s.push_str(&format!("  {}\n", c.note));
    }
    s.push_str(&crate::scenario::summary::render(r));
    s
}
