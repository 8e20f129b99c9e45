//! From what a run gathered to verdicts, per subject, phase, leg and check. Each
//! timed check takes its T0 from the Okta System Log (falling back to our request
//! time only with that provenance said), the change from the poll window, and the
//! downstream's own audit time when the window confirms it.

use chrono::{DateTime, Duration, Utc};
use sha2::{Digest, Sha256};

use super::runner::{Clients, Gathered, Live, Settings};
use super::watch::Watch;
use crate::aws::types::TrailEvent;
use crate::entra::types::DirectoryAudit;
use crate::evidence::record::{
    Leg, Observation, Phase, Provenance, Record, Source, SourceEvent, Stamp, Status, Verdict,
};
use crate::evidence::verdict::{Change, Unseen, timed};
use crate::okta::types::LogEvent;

pub(super) fn ms(d: Duration) -> i64 {
    d.num_milliseconds()
}

pub(super) fn std_to(d: std::time::Duration) -> Duration {
    Duration::from_std(d).unwrap_or(Duration::MAX)
}

pub(super) fn verdict(l: &Live, leg: Leg, phase: Phase, check: &str, status: Status, reason: String) -> Verdict {
    Verdict {
        subject: l.plan.key.clone(),
        leg,
        phase,
        check: check.into(),
        status,
        latency_ms: None,
        sla_ms: None,
        time: None,
        reason,
    }
}

pub(super) fn pass_or(l: &Live, leg: Leg, phase: Phase, check: &str, ok: bool, why: String) -> Verdict {
    verdict(l, leg, phase, check, if ok { Status::Pass } else { Status::Fail }, if ok { String::new() } else { why })
}

/// The hash of an event's raw body (compact JSON, as raw/events.ndjson holds it);
/// the body is kept for the pack when the run keeps raw evidence.
fn keep(c: &Clients<'_>, v: &serde_json::Value) -> String {
    let body = v.to_string();
    let sha = hex::encode(Sha256::digest(body.as_bytes()));
    if let Some(raw) = c.raw {
        raw.keep_event(&sha, body);
    }
    sha
}

/// The Okta event that starts a phase's clock.
fn t0(events: &[LogEvent], okta_id: &str, kind: &str, requested: Option<DateTime<Utc>>) -> Option<Stamp> {
    let found = events
        .iter()
        .filter(|e| e.event_type == kind && e.target_of("User").and_then(|t| t.id.as_deref()) == Some(okta_id))
        .map(|e| e.published)
        .min();
    match (found, requested) {
        (Some(at), _) => {
            Some(Stamp { at, provenance: Provenance::Source, detail: format!("okta_system_log {kind} published") })
        }
        (None, Some(at)) => Some(Stamp {
            at,
            provenance: Provenance::Requested,
            detail: format!("our request ({kind} not found in the System Log)"),
        }),
        (None, None) => None,
    }
}

fn app_events<'a>(events: &'a [LogEvent], okta_id: &str, app: &str, kind: &str) -> Vec<&'a LogEvent> {
    events
        .iter()
        .filter(|e| e.event_type == kind)
        .filter(|e| e.target_of("User").and_then(|t| t.id.as_deref()) == Some(okta_id))
        .filter(|e| e.target_of("AppInstance").and_then(|t| t.id.as_deref()) == Some(app))
        .collect()
}

/// The Okta push check: SUCCESS seen, or the FAILUREs with their reasons, or nothing.
fn push_check(l: &Live, g: &Gathered, app: &str, leg: Leg, phase: Phase, kind: &str) -> Verdict {
    let events = &g.okta_events;
    let check = format!("okta {kind} to {}", if leg == Leg::Entra { "Entra" } else { "AWS" });
    let Some(id) = &l.okta_id else {
        return verdict(l, Leg::Okta, phase, &check, Status::Unknown, "no Okta user".into());
    };
    let found = app_events(events, id, app, kind);
    if found.iter().any(|e| e.succeeded()) {
        return verdict(l, Leg::Okta, phase, &check, Status::Pass, String::new());
    }
    match found.last() {
        Some(e) => verdict(
            l,
            Leg::Okta,
            phase,
            &check,
            Status::Fail,
            format!(
                "outcome {}: {}",
                e.outcome.as_ref().and_then(|o| o.result.clone()).unwrap_or_default(),
                e.outcome.as_ref().and_then(|o| o.reason.clone()).unwrap_or_default()
            ),
        ),
        None => verdict(
            l,
            Leg::Okta,
            phase,
            &check,
            Status::Unknown,
            match &g.unread.log {
                Some(e) => format!("the System Log could not be read: {e}"),
                // Okta logs nothing for a push its provisioning settings switch off.
                None => format!(
                    "no {kind} event for this app in the System Log (Okta pushes nothing when the app's {} is off)",
                    if kind.ends_with("deactivate") { "Deactivate Users" } else { "Create Users" }
                ),
            },
        ),
    }
}

pub(super) fn audit_time<'a>(
    audits: &'a [DirectoryAudit],
    target: Option<&str>,
    pick: impl Fn(&DirectoryAudit, &str) -> bool,
) -> Option<(Stamp, &'a DirectoryAudit)> {
    let target = target?;
    audits.iter().filter(|a| pick(a, target)).min_by_key(|a| a.activity_date_time).map(|a| {
        (
            Stamp {
                at: a.activity_date_time,
                provenance: Provenance::Source,
                detail: format!("entra_directory_audit {} activityDateTime", a.activity_display_name),
            },
            a,
        )
    })
}

fn trail_time<'a>(
    trail: &'a [TrailEvent],
    target: Option<&str>,
    pick: impl Fn(&TrailEvent) -> bool,
) -> Option<(Stamp, &'a TrailEvent)> {
    let target = target?;
    trail
        .iter()
        .filter(|e| e.target_id() == Some(target) && pick(e))
        .filter_map(|e| e.event_time.map(|t| (t, e)))
        .min_by_key(|(t, _)| *t)
        .map(|(at, e)| {
            // eventTime has whole seconds: the change happened before the end of that second.
            // Rounding up keeps a latency from ever reading shorter than it was.
            let at = at + Duration::milliseconds(999);
            (
                Stamp {
                    at,
                    provenance: Provenance::Source,
                    detail: format!("cloudtrail {} eventTime (whole second, rounded up)", e.event_name),
                },
                e,
            )
        })
}

/// A timed verdict for one leg's change in one phase.
#[allow(clippy::too_many_arguments)]
fn timed_check(
    record: &mut Record,
    l: &Live,
    leg: Leg,
    phase: Phase,
    check: &str,
    watch: Option<&Watch>,
    start: Option<&Stamp>,
    source: Option<Stamp>,
    offset: Option<Duration>,
    sla: Duration,
) -> Verdict {
    let w = watch.cloned().unwrap_or_default();
    let change = Change { window: w.window(), source, clock_offset: offset };
    let unseen = w.unseen();
    let mut t = timed(start, Some(&change).filter(|c| c.window.is_some() || c.source.is_some()), Some(&unseen), sla);
    // A T0 that is our own request time (Okta's event is missing) is early by up to
    // however long Okta took to answer: a FAIL inside that slack may have been on time.
    if let (Status::Fail, Some(latency), Some(t0)) = (t.status, t.latency, start)
        && t0.provenance == Provenance::Requested
        && let Some(answered) = l.answered.get(&phase)
        && latency - (*answered - t0.at) <= sla
    {
        t.status = Status::Unknown;
        t.reason = format!(
            "changed {} after our request, but Okta took {} to answer and its System Log event is missing: on time or not is unknown",
            crate::duration::format(latency.to_std().unwrap_or_default()),
            crate::duration::format((*answered - t0.at).to_std().unwrap_or_default())
        );
    }
    if let (Status::Fail, None, Some(t0), Unseen::NotChanged { last_checked }) = (t.status, t.latency, start, &unseen)
        && t0.provenance == Provenance::Requested
        && l.answered.get(&phase).is_some_and(|answered| *last_checked < *answered + sla)
    {
        t.status = Status::Unknown;
        t.reason = format!(
            "not seen by the last check, {} after our request, but Okta's answer came later and its System Log event is missing: the SLA may not have run out",
            crate::duration::format((*last_checked - t0.at).to_std().unwrap_or_default())
        );
    }
    if let Some(n) = &t.note {
        record.notes.push(format!("{} {check} ({leg:?}): {n}", l.plan.key));
    }
    record.observations.push(Observation {
        subject: l.plan.key.clone(),
        leg,
        phase,
        check: check.into(),
        expected: "changed".into(),
        seen: if w.seen() { "changed".into() } else { "not seen".into() },
        window: w.window(),
    });
    Verdict {
        subject: l.plan.key.clone(),
        leg,
        phase,
        check: check.into(),
        status: t.status,
        latency_ms: t.latency.map(ms),
        sla_ms: Some(ms(sla)),
        time: t.time,
        reason: t.reason,
    }
}

pub async fn draw(s: &Settings, c: &Clients<'_>, record: &mut Record, g: &Gathered) {
    // Each downstream's clock offset, from its Date headers (AWS's through the SDK's interceptor).
    let offsets = (c.graph.http().clock_offset(), c.aws.clock_offset());
    for (what, error, consequence) in [
        ("the Okta System Log", &g.unread.log, "T0s are our own request times and push checks are UNKNOWN"),
        ("Entra directory audits", &g.unread.audits, "Entra times are the poll windows' bounds"),
        ("CloudTrail", &g.unread.trail, "AWS times are the poll windows' bounds"),
    ] {
        if let Some(e) = error {
            record.notes.push(format!("{what} could not be read ({e}): {consequence}"));
        }
    }
    for e in &g.okta_events {
        record.events.push(SourceEvent {
            source: Source::OktaSystemLog,
            id: e.uuid.clone(),
            time: e.published,
            kind: e.event_type.clone(),
            outcome: e.outcome.as_ref().and_then(|o| o.result.clone()),
            subject: subject_of_okta(g, e),
            leg: None,
            actor: e.actor.as_ref().and_then(|a| a.label()),
            sha256: keep(c, &e.raw),
        });
    }
    for l in &g.subjects {
        let Some(okta_id) = l.okta_id.clone() else { continue };
        let targets = [l.entra_id.as_deref(), l.aws_id.as_deref()];
        for a in g
            .audits
            .iter()
            .filter(|a| a.target_resources.iter().any(|t| t.id.is_some() && t.id.as_deref() == targets[0]))
        {
            record.events.push(SourceEvent {
                source: Source::EntraDirectoryAudit,
                id: a.id.clone(),
                time: a.activity_date_time,
                kind: a.activity_display_name.clone(),
                outcome: a.result.clone(),
                subject: Some(l.plan.key.clone()),
                leg: Some(Leg::Entra),
                actor: a.actor(),
                sha256: keep(c, &a.raw),
            });
        }
        if let Some(sp) = &s.okta_sp_id {
            record.notes.extend(not_by_okta(&l.plan.key, sp, targets[0], &g.audits));
        }
        for e in g.trail.iter().filter(|e| e.target_id().is_some() && e.target_id() == targets[1]) {
            if let Some(t) = e.event_time {
                record.events.push(SourceEvent {
                    source: Source::Cloudtrail,
                    id: e.event_id.clone(),
                    time: t,
                    kind: e.event_name.clone(),
                    outcome: e.error_code().map(str::to_string).or(Some("success".into())),
                    subject: Some(l.plan.key.clone()),
                    leg: Some(Leg::Aws),
                    actor: e.actor(),
                    sha256: keep(c, &e.event),
                });
            }
        }

        // Joiner.
        let start = t0(&g.okta_events, &okta_id, "user.lifecycle.create", l.requested.get(&Phase::Joiner).copied());
        record.verdicts.push(push_check(
            l,
            g,
            &s.entra_app,
            Leg::Entra,
            Phase::Joiner,
            "application.provision.user.push",
        ));
        record.verdicts.push(push_check(l, g, &s.aws_app, Leg::Aws, Phase::Joiner, "application.provision.user.push"));
        let src = audit_time(&g.audits, l.entra_id.as_deref(), |a, t| {
            a.activity_display_name == "Add user" && a.target_resources.iter().any(|r| r.id.as_deref() == Some(t))
        })
        .map(|x| x.0);
        let v = timed_check(
            record,
            l,
            Leg::Entra,
            Phase::Joiner,
            "account created",
            l.watches.get(&(Phase::Joiner, Leg::Entra)),
            start.as_ref(),
            src,
            offsets.0,
            std_to(s.sla.joiner),
        );
        record.verdicts.push(v);
        let src = trail_time(&g.trail, l.aws_id.as_deref(), |e| e.event_name == "CreateUser").map(|x| x.0);
        let v = timed_check(
            record,
            l,
            Leg::Aws,
            Phase::Joiner,
            "account created",
            l.watches.get(&(Phase::Joiner, Leg::Aws)),
            start.as_ref(),
            src,
            offsets.1,
            std_to(s.sla.joiner),
        );
        record.verdicts.push(v);
        joiner_state(s, c, record, l).await;
        membership_checks(s, record, l, g, Phase::Joiner, start.as_ref(), offsets.0, std_to(s.sla.joiner));
        access(s, c, record, l, g, Phase::Joiner).await;

        // Mover.
        if s.mover {
            let start =
                t0(&g.okta_events, &okta_id, "user.account.update_profile", l.requested.get(&Phase::Mover).copied());
            let src = audit_time(&g.audits, l.entra_id.as_deref(), |a, t| {
                a.activity_display_name == "Update user" && a.property(t, "Surname").is_some()
            })
            .map(|x| x.0);
            let v = timed_check(
                record,
                l,
                Leg::Entra,
                Phase::Mover,
                "renamed in place",
                l.watches.get(&(Phase::Mover, Leg::Entra)),
                start.as_ref(),
                src,
                offsets.0,
                std_to(s.sla.mover),
            );
            record.verdicts.push(v);
            let src = trail_time(&g.trail, l.aws_id.as_deref(), |e| e.event_name == "PutUser").map(|x| x.0);
            let v = timed_check(
                record,
                l,
                Leg::Aws,
                Phase::Mover,
                "renamed in place",
                l.watches.get(&(Phase::Mover, Leg::Aws)),
                start.as_ref(),
                src,
                offsets.1,
                std_to(s.sla.mover),
            );
            record.verdicts.push(v);
            membership_checks(s, record, l, g, Phase::Mover, start.as_ref(), offsets.0, std_to(s.sla.mover));
            access(s, c, record, l, g, Phase::Mover).await;
            // A move between two assigned groups must not deprovision.
            for leg in [Leg::Entra, Leg::Aws] {
                let v = match l.still_enabled.get(&leg) {
                    Some(Ok(true)) => verdict(l, leg, Phase::Mover, "not deprovisioned", Status::Pass, String::new()),
                    Some(Ok(false)) => verdict(
                        l,
                        leg,
                        Phase::Mover,
                        "not deprovisioned",
                        Status::Fail,
                        "the account was disabled or removed by the move".into(),
                    ),
                    Some(Err(e)) => verdict(
                        l,
                        leg,
                        Phase::Mover,
                        "not deprovisioned",
                        Status::Unknown,
                        format!("could not observe: {e}"),
                    ),
                    None => verdict(
                        l,
                        leg,
                        Phase::Mover,
                        "not deprovisioned",
                        Status::Unknown,
                        "no downstream account to check".into(),
                    ),
                };
                record.verdicts.push(v);
            }
        }

        // Leaver.
        if s.leaver {
            let start =
                t0(&g.okta_events, &okta_id, "user.lifecycle.deactivate", l.requested.get(&Phase::Leaver).copied());
            record.verdicts.push(push_check(
                l,
                g,
                &s.entra_app,
                Leg::Entra,
                Phase::Leaver,
                "application.provision.user.deactivate",
            ));
            record.verdicts.push(push_check(
                l,
                g,
                &s.aws_app,
                Leg::Aws,
                Phase::Leaver,
                "application.provision.user.deactivate",
            ));
            let entra = audit_time(&g.audits, l.entra_id.as_deref(), |a, t| {
                a.disables(t)
                    || (a.activity_display_name == "Delete user"
                        && a.target_resources.iter().any(|r| r.id.as_deref() == Some(t)))
            });
            let v = timed_check(
                record,
                l,
                Leg::Entra,
                Phase::Leaver,
                "revoked",
                l.watches.get(&(Phase::Leaver, Leg::Entra)),
                start.as_ref(),
                entra.map(|x| x.0),
                offsets.0,
                std_to(s.sla.leaver),
            );
            record.verdicts.push(v);
            let aws = trail_time(&g.trail, l.aws_id.as_deref(), |e| {
                (e.event_name == "PatchUser" && e.active_after() == Some(false)) || e.event_name == "DeleteUser"
            });
            let v = timed_check(
                record,
                l,
                Leg::Aws,
                Phase::Leaver,
                "revoked",
                l.watches.get(&(Phase::Leaver, Leg::Aws)),
                start.as_ref(),
                aws.map(|x| x.0),
                offsets.1,
                std_to(s.sla.leaver),
            );
            let aws_latency = v.latency_ms;
            record.verdicts.push(v);
            super::residual::residual(s, c, record, l, g, start.as_ref(), offsets.0, aws_latency).await;
        }
    }
    not_made(record, g);
}

/// A phase whose Okta change was never made tested nothing: its checks are UNKNOWN
/// with the error (a joiner never created has one such check, so it is never silent).
fn not_made(record: &mut Record, g: &Gathered) {
    for l in &g.subjects {
        if l.okta_id.is_none() {
            let why = l.not_made.get(&Phase::Joiner).cloned();
            let why = why.unwrap_or_else(|| "the user was not created (the run stopped first)".into());
            record.verdicts.push(verdict(l, Leg::Okta, Phase::Joiner, "user created", Status::Unknown, why));
        }
        for (phase, why) in &l.not_made {
            let covered = |p: Phase| match phase {
                Phase::Joiner => true,
                Phase::Leaver => matches!(p, Phase::Leaver | Phase::Residual),
                other => p == *other,
            };
            for v in record.verdicts.iter_mut().filter(|v| v.subject == l.plan.key && covered(v.phase)) {
                v.status = Status::Unknown;
                v.reason = why.clone();
                v.latency_ms = None;
                v.time = None;
            }
        }
    }
}

fn subject_of_okta(g: &Gathered, e: &LogEvent) -> Option<String> {
    let id = e.target_of("User").and_then(|t| t.id.as_deref())?;
    g.subjects.iter().find(|l| l.okta_id.as_deref() == Some(id)).map(|l| l.plan.key.clone())
}

/// Joiner, not timed: the mapped attributes, the group membership, and on AWS that the
/// group grants a permission set on the account (an account that can access nothing fails).
async fn joiner_state(s: &Settings, c: &Clients<'_>, record: &mut Record, l: &Live) {
    let p = &l.plan;
    match &l.entra_id {
        None => record.verdicts.push(verdict(
            l,
            Leg::Entra,
            Phase::Joiner,
            "attributes mapped",
            Status::Unknown,
            "no Entra account found".into(),
        )),
        Some(id) => match c.graph.get_user(id).await {
            Ok(Some(u)) => {
                let link = match s.link {
                    crate::config::LinkAttribute::OnPremisesImmutableId => {
                        u.on_premises_immutable_id.as_deref() == l.okta_id.as_deref()
                    }
                    crate::config::LinkAttribute::EmployeeId => {
                        u.employee_id.as_deref() == Some(p.employee_number.as_str())
                    }
                };
                let ok = u.user_principal_name.as_deref().is_some_and(|x| x.eq_ignore_ascii_case(&p.login))
                    && u.given_name.as_deref() == Some(p.given.as_str())
                    && link;
                record.verdicts.push(pass_or(
                    l,
                    Leg::Entra,
                    Phase::Joiner,
                    "attributes mapped",
                    ok,
                    format!(
                        "seen upn {:?}, givenName {:?}, link {}",
                        u.user_principal_name,
                        u.given_name,
                        if link { "ok" } else { "missing" }
                    ),
                ));
            }
            Ok(None) => record.verdicts.push(verdict(
                l,
                Leg::Entra,
                Phase::Joiner,
                "attributes mapped",
                Status::Unknown,
                "the Entra account is gone (a delete revoke?)".into(),
            )),
            Err(e) => record.verdicts.push(verdict(
                l,
                Leg::Entra,
                Phase::Joiner,
                "attributes mapped",
                Status::Unknown,
                format!("could not observe: {e}"),
            )),
        },
    }
    match &l.aws_id {
        None => record.verdicts.push(verdict(
            l,
            Leg::Aws,
            Phase::Joiner,
            "attributes mapped",
            Status::Unknown,
            "no Identity Center user found".into(),
        )),
        Some(id) => {
            let want_ext = match s.external_id {
                crate::config::ExternalId::OktaId => l.okta_id.clone().unwrap_or_default(),
                crate::config::ExternalId::EmployeeNumber => p.employee_number.clone(),
            };
            match c.aws.describe_user(id).await {
                Ok(Some(u)) => {
                    let ok = u.user_name.as_deref() == Some(p.login.as_str())
                        && u.given_name.as_deref() == Some(p.given.as_str())
                        && u.has_external_id(&want_ext);
                    record.verdicts.push(pass_or(
                        l,
                        Leg::Aws,
                        Phase::Joiner,
                        "attributes mapped",
                        ok,
                        format!(
                            "seen userName {:?}, givenName {:?}, externalIds {:?}",
                            u.user_name, u.given_name, u.external_ids
                        ),
                    ));
                }
                Ok(None) => record.verdicts.push(verdict(
                    l,
                    Leg::Aws,
                    Phase::Joiner,
                    "attributes mapped",
                    Status::Unknown,
                    "the Identity Center user is gone".into(),
                )),
                Err(e) => record.verdicts.push(verdict(
                    l,
                    Leg::Aws,
                    Phase::Joiner,
                    "attributes mapped",
                    Status::Unknown,
                    format!("could not observe: {e}"),
                )),
            }
        }
    }
}

/// On AWS, access is a permission set on the account through the pushed group: the
/// subject joined the group during the phase, and the group holds the phase's set.
async fn access(s: &Settings, c: &Clients<'_>, record: &mut Record, l: &Live, g: &Gathered, phase: Phase) {
    let (group, ps, check) = match phase {
        Phase::Mover => (&g.aws_groups.1, &s.mover_permission_set_arn, "access changed"),
        _ => (&g.aws_groups.0, &s.permission_set_arn, "access"),
    };
    let Some(group) = group else {
        let v = match &g.aws_groups_error {
            Some(e) => verdict(l, Leg::Aws, phase, check, Status::Unknown, format!("could not look up the group: {e}")),
            None => {
                verdict(l, Leg::Aws, phase, check, Status::Fail, "the group was never pushed to Identity Center".into())
            }
        };
        record.verdicts.push(v);
        return;
    };
    let watch = l.memberships.get(&(phase, Leg::Aws));
    let member = watch.is_some_and(Watch::seen);
    // A membership that could not be observed is not an absent one.
    if !member && let Some(crate::evidence::verdict::Unseen::CouldNotObserve(why)) = watch.map(Watch::unseen) {
        let why = format!("the group membership could not be observed: {why}");
        record.verdicts.push(verdict(l, Leg::Aws, phase, check, Status::Unknown, why));
        return;
    }
    match c.aws.assignments_for(group, true, Some(&s.account_id)).await {
        Ok(a) => {
            let granted = a.iter().any(|x| &x.permission_set_arn == ps);
            let why = if !member {
                "not a member of the pushed group"
            } else {
                "exists but can access nothing: the group holds no such permission set on the account"
            };
            record.verdicts.push(pass_or(l, Leg::Aws, phase, check, member && granted, why.into()));
        }
        Err(e) => {
            record.verdicts.push(verdict(l, Leg::Aws, phase, check, Status::Unknown, format!("could not observe: {e}")))
        }
    }
}

/// The membership that follows a phase, timed from its T0; Entra's own
/// "Add member to group" row dates it when the poll window agrees.
#[allow(clippy::too_many_arguments)]
fn membership_checks(
    s: &Settings,
    record: &mut Record,
    l: &Live,
    g: &Gathered,
    phase: Phase,
    start: Option<&Stamp>,
    offset: Option<Duration>,
    sla: Duration,
) {
    let (check, want) =
        if phase == Phase::Mover { ("membership moved", &s.mover_group) } else { ("group membership", &s.group) };
    let membership_start = l.okta_id.as_deref().and_then(|id| membership_t0(g, id, phase));
    let start = membership_start.as_ref().or(start);
    let added = audit_time(&g.audits, l.entra_id.as_deref(), |a, t| {
        a.activity_display_name == "Add member to group"
            && a.property(t, "Group.DisplayName").is_some_and(|p| p.after() == serde_json::Value::String(want.clone()))
    })
    .map(|x| x.0);
    // Moved is in the mover group and out of the test group: the later of the two audits.
    let src = if phase == Phase::Mover {
        let removed = audit_time(&g.audits, l.entra_id.as_deref(), |a, t| {
            a.activity_display_name == "Remove member from group"
                && a.property(t, "Group.DisplayName")
                    .is_some_and(|p| p.before() == serde_json::Value::String(s.group.clone()))
        })
        .map(|x| x.0);
        added.zip(removed).map(|(a, r)| if r.at > a.at { r } else { a })
    } else {
        added
    };
    let v = timed_check(
        record,
        l,
        Leg::Entra,
        phase,
        check,
        l.memberships.get(&(phase, Leg::Entra)),
        start,
        src,
        offset,
        sla,
    );
    record.verdicts.push(v);
    let v =
        timed_check(record, l, Leg::Aws, phase, check, l.memberships.get(&(phase, Leg::Aws)), start, None, None, sla);
    record.verdicts.push(v);
}

/// When Okta changed the membership: its own `group.user_membership.*` events for the
/// user. A mover is "moved" once added to the mover group and removed from the test
/// group, so the later of the two. The phase's T0 (the create or the profile update)
/// comes earlier, by as long as our own Okta calls took, which a throttled Okta makes
/// seconds.
fn membership_t0(g: &Gathered, okta_id: &str, phase: Phase) -> Option<Stamp> {
    let at = |kind: &str, group: &str| {
        g.okta_events
            .iter()
            .filter(|e| e.event_type == kind && e.succeeded())
            .filter(|e| e.target_of("User").and_then(|t| t.id.as_deref()) == Some(okta_id))
            .filter(|e| e.target_of("UserGroup").and_then(|t| t.id.as_deref()) == Some(group))
            .map(|e| e.published)
            .min()
    };
    let (at, detail) = match phase {
        Phase::Joiner => (at("group.user_membership.add", &g.groups.group_id)?, "group.user_membership.add"),
        Phase::Mover => {
            let added = at("group.user_membership.add", &g.groups.mover_group_id)?;
            let removed = at("group.user_membership.remove", &g.groups.group_id)?;
            (added.max(removed), "group.user_membership.add and .remove, the later")
        }
        _ => return None,
    };
    Some(Stamp { at, provenance: Provenance::Source, detail: format!("okta_system_log {detail} published") })
}

/// Successful Entra changes to the subject's account made by anyone but Okta's
/// service principal: a manual change (or another provisioner) that a timed verdict
/// would otherwise credit to Okta.
fn not_by_okta(key: &str, okta_sp: &str, entra_id: Option<&str>, audits: &[DirectoryAudit]) -> Vec<String> {
    let Some(id) = entra_id else { return vec![] };
    audits
        .iter()
        .filter(|a| a.result.as_deref() == Some("success"))
        .filter(|a| a.target_resources.iter().any(|t| t.id.as_deref() == Some(id)))
        .filter(|a| a.by_service_principal() != Some(okta_sp))
        .map(|a| {
            format!(
                "{key}: Entra {:?} at {} was made by {}, not Okta's service principal {okta_sp}: a manual change?",
                a.activity_display_name,
                a.activity_date_time.to_rfc3339(),
                a.actor().unwrap_or_else(|| "no one named".into())
            )
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(id: &str, target: &str, result: &str, by: serde_json::Value) -> DirectoryAudit {
        DirectoryAudit::from_value(serde_json::json!({
            "id": id,
            "activityDateTime": "2026-11-29T10:00:00Z",
            "activityDisplayName": "Update user",
            "result": result,
            "initiatedBy": by,
            "targetResources": [{"id": target, "type": "User"}]
        }))
        .unwrap()
    }

    #[test]
    fn only_successful_changes_to_the_subject_not_made_by_okta_are_flagged() {
        let okta = serde_json::json!({"app": {"displayName": "Okta", "servicePrincipalId": "sp-okta"}});
        let admin = serde_json::json!({"user": {"userPrincipalName": "admin@example.com"}});
        let other_app = serde_json::json!({"app": {"displayName": "HR sync", "servicePrincipalId": "sp-hr"}});
        let audits = [
            row("1", "u1", "success", okta.clone()),
            row("2", "u1", "success", admin),
            row("3", "u1", "failure", other_app.clone()),
            row("4", "u2", "success", other_app.clone()),
            row("5", "u1", "success", other_app),
            row("6", "u1", "success", serde_json::json!({})),
        ];
        let notes = not_by_okta("s01", "sp-okta", Some("u1"), &audits);
        assert_eq!(notes.len(), 3, "{notes:#?}");
        assert!(notes[0].contains("by user admin@example.com, not Okta's service principal sp-okta"), "{}", notes[0]);
        assert!(notes[1].contains("by app HR sync (service principal sp-hr)"), "{}", notes[1]);
        assert!(notes[2].contains("by no one named"), "{}", notes[2]);
        assert!(not_by_okta("s01", "sp-okta", None, &audits).is_empty());
    }
}
