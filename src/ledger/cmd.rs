//! `jmlproof collect` and `jmlproof verify --ledger`.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::Context;
use chrono::{Duration, Utc};

use super::chain::{LedgerReport, verify_ledger};
use super::collect::{Options, Sources, collect};
use crate::exit::Outcome;
use crate::http::Footprint;
use crate::pack::cmd::SigningArgs;
use crate::pack::verify::Trust;
use crate::raw::RawLog;

#[derive(Debug, Clone, clap::Args)]
pub struct CollectArgs {
    /// The ledger folder (made on the first collect).
    #[arg(long)]
    pub ledger: PathBuf,
    /// The config file.
    #[arg(long, default_value = "jmlproof.toml")]
    pub config: PathBuf,
    /// The first collect's start: a UTC date or an RFC 3339 timestamp (default: as far
    /// back as Okta may be asked, 179 days). Later collects continue from the ledger.
    #[arg(long)]
    pub since: Option<String>,
    /// How far each window reaches back before the previous segment's end, for events
    /// the sources publish late (a duration: 6h, 90m).
    #[arg(long, default_value = "6h")]
    pub overlap: String,
    /// Print only the segment written.
    #[arg(long)]
    pub quiet: bool,
    #[command(flatten)]
    pub signing: SigningArgs,
}

pub fn collect_main(args: CollectArgs) -> anyhow::Result<Outcome> {
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    rt.block_on(async move {
        let cfg = crate::config::load(&args.config)?;
        let (signer, principal) = crate::pack::cmd::signer(&args.signing, Some(&cfg.evidence))?;
        let overlap = crate::duration::parse(&args.overlap).map_err(|e| anyhow::anyhow!("--overlap: {e}"))?;
        let now = Utc::now();
        let since = match &args.since {
            Some(s) => {
                let t = crate::attest::period::parse_when(s, crate::attest::period::End::Since)
                    .map_err(anyhow::Error::msg)?;
                anyhow::ensure!(t < now, "--since {s} is in the future");
                Some(t)
            }
            None => None,
        };
        let fp = Footprint::new();
        // Responses are not kept beside the ledger: its events are the evidence.
        let raw = Arc::new(RawLog::default());
        let crate::scenario::cmd::Systems { okta, graph, aws } =
            crate::scenario::cmd::config_clients(&cfg, &fp, &raw).await?;
        let o = Options {
            now,
            since,
            overlap: Duration::from_std(overlap).unwrap_or(Duration::hours(6)),
            signer: signer.as_ref(),
            principal,
            operator: crate::scenario::cmd::operator(),
            snapshots: true,
        };
        let done = collect(&args.ledger, &Sources { okta: &okta, graph: &graph, aws: &aws }, &o).await?;
        if !args.quiet {
            print!("{}", summary(&done));
        }
        if signer.is_none() {
            eprintln!(
                "jmlproof: warning: the segment is UNSIGNED (no signing key): `verify --ledger` will not accept it"
            );
        }
        println!("segment: {}", done.folder.display());
        Ok(Outcome::Pass)
    })
}

fn summary(done: &super::collect::Collected) -> String {
    let mut out = String::new();
    if done.discarded > 0 {
        out.push_str(&format!("discarded {} partial segment(s) of an interrupted collect\n", done.discarded));
    }
    for w in &done.segment.windows {
        out.push_str(&format!(
            "{:<22} {} → {}: {} returned, {} new, {} already in the ledger\n",
            format!("{:?}", w.source),
            crate::report::fmt::time(&w.since),
            crate::report::fmt::time(&w.until),
            w.returned,
            w.kept,
            w.duplicates
        ));
        if let Some(g) = &w.gap {
            out.push_str(&format!(
                "  GAP {} → {}: {}\n",
                crate::report::fmt::time(&g.from),
                crate::report::fmt::time(&g.to),
                g.why
            ));
        }
    }
    for s in &done.segment.snapshots {
        out.push_str(&format!("snapshot {:<6} {} users\n", s.system, s.users));
    }
    out
}

/// `jmlproof verify --ledger DIR`: problems on stdout, one per line; gaps listed.
pub fn verify_main(dir: &Path, trust: &Trust) -> anyhow::Result<Outcome> {
    let r: LedgerReport = verify_ledger(dir, trust)?;
    for w in &r.warnings {
        eprintln!("warning: {w}");
    }
    for p in &r.problems {
        println!("{p}");
    }
    for (source, g) in &r.gaps {
        println!(
            "gap: {:?} {} → {}: {}",
            source,
            crate::report::fmt::time(&g.from),
            crate::report::fmt::time(&g.to),
            g.why
        );
    }
    for (source, (from, to)) in &r.span {
        let n = r.events.get(source).copied().unwrap_or(0);
        println!("{source:?}: {n} events, {} → {}", crate::report::fmt::time(from), crate::report::fmt::time(to));
    }
    if r.holds() {
        let who: Vec<String> = r.signers.iter().map(|(p, fp)| format!("{p} ({fp})")).collect();
        println!(
            "verify: OK: {} segments chained, head {}, signed by {}",
            r.segments,
            r.head.clone().unwrap_or_default(),
            who.join(", ")
        );
        Ok(Outcome::Pass)
    } else {
        println!("verify: FAILED: {} problem(s)", r.problems.len().max(1));
        Ok(Outcome::Findings)
    }
}
