//! The JML run against the sandbox: a healthy tenant passes every check; a leg whose
//! deactivation is switched off fails that leg only; delete-style revokes count; and
//! the run leaves no test user in Okta.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{admin, set_faults, start_fast};
use jmlproof::evidence::record::{Leg, Phase, Record, Status};
use jmlproof::http::{Footprint, System};
use jmlproof::sandbox::Sandbox;
use jmlproof::scenario::cmd::{SandboxClients, sandbox_clients, sandbox_settings};
use jmlproof::scenario::journal::RunJournal;
use jmlproof::scenario::runner::{Clients, Settings, Slas, run};

/// The sandbox's built-in settings, made fast for tests: millisecond pushes, 3 s SLAs.
fn settings(sb: &Sandbox, dir: &std::path::Path) -> Settings {
    let mut s = sandbox_settings(&sb.endpoints, dir.to_path_buf());
    s.sla = Slas {
        joiner: Duration::from_secs(3),
        mover: Duration::from_secs(3),
        leaver: Duration::from_secs(3),
        residual: Duration::from_secs(24 * 3600),
    };
    s.grace = Duration::from_millis(500);
    s.poll_start = Duration::from_millis(20);
    s.poll_max = Duration::from_millis(200);
    s
}

async fn go(sb: &Sandbox, name: &str) -> (Record, std::path::PathBuf) {
    go_with(sb, name, |_| {}).await
}

async fn go_with(sb: &Sandbox, name: &str, tweak: impl FnOnce(&mut Settings)) -> (Record, std::path::PathBuf) {
    let dir = std::env::temp_dir().join(format!("jmlproof-run-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let fp = Footprint::new();
    let SandboxClients { okta, graph, aws } = sandbox_clients(&sb.endpoints, &fp, None).await.unwrap();
    let mut s = settings(sb, &dir);
    tweak(&mut s);
    let record = run(
        &s,
        &Clients {
            stop: &jmlproof::scenario::stop::Stop::default(),
            progress: &jmlproof::scenario::progress::Progress::quiet(),
            okta: &okta,
            graph: &graph,
            aws: &aws,
            raw: None,
        },
        &Arc::clone(&fp),
    )
    .await
    .unwrap();
    (record, dir)
}

fn failing(r: &Record) -> Vec<String> {
    r.verdicts
        .iter()
        .filter(|v| v.status != Status::Pass)
        .map(|v| format!("{} {:?} {:?} {}: {:?} {}", v.subject, v.phase, v.leg, v.check, v.status, v.reason))
        .collect()
}

#[tokio::test]
async fn a_healthy_tenant_passes_every_check_and_is_left_clean() {
    let sb = start_fast().await;
    let (r, dir) = go(&sb, "healthy").await;
    assert!(r.all_pass(), "{:#?}", failing(&r));
    // Mover and leaver reads of Entra accounts went through $batch, not one GET each.
    let graph = |suffix: &str| {
        r.footprint
            .iter()
            .filter(|f| f.system == System::Graph && f.endpoint.ends_with(suffix))
            .map(|f| f.calls)
            .sum::<u64>()
    };
    assert!(graph("/$batch") > 0, "{:#?}", r.footprint);
    // Every Entra change was Okta's (the sandbox provisions as Okta's service principal),
    // and every downstream event names who made it.
    assert!(!r.notes.iter().any(|n| n.contains("manual change")), "{:#?}", r.notes);
    assert!(r.events.iter().all(|e| e.actor.is_some()), "{:#?}", r.events.iter().find(|e| e.actor.is_none()));
    // The System Log is read in one query for all three subjects; teardown then reads
    // each subject's deactivate pushes once before deleting it.
    let okta_logs: u64 = r
        .footprint
        .iter()
        .filter(|f| f.system == System::Okta && f.endpoint == "GET /api/v1/logs")
        .map(|f| f.calls)
        .sum();
    assert_eq!(okta_logs, 1 + r.subjects.len() as u64, "{:#?}", r.footprint);
    // Polling does not GET users one by one: the three one-off reads per subject
    // (joiner attributes, still enabled after the move, sign-in sessions) remain.
    assert_eq!(graph("/users/{id}"), 3 * r.subjects.len() as u64, "{:#?}", r.footprint);
    // Each subject: joiner, mover and leaver checks on both legs, and residual access.
    for phase in [Phase::Joiner, Phase::Mover, Phase::Leaver, Phase::Residual] {
        assert!(r.verdicts.iter().filter(|v| v.phase == phase).count() >= 6, "{phase:?}");
    }
    // Timed verdicts rest on the downstream's own audit time where it agrees with polling.
    let revoked: Vec<_> = r.verdicts.iter().filter(|v| v.phase == Phase::Leaver && v.check == "revoked").collect();
    assert_eq!(revoked.len(), 6);
    assert!(
        revoked
            .iter()
            .all(|v| v.time.as_ref().is_some_and(|t| t.provenance == jmlproof::evidence::record::Provenance::Source))
    );
    // Each revoke's ground-truth instant lies inside the recorded poll window, and the
    // verdict's latency is no shorter than the truth (never wrong in the auditee's favour).
    let truth = admin(&sb, "/truth").await;
    let rows = truth["truth"].as_array().unwrap();
    assert_eq!(rows.iter().filter(|t| t["action"] == "disable").count(), 6);
    for subject in &r.subjects {
        let okta_id = subject.okta_id.as_deref().unwrap();
        let t0 = r
            .events
            .iter()
            .find(|e| e.kind == "user.lifecycle.deactivate" && e.subject.as_deref() == Some(subject.key.as_str()))
            .unwrap()
            .time;
        for (leg, name) in [(Leg::Entra, "entra"), (Leg::Aws, "aws")] {
            let at: chrono::DateTime<chrono::Utc> = rows
                .iter()
                .find(|t| t["action"] == "disable" && t["leg"] == name && t["okta_user_id"] == okta_id)
                .unwrap()["at"]
                .as_str()
                .unwrap()
                .parse()
                .unwrap();
            let obs = r
                .observations
                .iter()
                .find(|o| o.subject == subject.key && o.leg == leg && o.phase == Phase::Leaver && o.check == "revoked")
                .unwrap();
            let w = obs.window.unwrap();
            assert!(
                at <= w.first_seen && w.last_not_seen.is_none_or(|l| l <= at),
                "{} {name}: truth {at} outside {w:?}",
                subject.key
            );
            let v = r
                .verdicts
                .iter()
                .find(|v| v.subject == subject.key && v.leg == leg && v.phase == Phase::Leaver && v.check == "revoked")
                .unwrap();
            let true_ms = (at - t0).num_milliseconds();
            assert!(
                v.latency_ms.unwrap() >= true_ms - 1,
                "{} {name}: verdict {} ms < truth {true_ms} ms",
                subject.key,
                v.latency_ms.unwrap()
            );
        }
    }
    // No test user left in Okta; the journal says the run finished clean.
    assert!(admin(&sb, "/users?prefix=jmlproof-").await["okta"].as_array().unwrap().is_empty());
    let journals = RunJournal::read_dir(&dir).unwrap();
    assert!(journals[0].finished());
    assert!(r.events.iter().any(|e| e.source == jmlproof::evidence::record::Source::Cloudtrail));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn aws_deactivate_switched_off_fails_that_leg_only() {
    let sb = start_fast().await;
    set_faults(&sb, "[aws]\ndeactivate = false\n").await;
    let (r, dir) = go(&sb, "no-deactivate").await;
    let aws: Vec<_> =
        r.verdicts.iter().filter(|v| v.phase == Phase::Leaver && v.check == "revoked" && v.leg == Leg::Aws).collect();
    assert!(
        aws.iter().all(|v| v.status == Status::Fail && v.reason.starts_with("not changed within the SLA")),
        "{aws:#?}"
    );
    let entra: Vec<_> =
        r.verdicts.iter().filter(|v| v.phase == Phase::Leaver && v.check == "revoked" && v.leg == Leg::Entra).collect();
    assert!(entra.iter().all(|v| v.status == Status::Pass));
    assert!(!r.all_pass());
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn delete_style_revokes_count_as_revoked() {
    let sb = start_fast().await;
    set_faults(&sb, "[entra]\nrevoke = \"delete\"\n").await;
    let (r, dir) = go(&sb, "delete").await;
    let revoked: Vec<_> = r.verdicts.iter().filter(|v| v.phase == Phase::Leaver && v.check == "revoked").collect();
    assert!(revoked.iter().all(|v| v.status == Status::Pass), "{:#?}", failing(&r));
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_429_storm_on_okta_and_graph_still_passes_and_is_recorded() {
    let sb = start_fast().await;
    // A short rate window keeps Okta's X-Rate-Limit-Reset waits to a second or two.
    set_faults(&sb, "[okta]\nrate_429 = 0.2\nrate_window = \"1s\"\n[entra]\nrate_429 = 0.2\n").await;
    // Waiting out 429s slows the polling, and observed windows widen with it: the SLAs
    // here leave room for that (the point is that the run completes and records it).
    let (r, dir) = go_with(&sb, "storm", |s| {
        s.subjects = 2;
        s.sla.joiner = Duration::from_secs(30);
        s.sla.mover = Duration::from_secs(30);
        s.sla.leaver = Duration::from_secs(30);
    })
    .await;
    assert!(r.all_pass(), "{:#?}", failing(&r));
    let throttled = |sys: System| r.footprint.iter().filter(|f| f.system == sys).map(|f| f.throttled).sum::<u64>();
    assert!(throttled(System::Okta) > 0 && throttled(System::Graph) > 0, "{:#?}", r.footprint);
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn a_leg_slower_than_the_sla_fails_with_its_measured_latency() {
    let sb = start_fast().await;
    set_faults(&sb, "[aws]\ndelay = \"1500ms\"\njitter = \"0s\"\n").await;
    let (r, dir) = go_with(&sb, "slow", |s| {
        s.subjects = 1;
        s.mover = false;
        s.sla.joiner = Duration::from_secs(1);
        s.sla.leaver = Duration::from_secs(1);
        s.grace = Duration::from_secs(3);
    })
    .await;
    for phase in [Phase::Joiner, Phase::Leaver] {
        let check = if phase == Phase::Joiner { "account created" } else { "revoked" };
        let aws = r.verdicts.iter().find(|v| v.phase == phase && v.leg == Leg::Aws && v.check == check).unwrap();
        assert_eq!(aws.status, Status::Fail, "{aws:?}");
        let latency = aws.latency_ms.unwrap();
        assert!((1400..3000).contains(&latency), "{latency} ms");
        assert!(aws.reason.starts_with("changed after"), "{}", aws.reason);
        let entra = r.verdicts.iter().find(|v| v.phase == phase && v.leg == Leg::Entra && v.check == check).unwrap();
        assert_eq!(entra.status, Status::Pass);
    }
    let _ = std::fs::remove_dir_all(&dir);
}
