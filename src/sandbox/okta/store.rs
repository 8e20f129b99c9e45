//! Okta's data: users, groups, app instances with their app users, and the System
//! Log. Every mutation writes the System Log events Okta writes for it and returns
//! the provisioning jobs it causes (the provisioner runs them later, like Okta's
//! asynchronous JOB transactions).

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use crate::sandbox::ids::Rng;
use crate::sandbox::provisioner::{Job, JobKind};
use crate::sandbox::state::{Leg, ms};

#[derive(Debug, Clone)]
pub struct OktaUser {
    pub id: String,
    pub status: String,
    pub created: DateTime<Utc>,
    pub activated: Option<DateTime<Utc>>,
    pub status_changed: Option<DateTime<Utc>>,
    pub last_updated: DateTime<Utc>,
    pub password_changed: Option<DateTime<Utc>>,
    pub profile: Map<String, Value>,
}

impl OktaUser {
    pub fn login(&self) -> &str {
        self.profile.get("login").and_then(Value::as_str).unwrap_or("")
    }

    pub fn display_name(&self) -> String {
        let first = self.profile.get("firstName").and_then(Value::as_str).unwrap_or("");
        let last = self.profile.get("lastName").and_then(Value::as_str).unwrap_or("");
        format!("{first} {last}").trim().to_string()
    }

    pub fn attr(&self, key: &str) -> Option<&str> {
        self.profile.get(key).and_then(Value::as_str)
    }
}

#[derive(Debug, Clone)]
pub struct OktaGroup {
    pub id: String,
    pub name: String,
    pub description: String,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub last_membership_updated: DateTime<Utc>,
    pub members: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct OktaApp {
    pub id: String,
    /// The instance label an admin gave it.
    pub label: String,
    /// The catalog app's name (`office365`, `amazon_aws_sso`).
    pub name: String,
    /// The catalog app's display name.
    pub catalog_name: String,
    /// Provisioning target, if this app provisions.
    pub leg: Option<Leg>,
    /// Groups assigned to the app.
    pub groups: BTreeSet<String>,
    /// Group push mappings: Okta group id → (mapping id, downstream group id).
    pub pushes: BTreeMap<String, (String, String)>,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct AppUser {
    pub app_id: String,
    pub user_id: String,
    /// The `0ua…` id that System Log events name as the AppUser target.
    pub app_user_id: String,
    /// The downstream id Okta recorded after the push.
    pub external_id: Option<String>,
    pub status: String,
    pub sync_state: String,
    pub scope: String,
    pub user_name: String,
    pub created: DateTime<Utc>,
    pub last_updated: DateTime<Utc>,
    pub status_changed: DateTime<Utc>,
    pub last_sync: Option<DateTime<Utc>>,
}

/// What `POST /api/v1/users` asks for.
#[derive(Debug, Clone)]
pub struct NewUser {
    pub profile: Map<String, Value>,
    pub activate: bool,
    pub with_password: bool,
    pub group_ids: Vec<String>,
}

/// One System Log entry: `seq` orders by persistence, `published` is the event's own time.
#[derive(Debug, Clone)]
pub struct LogEntry {
    pub seq: u64,
    pub published: DateTime<Utc>,
    pub event: Value,
}

/// Who did it, as the System Log's `actor`.
#[derive(Debug, Clone)]
pub struct Actor {
    pub id: String,
    pub kind: String,
    pub alternate_id: String,
    pub display_name: String,
}

impl Actor {
    pub fn system() -> Actor {
        Actor {
            id: "wS1XlfExmakns0JtUwOQg".into(),
            kind: "SystemPrincipal".into(),
            alternate_id: "system@okta.com".into(),
            display_name: "Okta System".into(),
        }
    }
}

/// The call that caused an event: WEB (an API request, id = X-Okta-Request-Id) or JOB.
#[derive(Debug, Clone)]
pub struct Tx {
    pub kind: &'static str,
    pub id: String,
    pub actor: Actor,
    pub uri: Option<String>,
}

#[derive(Debug, Default)]
pub struct Okta {
    pub users: BTreeMap<String, OktaUser>,
    pub groups: BTreeMap<String, OktaGroup>,
    pub apps: Vec<OktaApp>,
    pub app_users: BTreeMap<(String, String), AppUser>,
    pub log: Vec<LogEntry>,
    pub admin: Option<Actor>,
    /// Direct (scope USER) app assignments: (app id, user id).
    pub direct: BTreeSet<(String, String)>,
}

pub const USER_TYPE_ID: &str = "otyLA2qou4n874OKI1d7";

/// (eventType, legacyEventType, displayMessage) for the events the sandbox writes.
fn event_meta(event_type: &str) -> (&'static str, &'static str) {
    match event_type {
        "user.lifecycle.create" => ("core.user.config.user_creation.success", "Create Okta user"),
        "user.lifecycle.activate" => ("core.user.config.user_activated", "Activate Okta user"),
        "user.lifecycle.deactivate" => ("core.user.config.user_deactivated", "Deactivate Okta User"),
        "user.lifecycle.reactivate" => ("core.user.config.user_reactivated", "Reactivate Okta user"),
        "user.lifecycle.delete.initiated" => ("core.user.config.user_status.delete.initiated", "Delete Okta user"),
        "user.lifecycle.delete.completed" => {
            ("core.user.config.user_status.delete.completed", "Delete Okta user completed")
        }
        "user.account.update_profile" => ("core.user.config.profile_update.success", "Update user profile for Okta"),
        "user.session.clear" => ("core.user_auth.session_clear", "Clear user session"),
        "user.session.start" => ("core.user_auth.login_success", "User login to Okta"),
        "user.authentication.sso" => ("app.auth.sso", "User single sign on to app"),
        "group.user_membership.add" => ("core.user_group_member.user_add", "Add user to group membership"),
        "group.user_membership.remove" => ("core.user_group_member.user_remove", "Remove user from group membership"),
        "application.user_membership.add" => {
            ("app.generic.provision.assign_user_to_app", "Add user to application membership")
        }
        "application.user_membership.remove" => {
            ("app.generic.provision.deactivate_user_from_app", "Remove users application membership")
        }
        "application.provision.user.push" => {
            ("app.user_management.push_new_user", "Push new user to external application")
        }
        "application.provision.user.push_profile" => {
            ("app.user_management.push_profile_success", "Push user's profile to external application")
        }
        "application.provision.user.deactivate" => {
            ("app.user_management.deactivate_user", "Push user deactivation to external application")
        }
        // Legacy type and wording inferred (not seen in public samples).
        "application.provision.user.reactivate" => {
            ("app.user_management.reactivate_user", "Reactivate user in external application")
        }
        "application.provision.group_push.push_memberships" => {
            ("app.user_management.push_group_memberships", "Push group memberships to external application")
        }
        _ => ("", ""),
    }
}

impl Okta {
    pub fn user(&self, id_or_login: &str) -> Option<&OktaUser> {
        self.users.get(id_or_login).or_else(|| {
            let needle = id_or_login.to_lowercase();
            self.users.values().find(|u| u.login().to_lowercase() == needle)
        })
    }

    pub fn app_for(&self, leg: Leg) -> Option<&OktaApp> {
        self.apps.iter().find(|a| a.leg == Some(leg))
    }

    pub fn group_by_name(&self, name: &str) -> Option<&OktaGroup> {
        self.groups.values().find(|g| g.name == name)
    }

    fn user_target(u: &OktaUser) -> Value {
        json!({"id": u.id, "type": "User", "alternateId": u.login(), "displayName": u.display_name(), "detailEntry": null})
    }

    fn group_target(g: &OktaGroup) -> Value {
        json!({"id": g.id, "type": "UserGroup", "alternateId": "unknown", "displayName": g.name, "detailEntry": null})
    }

    fn app_targets(app: &OktaApp, au: &AppUser, u: &OktaUser) -> Vec<Value> {
        vec![
            json!({"id": au.app_user_id, "type": "AppUser", "alternateId": au.user_name, "displayName": u.display_name(), "detailEntry": null}),
            json!({"id": app.id, "type": "AppInstance", "alternateId": app.label, "displayName": app.catalog_name, "detailEntry": null}),
            Self::user_target(u),
        ]
    }

    /// Appends a System Log event in Okta's LogEvent shape.
    #[allow(clippy::too_many_arguments)]
    pub fn log(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        event_type: &str,
        tx: &Tx,
        targets: Vec<Value>,
        result: &str,
        reason: Option<String>,
    ) {
        let (legacy, message) = event_meta(event_type);
        let web = tx.kind == "WEB";
        let client = if web {
            json!({"userAgent": {"rawUserAgent": "jmlproof", "os": "Unknown", "browser": "UNKNOWN"}, "zone": "null", "device": "Unknown",
                   "id": null, "ipAddress": "127.0.0.1", "geographicalContext": null})
        } else {
            json!({"userAgent": null, "zone": null, "device": null, "id": null, "ipAddress": null, "geographicalContext": null})
        };
        let debug = match &tx.uri {
            Some(uri) => {
                json!({"requestId": tx.id, "requestUri": uri.split('?').next().unwrap_or(uri), "url": uri})
            }
            None => json!({}),
        };
        let severity = if result == "SUCCESS" { "INFO" } else { "WARN" };
        let event = json!({
            "actor": {"id": tx.actor.id, "type": tx.actor.kind, "alternateId": tx.actor.alternate_id, "displayName": tx.actor.display_name, "detailEntry": null},
            "client": client,
            "device": null,
            "authenticationContext": {"authenticationProvider": null, "credentialProvider": null, "credentialType": null, "issuer": null,
                                      "interface": null, "authenticationStep": 0, "externalSessionId": "unknown"},
            "displayMessage": message,
            "eventType": event_type,
            "outcome": {"result": result, "reason": reason},
            "published": ms(at),
            "securityContext": {"asNumber": null, "asOrg": null, "isp": null, "domain": null, "isProxy": null},
            "severity": severity,
            "debugContext": {"debugData": debug},
            "legacyEventType": legacy,
            "transaction": {"type": tx.kind, "id": tx.id, "detail": {}},
            "uuid": rng.log_uuid(),
            "version": "0",
            "request": {"ipChain": if web { json!([{"ip": "127.0.0.1", "geographicalContext": null, "version": "V4", "source": null}]) } else { json!([]) }},
            "target": targets,
        });
        let seq = self.log.last().map(|e| e.seq + 1).unwrap_or(1);
        self.log.push(LogEntry { seq, published: at, event });
    }

    /// Creates a user (ACTIVE when activated with a password, PROVISIONED without one,
    /// else STAGED) in the given groups.
    pub fn create_user(&mut self, rng: &mut Rng, now: DateTime<Utc>, tx: &Tx, new: NewUser) -> (OktaUser, Vec<Job>) {
        let NewUser { profile, activate, with_password, group_ids } = new;
        let id = rng.okta_id("00u");
        let status = match (activate, with_password) {
            (true, true) => "ACTIVE",
            (true, false) => "PROVISIONED",
            (false, _) => "STAGED",
        };
        let user = OktaUser {
            id: id.clone(),
            status: status.into(),
            created: now,
            activated: activate.then_some(now),
            status_changed: activate.then_some(now),
            last_updated: now,
            password_changed: with_password.then_some(now),
            profile,
        };
        self.users.insert(id.clone(), user.clone());
        self.log(rng, now, "user.lifecycle.create", tx, vec![Self::user_target(&user)], "SUCCESS", None);
        if activate {
            self.log(rng, now, "user.lifecycle.activate", tx, vec![Self::user_target(&user)], "SUCCESS", None);
        }
        let mut jobs = Vec::new();
        for gid in &group_ids {
            jobs.extend(self.add_member(rng, now, tx, gid, &id));
        }
        if group_ids.is_empty() {
            jobs.extend(self.sync_assignments(rng, now, tx, &id));
        }
        (user, jobs)
    }

    /// Partial profile update (POST semantics: only the given attributes change).
    pub fn update_profile(
        &mut self,
        rng: &mut Rng,
        now: DateTime<Utc>,
        tx: &Tx,
        id: &str,
        changes: Map<String, Value>,
    ) -> Vec<Job> {
        let Some(user) = self.users.get_mut(id) else {
            return vec![];
        };
        for (k, v) in changes {
            user.profile.insert(k, v);
        }
        user.last_updated = now;
        let user = user.clone();
        self.log(rng, now, "user.account.update_profile", tx, vec![Self::user_target(&user)], "SUCCESS", None);
        let mut jobs = Vec::new();
        for app in &self.apps {
            let Some(leg) = app.leg else { continue };
            if let Some(au) = self.app_users.get(&(app.id.clone(), user.id.clone()))
                && au.status != "DEPROVISIONED"
            {
                jobs.push(Job::new(leg, JobKind::Update, &user.id, now));
            }
        }
        jobs
    }

    /// Deactivation: DEPROVISIONED, sessions cleared, app users removed, pushes queued.
    pub fn deactivate(&mut self, rng: &mut Rng, now: DateTime<Utc>, tx: &Tx, id: &str) -> Vec<Job> {
        let Some(user) = self.users.get_mut(id) else {
            return vec![];
        };
        user.status = "DEPROVISIONED".into();
        user.status_changed = Some(now);
        user.last_updated = now;
        let user = user.clone();
        self.log(rng, now, "user.lifecycle.deactivate", tx, vec![Self::user_target(&user)], "SUCCESS", None);
        self.log(rng, now, "user.session.clear", tx, vec![Self::user_target(&user)], "SUCCESS", None);
        self.sync_assignments(rng, now, tx, id)
    }

    /// Activation of a STAGED user, or reactivation of a DEPROVISIONED one.
    pub fn activate(&mut self, rng: &mut Rng, now: DateTime<Utc>, tx: &Tx, id: &str) -> Vec<Job> {
        let Some(user) = self.users.get_mut(id) else {
            return vec![];
        };
        user.status = "ACTIVE".into();
        user.activated = Some(now);
        user.status_changed = Some(now);
        user.last_updated = now;
        let user = user.clone();
        self.log(rng, now, "user.lifecycle.activate", tx, vec![Self::user_target(&user)], "SUCCESS", None);
        self.sync_assignments(rng, now, tx, id)
    }

    /// Final delete of a DEPROVISIONED user.
    pub fn delete(&mut self, rng: &mut Rng, now: DateTime<Utc>, tx: &Tx, id: &str) {
        let Some(user) = self.users.remove(id) else {
            return;
        };
        self.log(rng, now, "user.lifecycle.delete.initiated", tx, vec![Self::user_target(&user)], "SUCCESS", None);
        for g in self.groups.values_mut() {
            g.members.remove(id);
        }
        self.app_users.retain(|(_, uid), _| uid != id);
        self.log(rng, now, "user.lifecycle.delete.completed", tx, vec![Self::user_target(&user)], "SUCCESS", None);
    }

    pub fn add_member(
        &mut self,
        rng: &mut Rng,
        now: DateTime<Utc>,
        tx: &Tx,
        group_id: &str,
        user_id: &str,
    ) -> Vec<Job> {
        let (Some(group), Some(user)) = (self.groups.get_mut(group_id), self.users.get(user_id)) else {
            return vec![];
        };
        if !group.members.insert(user_id.to_string()) {
            return vec![];
        }
        group.last_membership_updated = now;
        // Targets, not clones: a department group's members are thousands of ids.
        let targets = vec![Self::user_target(user), Self::group_target(group)];
        self.log(rng, now, "group.user_membership.add", tx, targets, "SUCCESS", None);
        let mut jobs = self.sync_assignments(rng, now, tx, user_id);
        jobs.extend(self.push_membership(now, group_id, user_id, true));
        jobs
    }

    pub fn remove_member(
        &mut self,
        rng: &mut Rng,
        now: DateTime<Utc>,
        tx: &Tx,
        group_id: &str,
        user_id: &str,
    ) -> Vec<Job> {
        let (Some(group), Some(user)) = (self.groups.get_mut(group_id), self.users.get(user_id)) else {
            return vec![];
        };
        if !group.members.remove(user_id) {
            return vec![];
        }
        group.last_membership_updated = now;
        // Targets, not clones: a department group's members are thousands of ids.
        let targets = vec![Self::user_target(user), Self::group_target(group)];
        self.log(rng, now, "group.user_membership.remove", tx, targets, "SUCCESS", None);
        // Membership leaves the pushed group first, then (if no other group keeps the
        // assignment) the app user is removed and deprovisioned.
        let mut jobs = self.push_membership(now, group_id, user_id, false);
        jobs.extend(self.sync_assignments(rng, now, tx, user_id));
        jobs
    }

    /// Group push: a membership change of a pushed group reaches each app that still has the user.
    fn push_membership(&self, now: DateTime<Utc>, group_id: &str, user_id: &str, add: bool) -> Vec<Job> {
        let mut jobs = Vec::new();
        for app in &self.apps {
            let Some(leg) = app.leg else { continue };
            if !app.pushes.contains_key(group_id) {
                continue;
            }
            let assigned =
                self.app_users.get(&(app.id.clone(), user_id.to_string())).is_some_and(|a| a.status != "DEPROVISIONED");
            let kind =
                if add { JobKind::GroupAdd(group_id.to_string()) } else { JobKind::GroupRemove(group_id.to_string()) };
            if assigned || !add {
                jobs.push(Job::new(leg, kind, user_id, now));
            }
        }
        jobs
    }

    /// Recomputes which apps a user is entitled to (through group assignment while not
    /// deprovisioned), adds or removes app users, and queues the pushes that follow.
    pub fn sync_assignments(&mut self, rng: &mut Rng, now: DateTime<Utc>, tx: &Tx, user_id: &str) -> Vec<Job> {
        let Some(user) = self.users.get(user_id).cloned() else {
            return vec![];
        };
        let active =
            matches!(user.status.as_str(), "ACTIVE" | "PROVISIONED" | "RECOVERY" | "PASSWORD_EXPIRED" | "LOCKED_OUT");
        let mut jobs = Vec::new();
        let apps = self.apps.clone();
        for app in &apps {
            let direct = self.direct.contains(&(app.id.clone(), user_id.to_string()));
            let by_group = app.groups.iter().any(|g| self.groups.get(g).is_some_and(|g| g.members.contains(user_id)));
            let entitled = active && (direct || by_group);
            let key = (app.id.clone(), user_id.to_string());
            let current = self.app_users.get(&key).filter(|a| a.status != "DEPROVISIONED").cloned();
            match (entitled, current) {
                (true, None) => {
                    // A reactivated user gets its old AppUser back (same `0ua` id and
                    // externalId), so the push finds the downstream account it made
                    // before instead of creating a duplicate.
                    let old = self.app_users.get(&key).cloned();
                    let au = AppUser {
                        app_id: app.id.clone(),
                        user_id: user_id.to_string(),
                        app_user_id: match &old {
                            Some(o) => o.app_user_id.clone(),
                            None => rng.okta_id("0ua"),
                        },
                        external_id: old.and_then(|o| o.external_id),
                        status: if app.leg.is_some() { "STAGED" } else { "ACTIVE" }.into(),
                        sync_state: if app.leg.is_some() { "SYNCING" } else { "DISABLED" }.into(),
                        scope: if direct { "USER" } else { "GROUP" }.into(),
                        user_name: user.login().to_string(),
                        created: now,
                        last_updated: now,
                        status_changed: now,
                        last_sync: None,
                    };
                    self.log(
                        rng,
                        now,
                        "application.user_membership.add",
                        tx,
                        Self::app_targets(app, &au, &user),
                        "SUCCESS",
                        None,
                    );
                    self.app_users.insert(key, au);
                    if let Some(leg) = app.leg {
                        jobs.push(Job::new(leg, JobKind::Create, user_id, now));
                    }
                }
                (false, Some(mut au)) => {
                    self.log(
                        rng,
                        now,
                        "application.user_membership.remove",
                        tx,
                        Self::app_targets(app, &au, &user),
                        "SUCCESS",
                        None,
                    );
                    au.status = "DEPROVISIONED".into();
                    au.status_changed = now;
                    au.last_updated = now;
                    self.app_users.insert(key, au);
                    if let Some(leg) = app.leg {
                        jobs.push(Job::new(leg, JobKind::Deactivate, user_id, now));
                    }
                }
                _ => {}
            }
        }
        jobs
    }

    /// Assigns or unassigns a user to an app directly (scope USER).
    pub fn set_direct(
        &mut self,
        rng: &mut Rng,
        now: DateTime<Utc>,
        tx: &Tx,
        app_id: &str,
        user_id: &str,
        on: bool,
    ) -> Vec<Job> {
        let key = (app_id.to_string(), user_id.to_string());
        if on {
            self.direct.insert(key.clone());
        } else {
            self.direct.remove(&key);
        }
        let jobs = self.sync_assignments(rng, now, tx, user_id);
        if let Some(au) = self.app_users.get_mut(&key)
            && au.status != "DEPROVISIONED"
        {
            au.scope = if on { "USER" } else { "GROUP" }.into();
        }
        jobs
    }

    /// Assigns or unassigns a group to an app; every member's entitlement follows.
    pub fn set_app_group(
        &mut self,
        rng: &mut Rng,
        now: DateTime<Utc>,
        tx: &Tx,
        app_id: &str,
        group_id: &str,
        on: bool,
    ) -> Vec<Job> {
        let Some(app) = self.apps.iter_mut().find(|a| a.id == app_id) else { return vec![] };
        let changed = if on { app.groups.insert(group_id.to_string()) } else { app.groups.remove(group_id) };
        if !changed {
            return vec![];
        }
        let members: Vec<String> =
            self.groups.get(group_id).map(|g| g.members.iter().cloned().collect()).unwrap_or_default();
        members.iter().flat_map(|m| self.sync_assignments(rng, now, tx, m)).collect()
    }

    /// Writes the System Log event of a provisioning attempt and updates the app user.
    pub fn record_push(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        leg: Leg,
        user_id: &str,
        event_type: &str,
        outcome: Result<Option<String>, String>,
    ) {
        let Some(app) = self.app_for(leg).cloned() else {
            return;
        };
        let Some(user) = self.users.get(user_id).cloned() else {
            return;
        };
        let key = (app.id.clone(), user_id.to_string());
        let Some(mut au) = self.app_users.get(&key).cloned() else {
            return;
        };
        let tx = Tx { kind: "JOB", id: rng.okta_id("xqw").to_lowercase(), actor: Actor::system(), uri: None };
        let (result, reason) = match &outcome {
            Ok(_) => ("SUCCESS", None),
            Err(reason) => ("FAILURE", Some(reason.clone())),
        };
        self.log(rng, at, event_type, &tx, Self::app_targets(&app, &au, &user), result, reason);
        match outcome {
            Ok(ext) => {
                if let Some(ext) = ext {
                    au.external_id = Some(ext);
                }
                if au.status == "STAGED" {
                    au.status = "PROVISIONED".into();
                    au.status_changed = at;
                }
                au.sync_state = "SYNCHRONIZED".into();
                au.last_sync = Some(at);
            }
            Err(_) => au.sync_state = "ERROR".into(),
        }
        au.last_updated = at;
        self.app_users.insert(key, au);
    }

    /// Records a group-push membership event (one per attempt).
    pub fn record_group_push(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        leg: Leg,
        group_id: &str,
        outcome: Result<(), String>,
    ) {
        let Some(app) = self.app_for(leg).cloned() else {
            return;
        };
        let Some(group) = self.groups.get(group_id).cloned() else {
            return;
        };
        let tx = Tx { kind: "JOB", id: rng.okta_id("xqw").to_lowercase(), actor: Actor::system(), uri: None };
        let targets = vec![
            Self::group_target(&group),
            json!({"id": app.id, "type": "AppInstance", "alternateId": app.label, "displayName": app.catalog_name, "detailEntry": null}),
        ];
        let (result, reason) = match outcome {
            Ok(()) => ("SUCCESS", None),
            Err(r) => ("FAILURE", Some(r)),
        };
        self.log(rng, at, "application.provision.group_push.push_memberships", &tx, targets, result, reason);
    }
}

pub use super::wire::{app_json, app_user_json, group_json, user_json};
