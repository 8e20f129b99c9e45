//! The short terminal summary of a run: per phase and leg, PASS/FAIL/UNKNOWN counts
//! and p50/p95/max latency of the timed checks, then every check that did not pass.

use std::collections::BTreeMap;
use std::fmt::Write;

use crate::evidence::record::{Leg, Phase, Record, Status};

/// Shared with the pack's views, so the terminal and the report agree.
pub use crate::report::view::percentile;

fn secs(ms: Option<i64>) -> String {
    ms.map(|m| format!("{:.1}s", m as f64 / 1000.0)).unwrap_or_else(|| "-".into())
}

/// Counts and timed latencies of one phase and leg.
#[derive(Default)]
struct Row {
    pass: usize,
    fail: usize,
    unknown: usize,
    latencies: Vec<i64>,
}

pub fn render(r: &Record) -> String {
    let mut rows: BTreeMap<(Phase, Leg), Row> = BTreeMap::new();
    for v in &r.verdicts {
        let row = rows.entry((v.phase, v.leg)).or_default();
        match v.status {
            Status::Pass => row.pass += 1,
            Status::Fail => row.fail += 1,
            Status::Unknown => row.unknown += 1,
        }
        if let (Some(l), true) = (v.latency_ms, v.sla_ms.is_some() && v.phase != Phase::Residual) {
            row.latencies.push(l);
        }
    }
    let mut out = String::new();
    let _ = writeln!(out, "run {} — {} subject(s)", r.run_id, r.subjects.len());
    let _ = writeln!(
        out,
        "{:<9} {:<6} {:>5} {:>5} {:>8}   {:>7} {:>7} {:>7}",
        "phase", "leg", "PASS", "FAIL", "UNKNOWN", "p50", "p95", "max"
    );
    for ((phase, leg), Row { pass, fail, unknown, latencies: mut lat }) in rows {
        lat.sort_unstable();
        let _ = writeln!(
            out,
            "{:<9} {:<6} {:>5} {:>5} {:>8}   {:>7} {:>7} {:>7}",
            format!("{phase:?}").to_lowercase(),
            format!("{leg:?}").to_lowercase(),
            pass,
            fail,
            unknown,
            secs(percentile(&lat, 50.0)),
            secs(percentile(&lat, 95.0)),
            secs(lat.last().copied())
        );
    }
    for v in r.verdicts.iter().filter(|v| v.status != Status::Pass) {
        let _ = writeln!(out, "{:?} {} {:?}/{:?} {}: {}", v.status, v.subject, v.phase, v.leg, v.check, v.reason);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nearest_rank_percentiles() {
        let v = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
        assert_eq!(percentile(&v, 50.0), Some(5));
        assert_eq!(percentile(&v, 95.0), Some(10));
        assert_eq!(percentile(&[], 50.0), None);
        assert_eq!(percentile(&[7], 95.0), Some(7));
    }
}
