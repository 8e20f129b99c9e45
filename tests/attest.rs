//! `attest` against the sandbox's studio story: the leavers it finds are exactly the
//! planted ones the trails can show, the planted breaches come out with their exact
//! latencies, and nothing beyond a trail's reach is ever PASS.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;
use std::sync::Arc;

use chrono::{DateTime, Duration, Utc};
use jmlproof::attest::{Settings, attest, gather::Sources};
use jmlproof::evidence::record::{Leg, Period, Record, Status, Verdict};
use jmlproof::http::Footprint;
use jmlproof::raw::RawLog;
use jmlproof::sandbox::Sandbox;
use jmlproof::sandbox::state::Leg as SbLeg;
use jmlproof::scenario::cmd::sandbox_clients;

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-02T10:00:00Z").unwrap().to_utc()
}

async fn attested(sb: &Sandbox, period: Period, sample: Option<(usize, u64)>) -> (Record, Arc<RawLog>) {
    attested_with(sb, period, sample, Vec::new()).await
}

async fn attested_with(
    sb: &Sandbox,
    period: Period,
    sample: Option<(usize, u64)>,
    terminations: Vec<jmlproof::attest::terminations::Termination>,
) -> (Record, Arc<RawLog>) {
    let fp = Footprint::new();
    let raw = Arc::new(RawLog::default());
    let c = sandbox_clients(&sb.endpoints, &fp, Some(raw.clone())).await.unwrap();
    let e = &sb.endpoints;
    let settings = Settings {
        run_id: "a1".into(),
        operator: "test".into(),
        period,
        now: sb.shared.clock.now(),
        leaver_sla: Duration::hours(1),
        test_login: Some(jmlproof::attest::legs::TestLogin {
            prefix: "jmlproof-".into(),
            domain: "sandbox.example".into(),
        }),
        test_ids: BTreeSet::new(),
        sample,
        terminations,
        termination_sla: Duration::hours(24),
        ledger: None,
    };
    let sources = Sources {
        okta: &c.okta,
        graph: &c.graph,
        aws: &c.aws,
        entra_app: &e.okta_entra_app_id,
        aws_app: &e.okta_aws_app_id,
    };
    (attest(&settings, &sources, Some(&raw)).await.unwrap(), raw)
}

fn revoked<'a>(r: &'a Record, key: &str, leg: Leg) -> &'a Verdict {
    r.verdicts
        .iter()
        .find(|v| v.subject == key && v.leg == leg && v.check == "revoked")
        .unwrap_or_else(|| panic!("{key} {leg:?}"))
}

#[tokio::test(flavor = "multi_thread")]
async fn the_studio_leavers_breaches_and_gaps_come_out_exactly() {
    let sb = common::start_studio(7, 1.0, Some(start())).await;
    let planted = sb.shared.planted.clone().expect("studio plants");
    let now = sb.shared.clock.now();
    let period = Period { since: planted.window_start, until: now + Duration::days(1) };
    let (r, raw) = attested(&sb, period, Some((5, 2026))).await;

    // Who left: the planted leavers the System Log still holds (90 days), no one else.
    let horizon = now - Duration::days(90);
    let want: BTreeSet<&str> = planted.leavers.iter().filter(|l| l.t0 >= horizon).map(|l| l.okta_id.as_str()).collect();
    let got: BTreeSet<&str> = r.subjects.iter().filter_map(|s| s.okta_id.as_deref()).collect();
    assert_eq!(got, want);
    assert!(planted.leavers.iter().any(|l| l.t0 < horizon), "the story has leavers beyond the log's reach");
    let period_gap = r.verdicts.iter().find(|v| v.subject == "period").expect("the uncovered start is said");
    assert_eq!(period_gap.status, Status::Unknown);
    // Set apart, not counted: the reactivated employee and the contractor with no accounts.
    let why: BTreeMap<&str, &str> = r.excluded.iter().map(|e| (e.okta_id.as_str(), e.why.as_str())).collect();
    assert!(why[planted.reactivated.okta_id.as_str()].starts_with("reactivated at"), "{why:?}");
    assert!(why[planted.contractor_guest.okta_id.as_str()].starts_with("no account on either leg"), "{why:?}");
    assert_eq!(r.excluded.len(), 2);

    let key: BTreeMap<&str, &str> =
        r.subjects.iter().map(|s| (s.okta_id.as_deref().unwrap(), s.key.as_str())).collect();
    let entra_from = r
        .coverage
        .iter()
        .find(|c| c.source == jmlproof::evidence::record::Source::EntraDirectoryAudit)
        .unwrap()
        .covers_from
        .unwrap();
    assert!(entra_from >= now - Duration::days(30), "Entra's retention is 30 days: {entra_from}");
    let mut exact = 0;
    for l in planted.leavers.iter().filter(|l| l.t0 >= horizon) {
        let k = key[l.okta_id.as_str()];
        for leg_out in &l.legs {
            let leg = if leg_out.leg == SbLeg::Entra { Leg::Entra } else { Leg::Aws };
            let v = revoked(&r, k, leg);
            match leg_out.revoked_at {
                // Never revoked: FAIL, still enabled.
                None => {
                    assert_eq!(v.status, Status::Fail, "{k} {leg:?}: {v:?}");
                    assert!(v.reason.starts_with("still enabled"), "{v:?}");
                }
                Some(at) => {
                    let planted_ms = (at - l.t0).num_milliseconds();
                    if leg == Leg::Entra && at < now - Duration::days(30) {
                        // Its audit row is beyond the log's retention: never PASS.
                        assert_eq!(v.status, Status::Unknown, "{k} Entra beyond retention: {v:?}");
                        assert!(v.reason.contains("retention"), "{v:?}");
                        continue;
                    }
                    assert_eq!(v.latency_ms, Some(planted_ms), "{k} {leg:?} exact latency: {v:?}");
                    let late = planted_ms > 3_600_000;
                    assert_eq!(v.status, if late { Status::Fail } else { Status::Pass }, "{k} {leg:?}: {v:?}");
                    exact += 1;
                }
            }
        }
    }
    assert!(exact > 20, "{exact} legs timed exactly");
    // The planted late legs within reach are FAIL with their latency; the never-revoked
    // leg's failed push is shown too.
    for late in &planted.late {
        let Some(k) = key.get(late.okta_id.as_str()) else { continue };
        let leg = if late.leg == SbLeg::Entra { Leg::Entra } else { Leg::Aws };
        let v = revoked(&r, k, leg);
        assert_ne!(v.status, Status::Pass, "{k} late {leg:?}: {v:?}");
    }
    let never = &planted.never_revoked[0];
    let push =
        r.verdicts.iter().find(|v| v.subject == key[never.okta_id.as_str()] && v.check.ends_with("to AWS")).unwrap();
    assert_eq!(push.status, Status::Fail);
    assert!(push.reason.contains("Bad Gateway"), "{push:?}");

    // Every event used has its body, hashed as the record says.
    let bodies = raw.pack_files(&r.events).unwrap();
    let Some(jmlproof::pack::RawFile::Mem(_, lines)) = bodies.iter().find(|f| f.name() == "events.ndjson") else {
        panic!("events.ndjson is built in memory")
    };
    let lines: Vec<&[u8]> = lines.split(|b| *b == b'\n').filter(|l| !l.is_empty()).collect();
    assert_eq!(lines.len(), r.events.len());
    for (e, line) in r.events.iter().zip(lines) {
        assert_eq!(jmlproof::pack::sums::hex_sha256(line), e.sha256, "{}", e.id);
    }

    // The sample is five of them, the same again for the same seed.
    let sample = r.sample.clone().unwrap();
    assert_eq!(sample.subjects.len(), 5);
    let (again, _) = attested(&sb, period, Some((5, 2026))).await;
    assert_eq!(again.sample.unwrap().subjects, sample.subjects);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_period_inside_the_trails_reach_has_no_gap_and_counts_only_its_own_leavers() {
    let sb = common::start_studio(11, 1.0, Some(start())).await;
    let planted = sb.shared.planted.clone().unwrap();
    let now = sb.shared.clock.now();
    let period = Period { since: now - Duration::days(20), until: now - Duration::days(5) };
    let (r, _) = attested(&sb, period, None).await;
    assert!(r.verdicts.iter().all(|v| v.subject != "period"), "the System Log covers the whole period");
    let want: BTreeSet<&str> =
        planted.leavers.iter().filter(|l| period.contains(l.t0)).map(|l| l.okta_id.as_str()).collect();
    let got: BTreeSet<&str> = r.subjects.iter().filter_map(|s| s.okta_id.as_deref()).collect();
    assert_eq!(got, want, "a leaver outside the period is not in it, even if its trails are");
    sb.shutdown().await;
}

/// A real tenant's System Log is mostly sign-ins: 40,000 of them change no verdict,
/// because attest asks Okta for the lifecycle events alone.
#[tokio::test(flavor = "multi_thread")]
async fn sign_in_noise_in_the_system_log_changes_nothing() {
    let quiet = common::start_studio(5, 1.0, Some(start())).await;
    let noisy = Sandbox::start(jmlproof::sandbox::Options {
        seed: 5,
        seed_data: jmlproof::sandbox::SeedData::Studio,
        faults: jmlproof::sandbox::faults::Faults::fast(),
        start: Some(start()),
        log_events: Some(40_000),
        ..Default::default()
    })
    .await
    .unwrap();
    let (len, sign_ins) = {
        let t = noisy.shared.tenant();
        let n = t.okta.log.iter().filter(|e| e.event["eventType"] == "user.session.start").count();
        (t.okta.log.len(), n)
    };
    assert!(len >= 40_000 && sign_ins > 15_000, "{len} events, {sign_ins} sign-ins");
    let now = quiet.shared.clock.now();
    let period = Period { since: now - Duration::days(60), until: now };
    let (a, _) = attested(&quiet, period, None).await;
    let (b, _) = attested(&noisy, period, None).await;
    assert!(!a.subjects.is_empty());
    assert_eq!(a.subjects, b.subjects);
    assert_eq!(a.verdicts, b.verdicts);
    assert_eq!(a.events, b.events);
    quiet.shutdown().await;
    noisy.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn hr_terminations_without_a_timely_okta_deactivation_fail() {
    let sb = common::start_studio(7, 1.0, Some(start())).await;
    let planted = sb.shared.planted.clone().unwrap();
    let now = sb.shared.clock.now();
    let reach = now - Duration::days(85);
    let recent: Vec<_> = planted.leavers.iter().filter(|l| l.t0 > reach && l.deleted_at.is_none()).collect();
    let deleted = planted.leavers.iter().find(|l| l.deleted_at.is_some()).unwrap();
    let day = |t: DateTime<Utc>| t.format("%Y-%m-%d").to_string();
    let active = &planted.joiners[0];
    let csv = format!(
        "employee_number,login,termination_date\n{},,{}\n,{},{}\n,{},{}\n,{},{}\n,{},{}\n",
        recent[0].employee_number,
        day(recent[0].t0),
        recent[1].login,
        day(recent[1].t0 - Duration::days(3)),
        active.login,
        day(now - Duration::days(10)),
        deleted.login,
        day(deleted.t0),
        active.login,
        day(now - Duration::days(100)),
    );
    let rows = jmlproof::attest::terminations::parse(&csv, "hr.csv").unwrap();
    let period = Period { since: now - Duration::days(85), until: now };
    let (r, _) = attested_with(&sb, period, None, rows).await;
    let hr: Vec<&Verdict> = r.verdicts.iter().filter(|v| v.check == "deactivated after HR termination").collect();
    assert_eq!(hr.len(), 5, "{hr:#?}");
    let key_of = |okta_id: &str| {
        r.subjects.iter().find(|s| s.okta_id.as_deref() == Some(okta_id)).map(|s| s.key.clone()).unwrap()
    };
    let by = |key: &str| *hr.iter().find(|v| v.subject == key).unwrap_or_else(|| panic!("{key}: {hr:#?}"));
    // On the day: PASS, timed from the start of the termination day.
    let on_time = by(&key_of(&recent[0].okta_id));
    assert_eq!(on_time.status, Status::Pass, "{on_time:?}");
    let midnight = recent[0].t0.date_naive().and_hms_opt(0, 0, 0).unwrap().and_utc();
    assert_eq!(on_time.latency_ms, Some((recent[0].t0 - midnight).num_milliseconds()));
    // Three days late: FAIL.
    let late = by(&key_of(&recent[1].okta_id));
    assert_eq!(late.status, Status::Fail, "{late:?}");
    assert!(late.reason.contains("over the 24h SLA"), "{late:?}");
    // Still active in Okta: FAIL, the original finding.
    let never = by("hr004");
    assert_eq!(never.status, Status::Fail, "{never:?}");
    assert!(never.reason.contains("the Okta user is ACTIVE"), "{never:?}");
    // A deleted user is found by login in the System Log.
    let gone = by(&key_of(&deleted.okta_id));
    assert_eq!(gone.status, Status::Pass, "{gone:?}");
    // A termination before the log's reach cannot be shown either way.
    let old = by("hr006");
    assert_eq!(old.status, Status::Unknown, "{old:?}");
    sb.shutdown().await;
}

#[test]
fn the_cli_writes_a_signed_attest_pack_and_refuses_bad_input_in_one_line() {
    use common::cli::{bin, scratch, shown};
    let dir = scratch("attest-cli");
    let o =
        bin().args(["keygen", "--path", "key", "--comment", "audit@acme.example"]).current_dir(&dir).output().unwrap();
    assert!(o.status.success(), "{}", shown(&o));
    let today = Utc::now().format("%Y-%m-%d").to_string();
    let since = (Utc::now() - Duration::days(60)).format("%Y-%m-%d").to_string();
    let o = bin()
        .args(["attest", "--sandbox", "--since", &since, "--until", &today, "--sample", "3", "--seed", "9"])
        .args(["--out", "evidence", "--signing-key", "file:key"])
        .current_dir(&dir)
        .output()
        .unwrap();
    // The studio story has a never-revoked AWS leaver and late legs: findings, exit 1.
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains(" set apart"), "{stdout}");
    let pack = std::fs::read_dir(dir.join("evidence")).unwrap().next().unwrap().unwrap().path();
    assert!(pack.file_name().unwrap().to_string_lossy().starts_with("jmlproof-attest-"));
    let o = bin().arg("verify").arg(&pack).args(["--identity", "audit@acme.example"]).output().unwrap();
    assert_eq!(o.status.code(), Some(0), "{}", shown(&o));
    let html = std::fs::read_to_string(pack.join("index.html")).unwrap();
    assert!(
        html.contains("Deactivations set apart") && html.contains("Period:") && html.contains("Sample:"),
        "attest sections"
    );
    let pdf = Command::new("pdftotext").arg(pack.join("report.pdf")).arg("-").output().unwrap();
    let text = String::from_utf8_lossy(&pdf.stdout);
    assert!(text.contains("Period:") && text.contains("Deactivations set apart"), "{text}");

    for (args, expect) in [
        (vec!["--since", "July", "--until", "2026-09-30"], "--since: \"July\""),
        (vec!["--since", "2026-09-30", "--until", "2026-07-01"], "is not before"),
    ] {
        let o = bin().arg("attest").arg("--sandbox").args(&args).current_dir(&dir).output().unwrap();
        assert_eq!(o.status.code(), Some(2), "{}", shown(&o));
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(err.lines().count(), 1, "{err}");
        assert!(err.contains(expect), "{err}");
    }
    std::fs::write(dir.join("hr.csv"), "login,termination_date\nzoe@acme.example,last friday\n").unwrap();
    let o = bin()
        .args(["attest", "--sandbox", "--since", &since, "--until", &today, "--terminations", "hr.csv"])
        .current_dir(&dir)
        .output()
        .unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("hr.csv:2: termination_date \"last friday\""), "{}", shown(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

mod common;
