//! The one reading of a record that every view shares: rows, figures and charts,
//! computed once, so the HTML, the PDF and the CSV cannot disagree. A view is
//! built from the record alone (plus what the pack says about its signature), and
//! holds no "now": the same record always gives the same view.

use std::collections::BTreeMap;

use serde::Serialize;

use super::fmt;
use crate::evidence::record::{Leg, Phase, Provenance, Record, Source, Status};

/// How the pack is signed, as the views state it on their first page.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Signing {
    pub signed: bool,
    /// The allowed_signers principal.
    pub principal: String,
    /// `SHA256:…`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    pub total: usize,
    pub pass: usize,
    pub fail: usize,
    pub unknown: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Pair {
    pub key: String,
    pub value: String,
}

/// One phase × leg: how its checks went and how fast its timed checks were.
#[derive(Debug, Clone, Serialize)]
pub struct LegSummary {
    pub phase: String,
    pub leg: String,
    pub status: String,
    pub pass: usize,
    pub fail: usize,
    pub unknown: usize,
    pub timed: usize,
    pub p50: String,
    pub p95: String,
    pub max: String,
    pub sla: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct SubjectRow {
    pub key: String,
    pub login: String,
    pub name: String,
    pub okta_id: String,
    pub entra_id: String,
    pub aws_id: String,
    pub status: String,
    /// In the auditor's sample.
    pub sampled: bool,
}

/// One check: a row of measurements.csv, of the HTML table and of the PDF table.
#[derive(Debug, Clone, Serialize)]
pub struct CheckRow {
    pub subject: String,
    pub login: String,
    pub phase: String,
    pub leg: String,
    pub check: String,
    pub status: String,
    pub latency: String,
    pub latency_ms: Option<i64>,
    pub sla: String,
    pub sla_ms: Option<i64>,
    pub time: String,
    pub provenance: String,
    pub time_detail: String,
    pub reason: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventRow {
    /// 1-based line of the event's raw body in raw/events.ndjson.
    pub line: usize,
    pub time: String,
    pub source: String,
    pub kind: String,
    pub outcome: String,
    pub subject: String,
    pub leg: String,
    pub actor: String,
    pub id: String,
    pub sha256: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FindingRow {
    pub class: String,
    pub system: String,
    pub account: String,
    pub account_id: String,
    pub enabled: String,
    pub owner: String,
    pub link: String,
    pub since: String,
    pub detail: String,
    /// Empty, or the exception that covers it (live or expired).
    pub exception: String,
    /// Whether it counts toward the exit code.
    pub counts: bool,
}

#[derive(Debug, Clone, Serialize)]
pub struct CountRow {
    pub class: String,
    pub system: String,
    pub findings: usize,
    pub excepted: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct ExcludedRow {
    pub login: String,
    pub okta_id: String,
    pub deactivated: String,
    pub why: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct FootprintRow {
    pub system: String,
    pub endpoint: String,
    pub calls: u64,
    pub retries: u64,
    pub throttled: u64,
    pub errors: u64,
    pub waited: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct View {
    pub title: String,
    pub kind: String,
    pub run_id: String,
    pub operator: String,
    pub tool: String,
    pub schema_version: String,
    pub started: String,
    pub finished: String,
    pub status: String,
    pub counts: Counts,
    pub targets: Vec<Pair>,
    pub sla: Vec<Pair>,
    pub legs: Vec<LegSummary>,
    pub subjects: Vec<SubjectRow>,
    pub checks: Vec<CheckRow>,
    pub events: Vec<EventRow>,
    pub footprint: Vec<FootprintRow>,
    pub clock_offsets: Vec<Pair>,
    pub notes: Vec<String>,
    pub signing: Signing,
    /// `attest`: the period, what each trail covered, the deactivations set apart,
    /// and the auditor's sample (empty for `run`).
    pub period: String,
    pub coverage: Vec<Pair>,
    pub excluded: Vec<ExcludedRow>,
    pub sample: String,
    /// `reconcile`: every finding, and counts per class and system.
    pub findings: Vec<FindingRow>,
    pub finding_counts: Vec<CountRow>,
    /// SHA-256 of run.json: what the PDF footer and the HTML cite, since a file cannot
    /// contain its own digest.
    pub record_sha256: String,
    /// Whether raw/events.ndjson is in the pack.
    pub raw_events: bool,
}

pub fn status_text(s: Status) -> &'static str {
    match s {
        Status::Pass => "PASS",
        Status::Fail => "FAIL",
        Status::Unknown => "UNKNOWN",
    }
}

pub fn provenance_text(p: Provenance) -> &'static str {
    match p {
        Provenance::Source => "source",
        Provenance::Observed => "observed",
        Provenance::Requested => "requested",
    }
}

pub fn source_text(s: Source) -> &'static str {
    match s {
        Source::OktaSystemLog => "okta_system_log",
        Source::EntraDirectoryAudit => "entra_directory_audit",
        Source::Cloudtrail => "cloudtrail",
    }
}

pub fn phase_text(p: Phase) -> &'static str {
    match p {
        Phase::Joiner => "joiner",
        Phase::Mover => "mover",
        Phase::Leaver => "leaver",
        Phase::Residual => "residual",
    }
}

pub fn leg_text(l: Leg) -> &'static str {
    match l {
        Leg::Okta => "okta",
        Leg::Entra => "entra",
        Leg::Aws => "aws",
    }
}

/// FAIL beats UNKNOWN beats PASS; nothing at all is UNKNOWN, never PASS.
pub fn overall<'a>(statuses: impl IntoIterator<Item = &'a Status>) -> Status {
    let mut seen = false;
    let mut worst = Status::Pass;
    for s in statuses {
        seen = true;
        match s {
            Status::Fail => return Status::Fail,
            Status::Unknown => worst = Status::Unknown,
            Status::Pass => {}
        }
    }
    if seen { worst } else { Status::Unknown }
}

/// The value at a percentile of sorted values (nearest rank).
pub fn percentile(sorted: &[i64], p: f64) -> Option<i64> {
    if sorted.is_empty() {
        return None;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil().max(1.0) as usize;
    sorted.get(rank - 1).copied()
}

fn opt(s: &Option<String>) -> String {
    s.clone().unwrap_or_default()
}

impl View {
    pub fn new(record: &Record, signing: Signing, record_sha256: String, raw_events: bool) -> View {
        let logins: BTreeMap<&str, &str> = record.subjects.iter().map(|s| (s.key.as_str(), s.login.as_str())).collect();
        let checks: Vec<CheckRow> = record
            .verdicts
            .iter()
            .map(|v| CheckRow {
                subject: v.subject.clone(),
                login: logins.get(v.subject.as_str()).map(|l| l.to_string()).unwrap_or_default(),
                phase: phase_text(v.phase).into(),
                leg: leg_text(v.leg).into(),
                check: v.check.clone(),
                status: status_text(v.status).into(),
                latency: v.latency_ms.map(fmt::latency).unwrap_or_default(),
                latency_ms: v.latency_ms,
                sla: v.sla_ms.map(fmt::sla).unwrap_or_default(),
                sla_ms: v.sla_ms,
                time: v.time.as_ref().map(|t| fmt::time(&t.at)).unwrap_or_default(),
                provenance: v.time.as_ref().map(|t| provenance_text(t.provenance).to_string()).unwrap_or_default(),
                time_detail: v.time.as_ref().map(|t| t.detail.clone()).unwrap_or_default(),
                reason: v.reason.clone(),
            })
            .collect();
        let counts = Counts {
            total: record.verdicts.len(),
            pass: record.verdicts.iter().filter(|v| v.status == Status::Pass).count(),
            fail: record.verdicts.iter().filter(|v| v.status == Status::Fail).count(),
            unknown: record.verdicts.iter().filter(|v| v.status == Status::Unknown).count(),
        };
        View {
            title: format!("jmlproof {} {}", record.kind, record.run_id),
            kind: record.kind.clone(),
            run_id: record.run_id.clone(),
            operator: record.operator.clone(),
            tool: format!("{} {}", record.tool.name, record.tool.version),
            schema_version: record.schema_version.clone(),
            started: fmt::time(&record.started),
            finished: record.finished.as_ref().map(fmt::time).unwrap_or_else(|| "not finished".into()),
            status: if record.kind == "reconcile" {
                if crate::exit::of_record(record) == crate::exit::Outcome::Pass { "PASS" } else { "FAIL" }
            } else {
                status_text(overall(record.verdicts.iter().map(|v| &v.status)))
            }
            .into(),
            counts,
            targets: targets(record),
            sla: sla(record),
            legs: legs(record),
            subjects: subjects(record),
            checks,
            events: events(record),
            footprint: record
                .footprint
                .iter()
                .map(|f| FootprintRow {
                    system: f.system.to_string(),
                    endpoint: f.endpoint.clone(),
                    calls: f.calls,
                    retries: f.retries,
                    throttled: f.throttled,
                    errors: f.errors,
                    waited: fmt::latency(f.waited_ms as i64),
                })
                .collect(),
            clock_offsets: record
                .clock_offsets
                .iter()
                .map(|c| Pair { key: c.system.clone(), value: fmt::latency(c.offset_ms) })
                .collect(),
            notes: record.notes.clone(),
            signing,
            period: record
                .period
                .map(|p| format!("{} to {} (end exclusive)", fmt::time(&p.since), fmt::time(&p.until)))
                .unwrap_or_default(),
            coverage: record
                .coverage
                .iter()
                .map(|c| Pair { key: source_text(c.source).into(), value: c.note.clone() })
                .collect(),
            excluded: record
                .excluded
                .iter()
                .map(|e| ExcludedRow {
                    login: e.login.clone(),
                    okta_id: e.okta_id.clone(),
                    deactivated: fmt::time(&e.deactivated),
                    why: e.why.clone(),
                })
                .collect(),
            findings: record.findings.iter().map(finding_row).collect(),
            finding_counts: crate::reconcile::counts(&record.findings)
                .into_iter()
                .map(|((c, sys), (n, ok))| CountRow {
                    class: snake(&c),
                    system: leg_text(sys).into(),
                    findings: n,
                    excepted: ok,
                })
                .collect(),
            sample: record
                .sample
                .as_ref()
                .map(|s| {
                    format!(
                        "{} of {} leavers drawn with seed {}: {}",
                        s.subjects.len(),
                        record.subjects.len(),
                        s.seed,
                        s.subjects.join(", ")
                    )
                })
                .unwrap_or_default(),
            record_sha256,
            raw_events,
        }
    }
}

/// An enum's serialized name.
fn snake<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v).ok().and_then(|x| x.as_str().map(str::to_string)).unwrap_or_default()
}

fn finding_row(f: &crate::evidence::record::Finding) -> FindingRow {
    FindingRow {
        class: snake(&f.class),
        system: leg_text(f.system).into(),
        account: f.account_name.clone(),
        account_id: f.account_id.clone(),
        enabled: match f.enabled {
            Some(true) => "enabled".into(),
            Some(false) => "disabled".into(),
            None => String::new(),
        },
        owner: f.owner.as_ref().map(|o| format!("{} ({})", o.login, o.status)).unwrap_or_default(),
        link: f.owner.as_ref().map(|o| snake(&o.link)).unwrap_or_default(),
        since: f.since.as_ref().map(fmt::time).unwrap_or_default(),
        detail: f.detail.clone(),
        exception: f
            .exception
            .as_ref()
            .map(|x| {
                let state = if x.live { "accepted until" } else { "EXPIRED on" };
                format!(
                    "{state} {}: {} (owner {}, approved by {})",
                    fmt::time(&x.expires),
                    x.reason,
                    x.owner,
                    x.approved_by
                )
            })
            .unwrap_or_default(),
        counts: f.blocks(),
    }
}

fn targets(r: &Record) -> Vec<Pair> {
    let t = &r.targets;
    [
        ("Okta org", &t.okta_org),
        ("Entra tenant", &t.entra_tenant),
        ("AWS identity store", &t.aws_identity_store),
        ("AWS region", &t.aws_region),
        ("Okta app (Entra)", &t.okta_entra_app),
        ("Okta app (AWS)", &t.okta_aws_app),
    ]
    .into_iter()
    .filter(|(_, v)| !v.is_empty())
    .map(|(k, v)| Pair { key: k.into(), value: v.clone() })
    .collect()
}

fn sla(r: &Record) -> Vec<Pair> {
    let s = &r.sla;
    [
        ("joiner", s.joiner_secs),
        ("mover", s.mover_secs),
        ("leaver", s.leaver_secs),
        ("HR termination to Okta deactivation", s.termination_secs),
        ("residual", s.residual_secs),
        ("grace past the SLA", s.grace_secs),
        ("audit trails read for", s.audit_wait_secs),
    ]
    .into_iter()
    // An SLA of zero is one the command did not hold anything to (attest: joiner, mover).
    .filter(|(_, v)| *v > 0)
    .map(|(k, v)| Pair { key: k.into(), value: fmt::sla(v as i64 * 1000) })
    .collect()
}

fn legs(r: &Record) -> Vec<LegSummary> {
    let mut groups: BTreeMap<(Phase, Leg), Vec<&crate::evidence::record::Verdict>> = BTreeMap::new();
    for v in &r.verdicts {
        groups.entry((v.phase, v.leg)).or_default().push(v);
    }
    groups
        .into_iter()
        .map(|((phase, leg), vs)| {
            let mut lat: Vec<i64> = vs.iter().filter_map(|v| v.latency_ms).collect();
            lat.sort_unstable();
            let shown = |p: f64| percentile(&lat, p).map(fmt::latency).unwrap_or_else(|| "—".into());
            let slas: Vec<i64> = vs.iter().filter_map(|v| v.sla_ms).collect();
            LegSummary {
                phase: phase_text(phase).into(),
                leg: leg_text(leg).into(),
                status: status_text(overall(vs.iter().map(|v| &v.status))).into(),
                pass: vs.iter().filter(|v| v.status == Status::Pass).count(),
                fail: vs.iter().filter(|v| v.status == Status::Fail).count(),
                unknown: vs.iter().filter(|v| v.status == Status::Unknown).count(),
                timed: lat.len(),
                p50: shown(50.0),
                p95: shown(95.0),
                max: shown(100.0),
                sla: slas.iter().max().map(|m| fmt::sla(*m)).unwrap_or_else(|| "—".into()),
            }
        })
        .collect()
}

fn subjects(r: &Record) -> Vec<SubjectRow> {
    r.subjects
        .iter()
        .map(|s| SubjectRow {
            key: s.key.clone(),
            login: s.login.clone(),
            name: s.name.clone(),
            okta_id: opt(&s.okta_id),
            entra_id: opt(&s.entra_id),
            aws_id: opt(&s.aws_id),
            status: status_text(overall(r.verdicts.iter().filter(|v| v.subject == s.key).map(|v| &v.status))).into(),
            sampled: r.sample.as_ref().is_some_and(|x| x.subjects.contains(&s.key)),
        })
        .collect()
}

fn events(r: &Record) -> Vec<EventRow> {
    r.events
        .iter()
        .enumerate()
        .map(|(i, e)| EventRow {
            line: i + 1,
            time: fmt::time(&e.time),
            source: serde_json::to_value(e.source)
                .ok()
                .and_then(|v| v.as_str().map(str::to_string))
                .unwrap_or_default(),
            kind: e.kind.clone(),
            outcome: opt(&e.outcome),
            subject: opt(&e.subject),
            leg: e.leg.map(|l| leg_text(l).to_string()).unwrap_or_default(),
            actor: opt(&e.actor),
            id: e.id.clone(),
            sha256: e.sha256.clone(),
        })
        .collect()
}
