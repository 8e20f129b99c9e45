//! What `attest` reads, all of it read-only: the Okta System Log (deactivations of
//! the period, reactivations, deactivate pushes), Okta's app-user records, the
//! downstream directories, and their audit trails, with how far back each trail
//! actually reached. The System Log is read page by page and only the events that
//! matter are kept.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::api::ApiError;
use crate::aws::AwsClient;
use crate::aws::types::{IcUser, TrailEvent};
use crate::entra::types::{DirectoryAudit, GraphUser};
use crate::entra::{AuditQuery, GraphClient};
use crate::evidence::record::Period;
use crate::ledger::read::{LedgerView, Spans};
use crate::okta::OktaClient;
use crate::okta::logs::LogQuery;
use crate::okta::types::{AppUser, LogEvent};

pub const DEACTIVATE: &str = "user.lifecycle.deactivate";
pub const DELETE: &str = "user.lifecycle.delete.initiated";
pub const ACTIVATE: &str = "user.lifecycle.activate";
pub const REACTIVATE: &str = "user.lifecycle.reactivate";
pub const PUSH_DEACTIVATE: &str = "application.provision.user.deactivate";

/// Okta refuses a `since` 180 days back or more (E0000053); a day's margin for the
/// clock moving while we ask.
const OKTA_HORIZON_DAYS: i64 = 179;

/// Everything the verdicts are drawn from.
#[derive(Debug, Default)]
pub struct Gathered {
    /// Deactivations and delete requests published in the period, oldest first.
    pub departures: Vec<LogEvent>,
    /// Activations from the period's start to now (a reactivated leaver is not a leaver).
    pub activations: Vec<LogEvent>,
    /// Deactivation pushes from the period's start to now.
    pub pushes: Vec<LogEvent>,
    /// The oldest System Log entry the period's query returned.
    pub okta_oldest: Option<DateTime<Utc>>,
    /// Okta's own record of each assignment: app id → user id → app user.
    pub app_users: BTreeMap<String, BTreeMap<String, AppUser>>,
    pub entra_users: Vec<GraphUser>,
    /// Entra revocation rows ("Disable account", "Delete user", "Update user") from
    /// the earliest departure on, oldest first.
    pub audits: Vec<DirectoryAudit>,
    pub audits_oldest: Option<DateTime<Utc>>,
    pub aws_users: Vec<IcUser>,
    /// SCIM calls in CloudTrail from the earliest departure on, oldest first.
    pub trail: Vec<TrailEvent>,
    pub trail_oldest: Option<DateTime<Utc>>,
    /// Whether CloudTrail holds any SCIM event at all (1) or none (0: a SCIM token that
    /// predates CloudTrail's logging of SCIM calls).
    pub trail_seen: usize,
    /// Users deleted in the period without a deactivation in it: their deactivation
    /// before the period, where the System Log has one.
    pub prior_deactivations: BTreeMap<String, DateTime<Utc>>,
    /// What a ledger (`--ledger`) covers per source, beside the live APIs' reach.
    pub ledger_spans: Spans,
}

/// Adds `more` to `into`, skipping items whose key is already there.
fn union<T>(into: &mut Vec<T>, more: impl IntoIterator<Item = T>, key: impl Fn(&T) -> String) {
    let mut seen: BTreeSet<String> = into.iter().map(&key).collect();
    into.extend(more.into_iter().filter(|x| seen.insert(key(x))));
}

pub struct Sources<'a> {
    pub okta: &'a OktaClient,
    pub graph: &'a GraphClient,
    pub aws: &'a AwsClient,
    pub entra_app: &'a str,
    pub aws_app: &'a str,
}

/// The directory-audit rows that can revoke or restore an account: all of the
/// activities asked for, but of "Update user" only those that change AccountEnabled
/// (the rest are profile edits).
fn revoking(r: &DirectoryAudit) -> bool {
    const ACTIVITIES: &[&str] = &["Disable account", "Delete user", "Update user", "Enable account"];
    ACTIVITIES.contains(&r.activity_display_name.as_str())
        && (r.activity_display_name != "Update user"
            || r.target_resources
                .iter()
                .flat_map(|t| &t.modified_properties)
                .any(|p| p.display_name.as_deref() == Some("AccountEnabled")))
}

fn either(kinds: &[&str]) -> String {
    kinds.iter().map(|k| format!("eventType eq \"{k}\"")).collect::<Vec<_>>().join(" or ")
}

/// Every page of a bounded query, keeping only events `keep` accepts.
async fn log_pages(
    okta: &OktaClient,
    q: &LogQuery,
    mut keep: impl FnMut(&LogEvent) -> bool,
) -> Result<(Vec<LogEvent>, Option<DateTime<Utc>>), ApiError> {
    let mut pager = okta.logs(q)?;
    let mut kept = Vec::new();
    let mut oldest: Option<DateTime<Utc>> = None;
    while let Some(page) = pager.next_page().await? {
        for e in page {
            oldest = Some(oldest.map_or(e.published, |o| o.min(e.published)));
            if keep(&e) {
                kept.push(e);
            }
        }
    }
    Ok((kept, oldest))
}

pub async fn gather(
    s: &Sources<'_>,
    period: &Period,
    now: DateTime<Utc>,
    ledger: Option<&LedgerView>,
) -> Result<Gathered, ApiError> {
    let mut g = Gathered::default();
    let asked = *period;
    let kept_okta = |types: &[&str]| -> Vec<LogEvent> {
        ledger
            .map(|l| l.okta.iter().filter(|e| types.contains(&e.event_type.as_str())).cloned().collect())
            .unwrap_or_default()
    };
    let by_uuid = |e: &LogEvent| e.uuid.clone();
    let until = period.until.min(now);
    // Okta refuses a `since` older than its 180-day horizon; what is older is not covered.
    let period =
        &Period { since: period.since.max(now - chrono::Duration::days(OKTA_HORIZON_DAYS)), until: period.until };
    // How far back the System Log reaches: the oldest entry it still returns at all,
    // from an unfiltered query's first page (Okta keeps 90 days). The first entry of
    // the period itself would not do: a quiet morning is not a gap.
    let horizon = now - chrono::Duration::days(OKTA_HORIZON_DAYS);
    let probe = LogQuery { limit: Some(1), ..LogQuery::bounded(horizon.min(period.since), until) };
    let mut pager = s.okta.logs(&probe)?;
    g.okta_oldest = pager.next_page().await?.and_then(|p| p.first().map(|e| e.published));

    let q = LogQuery::bounded(period.since, until).filter(either(&[DEACTIVATE, DELETE]));
    // Okta's `until` is inclusive; the period's is not.
    (g.departures, _) = log_pages(s.okta, &q, |e| period.contains(e.published)).await?;
    if let Some(l) = ledger {
        g.ledger_spans = l.spans.clone();
        let older = kept_okta(&[DEACTIVATE, DELETE]).into_iter().filter(|e| asked.contains(e.published));
        union(&mut g.departures, older, by_uuid);
        g.departures.sort_by(|a, b| (a.published, &a.uuid).cmp(&(b.published, &b.uuid)));
    }
    let Some(first) = g.departures.iter().map(|e| e.published).min() else { return Ok(g) };

    // Deleted without a deactivation in the period: were they deactivated before it?
    let deactivated: BTreeSet<&str> = g
        .departures
        .iter()
        .filter(|e| e.event_type == DEACTIVATE)
        .filter_map(|e| e.target_of("User").and_then(|t| t.id.as_deref()))
        .collect();
    let deleted_only: Vec<String> = g
        .departures
        .iter()
        .filter(|e| e.event_type == DELETE)
        .filter_map(|e| e.target_of("User").and_then(|t| t.id.clone()))
        .filter(|id| !deactivated.contains(id.as_str()))
        .collect();
    let before = now - chrono::Duration::days(OKTA_HORIZON_DAYS);
    let ledger_deactivations = kept_okta(&[DEACTIVATE]);
    for id in &deleted_only {
        let earlier = ledger_deactivations
            .iter()
            .filter(|e| e.published < asked.since && e.target_of("User").and_then(|t| t.id.as_deref()) == Some(id))
            .map(|e| e.published)
            .max();
        if let Some(at) = earlier {
            g.prior_deactivations.insert(id.clone(), at);
        }
    }
    for id in deleted_only {
        if before >= period.since {
            break;
        }
        let filter = format!("eventType eq \"{DEACTIVATE}\" and target.id eq {}", crate::okta::quote(&id));
        let q = LogQuery::bounded(before, period.since).filter(filter);
        let (found, _) = log_pages(s.okta, &q, |e| e.published < period.since).await?;
        if let Some(e) = found.last() {
            g.prior_deactivations.insert(id, e.published);
        }
    }

    // Only the period's departed matter: every query and listing below keeps their
    // records alone as its pages arrive, so a large tenant is never held whole.
    let departed: BTreeSet<String> =
        g.departures.iter().filter_map(|e| e.target_of("User").and_then(|t| t.id.clone())).collect();
    let theirs =
        |e: &LogEvent| e.target_of("User").and_then(|t| t.id.as_deref()).is_some_and(|id| departed.contains(id));
    let q = LogQuery::bounded(first.max(before), now).filter(either(&[ACTIVATE, REACTIVATE]));
    (g.activations, _) = log_pages(s.okta, &q, theirs).await?;
    let q = LogQuery::bounded(first.max(before), now).filter(either(&[PUSH_DEACTIVATE]));
    (g.pushes, _) = log_pages(s.okta, &q, theirs).await?;
    if ledger.is_some() {
        let from_ledger = |types: &[&str]| kept_okta(types).into_iter().filter(|e| e.published >= first && theirs(e));
        union(&mut g.activations, from_ledger(&[ACTIVATE, REACTIVATE]), by_uuid);
        union(&mut g.pushes, from_ledger(&[PUSH_DEACTIVATE]), by_uuid);
        for list in [&mut g.activations, &mut g.pushes] {
            list.sort_by(|a, b| (a.published, &a.uuid).cmp(&(b.published, &b.uuid)));
        }
    }

    let mut downstream: BTreeSet<String> = BTreeSet::new();
    for app in [s.entra_app, s.aws_app] {
        let users = s
            .okta
            .app_users_where(app, |u| {
                u.slim();
                departed.contains(&u.id)
            })
            .await?;
        downstream.extend(users.iter().filter_map(|u| u.external_id.clone()));
        g.app_users.insert(app.to_string(), users.into_iter().map(|u| (u.id.clone(), u)).collect());
    }

    g.entra_users = s
        .graph
        .all_users_where(|u| downstream.contains(&u.id) || u.carried_ids().any(|o| departed.contains(o)))
        .await?;
    // Graph's filter has no `or`: one query per activity that can revoke an account.
    for activity in ["Disable account", "Delete user", "Update user", "Enable account"] {
        let q = AuditQuery { since: Some(first), until: Some(now), activity: Some(activity.into()), target_id: None };
        // Of "Update user", only rows that flip an account matter; the rest are edits.
        let (rows, oldest) = s.graph.directory_audits_where(&q, revoking).await?;
        if let Some(o) = oldest {
            g.audits_oldest = Some(g.audits_oldest.map_or(o, |x| x.min(o)));
        }
        g.audits.extend(rows);
    }
    if let Some(l) = ledger {
        let rows = l.audits.iter().filter(|r| r.activity_date_time >= first && revoking(r)).cloned();
        union(&mut g.audits, rows, |r| r.id.clone());
    }
    g.audits.sort_by(|a, b| a.activity_date_time.cmp(&b.activity_date_time).then_with(|| a.id.cmp(&b.id)));

    g.aws_users = s
        .aws
        .list_users_where(|u| downstream.contains(&u.id) || u.external_ids.iter().any(|(_, x)| departed.contains(x)))
        .await?;
    // Only user revokes and re-enables matter; group pushes and creates are most of it.
    let pages = s.aws.scim_user_changes(first, now).await?;
    (g.trail, g.trail_oldest, g.trail_seen) = (pages.events, pages.oldest, pages.seen);
    if let Some(l) = ledger {
        // eventTime has whole seconds: from the start of the first departure's second.
        let from = first - chrono::Duration::seconds(1);
        g.trail_seen += l.trail.len();
        let calls = l.trail.iter().filter(|e| {
            matches!(e.event_name.as_str(), "PatchUser" | "DeleteUser") && e.event_time.is_some_and(|t| t >= from)
        });
        union(&mut g.trail, calls.cloned(), |e| e.event_id.clone());
        g.trail.sort_by_key(|e| e.event_time);
    }
    Ok(g)
}
