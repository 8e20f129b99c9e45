//! Benchmark (not a test): `collect` on a studio sandbox of 10,000 people. The first
//! collect takes the whole history; then a week of days, each with 4 leavers and 6
//! movers (profile changes Okta pushes to both legs), one collect per day. Prints the
//! time of each collect, the segment sizes (events and user snapshots apart) and the
//! ledger size per person-quarter at that daily rate.
//!
//! Run with `scripts/bench.sh collect` (or `cargo run --release --example bench_collect`).

use std::path::Path;
use std::time::{Duration, Instant};

use jmlproof::http::Footprint;
use jmlproof::ledger::collect::{Options, Sources, collect};
use jmlproof::sandbox::faults::Faults;
use jmlproof::sandbox::{Sandbox, SeedData};
use jmlproof::scenario::cmd::{SandboxClients, sandbox_clients};

const PEOPLE: usize = 10_000;
const DAYS: usize = 7;
const LEAVERS_PER_DAY: usize = 4;
const MOVERS_PER_DAY: usize = 6;

fn size(folder: &Path, prefix: &str) -> u64 {
    let walk = |d: &Path| -> u64 {
        std::fs::read_dir(d)
            .map(|it| {
                it.filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    };
    match prefix {
        "snapshot" => walk(&folder.join("snapshot")),
        _ => walk(folder),
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut faults = Faults::fast();
    // The benchmark measures the tool, not the vendors' rate limits.
    faults.okta.rate_limit = 100_000;
    faults.okta.logs_rate_limit = 100_000;
    let t = Instant::now();
    let sb = Sandbox::start(jmlproof::sandbox::Options {
        seed_data: SeedData::Studio,
        people: Some(PEOPLE),
        faults,
        ..Default::default()
    })
    .await?;
    println!("studio sandbox of {PEOPLE} people ready in {:.1} s", t.elapsed().as_secs_f64());
    let SandboxClients { okta, graph, aws } = sandbox_clients(&sb.endpoints, &Footprint::new(), None).await?;
    let ledger = std::env::temp_dir().join(format!("jmlproof-bench-ledger-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&ledger);
    let sources = Sources { okta: &okta, graph: &graph, aws: &aws };
    let options = |now| Options {
        now,
        since: None,
        overlap: chrono::Duration::hours(6),
        signer: None,
        principal: "bench".into(),
        operator: "bench".into(),
        snapshots: true,
    };
    let t = Instant::now();
    let first = collect(&ledger, &sources, &options(sb.shared.clock.now())).await?;
    let kept: usize = first.segment.windows.iter().map(|w| w.kept).sum();
    println!(
        "first collect (the whole history, {kept} events): {:.2} s, {} KB ({} KB of user snapshots)",
        t.elapsed().as_secs_f64(),
        size(&first.folder, "") / 1024 + size(&first.folder, "snapshot") / 1024,
        size(&first.folder, "snapshot") / 1024
    );
    // Settled employees to leave and move, in a fixed order.
    let people: Vec<String> = {
        let t = sb.shared.tenant();
        t.okta.users.values().filter(|u| u.status == "ACTIVE").map(|u| u.id.clone()).collect()
    };
    let mut next = people.iter();
    let (mut secs, mut events_bytes, mut snapshot_bytes, mut events) = (0.0, 0u64, 0u64, 0usize);
    for day in 1..=DAYS {
        sb.shared.clock.advance(Duration::from_secs(86_400));
        for _ in 0..LEAVERS_PER_DAY {
            okta.deactivate(next.next().expect("enough people")).await?;
        }
        for i in 0..MOVERS_PER_DAY {
            let mut change = serde_json::Map::new();
            change.insert("title".into(), serde_json::json!(format!("Lead {day}-{i}")));
            okta.update_profile(next.next().expect("enough people"), &change).await?;
        }
        // Let the provisioner's pushes land (fast faults: within moments).
        tokio::time::sleep(Duration::from_millis(500)).await;
        let t = Instant::now();
        let c = collect(&ledger, &sources, &options(sb.shared.clock.now())).await?;
        secs += t.elapsed().as_secs_f64();
        let snap = size(&c.folder, "snapshot");
        snapshot_bytes += snap;
        events_bytes += size(&c.folder, ""); // top-level files: events, segment.json, sums
        events += c.segment.windows.iter().map(|w| w.kept).sum::<usize>();
    }
    let days = DAYS as f64;
    println!(
        "daily collect: {:.2} s on average; {:.0} new events a day, {:.0} KB of events and manifest, {:.0} KB of user snapshots",
        secs / days,
        events as f64 / days,
        events_bytes as f64 / days / 1024.0,
        snapshot_bytes as f64 / days / 1024.0
    );
    let quarter = 92.0 / days;
    println!(
        "ledger per person-quarter at this rate: {:.1} KB with daily snapshots, {:.2} KB of events alone",
        (events_bytes + snapshot_bytes) as f64 * quarter / PEOPLE as f64 / 1024.0,
        events_bytes as f64 * quarter / PEOPLE as f64 / 1024.0
    );
    let _ = std::fs::remove_dir_all(&ledger);
    sb.shutdown().await;
    Ok(())
}
