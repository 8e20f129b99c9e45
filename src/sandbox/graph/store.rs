//! Entra ID's data as Graph shows it: users (with deleted items), groups, and the
//! directory audit log that Okta's writes leave behind.

use std::collections::{BTreeMap, BTreeSet, VecDeque};

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::sandbox::ids::Rng;
use crate::sandbox::provisioner::Mapped;

#[derive(Debug, Clone)]
pub struct EntraUser {
    pub id: String,
    pub upn: String,
    pub display_name: String,
    pub given_name: String,
    pub surname: String,
    pub mail: Option<String>,
    pub account_enabled: bool,
    pub employee_id: Option<String>,
    pub immutable_id: Option<String>,
    pub created: DateTime<Utc>,
    pub user_type: String,
    pub external_user_state: Option<String>,
    pub department: Option<String>,
    pub job_title: Option<String>,
    pub sessions_valid_from: DateTime<Utc>,
    pub deleted: Option<DateTime<Utc>>,
}

impl EntraUser {
    /// Every property the sandbox knows, as Graph names and types them.
    pub fn to_json(&self) -> serde_json::Map<String, Value> {
        let v = json!({
            "id": self.id,
            "userPrincipalName": self.upn,
            "displayName": self.display_name,
            "givenName": self.given_name,
            "surname": self.surname,
            "mail": self.mail,
            "accountEnabled": self.account_enabled,
            "employeeId": self.employee_id,
            "onPremisesImmutableId": self.immutable_id,
            "createdDateTime": self.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "userType": self.user_type,
            "externalUserState": self.external_user_state,
            "department": self.department,
            "jobTitle": self.job_title,
            "signInSessionsValidFromDateTime": self.sessions_valid_from.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "deletedDateTime": self.deleted.map(|d| d.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)),
            "businessPhones": [],
            "mobilePhone": null,
            "officeLocation": null,
            "preferredLanguage": null,
        });
        match v {
            Value::Object(m) => m,
            _ => serde_json::Map::new(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct EntraGroup {
    pub id: String,
    pub display_name: String,
    pub members: BTreeSet<String>,
    pub created: DateTime<Utc>,
}

/// A directory audit row, readable from `available` on, gone after retention.
#[derive(Debug, Clone)]
pub struct Audit {
    pub at: DateTime<Utc>,
    pub available: DateTime<Utc>,
    pub row: Value,
}

#[derive(Debug, Default)]
pub struct Entra {
    pub users: BTreeMap<String, EntraUser>,
    pub deleted: BTreeMap<String, EntraUser>,
    pub groups: BTreeMap<String, EntraGroup>,
    pub audits: Vec<Audit>,
    /// Tenant times of recent directory-audit requests (for the 5 per 10 s limit).
    pub audit_calls: VecDeque<DateTime<Utc>>,
    /// The service principal Okta writes as.
    pub okta_sp_id: String,
    pub okta_sp_name: String,
    /// How far this directory's clock is off (a fault): its audit times carry it.
    pub clock_skew: chrono::Duration,
}

/// Audit values are JSON inside strings: `"[true]"`, `"[\"Sales\"]"`.
fn jv(v: Value) -> Value {
    Value::String(json!([v]).to_string())
}

fn prop(name: &str, old: Option<Value>, new: Option<Value>) -> Value {
    json!({"displayName": name, "oldValue": old.map(jv).unwrap_or(Value::String("[]".into())), "newValue": new.map(jv).unwrap_or(Value::String("[]".into()))})
}

impl Entra {
    pub fn find(&self, id_or_upn: &str) -> Option<&EntraUser> {
        self.users.get(id_or_upn).or_else(|| {
            let needle = id_or_upn.to_lowercase();
            self.users.values().find(|u| u.upn.to_lowercase() == needle)
        })
    }

    #[allow(clippy::too_many_arguments)]
    fn audit(
        &mut self,
        rng: &mut Rng,
        at: Option<DateTime<Utc>>,
        when: DateTime<Utc>,
        activity: &str,
        category: &str,
        op: &str,
        targets: Vec<Value>,
        correlation: &str,
    ) {
        let Some(available) = at else { return };
        let when = when + self.clock_skew;
        let row = json!({
            "id": format!("Directory_{correlation}_{}_{}", &rng.okta_id("AAA")[3..8].to_uppercase(), 100_000_000 + rng.below(900_000_000)),
            "category": category,
            "correlationId": correlation,
            "result": "success",
            "resultReason": "",
            "activityDisplayName": activity,
            // Graph writes seven fractional digits.
            "activityDateTime": format!("{}{:07}Z", when.format("%Y-%m-%dT%H:%M:%S."), when.timestamp_subsec_nanos() / 100),
            "loggedByService": "Core Directory",
            "operationType": op,
            "initiatedBy": {"app": {"appId": null, "displayName": self.okta_sp_name, "servicePrincipalId": self.okta_sp_id, "servicePrincipalName": null}, "user": null},
            "targetResources": targets,
            "additionalDetails": [{"key": "UserType", "value": "Member"}],
        });
        self.audits.push(Audit { at: when, available, row });
    }

    fn user_target(u: &EntraUser, props: Vec<Value>) -> Value {
        json!({"id": u.id, "displayName": null, "type": "User", "userPrincipalName": u.upn, "groupType": null, "modifiedProperties": props})
    }

    pub fn create_user(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        audit: Option<DateTime<Utc>>,
        m: &Mapped,
    ) -> String {
        let id = rng.guid();
        let u = EntraUser {
            id: id.clone(),
            upn: m.user_name.clone(),
            display_name: m.display_name.clone(),
            given_name: m.given_name.clone(),
            surname: m.family_name.clone(),
            mail: Some(m.email.clone()),
            account_enabled: true,
            employee_id: m.employee_number.clone(),
            immutable_id: Some(m.okta_id.clone()),
            created: at,
            user_type: "Member".into(),
            external_user_state: None,
            department: m.department.clone(),
            job_title: m.title.clone(),
            // Entra's own clock (a skew fault moves it).
            sessions_valid_from: at + self.clock_skew,
            deleted: None,
        };
        let props = vec![
            prop("AccountEnabled", None, Some(json!(true))),
            prop("DisplayName", None, Some(json!(u.display_name))),
            prop("UserPrincipalName", None, Some(json!(u.upn))),
            prop("UserType", None, Some(json!("Member"))),
        ];
        let target = Self::user_target(&u, props);
        self.users.insert(id.clone(), u);
        let corr = rng.guid();
        self.audit(rng, audit, at, "Add user", "UserManagement", "Add", vec![target], &corr);
        id
    }

    pub fn update_user(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        audit: Option<DateTime<Utc>>,
        id: &str,
        m: &Mapped,
    ) -> bool {
        let Some(u) = self.users.get_mut(id) else {
            return false;
        };
        let mut props = Vec::new();
        let mut names = Vec::new();
        let mut set = |name: &str, field: &mut String, new: &str| {
            if field != new {
                props.push(prop(name, Some(json!(field.clone())), Some(json!(new))));
                names.push(name.to_string());
                *field = new.to_string();
            }
        };
        set("GivenName", &mut u.given_name, &m.given_name);
        set("Surname", &mut u.surname, &m.family_name);
        set("DisplayName", &mut u.display_name, &m.display_name);
        set("UserPrincipalName", &mut u.upn, &m.user_name);
        if u.mail.as_deref() != Some(m.email.as_str()) {
            props.push(prop("Mail", u.mail.clone().map(Value::String), Some(json!(m.email))));
            names.push("Mail".into());
            u.mail = Some(m.email.clone());
        }
        if u.job_title != m.title {
            props.push(prop("JobTitle", u.job_title.clone().map(Value::String), m.title.clone().map(Value::String)));
            names.push("JobTitle".into());
            u.job_title = m.title.clone();
        }
        props.push(json!({"displayName": "Included Updated Properties", "oldValue": null, "newValue": json!(names.join(", ")).to_string()}));
        props.push(json!({"displayName": "TargetId.UserType", "oldValue": null, "newValue": "\"Member\""}));
        let target = Self::user_target(u, props);
        let corr = rng.guid();
        self.audit(rng, audit, at, "Update user", "UserManagement", "Update", vec![target], &corr);
        true
    }

    fn revoke_sessions(&mut self, rng: &mut Rng, at: DateTime<Utc>, audit: Option<DateTime<Utc>>, id: &str) {
        let Some(u) = self.users.get_mut(id) else {
            return;
        };
        let old = u.sessions_valid_from;
        u.sessions_valid_from = at + self.clock_skew;
        let u = u.clone();
        let corr = rng.guid();
        let p = prop(
            "StsRefreshTokensValidFrom",
            Some(json!(old.to_rfc3339())),
            Some(json!(u.sessions_valid_from.to_rfc3339())),
        );
        self.audit(
            rng,
            audit,
            at,
            "Update StsRefreshTokenValidFrom Timestamp",
            "UserManagement",
            "Update",
            vec![Self::user_target(&u, vec![])],
            &corr,
        );
        self.audit(
            rng,
            audit,
            at,
            "Update user",
            "UserManagement",
            "Update",
            vec![Self::user_target(&u, vec![p])],
            &corr,
        );
    }

    pub fn disable_user(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        audit: Option<DateTime<Utc>>,
        id: &str,
        sessions: bool,
    ) -> bool {
        let Some(u) = self.users.get_mut(id) else {
            return false;
        };
        u.account_enabled = false;
        let props = vec![
            prop("AccountEnabled", Some(json!(true)), Some(json!(false))),
            json!({"displayName": "Included Updated Properties", "oldValue": null, "newValue": "\"AccountEnabled\""}),
            json!({"displayName": "TargetId.UserType", "oldValue": null, "newValue": "\"Member\""}),
        ];
        let target = Self::user_target(u, props);
        let corr = rng.guid();
        self.audit(rng, audit, at, "Disable account", "UserManagement", "Update", vec![target], &corr);
        if sessions {
            self.revoke_sessions(rng, at, audit, id);
        }
        true
    }

    /// Turns a disabled account back on (a reactivated Okta user); false when it was
    /// not disabled, so no audit row is written for a change that did not happen.
    pub fn enable_user(&mut self, rng: &mut Rng, at: DateTime<Utc>, audit: Option<DateTime<Utc>>, id: &str) -> bool {
        let Some(u) = self.users.get_mut(id).filter(|u| !u.account_enabled) else {
            return false;
        };
        u.account_enabled = true;
        let props = vec![
            prop("AccountEnabled", Some(json!(false)), Some(json!(true))),
            json!({"displayName": "Included Updated Properties", "oldValue": null, "newValue": "\"AccountEnabled\""}),
            json!({"displayName": "TargetId.UserType", "oldValue": null, "newValue": "\"Member\""}),
        ];
        let target = Self::user_target(u, props);
        let corr = rng.guid();
        self.audit(rng, audit, at, "Enable account", "UserManagement", "Update", vec![target], &corr);
        true
    }

    /// Soft delete: the user moves to deleted items with its UPN rewritten.
    pub fn delete_user(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        audit: Option<DateTime<Utc>>,
        id: &str,
        sessions: bool,
    ) -> bool {
        if sessions {
            self.revoke_sessions(rng, at, audit, id);
        }
        let Some(mut u) = self.users.remove(id) else {
            return false;
        };
        u.upn = format!("{}{}", u.id.replace('-', ""), u.upn);
        u.deleted = Some(at);
        for g in self.groups.values_mut() {
            g.members.remove(id);
        }
        let target = Self::user_target(
            &u,
            vec![json!({"displayName": "Is Hard Deleted", "oldValue": null, "newValue": "\"False\""})],
        );
        self.deleted.insert(id.to_string(), u);
        let corr = rng.guid();
        self.audit(rng, audit, at, "Delete user", "UserManagement", "Delete", vec![target], &corr);
        true
    }

    pub fn set_member(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        audit: Option<DateTime<Utc>>,
        group_id: &str,
        user_id: &str,
        add: bool,
    ) -> bool {
        let Some(u) = self.users.get(user_id).cloned() else {
            return false;
        };
        let Some(g) = self.groups.get_mut(group_id) else {
            return false;
        };
        let changed = if add { g.members.insert(user_id.to_string()) } else { g.members.remove(user_id) };
        if !changed {
            return true;
        }
        // The group's id and name, not the group: its members are the whole department.
        let gid = json!(g.id).to_string();
        let gname = json!(g.display_name).to_string();
        let group_id = g.id.clone();
        let (old, new) = if add {
            (Value::Null, (gid, gname))
        } else {
            (json!([gid.clone(), gname.clone()]), (String::new(), String::new()))
        };
        let props = if add {
            vec![
                json!({"displayName": "Group.ObjectID", "oldValue": null, "newValue": new.0}),
                json!({"displayName": "Group.DisplayName", "oldValue": null, "newValue": new.1}),
                json!({"displayName": "Group.WellKnownObjectName", "oldValue": null, "newValue": null}),
            ]
        } else {
            vec![
                json!({"displayName": "Group.ObjectID", "oldValue": old[0], "newValue": null}),
                json!({"displayName": "Group.DisplayName", "oldValue": old[1], "newValue": null}),
                json!({"displayName": "Group.WellKnownObjectName", "oldValue": null, "newValue": null}),
            ]
        };
        let targets = vec![
            Self::user_target(&u, props),
            json!({"id": group_id, "displayName": null, "type": "Group", "userPrincipalName": null, "groupType": "unknownFutureValue", "modifiedProperties": []}),
        ];
        let corr = rng.guid();
        let (activity, op) =
            if add { ("Add member to group", "Assign") } else { ("Remove member from group", "Unassign") };
        self.audit(rng, audit, at, activity, "GroupManagement", op, targets, &corr);
        true
    }
}
