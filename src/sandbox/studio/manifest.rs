//! `Planted`: what the studio seed put where, for `attest` and `reconcile` tests to
//! find. Read back from the tenant after the replay (the ground-truth rows, the app
//! users, the stores), never from the plan, so it cannot claim what did not happen.

use chrono::{DateTime, Utc};
use serde::{Serialize, Serializer};

use super::legacy::Legacy;
use super::people::{Accounts, Person};
use crate::sandbox::state::{Leg, Tenant, ms};

/// A leg revoked more than this long after T0 is late.
pub const LATE_AFTER_SECS: f64 = 86_400.0;

fn at<S: Serializer>(t: &DateTime<Utc>, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&ms(*t))
}

fn at_opt<S: Serializer>(t: &Option<DateTime<Utc>>, s: S) -> Result<S::Ok, S::Error> {
    match t {
        Some(t) => s.serialize_str(&ms(*t)),
        None => s.serialize_none(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct Planted {
    pub seed: u64,
    /// The tenant time the history was laid out from (the sandbox's start).
    #[serde(serialize_with = "at")]
    pub now: DateTime<Utc>,
    #[serde(serialize_with = "at")]
    pub window_start: DateTime<Utc>,
    pub counts: Counts,
    pub departments: Vec<Department>,
    pub joiners: Vec<Joiner>,
    /// Real leavers of the window (not the reactivated user, not the contractor).
    pub leavers: Vec<Leaver>,
    /// Leaver legs revoked more than a day after T0.
    pub late: Vec<LegRef>,
    /// Leaver legs never revoked (the push failed and was not retried).
    pub never_revoked: Vec<LegRef>,
    pub reactivated: Reactivated,
    pub contractor_guest: Guest,
    pub unmappable_aws_users: Vec<Unmappable>,
    /// Every USER (not GROUP) account assignment, the break-glass one included.
    pub direct_assignments: Vec<DirectAssignment>,
    pub break_glass: BreakGlass,
}

#[derive(Debug, Clone, Serialize)]
pub struct Counts {
    /// Okta users in status ACTIVE (what `GET /api/v1/users` lists).
    pub okta_active: usize,
    pub okta_deprovisioned: usize,
    pub entra_users: usize,
    pub entra_enabled: usize,
    pub aws_users: usize,
    pub aws_enabled: usize,
    pub joiners: usize,
    pub leavers: usize,
    pub late: usize,
    pub never_revoked: usize,
    pub unmappable: usize,
    pub direct_assignments: usize,
}

#[derive(Debug, Clone, Serialize)]
pub struct Department {
    pub name: String,
    pub okta_group_id: String,
    pub entra_group_id: String,
    pub aws_group_id: String,
    pub permission_set_arn: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct Joiner {
    pub okta_id: String,
    pub login: String,
    #[serde(serialize_with = "at")]
    pub created_at: DateTime<Utc>,
    pub entra_id: Option<String>,
    pub aws_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Leaver {
    pub okta_id: String,
    pub login: String,
    pub employee_number: String,
    /// The `user.lifecycle.deactivate` time.
    #[serde(serialize_with = "at")]
    pub t0: DateTime<Utc>,
    /// When the user was deleted from Okta afterwards, if it was.
    #[serde(serialize_with = "at_opt")]
    pub deleted_at: Option<DateTime<Utc>>,
    pub legs: Vec<LegOutcome>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegOutcome {
    pub leg: Leg,
    pub downstream_id: String,
    #[serde(serialize_with = "at_opt")]
    pub revoked_at: Option<DateTime<Utc>>,
    pub latency_seconds: Option<f64>,
}

#[derive(Debug, Clone, Serialize)]
pub struct LegRef {
    pub okta_id: String,
    pub leg: Leg,
}

#[derive(Debug, Clone, Serialize)]
pub struct Reactivated {
    pub okta_id: String,
    pub login: String,
    #[serde(serialize_with = "at")]
    pub deactivated_at: DateTime<Utc>,
    #[serde(serialize_with = "at")]
    pub reactivated_at: DateTime<Utc>,
    pub legs: Vec<Bounce>,
}

/// One leg of the reactivated user: switched off, then back on.
#[derive(Debug, Clone, Serialize)]
pub struct Bounce {
    pub leg: Leg,
    pub downstream_id: String,
    #[serde(serialize_with = "at_opt")]
    pub disabled_at: Option<DateTime<Utc>>,
    #[serde(serialize_with = "at_opt")]
    pub enabled_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize)]
pub struct Guest {
    pub okta_id: String,
    pub login: String,
    pub entra_id: String,
    pub user_principal_name: String,
    #[serde(serialize_with = "at")]
    pub deactivated_at: DateTime<Utc>,
    pub days_since_deactivation: i64,
}

#[derive(Debug, Clone, Serialize)]
pub struct Unmappable {
    pub user_id: String,
    pub user_name: String,
    pub status: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DirectAssignment {
    pub user_id: String,
    pub user_name: String,
    pub permission_set_arn: String,
    pub account_id: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct BreakGlass {
    pub user_id: String,
    pub user_name: String,
    pub permission_set_arn: String,
}

/// What `build` knows that the tenant does not say by itself (who played which part).
pub(super) struct Input {
    pub seed: u64,
    pub now: DateTime<Utc>,
    pub departments: Vec<Department>,
    pub joiners: Vec<String>,
    pub leavers: Vec<(Person, Accounts)>,
    pub deleted: Vec<(String, DateTime<Utc>)>,
    pub reactivated: (Accounts, DateTime<Utc>, DateTime<Utc>),
    pub contractor: (String, String, DateTime<Utc>),
    pub legacy: Legacy,
}

/// The first ground-truth change of `action` on a leg for a user at or after `from`.
fn change(truth: &Truths, okta_id: &str, leg: Leg, action: &str, from: DateTime<Utc>) -> Option<DateTime<Utc>> {
    truth.get(okta_id)?.iter().filter(|r| r.leg == leg && r.action == action && r.at >= from).map(|r| r.at).min()
}

/// The ground truth by Okta user id.
type Truths<'a> = std::collections::HashMap<&'a str, Vec<&'a crate::sandbox::state::Truth>>;

fn truths(t: &Tenant) -> Truths<'_> {
    let mut out: Truths = std::collections::HashMap::new();
    for r in &t.truth {
        out.entry(r.okta_user_id.as_str()).or_default().push(r);
    }
    out
}

/// When the Okta System Log says each user was (first) deactivated: one pass over
/// the log (a benchmark's holds a million events), not one per leaver.
fn deactivations(t: &Tenant) -> std::collections::HashMap<&str, DateTime<Utc>> {
    let mut out = std::collections::HashMap::new();
    for e in t.okta.log.iter().filter(|e| e.event["eventType"] == "user.lifecycle.deactivate") {
        if let Some(id) = e.event["target"][0]["id"].as_str() {
            out.entry(id).or_insert(e.published);
        }
    }
    out
}

pub(super) fn assemble(t: &Tenant, input: Input) -> Planted {
    let Input { seed, now, departments, joiners, leavers, deleted, reactivated, contractor, legacy } = input;
    let deactivated = deactivations(t);
    let truth = truths(t);
    let mut leavers: Vec<Leaver> = leavers
        .into_iter()
        .filter_map(|(p, acc)| {
            let t0 = *deactivated.get(acc.okta_id.as_str())?;
            let legs = [(Leg::Entra, acc.entra_id.clone()), (Leg::Aws, acc.aws_id.clone())]
                .into_iter()
                .map(|(leg, downstream_id)| {
                    let revoked_at = change(&truth, &acc.okta_id, leg, "disable", t0);
                    LegOutcome {
                        leg,
                        downstream_id,
                        revoked_at,
                        latency_seconds: revoked_at.map(|r| (r - t0).num_milliseconds() as f64 / 1000.0),
                    }
                })
                .collect();
            Some(Leaver {
                deleted_at: deleted.iter().find(|d| d.0 == acc.okta_id).map(|d| d.1),
                okta_id: acc.okta_id,
                login: p.login,
                employee_number: p.employee_number,
                t0,
                legs,
            })
        })
        .collect();
    leavers.sort_by_key(|l| l.t0);
    let legs_where = |f: &dyn Fn(&LegOutcome) -> bool| -> Vec<LegRef> {
        leavers
            .iter()
            .flat_map(|l| l.legs.iter().filter(|g| f(g)).map(|g| LegRef { okta_id: l.okta_id.clone(), leg: g.leg }))
            .collect()
    };
    let late = legs_where(&|g| g.latency_seconds.is_some_and(|s| s > LATE_AFTER_SECS));
    let never_revoked = legs_where(&|g| g.revoked_at.is_none());
    // One index, not a scan of every user per joiner (a benchmark's studio is 100,000).
    let by_login: std::collections::HashMap<String, &crate::sandbox::okta::store::OktaUser> =
        t.okta.users.values().map(|u| (u.login().to_lowercase(), u)).collect();
    let mut joiners: Vec<Joiner> = joiners
        .iter()
        .filter_map(|login| {
            let u = *by_login.get(&login.to_lowercase())?;
            let ext = |leg| {
                let app = t.okta.app_for(leg)?;
                t.okta.app_users.get(&(app.id.clone(), u.id.clone()))?.external_id.clone()
            };
            Some(Joiner {
                okta_id: u.id.clone(),
                login: login.clone(),
                created_at: u.created,
                entra_id: ext(Leg::Entra),
                aws_id: ext(Leg::Aws),
            })
        })
        .collect();
    joiners.sort_by_key(|j| j.created_at);
    let (back, oops, undo) = reactivated;
    let bounce = |leg, downstream_id: &str| Bounce {
        leg,
        downstream_id: downstream_id.to_string(),
        disabled_at: change(&truth, &back.okta_id, leg, "disable", oops),
        enabled_at: change(&truth, &back.okta_id, leg, "enable", undo),
    };
    let reactivated = Reactivated {
        login: t.okta.users.get(&back.okta_id).map(|u| u.login().to_string()).unwrap_or_default(),
        deactivated_at: oops,
        reactivated_at: undo,
        legs: vec![bounce(Leg::Entra, &back.entra_id), bounce(Leg::Aws, &back.aws_id)],
        okta_id: back.okta_id.clone(),
    };
    let (okta_id, entra_id, gone) = contractor;
    let contractor_guest = Guest {
        login: t.okta.users.get(&okta_id).map(|u| u.login().to_string()).unwrap_or_default(),
        user_principal_name: t.entra.users.get(&entra_id).map(|u| u.upn.clone()).unwrap_or_default(),
        deactivated_at: gone,
        days_since_deactivation: (now - gone).num_days(),
        okta_id,
        entra_id,
    };
    let counts = Counts {
        okta_active: t.okta.users.values().filter(|u| u.status == "ACTIVE").count(),
        okta_deprovisioned: t.okta.users.values().filter(|u| u.status == "DEPROVISIONED").count(),
        entra_users: t.entra.users.len(),
        entra_enabled: t.entra.users.values().filter(|u| u.account_enabled).count(),
        aws_users: t.aws.users.len(),
        aws_enabled: t.aws.users.values().filter(|u| u.enabled).count(),
        joiners: joiners.len(),
        leavers: leavers.len(),
        late: late.len(),
        never_revoked: never_revoked.len(),
        unmappable: legacy.unmappable.len(),
        direct_assignments: legacy.direct.len(),
    };
    Planted {
        seed,
        now,
        window_start: now - chrono::Duration::days(super::WINDOW_DAYS),
        counts,
        departments,
        joiners,
        leavers,
        late,
        never_revoked,
        reactivated,
        contractor_guest,
        unmappable_aws_users: legacy.unmappable,
        direct_assignments: legacy.direct,
        break_glass: legacy.break_glass,
    }
}
