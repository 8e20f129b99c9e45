//! Benchmark (not a test): 100 subjects through the full joiner, mover and leaver
//! cycle against the sandbox with no provisioning delay. Prints the wall time, API
//! calls per subject, and the p95 width of the observed revoke windows.
//!
//! Run with `scripts/bench.sh` (or `cargo run --release --example bench_cycle`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jmlproof::evidence::record::Phase;
use jmlproof::http::Footprint;
use jmlproof::sandbox::faults::Faults;
use jmlproof::sandbox::{Options, Sandbox};
use jmlproof::scenario::cmd::{SandboxClients, sandbox_clients, sandbox_settings};
use jmlproof::scenario::runner::{Clients, Slas, run};
use jmlproof::scenario::stop::Stop;
use jmlproof::scenario::summary::percentile;

const SUBJECTS: u32 = 100;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut faults = Faults::fast();
    for leg in [&mut faults.entra.delay, &mut faults.aws.delay, &mut faults.entra.jitter, &mut faults.aws.jitter] {
        *leg = jmlproof::duration::Human(Duration::ZERO);
    }
    // The benchmark measures the tool, not Okta's rate limits.
    faults.okta.rate_limit = 100_000;
    faults.okta.logs_rate_limit = 100_000;
    let sb = Sandbox::start(Options { faults, ..Options::default() }).await?;
    let fp = Footprint::new();
    let SandboxClients { okta, graph, aws } = sandbox_clients(&sb.endpoints, &fp, None).await?;
    let journal = std::env::temp_dir().join(format!("jmlproof-bench-{}", std::process::id()));
    let mut settings = sandbox_settings(&sb.endpoints, journal.clone());
    settings.subjects = SUBJECTS;
    settings.max_users = SUBJECTS;
    settings.operator = "bench".into();
    settings.sla = Slas {
        joiner: Duration::from_secs(120),
        mover: Duration::from_secs(120),
        leaver: Duration::from_secs(120),
        residual: Duration::from_secs(86_400),
    };
    settings.poll_start = Duration::from_millis(50);
    settings.poll_max = Duration::from_secs(1);
    let started = Instant::now();
    let stop = Stop::default();
    let record = run(
        &settings,
        &Clients {
            stop: &stop,
            progress: &jmlproof::scenario::progress::Progress::quiet(),
            okta: &okta,
            graph: &graph,
            aws: &aws,
            raw: None,
        },
        &Arc::clone(&fp),
    )
    .await?;
    let wall = started.elapsed();
    let calls: u64 = record.footprint.iter().map(|f| f.calls).sum();
    // Width: first poll that saw the revoke minus the last that did not, or minus our
    // deactivate request when the very first poll already saw it.
    let asked = |subject: &str| {
        record.steps.iter().find(|s| s.subject == subject && s.action == "deactivate").map(|s| s.requested_at)
    };
    let mut widths: Vec<i64> = record
        .observations
        .iter()
        .filter(|o| o.phase == Phase::Leaver && o.check == "revoked")
        .filter_map(|o| {
            let w = o.window?;
            let lower = w.last_not_seen.or_else(|| asked(&o.subject))?;
            Some((w.first_seen - lower).num_milliseconds())
        })
        .collect();
    widths.sort_unstable();
    let failing = record.verdicts.iter().filter(|v| v.status != jmlproof::evidence::record::Status::Pass).count();
    println!("subjects                      {SUBJECTS}");
    println!("wall time                     {:.1} s", wall.as_secs_f64());
    println!("API calls                     {calls} ({:.1} per subject)", calls as f64 / f64::from(SUBJECTS));
    println!("revoke windows observed       {}", widths.len());
    println!("p95 revoke window width       {} ms", percentile(&widths, 95.0).unwrap_or(-1));
    println!("verdicts not PASS             {failing} of {}", record.verdicts.len());
    for f in &record.footprint {
        println!(
            "  {:<6} {:<55} {:>6} calls {:>4} retries {:>4} throttled",
            f.system.as_str(),
            f.endpoint,
            f.calls,
            f.retries,
            f.throttled
        );
    }
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(&journal);
    Ok(())
}
