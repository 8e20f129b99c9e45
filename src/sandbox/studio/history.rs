//! A quarter of history, replayed rather than written by hand: admin actions go
//! through the Okta store (which logs exactly what the live API logs and returns the
//! provisioning jobs), and each job is applied downstream by the live provisioner's
//! own `apply` at its planned time. So the three trails agree with each other and with
//! what the sandbox does live, by construction.

use std::collections::BTreeMap;

use chrono::{DateTime, Duration, Utc};
use serde_json::{Map, Value, json};

use crate::sandbox::faults::Faults;
use crate::sandbox::okta::store::{Actor, NewUser, Tx};
use crate::sandbox::provisioner::{self, Job, JobKind};
use crate::sandbox::state::{Leg, Tenant};

/// What one leg does after an Okta change: the push lands after a delay, or fails once
/// (a failed deactivation push is not retried; Okta leaves an admin task).
#[derive(Debug, Clone)]
pub enum LegPlan {
    After(Duration),
    Fail(Duration, String),
}

/// Index of a leg in per-leg arrays (`Leg::ALL` order).
pub fn ix(leg: Leg) -> usize {
    match leg {
        Leg::Entra => 0,
        Leg::Aws => 1,
    }
}

#[derive(Debug)]
enum Step {
    /// HR hires someone: created and activated in Okta, into a department group.
    Join {
        profile: Map<String, Value>,
        group_id: String,
        legs: [Duration; 2],
    },
    Deactivate {
        okta_id: String,
        legs: [LegPlan; 2],
    },
    Activate {
        okta_id: String,
        legs: [Duration; 2],
    },
    Delete {
        okta_id: String,
    },
    Push {
        job: Job,
        fail: Option<String>,
    },
}

/// A discrete-event replay: steps run in time order (ties in the order they were planned).
#[derive(Debug, Default)]
pub struct Sim {
    queue: BTreeMap<(DateTime<Utc>, u64), Step>,
    n: u64,
}

impl Sim {
    fn at(&mut self, when: DateTime<Utc>, step: Step) {
        self.n += 1;
        self.queue.insert((when, self.n), step);
    }

    pub fn join(&mut self, when: DateTime<Utc>, profile: Map<String, Value>, group_id: &str, legs: [Duration; 2]) {
        let group_id = group_id.to_string();
        self.at(when, Step::Join { profile, group_id, legs });
    }

    pub fn deactivate(&mut self, when: DateTime<Utc>, okta_id: &str, legs: [LegPlan; 2]) {
        let okta_id = okta_id.to_string();
        self.at(when, Step::Deactivate { okta_id, legs });
    }

    pub fn activate(&mut self, when: DateTime<Utc>, okta_id: &str, legs: [Duration; 2]) {
        let okta_id = okta_id.to_string();
        self.at(when, Step::Activate { okta_id, legs });
    }

    pub fn delete(&mut self, when: DateTime<Utc>, okta_id: &str) {
        let okta_id = okta_id.to_string();
        self.at(when, Step::Delete { okta_id });
    }

    /// Replays every step. `faults` are the healthy defaults: history is what happened
    /// before this session's fault switches were thrown.
    pub fn run(mut self, t: &mut Tenant, faults: &Faults) {
        while let Some(((when, _), step)) = self.queue.pop_first() {
            self.step(t, faults, when, step);
        }
        // `seq` is persistence order. Okta writes a push event a few milliseconds after
        // the downstream answered, so two replayed steps that close together could
        // interleave; a stable sort by time keeps the history in the order it happened.
        t.okta.log.sort_by_key(|e| e.published);
        for (i, e) in t.okta.log.iter_mut().enumerate() {
            e.seq = i as u64 + 1;
            console(&mut e.event);
        }
    }

    fn step(&mut self, t: &mut Tenant, faults: &Faults, when: DateTime<Utc>, step: Step) {
        match step {
            Step::Join { profile, group_id, legs } => {
                let tx = admin_tx(t, "/api/v1/users?activate=true".into());
                let new = NewUser { profile, activate: true, with_password: true, group_ids: vec![group_id] };
                let (_, jobs) = t.okta.create_user(&mut t.rng, when, &tx, new);
                for job in jobs {
                    // Group pushes follow the account they need, as in Okta's ordered queue.
                    let after = match job.kind {
                        JobKind::GroupAdd(_) => Duration::seconds(2),
                        _ => Duration::zero(),
                    };
                    let due = when + legs[ix(job.leg)] + after;
                    self.at(due, Step::Push { job, fail: None });
                }
            }
            Step::Deactivate { okta_id, legs } => {
                let tx = admin_tx(t, format!("/api/v1/users/{okta_id}/lifecycle/deactivate"));
                let jobs = t.okta.deactivate(&mut t.rng, when, &tx, &okta_id);
                for job in jobs {
                    let (delay, fail) = match &legs[ix(job.leg)] {
                        LegPlan::After(d) => (*d, None),
                        LegPlan::Fail(d, reason) => (*d, Some(reason.clone())),
                    };
                    self.at(when + delay, Step::Push { job, fail });
                }
            }
            Step::Activate { okta_id, legs } => {
                let tx = admin_tx(t, format!("/api/v1/users/{okta_id}/lifecycle/activate"));
                let jobs = t.okta.activate(&mut t.rng, when, &tx, &okta_id);
                for job in jobs {
                    let due = when + legs[ix(job.leg)];
                    self.at(due, Step::Push { job, fail: None });
                }
            }
            Step::Delete { okta_id } => {
                let tx = admin_tx(t, format!("/api/v1/users/{okta_id}"));
                t.okta.delete(&mut t.rng, when, &tx, &okta_id);
            }
            Step::Push { job, fail } => match fail {
                Some(reason) => provisioner::record_failure(t, &job, when, &reason),
                None => provisioner::apply(t, &job, when, &faults.leg(job.leg), faults),
            },
        }
    }
}

/// The store writes every WEB event as if the API client under test made it; the
/// history's admin worked in the Admin Console, so its events carry a browser and an
/// office address instead (a tool telling its own calls apart must not be fooled).
fn console(event: &mut Value) {
    if event["transaction"]["type"] != "WEB" {
        return;
    }
    event["client"]["userAgent"] = json!({
        "rawUserAgent": "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36",
        "os": "Windows 10",
        "browser": "CHROME",
    });
    event["client"]["device"] = json!("Computer");
    event["client"]["ipAddress"] = json!(OFFICE_IP);
    event["request"]["ipChain"] =
        json!([{"ip": OFFICE_IP, "geographicalContext": null, "version": "V4", "source": null}]);
}

/// Pads the System Log with sign-ins (`user.session.start`, then an app SSO) by the
/// settled employees `ids`, spread over the window's working hours, until it holds `n`
/// events: the bulk of a real tenant's log, which `attest` must not have to read.
pub fn sign_ins(t: &mut Tenant, ids: &[String], n: usize, now: DateTime<Utc>) {
    if ids.is_empty() {
        return;
    }
    t.okta.log.reserve(n.saturating_sub(t.okta.log.len()));
    while t.okta.log.len() < n {
        let id = &ids[t.rng.below(ids.len() as u64) as usize];
        let Some(user) = t.okta.users.get(id) else { return };
        let actor = Actor {
            id: user.id.clone(),
            kind: "User".into(),
            alternate_id: user.login().to_string(),
            display_name: user.profile["displayName"].as_str().unwrap_or_default().to_string(),
        };
        let at = super::some_day(&mut t.rng, now, 1, super::WINDOW_DAYS as u64 - 1);
        let tx = Tx { kind: "WEB", id: t.rng.request_id(), actor, uri: Some("/idp/idx/identify".into()) };
        t.okta.log(&mut t.rng, at, "user.session.start", &tx, Vec::new(), "SUCCESS", None);
        if t.okta.log.len() < n {
            let tx = Tx { uri: Some("/app/office365/sso/wsfed/passive".into()), ..tx };
            let later = at + Duration::seconds(2 + t.rng.below(30) as i64);
            t.okta.log(&mut t.rng, later, "user.authentication.sso", &tx, Vec::new(), "SUCCESS", None);
        }
    }
    t.okta.log.sort_by_key(|e| e.published);
    for (i, e) in t.okta.log.iter_mut().enumerate() {
        e.seq = i as u64 + 1;
        console(&mut e.event);
    }
}

/// The studio office's egress address (TEST-NET-3).
const OFFICE_IP: &str = "203.0.113.10";

/// An admin's API call (a WEB transaction with its own request id).
fn admin_tx(t: &mut Tenant, uri: String) -> Tx {
    Tx {
        kind: "WEB",
        id: t.rng.request_id(),
        actor: t.okta.admin.clone().unwrap_or_else(Actor::system),
        uri: Some(uri),
    }
}
