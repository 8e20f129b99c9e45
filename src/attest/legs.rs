//! From what was gathered to the record: who left in the period, who is set apart
//! (reactivated, test residue, never provisioned), and per leaver and leg whether,
//! when and how fast the account was revoked. No evidence, no PASS: a revoke whose
//! time the trails cannot show is UNKNOWN with the reason, an account still enabled
//! is FAIL whatever the trails say.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::gather::{ACTIVATE, DEACTIVATE, DELETE, Gathered, REACTIVATE};
use crate::aws::types::TrailEvent;
use crate::entra::types::DirectoryAudit;
use crate::evidence::record::{
    Coverage, Excluded, Leg, Period, Phase, Provenance, Record, Source, SourceEvent, Stamp, Status, Subject, Verdict,
};
use crate::ledger::read::Span;
use crate::okta::types::LogEvent;
use crate::raw::RawLog;

/// What the verdicts need besides the gathered data.
pub struct Rules<'a> {
    pub entra_app: &'a str,
    pub aws_app: &'a str,
    pub leaver_sla: Duration,
    /// `run`'s disposable users: the login prefix on the test domain.
    pub test_login: Option<TestLogin>,
    /// Okta ids found in `run`'s journals.
    pub test_ids: &'a BTreeSet<String>,
    pub now: DateTime<Utc>,
}

/// How `run` names its disposable users: `<prefix>…@<domain>`, nothing else.
#[derive(Debug, Clone)]
pub struct TestLogin {
    pub prefix: String,
    pub domain: String,
}

impl TestLogin {
    /// The config's `[test]` names, if it has that section.
    pub fn of_config(cfg: &crate::config::Config) -> Option<TestLogin> {
        cfg.test.as_ref().map(|t| TestLogin { prefix: t.login_prefix.clone(), domain: t.domain.clone() })
    }

    /// The names `run --sandbox` gives its users.
    pub fn of_sandbox(e: &crate::sandbox::Endpoints) -> TestLogin {
        TestLogin { prefix: "jmlproof-".into(), domain: e.domain.clone() }
    }

    pub fn matches(&self, login: &str) -> bool {
        let l = login.to_ascii_lowercase();
        l.starts_with(&self.prefix.to_ascii_lowercase())
            && l.ends_with(&format!("@{}", self.domain.to_ascii_lowercase()))
    }
}

/// A person who left in the period.
#[derive(Debug, Clone)]
pub struct Leaver {
    pub key: String,
    pub okta_id: String,
    pub login: String,
    pub name: String,
    pub t0: DateTime<Utc>,
    /// Activated again later (a rehire): the legs are judged up to then, not on today's state.
    pub back: Option<DateTime<Utc>>,
    pub event: LogEvent,
}

/// Builds the record's source events for one leaver, keeping each raw body for the
/// pack's raw/events.ndjson.
pub(crate) struct Used<'a> {
    pub raw: Option<&'a RawLog>,
    pub subject: &'a str,
}

impl Used<'_> {
    fn keep(&self, body: &serde_json::Value) -> String {
        let text = body.to_string();
        let sha = hex::encode(Sha256::digest(text.as_bytes()));
        if let Some(r) = self.raw {
            r.keep_event(&sha, text);
        }
        sha
    }

    pub fn okta(&self, e: &LogEvent, leg: Option<Leg>) -> SourceEvent {
        SourceEvent {
            source: Source::OktaSystemLog,
            id: e.uuid.clone(),
            time: e.published,
            kind: e.event_type.clone(),
            outcome: e.outcome.as_ref().and_then(|o| o.result.clone()),
            subject: Some(self.subject.into()),
            leg,
            actor: e.actor.as_ref().and_then(|a| a.label()),
            sha256: self.keep(&e.raw),
        }
    }

    fn audit(&self, a: &DirectoryAudit) -> SourceEvent {
        SourceEvent {
            source: Source::EntraDirectoryAudit,
            id: a.id.clone(),
            time: a.activity_date_time,
            kind: a.activity_display_name.clone(),
            outcome: a.result.clone(),
            subject: Some(self.subject.into()),
            leg: Some(Leg::Entra),
            actor: a.actor(),
            sha256: self.keep(&a.raw),
        }
    }

    fn trail(&self, e: &TrailEvent, time: DateTime<Utc>) -> SourceEvent {
        SourceEvent {
            source: Source::Cloudtrail,
            id: e.event_id.clone(),
            time,
            kind: e.event_name.clone(),
            outcome: Some(e.error_code().unwrap_or("success").into()),
            subject: Some(self.subject.into()),
            leg: Some(Leg::Aws),
            actor: e.actor(),
            sha256: self.keep(&e.event),
        }
    }
}

fn user_of(e: &LogEvent) -> Option<&crate::okta::types::Target> {
    e.target_of("User").filter(|t| t.id.is_some())
}

fn user_id(e: &LogEvent) -> Option<&str> {
    e.target_of("User").and_then(|t| t.id.as_deref())
}

/// Whether a push event is about this user and this app.
fn about(e: &LogEvent, okta_id: &str, app: &str) -> bool {
    user_id(e) == Some(okta_id) && e.target_of("AppInstance").and_then(|a| a.id.as_deref()) == Some(app)
}

fn days(d: Duration) -> String {
    let n = d.num_days();
    if n == 1 { "1 day".into() } else { format!("{n} days") }
}

/// A deactivation undone within this long was a mistake, not a departure; one undone
/// later is a leaver who came back (a rehire), still held to the SLA for the period.
pub const MISTAKE_WINDOW_HOURS: i64 = 24;

fn succeeded(e: &LogEvent) -> bool {
    e.outcome.as_ref().and_then(|o| o.result.as_deref()) == Some("SUCCESS")
}

/// When the user was activated again after `t0`, if they were (SUCCESS only).
pub fn reactivated(g: &Gathered, okta_id: &str, t0: DateTime<Utc>) -> Option<DateTime<Utc>> {
    g.activations
        .iter()
        .filter(|a| (a.event_type == ACTIVATE || a.event_type == REACTIVATE) && a.published > t0 && succeeded(a))
        .find(|a| user_id(a) == Some(okta_id))
        .map(|a| a.published)
}

/// Splits the period's departures into leavers and the deactivations that are not.
pub fn leavers(g: &Gathered, rules: &Rules, period: &Period) -> (Vec<Leaver>, Vec<Excluded>) {
    // The last successful departure of each user in the period is the one that counts.
    let mut last: BTreeMap<String, &LogEvent> = BTreeMap::new();
    let mut deactivated: BTreeSet<String> = BTreeSet::new();
    for e in g.departures.iter().filter(|e| succeeded(e)) {
        let Some(id) = user_id(e) else { continue };
        if e.event_type == DEACTIVATE {
            deactivated.insert(id.to_string());
        }
        // A delete request after a deactivation is not a second departure.
        if e.event_type == DELETE && deactivated.contains(id) {
            continue;
        }
        last.insert(id.to_string(), e);
    }
    // Who the downstream legs know, once (not per departure).
    let linked: BTreeSet<&str> = g
        .entra_users
        .iter()
        .flat_map(|u| u.carried_ids())
        .chain(g.aws_users.iter().flat_map(|u| u.external_ids.iter().map(|(_, id)| id.as_str())))
        .collect();
    let pushed: BTreeSet<&str> = g.pushes.iter().filter_map(user_id).collect();
    let mut out = Vec::new();
    let mut excluded = Vec::new();
    for (id, e) in last {
        let u = user_of(e).expect("filtered above");
        let login = u.alternate_id.clone().unwrap_or_default();
        let set_apart =
            |why: String| Excluded { okta_id: id.clone(), login: login.clone(), deactivated: e.published, why };
        if let Some(at) =
            reactivated(g, &id, e.published).filter(|at| *at - e.published <= Duration::hours(MISTAKE_WINDOW_HOURS))
        {
            excluded.push(set_apart(format!(
                "reactivated at {} ({} min after the deactivation): a deactivation by mistake, not a leaver",
                crate::report::fmt::time(&at),
                (at - e.published).num_minutes()
            )));
            continue;
        }
        if e.event_type == DELETE
            && let Some(before) = g.prior_deactivations.get(&id)
        {
            excluded.push(set_apart(format!(
                "deleted in the period, but deactivated before it ({}): a leaver of an earlier period",
                crate::report::fmt::time(before)
            )));
            continue;
        }
        if rules.test_ids.contains(&id) || rules.test_login.as_ref().is_some_and(|t| t.matches(&login)) {
            excluded.push(set_apart("a disposable user of `jmlproof run` (test residue), not a person".into()));
            continue;
        }
        let assigned = [rules.entra_app, rules.aws_app]
            .iter()
            .any(|app| g.app_users.get(*app).is_some_and(|m| m.contains_key(&id)));
        // Okta's push events for the user also show an account existed.
        if !assigned && !linked.contains(id.as_str()) && !pushed.contains(id.as_str()) {
            excluded.push(set_apart(
                "no account on either leg: never assigned to the Entra or AWS app, no deactivate push, and no downstream account carries this Okta id (accounts linked only by name or mail are `jmlproof reconcile`'s)".into(),
            ));
            continue;
        }
        out.push(Leaver {
            key: String::new(),
            okta_id: id.clone(),
            login,
            name: u.display_name.clone().unwrap_or_default(),
            t0: e.published,
            back: reactivated(g, &id, e.published),
            event: e.clone(),
        });
    }
    out.sort_by(|a, b| (a.t0, &a.okta_id).cmp(&(b.t0, &b.okta_id)));
    for (i, l) in out.iter_mut().enumerate() {
        l.key = format!("l{:03}", i + 1);
    }
    let _ = period;
    (out, excluded)
}

/// What a source is shown to cover: the ledger's stretches and the live API's reach
/// ([its oldest entry, now]), merged, oldest first.
fn shown(g: &Gathered, source: Source, live_oldest: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Vec<Span> {
    let mut spans = g.ledger_spans.get(&source).cloned().unwrap_or_default();
    if let Some(o) = live_oldest {
        spans.push((o, now));
    }
    crate::ledger::read::merge(spans)
}

/// The first stretch of [from, to] that `spans` do not cover.
fn first_hole(spans: &[Span], from: DateTime<Utc>, to: DateTime<Utc>) -> Option<Span> {
    let mut at = from;
    for (a, b) in spans {
        if *a > at {
            return Some((at, (*a).min(to)));
        }
        at = at.max(*b);
        if at >= to {
            return None;
        }
    }
    (at < to).then_some((at, to))
}

/// Where a trail does not show [t0, now], in words; None when it does. Without a
/// ledger, the live trail's reach alone.
fn uncovered(
    g: &Gathered,
    source: Source,
    live_oldest: Option<DateTime<Utc>>,
    t0: DateTime<Utc>,
    now: DateTime<Utc>,
    what: &str,
) -> Option<String> {
    if g.ledger_spans.is_empty() {
        return beyond(live_oldest, t0, what);
    }
    let (a, b) = first_hole(&shown(g, source, live_oldest, now), t0, now)?;
    Some(format!(
        "{what} has no record from {} to {}, in the ledger or the live API (a gap)",
        crate::report::fmt::time(&a),
        crate::report::fmt::time(&b)
    ))
}

/// The record's coverage lines: from when each trail is taken to cover the period,
/// and (with a ledger) which stretches came from the ledger, which from the live API,
/// and which are gaps.
pub fn coverage(g: &Gathered, period: &Period, now: DateTime<Utc>) -> Vec<Coverage> {
    let until = period.until.min(now);
    let line = |source, oldest: Option<DateTime<Utc>>, what: &str| {
        if g.ledger_spans.is_empty() {
            let covers_from = oldest.map(|o| o.max(period.since));
            let note = match oldest {
                None => format!("{what} returned no entry for the period"),
                Some(o) if o <= period.since => format!("{what} covers the whole period"),
                Some(o) => format!(
                    "{what} returned nothing before {}: the period before that is not covered by it",
                    crate::report::fmt::time(&o)
                ),
            };
            return Coverage { source, oldest, covers_from, note };
        }
        let spans = shown(g, source, oldest, now);
        // Covered from: the start of the stretch that runs up to the period's end.
        let covers_from = spans.iter().find(|(a, b)| *a <= until && *b >= until).map(|(a, _)| (*a).max(period.since));
        let t = crate::report::fmt::time;
        let clip = |a: DateTime<Utc>, b: DateTime<Utc>| (a.max(period.since), b.min(until));
        let mut parts = Vec::new();
        for (a, b) in g.ledger_spans.get(&source).into_iter().flatten() {
            let (a, b) = clip(*a, *b);
            if a < b {
                parts.push(format!("ledger {} → {}", t(&a), t(&b)));
            }
        }
        if let Some(o) = oldest {
            let (a, b) = clip(o, now);
            if a < b {
                parts.push(format!("live API {} → {}", t(&a), t(&b)));
            }
        }
        let mut at = period.since;
        while let Some((a, b)) = first_hole(&spans, at, until) {
            parts.push(format!("GAP {} → {}", t(&a), t(&b)));
            at = b + chrono::Duration::milliseconds(1);
        }
        let note = format!("{what}: {}", if parts.is_empty() { "nothing".into() } else { parts.join("; ") });
        Coverage { source, oldest, covers_from, note }
    };
    vec![
        line(Source::OktaSystemLog, g.okta_oldest, "The Okta System Log"),
        line(Source::EntraDirectoryAudit, g.audits_oldest, "Entra's directory audit log (revocation rows)"),
        line(Source::Cloudtrail, g.trail_oldest, "CloudTrail's SCIM event history"),
    ]
}

fn verdict(
    l: &Leaver,
    leg: Leg,
    check: &str,
    status: Status,
    time: Option<Stamp>,
    sla: Duration,
    reason: String,
) -> Verdict {
    let latency_ms = time.as_ref().filter(|_| status != Status::Unknown).map(|t| (t.at - l.t0).num_milliseconds());
    Verdict {
        subject: l.key.clone(),
        leg,
        phase: Phase::Leaver,
        check: check.into(),
        status,
        latency_ms: if check == "revoked" { latency_ms } else { None },
        sla_ms: (check == "revoked").then(|| sla.num_milliseconds()),
        time,
        reason,
    }
}

/// A revoke time held to the SLA.
fn timed(l: &Leaver, leg: Leg, at: Stamp, sla: Duration) -> Verdict {
    let late = at.at - l.t0 > sla;
    let reason = if late {
        format!(
            "revoked {} after the deactivation, over the {} SLA",
            crate::report::fmt::latency((at.at - l.t0).num_milliseconds()),
            crate::report::fmt::sla(sla.num_milliseconds())
        )
    } else {
        String::new()
    };
    verdict(l, leg, "revoked", if late { Status::Fail } else { Status::Pass }, Some(at), sla, reason)
}

/// Okta's deactivate pushes to one app for one leaver: SUCCESS is PASS (a FAILURE
/// before it stays in the events), FAILURE alone is FAIL, none is UNKNOWN.
fn push_verdict(l: &Leaver, g: &Gathered, app: &str, leg: Leg, label: &str, sla: Duration) -> Option<Verdict> {
    let assigned = g.app_users.get(app).is_some_and(|m| m.contains_key(&l.okta_id));
    let events: Vec<&LogEvent> =
        g.pushes.iter().filter(|e| e.published >= l.t0).filter(|e| about(e, &l.okta_id, app)).collect();
    if events.is_empty() && !assigned {
        return None;
    }
    let check = format!("okta application.provision.user.deactivate to {label}");
    let stamp = |e: &LogEvent| Stamp {
        at: e.published,
        provenance: Provenance::Source,
        detail: format!("okta_system_log {} published", e.event_type),
    };
    Some(if let Some(ok) = events.iter().find(|e| e.succeeded()) {
        verdict(l, leg, &check, Status::Pass, Some(stamp(ok)), sla, String::new())
    } else if let Some(bad) = events.last() {
        let why = bad.outcome.as_ref().and_then(|o| o.reason.clone()).unwrap_or_else(|| "no reason given".into());
        verdict(
            l,
            leg,
            &check,
            Status::Fail,
            Some(stamp(bad)),
            sla,
            format!("Okta's deactivate push failed and no later push succeeded: {why}"),
        )
    } else {
        verdict(
            l,
            leg,
            &check,
            Status::Unknown,
            None,
            sla,
            "no deactivate push event for this app in the System Log".into(),
        )
    })
}

/// The revoke that stuck: the first revoke after the last re-enable, among events in
/// time order. An account disabled at T0+5 min, enabled for a handover and disabled
/// again three weeks later was revoked three weeks later.
fn stuck<T>(events: impl Iterator<Item = (bool, T)>) -> Option<T> {
    let mut current = None;
    for (revokes, e) in events {
        if revokes {
            if current.is_none() {
                current = Some(e);
            }
        } else {
            current = None;
        }
    }
    current
}

/// Entra's revoke of `id` in [t0, end): "Disable account", AccountEnabled true → false,
/// or "Delete user", undone by "Enable account" or AccountEnabled false → true.
fn entra_revoke<'a>(
    audits: &'a [DirectoryAudit],
    id: &str,
    t0: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
) -> Option<&'a DirectoryAudit> {
    let ours = |a: &DirectoryAudit| a.target_resources.iter().any(|t| t.id.as_deref() == Some(id));
    let ok = |a: &DirectoryAudit| a.result.as_deref() == Some("success");
    stuck(
        audits
            .iter()
            .filter(|a| {
                a.activity_date_time >= t0 - Duration::seconds(1) && end.is_none_or(|e| a.activity_date_time < e)
            })
            .filter(|a| ours(a) && ok(a))
            .filter_map(|a| {
                let enabled = a.property(id, "AccountEnabled").is_some_and(|p| {
                    p.after() == serde_json::Value::Bool(true) && p.before() != serde_json::Value::Bool(true)
                });
                if a.disables(id) || a.activity_display_name == "Delete user" {
                    Some((true, a))
                } else if a.activity_display_name == "Enable account" || enabled {
                    Some((false, a))
                } else {
                    None
                }
            }),
    )
}

/// The identity store's revoke of `id` in [t0, end): a SCIM PatchUser leaving it
/// inactive, or DeleteUser, undone by a PatchUser leaving it active.
fn aws_revoke<'a>(
    trail: &'a [TrailEvent],
    id: &str,
    t0: DateTime<Utc>,
    end: Option<DateTime<Utc>>,
) -> Option<&'a TrailEvent> {
    // eventTime has whole seconds: compare from the start of T0's second.
    let from = t0 - Duration::milliseconds(t0.timestamp_subsec_millis() as i64);
    stuck(
        trail
            .iter()
            .filter(|e| {
                e.event_time.is_some_and(|t| t >= from && end.is_none_or(|x| t < x)) && e.error_code().is_none()
            })
            .filter(|e| e.target_id() == Some(id))
            .filter_map(|e| match (e.event_name.as_str(), e.active_after()) {
                ("PatchUser", Some(false)) | ("DeleteUser", _) => Some((true, e)),
                ("PatchUser", Some(true)) => Some((false, e)),
                _ => None,
            }),
    )
}

/// Where a trail did not reach far enough back, in words; None when it did.
fn beyond(oldest: Option<DateTime<Utc>>, t0: DateTime<Utc>, what: &str) -> Option<String> {
    match oldest {
        None => Some(format!("{what} returned no entry at all")),
        Some(o) if t0 < o => {
            Some(format!("{what} returned nothing before {}, after this deactivation", crate::report::fmt::time(&o)))
        }
        Some(_) => None,
    }
}

pub struct Drawn {
    pub subjects: Vec<Subject>,
    pub verdicts: Vec<Verdict>,
    pub events: Vec<SourceEvent>,
    pub notes: Vec<String>,
}

pub fn draw(leavers: &[Leaver], g: &Gathered, rules: &Rules, raw: Option<&RawLog>) -> Drawn {
    let sla = rules.leaver_sla;
    let mut d = Drawn { subjects: Vec::new(), verdicts: Vec::new(), events: Vec::new(), notes: Vec::new() };
    // Indexes, once: every leaver looks its accounts up by id.
    let entra_by_id: BTreeMap<&str, &crate::entra::types::GraphUser> =
        g.entra_users.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut entra_by_okta: BTreeMap<&str, Vec<&crate::entra::types::GraphUser>> = BTreeMap::new();
    for u in &g.entra_users {
        for o in u.carried_ids() {
            entra_by_okta.entry(o).or_default().push(u);
        }
    }
    let aws_by_id: BTreeMap<&str, &crate::aws::types::IcUser> =
        g.aws_users.iter().map(|u| (u.id.as_str(), u)).collect();
    let mut aws_by_okta: BTreeMap<&str, Vec<&crate::aws::types::IcUser>> = BTreeMap::new();
    for u in &g.aws_users {
        for (_, x) in &u.external_ids {
            aws_by_okta.entry(x.as_str()).or_default().push(u);
        }
    }
    for l in leavers {
        if let Some(at) = l.back {
            d.notes.push(format!(
                "{} ({}): activated again at {}, {} after the deactivation; judged on the trails up to then",
                l.key,
                l.login,
                crate::report::fmt::time(&at),
                days(at - l.t0)
            ));
        }
        let used = Used { raw, subject: &l.key };
        let app_user = |app: &str| g.app_users.get(app).and_then(|m| m.get(&l.okta_id));
        let entra_id = app_user(rules.entra_app)
            .and_then(|a| a.external_id.clone())
            .or_else(|| entra_by_okta.get(l.okta_id.as_str()).and_then(|v| v.first()).map(|u| u.id.clone()));
        let aws_id = app_user(rules.aws_app)
            .and_then(|a| a.external_id.clone())
            .or_else(|| aws_by_okta.get(l.okta_id.as_str()).and_then(|v| v.first()).map(|u| u.id.clone()));
        d.subjects.push(Subject {
            key: l.key.clone(),
            login: l.login.clone(),
            name: l.name.clone(),
            okta_id: Some(l.okta_id.clone()),
            employee_number: String::new(),
            entra_id: entra_id.clone(),
            aws_id: aws_id.clone(),
        });
        d.events.push(used.okta(&l.event, None));
        d.verdicts.push(verdict(
            l,
            Leg::Okta,
            "deactivated (T0)",
            Status::Pass,
            Some(Stamp {
                at: l.t0,
                provenance: Provenance::Source,
                detail: format!("okta_system_log {} published", l.event.event_type),
            }),
            sla,
            String::new(),
        ));
        for (app, leg, label) in [(rules.entra_app, Leg::Entra, "Entra"), (rules.aws_app, Leg::Aws, "AWS")] {
            if let Some(v) = push_verdict(l, g, app, leg, label, sla) {
                d.verdicts.push(v);
            }
            for e in g.pushes.iter().filter(|e| e.published >= l.t0 && about(e, &l.okta_id, app)) {
                d.events.push(used.okta(e, Some(leg)));
            }
        }

        // Entra.
        match &entra_id {
            None => d
                .notes
                .push(format!("{} ({}): no Entra account found (never assigned to the Entra app)", l.key, l.login)),
            Some(id) => {
                let account = entra_by_id.get(id.as_str()).copied();
                let row = entra_revoke(&g.audits, id, l.t0, l.back);
                if let Some(a) = row {
                    d.events.push(used.audit(a));
                }
                // A leaver who came back (rehired) is judged on the trail up to then; today's
                // state is theirs again.
                let enabled = l.back.is_none() && account.and_then(|u| u.account_enabled) == Some(true);
                let v = if enabled {
                    verdict(
                        l,
                        Leg::Entra,
                        "revoked",
                        Status::Fail,
                        None,
                        sla,
                        format!(
                            "still enabled {} after the deactivation (since {})",
                            days(rules.now - l.t0),
                            crate::report::fmt::time(&l.t0)
                        ),
                    )
                } else if let Some(a) = row {
                    let at = Stamp {
                        at: a.activity_date_time,
                        provenance: Provenance::Source,
                        detail: format!("entra_directory_audit {} activityDateTime", a.activity_display_name),
                    };
                    timed(l, Leg::Entra, at, sla)
                } else {
                    let state = match account.map(|u| u.account_enabled) {
                        Some(Some(false)) => "disabled now",
                        Some(_) => "its state now is not shown",
                        None => "gone from the directory now",
                    };
                    let why = uncovered(
                        g,
                        Source::EntraDirectoryAudit,
                        g.audits_oldest,
                        l.t0,
                        rules.now,
                        "Entra's directory audit log (retention: 7 or 30 days by licence)",
                    )
                    .unwrap_or_else(|| "no audit entry shows the revoke".into());
                    verdict(
                        l,
                        Leg::Entra,
                        "revoked",
                        Status::Unknown,
                        None,
                        sla,
                        format!("{state}, but when is not shown: {why}"),
                    )
                };
                d.verdicts.push(v);
            }
        }

        // AWS.
        match &aws_id {
            None => {
                d.notes.push(format!("{} ({}): no AWS account found (never assigned to the AWS app)", l.key, l.login))
            }
            Some(id) => {
                let user = aws_by_id.get(id.as_str()).copied();
                let call = aws_revoke(&g.trail, id, l.t0, l.back);
                if let (Some(e), Some(t)) = (call, call.and_then(|e| e.event_time)) {
                    d.events.push(used.trail(e, t));
                }
                let v = if l.back.is_none() && user.is_some_and(|u| u.is_disabled() == Some(false)) {
                    verdict(
                        l,
                        Leg::Aws,
                        "revoked",
                        Status::Fail,
                        None,
                        sla,
                        format!(
                            "still enabled {} after the deactivation (since {})",
                            days(rules.now - l.t0),
                            crate::report::fmt::time(&l.t0)
                        ),
                    )
                } else if let Some((e, t)) = call.and_then(|e| e.event_time.map(|t| (e, t))) {
                    // CloudTrail keeps whole seconds and masks the values; the store's
                    // UpdatedAt of a DISABLED user within that second is the exact time.
                    let exact = user
                        .filter(|u| u.is_disabled() == Some(true))
                        .and_then(|u| u.updated_at)
                        .filter(|u| *u >= t && *u < t + Duration::seconds(1));
                    let at = match exact {
                        Some(u) => Stamp {
                            at: u,
                            provenance: Provenance::Source,
                            detail: format!(
                                "identitystore UpdatedAt, paired with cloudtrail {} at its eventTime",
                                e.event_name
                            ),
                        },
                        None => Stamp {
                            at: t + Duration::milliseconds(999),
                            provenance: Provenance::Source,
                            detail: format!("cloudtrail {} eventTime (whole seconds, rounded up)", e.event_name),
                        },
                    };
                    timed(l, Leg::Aws, at, sla)
                } else {
                    let state = match user.map(|u| u.is_disabled()) {
                        Some(Some(true)) => "disabled now",
                        Some(_) => "its state now is not shown",
                        None => "gone from the identity store now",
                    };
                    let why = if g.trail_seen == 0 {
                        "CloudTrail has no SCIM event at all: Okta's SCIM token may predate CloudTrail's logging of SCIM calls (only tokens rotated since September 2024 are logged)".to_string()
                    } else {
                        uncovered(
                            g,
                            Source::Cloudtrail,
                            g.trail_oldest,
                            l.t0,
                            rules.now,
                            "CloudTrail's event history (90 days)",
                        )
                        .unwrap_or_else(|| "no SCIM call in CloudTrail shows the revoke".into())
                    };
                    verdict(
                        l,
                        Leg::Aws,
                        "revoked",
                        Status::Unknown,
                        None,
                        sla,
                        format!("{state}, but when is not shown: {why}"),
                    )
                };
                d.verdicts.push(v);
            }
        }
    }
    d
}

/// When the System Log itself does not reach the period's start, leavers before
/// that cannot be listed: one UNKNOWN says so (missing evidence is never a pass).
pub fn period_verdict(period: &Period, cov: &[Coverage]) -> Option<Verdict> {
    let okta = cov.iter().find(|c| c.source == Source::OktaSystemLog)?;
    let from = okta.covers_from;
    if from.is_some_and(|f| f <= period.since) {
        return None;
    }
    let reason = match from {
        Some(f) => format!(
            "the Okta System Log returned nothing before {}: leavers deactivated from {} to then cannot be listed",
            crate::report::fmt::time(&f),
            crate::report::fmt::time(&period.since)
        ),
        None => "the Okta System Log returned nothing for the period".into(),
    };
    Some(Verdict {
        subject: "period".into(),
        leg: Leg::Okta,
        phase: Phase::Leaver,
        check: "System Log covers the period".into(),
        status: Status::Unknown,
        latency_ms: None,
        sla_ms: None,
        time: None,
        reason,
    })
}

/// Puts the parts into the record.
pub fn fill(record: &mut Record, d: Drawn, excluded: Vec<Excluded>, cov: Vec<Coverage>, period: Period) {
    if let Some(v) = period_verdict(&period, &cov) {
        record.verdicts.push(v);
    }
    record.subjects = d.subjects;
    record.verdicts.extend(d.verdicts);
    record.events = d.events;
    record.notes.extend(d.notes);
    record.excluded = excluded;
    record.coverage = cov;
    record.period = Some(period);
    record.events.dedup_by(|a, b| a.source == b.source && a.id == b.id);
    record.sort();
    record.events.dedup_by(|a, b| a.source == b.source && a.id == b.id);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_revoke_that_counts_is_the_one_after_the_last_re_enable() {
        // disable, enable (a handover), disable again: the second disable stuck.
        assert_eq!(stuck([(true, 1), (false, 2), (true, 3), (true, 4)].into_iter()), Some(3));
        assert_eq!(stuck([(true, 1), (true, 2)].into_iter()), Some(1));
        assert_eq!(stuck([(true, 1), (false, 2)].into_iter()), None, "enabled again: no revoke stands");
        assert_eq!(stuck(std::iter::empty::<(bool, i32)>()), None);
    }

    #[test]
    fn test_users_are_the_prefix_on_the_test_domain_only() {
        let t = TestLogin { prefix: "jmlproof-".into(), domain: "test.acme.example".into() };
        assert!(t.matches("JMLProof-7f3c-01@Test.Acme.Example"));
        assert!(
            !t.matches("jmlproof-fan@acme.example"),
            "a person whose login happens to start so is not test residue"
        );
        assert!(!t.matches("jml@test.acme.example"));
    }
}
