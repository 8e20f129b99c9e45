//! The fault matrix: every fault the sandbox can inject, alone and in pairs, on each
//! system it applies to, each cell a one-subject joiner/mover/leaver run against its
//! own sandbox. A cell holds when the run completes, no check is PASS that the
//! sandbox's ground truth contradicts, and every check that is not PASS gives a
//! reason naming one of the cell's faults as a user would meet it (an error, a
//! status, "not changed within the SLA"). Checks on a system no fault touched must
//! PASS, unless Okta itself is faulted (every T0 comes from Okta).
//!
//! Each test writes its rows to `target/fault-matrix/` (or `$JMLPROOF_MATRIX_OUT`);
//! `scripts/fault-matrix.sh` runs them and puts the table in the README.

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use jmlproof::evidence::record::{Leg, Phase, Record, Status, Verdict};
use jmlproof::http::{Footprint, Policy};
use jmlproof::sandbox::faults::Faults;
use jmlproof::scenario::cleanup::{Deletion, cleanup};
use jmlproof::scenario::cmd::{SandboxClients, sandbox_clients_with, sandbox_settings};
use jmlproof::scenario::runner::{Clients, Slas, run};
use serde_json::Value;

/// One fault on one system.
#[derive(Debug, Clone)]
struct Fault {
    name: &'static str,
    system: &'static str,
    toml: &'static str,
    /// Words a reason naming this fault contains.
    named_by: &'static [&'static str],
}

/// What a slowed or blinded poll leaves: the verdict rests on the window's upper bound,
/// or, when the first look came after the SLA, on nothing (UNKNOWN).
const OBSERVED: &str = "poll window's upper bound";
const LATE_LOOK: &str = "first looked at";

/// Faults of a system's API, on each of the three systems.
const API: &[(&str, &str, &[&str])] = &[
    ("429 storm (40% of calls)", "rate_429 = 0.4", &["429", "Throttl", "Rate exceeded", OBSERVED, LATE_LOOK]),
    ("5xx burst (30%)", "rate_5xx = 0.3", &["HTTP 50", "Internal", "unavailable", OBSERVED, LATE_LOOK]),
    ("connection reset (20%)", "rate_reset = 0.2", &["connection", "reset", "closed", "dispatch", OBSERVED, LATE_LOOK]),
    (
        "slower than the client timeout (20%)",
        "rate_slow = 0.2\nslow = \"3s\"",
        &["no response within", "timed out", "timeout", OBSERVED, LATE_LOOK],
    ),
    (
        "malformed JSON body (20%)",
        "rate_malformed = 0.2",
        &["does not parse", "not JSON", "malformed", OBSERVED, LATE_LOOK],
    ),
    ("unexpected extra field in every object", "extra_field = true", &[]),
];

/// Faults of a provisioning leg (Okta → Entra, Okta → AWS).
const LEG: &[(&str, &str, &[&str])] = &[
    ("Deactivate Users off", "deactivate = false", &["not changed within the SLA", "Deactivate Users is off"]),
    ("push fails twice, then succeeds", "push_failures = 2", &["FAILURE", "changed after", OBSERVED, LATE_LOOK]),
    (
        "push never succeeds",
        "push_never_succeeds = true",
        &["FAILURE", "not changed within the SLA", "account found to check"],
    ),
    ("audit entries never appear", "audit = false", &["audit", OBSERVED, LATE_LOOK]),
    ("clock 5 min behind", "clock_skew = \"-5m\"", &["clock", OBSERVED, LATE_LOOK]),
    ("clock 5 min ahead", "clock_skew = \"5m\"", &["clock", OBSERVED, LATE_LOOK]),
];

fn catalogue() -> Vec<Fault> {
    let mut out = Vec::new();
    for system in ["okta", "entra", "aws"] {
        for (name, toml, named_by) in API {
            // Okta's 429 waits for X-Rate-Limit-Reset (whole seconds): a short window keeps them to ~1 s.
            let toml = if system == "okta" && toml.starts_with("rate_429") {
                "rate_429 = 0.4\nrate_window = \"1s\""
            } else {
                toml
            };
            out.push(Fault { name, system, toml, named_by });
        }
    }
    for system in ["entra", "aws"] {
        for (name, toml, named_by) in LEG {
            out.push(Fault { name, system, toml, named_by });
        }
    }
    out.push(Fault {
        name: "System Log next link repeats forever",
        system: "okta",
        toml: "log_next_repeats = true",
        named_by: &["leads back to a page already read", "System Log event is missing"],
    });
    out
}

fn key_of(f: &Fault) -> (&'static str, &str) {
    (f.system, f.toml.split(['=', ' ']).next().unwrap_or(""))
}

/// Every unordered pair of faults that can hold at once (not one key set twice).
fn pairs(all: &[Fault]) -> Vec<Vec<Fault>> {
    let mut out = Vec::new();
    for (i, a) in all.iter().enumerate() {
        for b in &all[i + 1..] {
            if key_of(a) != key_of(b) {
                out.push(vec![a.clone(), b.clone()]);
            }
        }
    }
    out
}

const SLA: Duration = Duration::from_secs(3);

/// Reasons that point at another check's outcome rather than at a fault.
const CONSEQUENCES: &[&str] = &[
    "no Entra account found",
    "no Identity Center user found",
    "no downstream account to check",
    "account found to check",
    "not a member of the pushed group",
    "revoke latency or session duration unknown",
    "no directory audit entry dates a revocation",
    "refresh tokens issued before the leave stay valid",
];

/// One cell: its own sandbox with the faults, one subject, and the record.
/// The record (or the run's error) and what the sandbox knows: `truth`, every
/// downstream change with its instant, and `okta_left`, the test users still in Okta;
/// `journal_clean`, whether the run's journal says it left nothing behind, and when it
/// does not, `cleanup`, what `jmlproof cleanup` did afterwards with the faults healed.
async fn run_cell(cell: &[Fault], seed: u64) -> (Result<Record, String>, Value) {
    let mut faults = Faults::fast();
    for f in cell {
        faults = faults.merged(&format!("[{}]\n{}\n", f.system, f.toml)).unwrap();
    }
    let sb = jmlproof::sandbox::Sandbox::start(jmlproof::sandbox::Options {
        seed,
        faults,
        ..jmlproof::sandbox::Options::default()
    })
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("jmlproof-fm-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let fp = Footprint::new();
    // A one-second timeout makes "slower than the timeout" cost seconds, not minutes.
    let policy = Policy {
        request_timeout: Duration::from_secs(1),
        max_wait: Duration::from_secs(20),
        backoff_base: Duration::from_millis(50),
        backoff_cap: Duration::from_secs(1),
        ..Policy::default()
    };
    let SandboxClients { okta, graph, aws } = sandbox_clients_with(&sb.endpoints, &fp, None, policy).await.unwrap();
    let mut s = sandbox_settings(&sb.endpoints, dir.clone());
    s.subjects = 1;
    s.sla = Slas { joiner: SLA, mover: SLA, leaver: SLA, residual: Duration::from_secs(86_400) };
    s.grace = Duration::from_millis(500);
    s.poll_start = Duration::from_millis(20);
    s.poll_max = Duration::from_millis(200);
    let stop = jmlproof::scenario::stop::Stop::default();
    let progress = jmlproof::scenario::progress::Progress::quiet();
    let clients = Clients { stop: &stop, progress: &progress, okta: &okta, graph: &graph, aws: &aws, raw: None };
    let record = run(&s, &clients, &Arc::clone(&fp)).await.map_err(|e| e.to_string());
    let journals = jmlproof::scenario::journal::RunJournal::read_dir(&dir).unwrap_or_default();
    let clean = !journals.is_empty() && journals.iter().all(|j| j.clean());
    let truth = common::admin(&sb, "/truth").await;
    // A run that could not finish its teardown journals it; `cleanup` against the
    // healed tenant must then take every test user out of service.
    let mut cleaned = Value::Null;
    if !clean {
        sb.shared.set_faults(Faults::fast());
        let apps = [sb.endpoints.okta_entra_app_id.clone(), sb.endpoints.okta_aws_app_id.clone()];
        let deletion = Deletion { apps: &apps, wait: Duration::from_secs(2) };
        cleaned = match cleanup(&okta, &journals, "jmlproof-", 10, &deletion).await {
            Ok(report) => serde_json::json!({"removed": report.removed}),
            Err(e) => serde_json::json!({"error": e.to_string()}),
        };
    }
    let _ = std::fs::remove_dir_all(&dir);
    let left = common::admin(&sb, "/users?prefix=jmlproof-").await;
    (
        record,
        serde_json::json!({"truth": truth["truth"], "okta_left": left["okta"], "journal_clean": clean, "cleanup": cleaned}),
    )
}

/// The system a verdict is about: its leg, or for Okta's push checks the app pushed to.
fn system_of(v: &Verdict) -> &'static str {
    match v.leg {
        Leg::Entra => "entra",
        Leg::Aws => "aws",
        Leg::Okta if v.check.ends_with("to Entra") => "entra",
        Leg::Okta if v.check.ends_with("to AWS") => "aws",
        Leg::Okta => "okta",
    }
}

/// The truth actions that make a timed check's change, and whether the last of them counts.
fn truth_actions(phase: Phase, check: &str) -> Option<(&'static [&'static str], bool)> {
    match (phase, check) {
        (Phase::Joiner, "account created") => Some((&["create", "enable"], false)),
        (Phase::Joiner, "group membership") => Some((&["group_add"], false)),
        (Phase::Mover, "renamed in place") => Some((&["update"], false)),
        (Phase::Mover, "membership moved") => Some((&["group_add", "group_remove"], true)),
        (Phase::Leaver, "revoked") => Some((&["disable", "delete"], false)),
        (Phase::Joiner, c) if c.contains("provision.user.push to") => Some((&["create", "enable"], false)),
        (Phase::Leaver, c) if c.contains("provision.user.deactivate to") => Some((&["disable", "delete"], false)),
        _ => None,
    }
}

/// When the ground truth says the check's change took effect on its system.
fn truth_at(truth: &Value, v: &Verdict, mover_started: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    let (actions, last) = truth_actions(v.phase, &v.check)?;
    let leg = system_of(v);
    let rows: Vec<DateTime<Utc>> = truth["truth"]
        .as_array()?
        .iter()
        .filter(|t| t["leg"] == leg && actions.iter().any(|a| t["action"] == *a))
        // A mover's group changes are those after the joiner's.
        .filter(|t| {
            v.phase != Phase::Mover
                || mover_started.is_none_or(|m| t["at"].as_str().unwrap_or("") > m.to_rfc3339().as_str())
        })
        .filter_map(|t| t["at"].as_str()?.parse().ok())
        .collect();
    if last { rows.into_iter().max() } else { rows.into_iter().min() }
}

/// What went wrong in a cell, if anything (empty: the cell holds).
fn judge(cell: &[Fault], outcome: &Result<Record, String>, truth: &Value) -> Vec<String> {
    let mut problems = Vec::new();
    // Whatever happened, no test user is left active: the run removed it, or its journal
    // said it could not and `cleanup` did. One left deactivated is one whose deactivation
    // Okta never confirmed pushing (deleting it could orphan the downstream account).
    if let Some(e) = truth["cleanup"]["error"].as_str() {
        problems.push(format!("cleanup after the run failed: {e}"));
    }
    for u in truth["okta_left"].as_array().into_iter().flatten() {
        if u["status"] != "DEPROVISIONED" || truth["journal_clean"] != false {
            problems.push(format!("test user {} left in Okta as {}", u["login"], u["status"]));
        }
    }
    let r = match outcome {
        Ok(r) => r,
        // A run may refuse to start when its preflight cannot read Okta: one line that
        // names the fault, and nothing created.
        Err(e) => {
            if !e.starts_with("okta") || !cell.iter().any(|f| f.named_by.iter().any(|w| e.contains(w))) {
                problems.push(format!("the run did not complete: {e}"));
            }
            return problems;
        }
    };
    if r.verdicts.is_empty() {
        problems.push("no verdicts".into());
    }
    let okta_faulted = cell.iter().any(|f| f.system == "okta");
    let mover_started = r.steps.iter().find(|s| s.action == "move").map(|s| s.requested_at);
    for v in &r.verdicts {
        let what = format!("{:?} {} ({})", v.phase, v.check, system_of(v));
        if v.status == Status::Pass {
            if let Some((..)) = truth_actions(v.phase, &v.check) {
                match truth_at(truth, v, mover_started) {
                    None => problems.push(format!("{what} is PASS but the change never happened")),
                    // The time a PASS rests on must not be earlier than the change (CloudTrail
                    // dates to the second, hence the second of slack).
                    Some(at) => {
                        if let Some(t) = &v.time
                            && t.at < at - chrono::Duration::seconds(1)
                        {
                            problems.push(format!("{what} is PASS dated {} but the change was at {at}", t.at));
                        }
                    }
                }
            }
            continue;
        }
        let touched = okta_faulted || cell.iter().any(|f| f.system == system_of(v));
        if !touched {
            problems.push(format!("{what} is {:?} though no fault touched it: {}", v.status, v.reason));
            continue;
        }
        let names = |reason: &str| cell.iter().any(|f| f.named_by.iter().any(|w| reason.contains(w)));
        // A check that needed another one's outcome (an account to read, a revoke to
        // time) says so; it holds when that other check on the system names the fault.
        let follows = CONSEQUENCES.iter().any(|c| v.reason.contains(c))
            && r.verdicts.iter().any(|o| {
                o.status != Status::Pass && o.subject == v.subject && system_of(o) == system_of(v) && names(&o.reason)
            });
        if !names(&v.reason) && !follows {
            problems.push(format!("{what} is {:?} with a reason naming none of the faults: {}", v.status, v.reason));
        }
    }
    problems
}

/// One row of the table.
fn row(cell: &[Fault], outcome: &Result<Record, String>, problems: &[String], took: Duration) -> String {
    let faults = cell
        .iter()
        .map(|f| format!("{} (`[{}] {}`)", f.name, f.system, f.toml.replace('\n', "; ")))
        .collect::<Vec<_>>()
        .join(" + ");
    let (counts, seen) = match outcome {
        Ok(r) => {
            let n = |s: Status| r.verdicts.iter().filter(|v| v.status == s).count();
            let reasons: BTreeSet<String> = r
                .verdicts
                .iter()
                .filter(|v| v.status != Status::Pass)
                .map(|v| format!("{:?}: {}", v.status, short(&v.reason)))
                .collect();
            let seen = reasons.into_iter().take(2).collect::<Vec<_>>().join("; ");
            (format!("{} / {} / {}", n(Status::Pass), n(Status::Fail), n(Status::Unknown)), seen)
        }
        Err(e) => ("-".into(), short(e)),
    };
    let verdict =
        if problems.is_empty() { "holds".to_string() } else { format!("**broken**: {}", short(&problems[0])) };
    format!(
        "| {faults} | {counts} | {} | {verdict} | {:.1} s |",
        if seen.is_empty() { "all PASS".into() } else { seen.replace('|', "/") },
        took.as_secs_f64()
    )
}

/// A reason cut to what stays the same from run to run (no instants, no request ids)
/// and to a table's width: the table is read, the record holds the rest.
fn short(s: &str) -> String {
    let mut s = s.replace(['\n', '|'], " ");
    for cut in [" (last checked", " (request "] {
        if let Some(i) = s.find(cut) {
            s.truncate(i);
        }
    }
    let cut: String = s.chars().take(110).collect();
    if cut.len() < s.len() { format!("{cut}…") } else { cut }
}

/// Runs the cells, a few at once, and fails with every broken cell named.
async fn matrix(name: &str, cells: Vec<Vec<Fault>>, seed: u64) {
    let at_once = Arc::new(tokio::sync::Semaphore::new(24));
    let mut set = tokio::task::JoinSet::new();
    for (i, cell) in cells.into_iter().enumerate() {
        let permit = Arc::clone(&at_once);
        set.spawn(async move {
            let _p = permit.acquire_owned().await.unwrap();
            let started = std::time::Instant::now();
            let (outcome, truth) = run_cell(&cell, seed + i as u64).await;
            let problems = judge(&cell, &outcome, &truth);
            (i, row(&cell, &outcome, &problems, started.elapsed()), problems, cell)
        });
    }
    let mut rows = Vec::new();
    let mut broken = Vec::new();
    while let Some(done) = set.join_next().await {
        let (i, line, problems, cell) = done.expect("a cell panicked");
        if !problems.is_empty() {
            let names = cell.iter().map(|f| format!("{} ({})", f.name, f.system)).collect::<Vec<_>>().join(" + ");
            broken.push(format!("{names}:\n  {}", problems.join("\n  ")));
        }
        rows.push((i, line));
    }
    rows.sort();
    let out = std::env::var_os("JMLPROOF_MATRIX_OUT")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join("fault-matrix"));
    std::fs::create_dir_all(&out).unwrap();
    let text: String = rows.into_iter().map(|(_, l)| l + "\n").collect();
    std::fs::write(out.join(format!("{name}.md")), text).unwrap();
    assert!(broken.is_empty(), "{} broken cell(s):\n{}", broken.len(), broken.join("\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_alone() {
    let cells = catalogue().into_iter().map(|f| vec![f]).collect();
    matrix("singles", cells, 1000).await;
}

/// The pairs, split so each test stays well inside the per-test timeout.
async fn pairs_part(part: usize, of: usize) {
    let all = pairs(&catalogue());
    let cells = all.into_iter().enumerate().filter(|(i, _)| i % of == part).map(|(_, c)| c).collect();
    matrix(&format!("pairs-{part}"), cells, 10_000 + 1000 * part as u64).await;
}

macro_rules! pair_tests {
    ($of:expr; $($name:ident = $part:expr),*) => {$(
        #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
        async fn $name() {
            pairs_part($part, $of).await;
        }
    )*};
}

pair_tests!(8; every_pair_part_1 = 0, every_pair_part_2 = 1, every_pair_part_3 = 2, every_pair_part_4 = 3,
    every_pair_part_5 = 4, every_pair_part_6 = 5, every_pair_part_7 = 6, every_pair_part_8 = 7);

#[test]
fn the_oracle_catches_a_false_pass_and_an_unnamed_reason() {
    // A record claiming a revoke that the truth never saw, and a FAIL that names nothing.
    let fault = catalogue().into_iter().find(|f| f.name == "Deactivate Users off" && f.system == "aws").unwrap();
    let mut r = Record::new("run", "r", "t", Utc::now());
    let verdict = |status, reason: &str| Verdict {
        subject: "s01".into(),
        leg: Leg::Aws,
        phase: Phase::Leaver,
        check: "revoked".into(),
        status,
        latency_ms: None,
        sla_ms: None,
        time: None,
        reason: reason.into(),
    };
    r.verdicts.push(verdict(Status::Pass, ""));
    let truth = serde_json::json!({"truth": [], "okta_left": [], "journal_clean": true});
    let problems = judge(std::slice::from_ref(&fault), &Ok(r.clone()), &truth);
    assert!(problems[0].contains("never happened"), "{problems:?}");
    r.verdicts[0] = verdict(Status::Fail, "something went wrong");
    let problems = judge(std::slice::from_ref(&fault), &Ok(r.clone()), &truth);
    assert!(problems[0].contains("naming none"), "{problems:?}");
    r.verdicts[0] = verdict(Status::Fail, "not changed within the SLA of 3.0s");
    assert!(judge(std::slice::from_ref(&fault), &Ok(r), &truth).is_empty());
    assert!(judge(std::slice::from_ref(&fault), &Err("boom".into()), &truth)[0].contains("did not complete"));
    let left = serde_json::json!({"truth": [], "okta_left": [{"login": "jmlproof-x", "status": "DEPROVISIONED"}], "journal_clean": true});
    assert!(judge(&[fault], &Ok(Record::new("run", "r", "t", Utc::now())), &left)[0].contains("left in Okta"));
}
