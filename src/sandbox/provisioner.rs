//! The provisioner: what Okta's two provisioning app instances do after an Okta
//! change. One worker per leg takes jobs in order (Okta's own queue is ordered per
//! app), waits for the leg's configured delay, then applies the change downstream,
//! writes the downstream's audit record and the Okta System Log push event, and
//! notes the exact instant in the ground truth.

use std::collections::HashMap;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use tokio::sync::mpsc;

use super::faults::{Faults, LegFaults};
use super::state::{Leg, Shared, Tenant, Truth};

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JobKind {
    Create,
    Update,
    Deactivate,
    /// Group push: add the user to the downstream copy of this Okta group.
    GroupAdd(String),
    GroupRemove(String),
}

#[derive(Debug, Clone)]
pub struct Job {
    pub leg: Leg,
    pub kind: JobKind,
    pub okta_user_id: String,
    pub enqueued: DateTime<Utc>,
}

impl Job {
    pub fn new(leg: Leg, kind: JobKind, okta_user_id: &str, enqueued: DateTime<Utc>) -> Job {
        Job { leg, kind, okta_user_id: okta_user_id.to_string(), enqueued }
    }
}

/// The per-leg job queues and a count of jobs not yet finished (tests await zero).
#[derive(Default)]
pub struct Queues {
    senders: OnceLock<HashMap<Leg, mpsc::UnboundedSender<Job>>>,
    pending: AtomicUsize,
}

impl Queues {
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::SeqCst)
    }
}

/// Queues jobs; called by the Okta handlers after they release the tenant lock.
pub fn enqueue(shared: &Shared, jobs: Vec<Job>) {
    let Some(senders) = shared.queues.senders.get() else {
        return;
    };
    for job in jobs {
        if let Some(tx) = senders.get(&job.leg) {
            shared.queues.pending.fetch_add(1, Ordering::SeqCst);
            if tx.send(job).is_err() {
                shared.queues.pending.fetch_sub(1, Ordering::SeqCst);
            }
        }
    }
}

/// Starts one worker per leg. Workers end when the sandbox is dropped.
pub fn start(shared: &Arc<Shared>) {
    let mut senders = HashMap::new();
    for leg in Leg::ALL {
        let (tx, rx) = mpsc::unbounded_channel();
        senders.insert(leg, tx);
        tokio::spawn(worker(Arc::downgrade(shared), rx));
    }
    let _ = shared.queues.senders.set(senders);
}

async fn worker(shared: std::sync::Weak<Shared>, mut rx: mpsc::UnboundedReceiver<Job>) {
    while let Some(job) = rx.recv().await {
        let Some(s) = shared.upgrade() else { return };
        run_job(&s, &job).await;
        s.queues.pending.fetch_sub(1, Ordering::SeqCst);
    }
}

async fn run_job(s: &Shared, job: &Job) {
    let faults = s.faults().leg(job.leg);
    let enabled = match job.kind {
        JobKind::Create | JobKind::GroupAdd(_) | JobKind::GroupRemove(_) => faults.create,
        JobKind::Update => faults.update,
        JobKind::Deactivate => faults.deactivate,
    };
    if !enabled {
        // The app's provisioning switch is off: Okta pushes nothing and logs nothing.
        return;
    }
    let jitter = {
        let mut t = s.tenant();
        let j = faults.jitter.as_secs_f64();
        Duration::from_secs_f64(if j > 0.0 { t.rng.unit() * j } else { 0.0 })
    };
    let due = job.enqueued + chrono::Duration::from_std(faults.delay + jitter).unwrap_or_default();
    s.clock.sleep_until(due).await;
    let mut attempt = 0u32;
    loop {
        attempt += 1;
        let fail = faults.push_never_succeeds || attempt <= faults.push_failures;
        let at = s.now();
        if !fail {
            let all = s.faults();
            apply(&mut s.tenant(), job, at, &faults, &all);
            return;
        }
        record_failure(&mut s.tenant(), job, at, throttled(job.leg));
        // A push that never succeeds is tried once and left as an admin task, as Okta
        // does with a failed deactivation push.
        if faults.push_never_succeeds {
            return;
        }
        let next = s.now() + chrono::Duration::from_std(faults.retry_after).unwrap_or_default();
        s.clock.sleep_until(next).await;
    }
}

fn event_type(kind: &JobKind) -> &'static str {
    match kind {
        JobKind::Create => "application.provision.user.push",
        JobKind::Update => "application.provision.user.push_profile",
        JobKind::Deactivate => "application.provision.user.deactivate",
        JobKind::GroupAdd(_) | JobKind::GroupRemove(_) => "application.provision.group_push.push_memberships",
    }
}

/// The reason Okta records when a downstream turns a push away under load.
fn throttled(leg: Leg) -> &'static str {
    match leg {
        Leg::Aws => "Too Many Requests. Errors reported by remote server: Rate exceeded",
        Leg::Entra => "Service Unavailable. Errors reported by remote server: serviceNotAvailable",
    }
}

/// A failed push attempt: the Okta FAILURE event (the app user goes to syncState ERROR)
/// and a `push_failed` ground-truth row. Seed history calls it with its own reasons.
pub(crate) fn record_failure(t: &mut Tenant, job: &Job, at: DateTime<Utc>, reason: &str) {
    let reason = reason.to_string();
    let Tenant { okta, rng, truth, .. } = t;
    match &job.kind {
        JobKind::GroupAdd(g) | JobKind::GroupRemove(g) => okta.record_group_push(rng, at, job.leg, g, Err(reason)),
        kind => okta.record_push(rng, at, job.leg, &job.okta_user_id, event_type(kind), Err(reason)),
    }
    truth.push(Truth {
        leg: job.leg,
        action: "push_failed".into(),
        okta_user_id: job.okta_user_id.clone(),
        downstream_id: None,
        at,
    });
}

/// What the app's attribute mapping sends downstream for an Okta user.
#[derive(Debug, Clone)]
pub struct Mapped {
    pub okta_id: String,
    pub user_name: String,
    pub given_name: String,
    pub family_name: String,
    pub display_name: String,
    pub email: String,
    pub employee_number: Option<String>,
    pub title: Option<String>,
    pub department: Option<String>,
}

pub(crate) fn mapped(t: &Tenant, okta_id: &str) -> Option<Mapped> {
    let u = t.okta.users.get(okta_id)?;
    Some(Mapped {
        okta_id: u.id.clone(),
        user_name: u.login().to_string(),
        given_name: u.attr("firstName").unwrap_or("").to_string(),
        family_name: u.attr("lastName").unwrap_or("").to_string(),
        display_name: u.display_name(),
        email: u.attr("email").unwrap_or("").to_string(),
        employee_number: u.attr("employeeNumber").map(str::to_string),
        title: u.attr("title").map(str::to_string),
        department: u.attr("department").map(str::to_string),
    })
}

/// Applies one job downstream at `at`: the downstream change, its audit record, the
/// Okta push event and the ground truth. Seed history replays jobs through here too,
/// so a past leaver looks exactly like one the live provisioner handled.
pub(crate) fn apply(t: &mut Tenant, job: &Job, at: DateTime<Utc>, faults: &LegFaults, all: &Faults) {
    let Some(m) = mapped(t, &job.okta_user_id) else {
        return;
    };
    let app_id = t.okta.app_for(job.leg).map(|a| a.id.clone()).unwrap_or_default();
    let key = (app_id.clone(), job.okta_user_id.clone());
    let downstream_id = t.okta.app_users.get(&key).and_then(|a| a.external_id.clone());
    let audit_at = at + chrono::Duration::from_std(faults.audit_delay).unwrap_or_default();
    let audit = faults.audit.then_some(audit_at);
    let ext_mode = all.aws.external_id.clone();
    let revoke_sessions = all.entra.revoke_sessions;
    let Tenant { okta, entra, aws, rng, truth, .. } = t;
    entra.clock_skew = all.entra.clock_skew.0;
    aws.clock_skew = all.aws.clock_skew.0;
    let mut note = |action: &str, id: Option<String>| {
        truth.push(Truth {
            leg: job.leg,
            action: action.into(),
            okta_user_id: job.okta_user_id.clone(),
            downstream_id: id,
            at,
        })
    };
    // The Okta push event is written just after the downstream answered.
    let okta_at = at + chrono::Duration::milliseconds(5);
    match (&job.kind, job.leg) {
        (JobKind::Create, leg) => {
            let existing = downstream_id.filter(|id| match leg {
                Leg::Entra => entra.users.contains_key(id),
                Leg::Aws => aws.users.contains_key(id),
            });
            let (id, action) = match existing {
                // A reactivated Okta user: Okta re-links the account it made before and
                // turns it back on, rather than creating a second one.
                Some(id) => {
                    let enabled = match leg {
                        Leg::Entra => entra.enable_user(rng, at, audit, &id),
                        Leg::Aws => {
                            aws.users.get(&id).is_some_and(|u| !u.enabled)
                                && aws.scim_patch_active(rng, at, audit, &id, true)
                        }
                    };
                    (id, if enabled { "enable" } else { "create" })
                }
                None => {
                    let id = match leg {
                        Leg::Entra => entra.create_user(rng, at, audit, &m),
                        Leg::Aws => {
                            let ext = if ext_mode == "employee_number" {
                                m.employee_number.clone().unwrap_or_default()
                            } else {
                                m.okta_id.clone()
                            };
                            aws.scim_create_user(rng, at, audit, &m, &ext)
                        }
                    };
                    (id, "create")
                }
            };
            note(action, Some(id.clone()));
            let event =
                if action == "enable" { "application.provision.user.reactivate" } else { event_type(&job.kind) };
            okta.record_push(rng, okta_at, job.leg, &m.okta_id, event, Ok(Some(id)));
        }
        (JobKind::Update, leg) => {
            let Some(id) = downstream_id else { return };
            let done = match leg {
                Leg::Entra => entra.update_user(rng, at, audit, &id, &m),
                Leg::Aws => aws.scim_put_user(rng, at, audit, &id, &m),
            };
            if done {
                note("update", Some(id.clone()));
                okta.record_push(rng, okta_at, job.leg, &m.okta_id, event_type(&job.kind), Ok(None));
            }
        }
        (JobKind::Deactivate, leg) => {
            let Some(id) = downstream_id else { return };
            let revoke = faults.revoke;
            let done = match (leg, revoke) {
                (Leg::Entra, super::faults::Revoke::Disable) => {
                    entra.disable_user(rng, at, audit, &id, revoke_sessions)
                }
                (Leg::Entra, super::faults::Revoke::Delete) => entra.delete_user(rng, at, audit, &id, revoke_sessions),
                (Leg::Aws, super::faults::Revoke::Disable) => aws.scim_patch_active(rng, at, audit, &id, false),
                (Leg::Aws, super::faults::Revoke::Delete) => aws.scim_delete_user(rng, at, audit, &id),
            };
            if done {
                let action = match revoke {
                    super::faults::Revoke::Disable => "disable",
                    super::faults::Revoke::Delete => "delete",
                };
                note(action, Some(id.clone()));
                okta.record_push(rng, okta_at, job.leg, &m.okta_id, event_type(&job.kind), Ok(None));
            }
        }
        (JobKind::GroupAdd(g) | JobKind::GroupRemove(g), leg) => {
            let add = matches!(job.kind, JobKind::GroupAdd(_));
            let Some(target) = okta.app_for(leg).and_then(|a| a.pushes.get(g)).map(|p| p.1.clone()) else {
                return;
            };
            let Some(uid) = downstream_id else { return };
            let done = match leg {
                Leg::Entra => entra.set_member(rng, at, audit, &target, &uid, add),
                Leg::Aws => aws.scim_patch_group(rng, at, audit, &target, &uid, add),
            };
            if done {
                note(if add { "group_add" } else { "group_remove" }, Some(uid));
                okta.record_group_push(rng, okta_at, leg, g, Ok(()));
            }
        }
    }
}
