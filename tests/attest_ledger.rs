//! `attest --ledger` against the studio sandbox over 100 days of sandbox time, with
//! Entra's audit retention at 30 days: daily collects let a 92-day quarter match the
//! ground truth for every leaver; without the ledger the older leavers' Entra leg is
//! UNKNOWN; a stretch the ledger missed and the live trail no longer shows is a gap,
//! and its leaver's Entra leg is UNKNOWN with that reason.

use std::collections::BTreeSet;
use std::path::Path;
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use jmlproof::attest::{Settings, attest, gather::Sources};
use jmlproof::evidence::record::{Leg, Period, Record, Status};
use jmlproof::http::Footprint;
use jmlproof::ledger::read::{LedgerView, load};
use jmlproof::pack::Signer;
use jmlproof::pack::verify::Trust;
use jmlproof::sandbox::Sandbox;
use jmlproof::sandbox::state::Leg as SbLeg;
use jmlproof::scenario::cmd::{SandboxClients, sandbox_clients};

mod common;
use common::cli::scratch;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-08-01T09:00:00Z").unwrap().to_utc()
}

/// The sandbox runs 100 times faster than real time: the clients' pacing is scaled
/// to it (the sandbox enforces the vendors' limits in its own time).
const SPEED: f64 = 100.0;

async fn clients(sb: &Sandbox) -> SandboxClients {
    let c = sandbox_clients(&sb.endpoints, &Footprint::new(), None).await.unwrap();
    let scaled = |secs: f64| StdDuration::from_secs_f64(secs * 1.2 / SPEED);
    SandboxClients {
        okta: c.okta,
        graph: c.graph.with_audit_pacing(5, scaled(10.0)),
        aws: c.aws.with_lookup_pacing(1, scaled(1.0)),
    }
}

async fn collect_into(sb: &Sandbox, c: &SandboxClients, ledger: &Path, signer: &Signer) {
    // The trails are what this test is about; the user lists would triple its time.
    common::collect(sb, c, ledger, signer, false).await;
}

async fn attested(sb: &Sandbox, c: &SandboxClients, period: Period, ledger: Option<LedgerView>) -> Record {
    let e = &sb.endpoints;
    let settings = Settings {
        run_id: "q3".into(),
        operator: "test".into(),
        period,
        now: sb.shared.clock.now(),
        leaver_sla: Duration::hours(1),
        test_login: None,
        test_ids: BTreeSet::new(),
        sample: None,
        terminations: Vec::new(),
        termination_sla: Duration::hours(24),
        ledger,
    };
    let sources = Sources {
        okta: &c.okta,
        graph: &c.graph,
        aws: &c.aws,
        entra_app: &e.okta_entra_app_id,
        aws_app: &e.okta_aws_app_id,
    };
    attest(&settings, &sources, None).await.unwrap()
}

/// Deactivates someone with accounts on both legs; waits for both revokes; returns
/// their ground-truth latencies (Entra, AWS).
async fn leave(sb: &Sandbox, c: &SandboxClients, okta_id: &str) -> (i64, i64) {
    let t0 = sb.shared.clock.now();
    c.okta.deactivate(okta_id).await.unwrap();
    for _ in 0..400 {
        let found: Vec<Option<DateTime<Utc>>> = {
            let t = sb.shared.tenant();
            [SbLeg::Entra, SbLeg::Aws]
                .iter()
                .map(|leg| {
                    t.truth
                        .iter()
                        .find(|r| r.okta_user_id == okta_id && r.leg == *leg && r.action == "disable")
                        .map(|r| r.at)
                })
                .collect()
        };
        if let [Some(e), Some(a)] = found[..] {
            assert!(e >= t0 && a >= t0);
            return (e.timestamp_millis(), a.timestamp_millis());
        }
        tokio::time::sleep(StdDuration::from_millis(20)).await;
    }
    panic!("{okta_id} was not disabled on both legs");
}

fn revoked(r: &Record, okta_id: &str, leg: Leg) -> (Status, Option<i64>, String) {
    let key = &r.subjects.iter().find(|s| s.okta_id.as_deref() == Some(okta_id)).expect("a leaver").key;
    let v = r.verdicts.iter().find(|v| &v.subject == key && v.leg == leg && v.check == "revoked").expect("verdict");
    (v.status, v.latency_ms, v.reason.clone())
}

/// The leavers' days out of 100.
const LEAVER_DAYS: [i64; 8] = [12, 20, 30, 45, 55, 75, 90, 98];

/// 100 days of the studio with a leaver on each of `LEAVER_DAYS`, collected daily
/// except on the days `skip` names. Returns the sandbox, its clients, the ledger (as
/// verified and read), the leavers' (day, Okta id, Entra and AWS revoke times) and the
/// scratch folder.
async fn hundred_days(
    seed: u64,
    skip: std::ops::Range<i64>,
) -> (Sandbox, SandboxClients, LedgerView, Vec<(i64, String, i64, i64)>, std::path::PathBuf) {
    let sb = common::start_studio(seed, SPEED, Some(start())).await;
    let planted = sb.shared.planted.clone().unwrap();
    let c = clients(&sb).await;
    let dir = scratch(&format!("attest-ledger-{seed}"));
    let key = dir.join("key");
    let public = jmlproof::pack::sign::keygen(&key, "ledger@acme.example", None).unwrap();
    let trusted = dir.join("trusted");
    std::fs::write(&trusted, format!("ledger@acme.example {}\n", public.to_openssh().unwrap())).unwrap();
    let signer = Signer::from_ref(&format!("file:{}", key.display()).parse().unwrap(), None).unwrap();
    let ledger = dir.join("ledger");
    let leaving: Vec<(i64, String)> = LEAVER_DAYS
        .iter()
        .zip(planted.joiners.iter().filter(|j| j.entra_id.is_some() && j.aws_id.is_some()))
        .map(|(d, j)| (*d, j.okta_id.clone()))
        .collect();
    assert_eq!(leaving.len(), LEAVER_DAYS.len());
    let mut truth = Vec::new();
    collect_into(&sb, &c, &ledger, &signer).await;
    for day in 1..=100 {
        sb.shared.clock.advance(StdDuration::from_secs(86_400));
        if let Some((_, id)) = leaving.iter().find(|(d, _)| *d == day) {
            let (entra, aws) = leave(&sb, &c, id).await;
            truth.push((day, id.clone(), entra, aws));
        }
        if !skip.contains(&day) {
            collect_into(&sb, &c, &ledger, &signer).await;
        }
    }
    let trust = Trust { allowed_signers: Some(&trusted), identity: None };
    let view = load(&ledger, &trust).unwrap();
    (sb, c, view, truth, dir)
}

fn quarter(sb: &Sandbox) -> Period {
    let now = sb.shared.clock.now();
    Period { since: now - Duration::days(92), until: now }
}

fn t0(r: &Record, okta_id: &str) -> i64 {
    let key = &r.subjects.iter().find(|s| s.okta_id.as_deref() == Some(okta_id)).unwrap().key;
    r.verdicts
        .iter()
        .find(|v| &v.subject == key && v.check == "deactivated (T0)")
        .and_then(|v| v.time.as_ref())
        .map(|t| t.at.timestamp_millis())
        .unwrap()
}

fn entra_note(r: &Record) -> String {
    r.coverage
        .iter()
        .find(|c| c.source == jmlproof::evidence::record::Source::EntraDirectoryAudit)
        .unwrap()
        .note
        .clone()
}

#[tokio::test(flavor = "multi_thread")]
async fn a_quarter_from_a_daily_ledger_matches_the_ground_truth_and_live_alone_cannot() {
    let (sb, c, view, truth, dir) = hundred_days(21, 0..0).await;
    let period = quarter(&sb);
    let with = attested(&sb, &c, period, Some(view)).await;
    let without = attested(&sb, &c, period, None).await;
    for (day, id, entra_at, aws_at) in &truth {
        let t0 = t0(&with, id);
        for (leg, at) in [(Leg::Entra, entra_at), (Leg::Aws, aws_at)] {
            let (status, latency, reason) = revoked(&with, id, leg);
            assert_eq!((status, latency), (Status::Pass, Some(at - t0)), "{id} {leg:?} with the ledger: {reason}");
        }
        // Live alone: Entra keeps 30 days.
        let (status, _, reason) = revoked(&without, id, Leg::Entra);
        let want = if *day < 70 { Status::Unknown } else { Status::Pass };
        assert_eq!(status, want, "{id} (day {day}) without the ledger: {reason}");
    }
    let note = entra_note(&with);
    assert!(note.contains("ledger") && note.contains("live API") && !note.contains("GAP"), "{note}");
    let _ = std::fs::remove_dir_all(&dir);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stretch_the_ledger_missed_and_entra_no_longer_holds_is_a_gap_with_its_leavers_unknown() {
    // No collect on days 41–89: the day-45 and day-55 revokes are gone from Entra (30
    // days) before anyone looks again; CloudTrail and the System Log keep 90.
    let (sb, c, view, truth, dir) = hundred_days(22, 41..90).await;
    let period = quarter(&sb);
    let r = attested(&sb, &c, period, Some(view)).await;
    for (day, id, _, _) in &truth {
        let (status, _, reason) = revoked(&r, id, Leg::Entra);
        if *day == 45 || *day == 55 {
            assert_eq!(status, Status::Unknown, "{id} (day {day}) in the gap: {reason}");
            assert!(reason.contains("a gap"), "{reason}");
        } else {
            assert_eq!(status, Status::Pass, "{id} (day {day}) beside the gap: {reason}");
        }
        assert_eq!(revoked(&r, id, Leg::Aws).0, Status::Pass, "CloudTrail keeps 90 days: {id}");
    }
    assert!(entra_note(&r).contains("GAP"), "{}", entra_note(&r));
    let _ = std::fs::remove_dir_all(&dir);
    sb.shutdown().await;
}
