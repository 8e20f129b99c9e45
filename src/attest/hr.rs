//! The HR side: every terminated person on the list must have an Okta deactivation
//! on or after the termination date, within `[sla] termination`. A person with none
//! is FAIL — the gap between HR and Okta is the original audit finding — unless the
//! System Log does not reach back to the termination date (UNKNOWN).

use chrono::{DateTime, Duration, Utc};

use super::terminations::Termination;
use crate::api::ApiError;
use crate::evidence::record::{Leg, Phase, Provenance, SourceEvent, Stamp, Status, Subject, Verdict};
use crate::okta::logs::LogQuery;
use crate::okta::types::{LogEvent, User};
use crate::okta::{OktaClient, quote};
use crate::raw::RawLog;
use crate::report::fmt;

pub const CHECK: &str = "deactivated after HR termination";

pub struct Checked {
    pub subjects: Vec<Subject>,
    pub verdicts: Vec<Verdict>,
    pub events: Vec<SourceEvent>,
}

/// The Okta user a row names: by login (Okta's user record), else by employee number
/// (which Okta does not keep unique: several matches are a finding of their own).
async fn person(okta: &OktaClient, t: &Termination) -> Result<Result<Option<User>, String>, ApiError> {
    if let Some(login) = &t.login {
        return Ok(Ok(okta.get_user(login).await?));
    }
    let n = t.employee_number.as_deref().unwrap_or_default();
    let mut found = okta.find_by_employee_number(n).await?;
    Ok(match found.len() {
        0 | 1 => Ok(found.pop()),
        k => Err(format!("{k} Okta users have employee number {n}: which one left cannot be told")),
    })
}

/// The first deactivation of the user (by id, or by login for a deleted user) from
/// the termination date on.
async fn deactivation(
    okta: &OktaClient,
    t: &Termination,
    user: Option<&User>,
    now: DateTime<Utc>,
) -> Result<Option<LogEvent>, ApiError> {
    let target = match (user, &t.login) {
        (Some(u), _) => format!("target.id eq {}", quote(&u.id)),
        (None, Some(login)) => format!("target.alternateId eq {}", quote(login)),
        (None, None) => return Ok(None),
    };
    let q =
        LogQuery::bounded(t.terminated, now).filter(format!("eventType eq \"user.lifecycle.deactivate\" and {target}"));
    let mut pager = okta.logs(&q)?;
    while let Some(page) = pager.next_page().await? {
        if let Some(e) = page.into_iter().find(|e| e.published >= t.terminated) {
            return Ok(Some(e));
        }
    }
    Ok(None)
}

pub struct Context<'a> {
    pub okta: &'a OktaClient,
    pub sla: Duration,
    pub now: DateTime<Utc>,
    /// From when the System Log is known to hold entries.
    pub log_from: Option<DateTime<Utc>>,
    pub raw: Option<&'a RawLog>,
    /// Keys of the period's leavers by Okta id, so a row joins its leaver.
    pub leaver_keys: &'a std::collections::BTreeMap<String, String>,
}

pub async fn check(c: &Context<'_>, rows: &[Termination]) -> Result<Checked, ApiError> {
    let mut out = Checked { subjects: Vec::new(), verdicts: Vec::new(), events: Vec::new() };
    for t in rows {
        // Okta refuses a log query reaching 180 days back; a termination still to come
        // has nothing to show yet.
        let horizon = c.now - Duration::days(179);
        let reachable = t.terminated > horizon && t.terminated < c.now;
        let found = person(c.okta, t).await?;
        let user = found.as_ref().ok().and_then(|u| u.as_ref());
        let event = match &found {
            Ok(_) if reachable => deactivation(c.okta, t, user, c.now).await?,
            _ => None,
        };
        // The row joins its leaver by Okta id: the user's, or (a deleted user) the
        // deactivation event's.
        let okta_id = user
            .map(|u| u.id.clone())
            .or_else(|| event.as_ref().and_then(|e| e.target_of("User")).and_then(|u| u.id.clone()));
        let key = okta_id
            .as_ref()
            .and_then(|id| c.leaver_keys.get(id).cloned())
            .unwrap_or_else(|| format!("hr{:03}", t.line));
        if !c.leaver_keys.values().any(|k| *k == key) {
            out.subjects.push(Subject {
                key: key.clone(),
                login: user.map(|u| u.login().to_string()).or(t.login.clone()).unwrap_or_default(),
                name: String::new(),
                okta_id,
                employee_number: t.employee_number.clone().unwrap_or_default(),
                entra_id: None,
                aws_id: None,
            });
        }
        let verdict = |status, time: Option<Stamp>, reason: String| Verdict {
            subject: key.clone(),
            leg: Leg::Okta,
            phase: Phase::Leaver,
            check: CHECK.into(),
            status,
            latency_ms: time
                .as_ref()
                .filter(|_| status != Status::Unknown)
                .map(|s| (s.at - t.terminated).num_milliseconds()),
            sla_ms: Some(c.sla.num_milliseconds()),
            time,
            reason,
        };
        let terminated = fmt::time(&t.terminated);
        if let Err(why) = &found {
            out.verdicts.push(verdict(Status::Unknown, None, format!("HR line {}: {why}", t.line)));
            continue;
        }
        if t.terminated >= c.now {
            out.verdicts.push(verdict(Status::Unknown, None, format!("terminated {terminated}: not yet due")));
            continue;
        }
        // Deactivated once is not enough: active again now is access again.
        if let (Some(e), Some(u)) = (&event, user)
            && u.status == "ACTIVE"
        {
            let why = format!("deactivated at {}, but the Okta user is ACTIVE now", fmt::time(&e.published));
            out.verdicts.push(verdict(Status::Fail, None, why));
            continue;
        }
        match event {
            Some(e) => {
                out.events.push(super::legs::Used { raw: c.raw, subject: &key }.okta(&e, None));
                let at = Stamp {
                    at: e.published,
                    provenance: Provenance::Source,
                    detail: "okta_system_log user.lifecycle.deactivate published".into(),
                };
                let late = e.published - t.terminated > c.sla;
                let reason = if late {
                    format!(
                        "terminated {terminated}, deactivated in Okta {} later, over the {} SLA",
                        fmt::latency((e.published - t.terminated).num_milliseconds()),
                        fmt::sla(c.sla.num_milliseconds())
                    )
                } else {
                    String::new()
                };
                out.verdicts.push(verdict(if late { Status::Fail } else { Status::Pass }, Some(at), reason));
            }
            None => {
                // Deactivated before the termination date is not a gap: Okta's own
                // record says since when.
                let early = user
                    .filter(|u| matches!(u.status.as_str(), "DEPROVISIONED" | "SUSPENDED"))
                    .and_then(|u| u.status_changed)
                    .filter(|s| *s <= t.terminated);
                if let Some(s) = early {
                    let at = Stamp { at: s, provenance: Provenance::Source, detail: "okta user statusChanged".into() };
                    out.verdicts.push(verdict(
                        Status::Pass,
                        Some(at),
                        format!("deactivated before the termination date ({terminated})"),
                    ));
                } else if c.log_from.is_none_or(|f| f > t.terminated) {
                    out.verdicts.push(verdict(Status::Unknown, None, format!("terminated {terminated}, before the System Log's oldest entry: whether Okta deactivated the account cannot be shown")));
                } else {
                    let state = user
                        .map(|u| format!("the Okta user is {}", u.status))
                        .unwrap_or_else(|| "no Okta user matches the row".into());
                    out.verdicts.push(verdict(
                        Status::Fail,
                        None,
                        format!("terminated {terminated}, no Okta deactivation since ({state})"),
                    ));
                }
            }
        }
    }
    Ok(out)
}
