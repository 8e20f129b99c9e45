//! IAM Identity Center's data: the identity store (users, groups, memberships),
//! sso-admin (permission sets, account assignments), and the CloudTrail events
//! that SCIM calls from Okta leave behind.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use crate::sandbox::ids::Rng;
use crate::sandbox::provisioner::Mapped;

/// What CloudTrail writes instead of SCIM attribute values.
pub const HIDDEN: &str = "HIDDEN_DUE_TO_SECURITY_REASONS";

#[derive(Debug, Clone)]
pub struct IsUser {
    pub id: String,
    pub user_name: String,
    pub display_name: String,
    pub given_name: String,
    pub family_name: String,
    pub email: Option<String>,
    pub title: Option<String>,
    /// (Issuer, Id) — only SCIM provisioning sets these.
    pub external_id: Option<(String, String)>,
    pub enabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub created_by: String,
    pub updated_by: String,
    pub revision: u64,
}

#[derive(Debug, Clone)]
pub struct Membership {
    pub id: String,
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone)]
pub struct IsGroup {
    pub id: String,
    pub display_name: String,
    pub description: Option<String>,
    pub external_id: Option<(String, String)>,
    pub members: BTreeMap<String, Membership>,
    pub created_at: DateTime<Utc>,
    pub created_by: String,
}

#[derive(Debug, Clone)]
pub struct PermissionSet {
    pub arn: String,
    pub name: String,
    pub description: String,
    pub session_duration: String,
    pub created: DateTime<Utc>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Assignment {
    pub account_id: String,
    pub permission_set_arn: String,
    pub principal_type: String,
    pub principal_id: String,
}

#[derive(Debug, Clone)]
pub struct TrailEvent {
    pub event_id: String,
    pub time: DateTime<Utc>,
    pub available: DateTime<Utc>,
    pub name: String,
    pub source: String,
    pub read_only: bool,
    pub access_key_id: String,
    pub username: Option<String>,
    pub raw: Value,
}

#[derive(Debug, Default)]
pub struct Aws {
    pub users: BTreeMap<String, IsUser>,
    pub groups: BTreeMap<String, IsGroup>,
    pub permission_sets: Vec<PermissionSet>,
    pub assignments: Vec<Assignment>,
    pub trail: Vec<TrailEvent>,
    pub region: String,
    pub account_id: String,
    pub store_id: String,
    pub instance_arn: String,
    pub scim_tenant: String,
    pub scim_token_id: String,
    /// How far AWS's clock is off (a fault): CloudTrail event times carry it.
    pub clock_skew: chrono::Duration,
}

impl IsUser {
    pub fn to_json(&self, store_id: &str) -> Value {
        let mut v = json!({
            "IdentityStoreId": store_id,
            "UserId": self.id,
            "UserArn": format!("arn:aws:identitystore:::user/{}", self.id),
            "Revision": self.revision.to_string(),
            "UserName": self.user_name,
            "Name": {"Formatted": self.display_name, "FamilyName": self.family_name, "GivenName": self.given_name},
            "DisplayName": self.display_name,
            "UserStatus": if self.enabled { "ENABLED" } else { "DISABLED" },
            "CreatedAt": super::super::state::epoch(self.created_at),
            "CreatedBy": self.created_by,
            "UpdatedAt": super::super::state::epoch(self.updated_at),
            "UpdatedBy": self.updated_by,
        });
        if let Some((issuer, id)) = &self.external_id {
            v["ExternalIds"] = json!([{"Issuer": issuer, "Id": id}]);
        }
        if let Some(e) = &self.email {
            v["Emails"] = json!([{"Value": e, "Type": "work", "Primary": true}]);
        }
        if let Some(t) = &self.title {
            v["Title"] = json!(t);
        }
        v
    }
}

impl IsGroup {
    pub fn to_json(&self, store_id: &str) -> Value {
        let mut v = json!({
            "GroupId": self.id,
            "GroupArn": format!("arn:aws:identitystore:::group/{}", self.id),
            "Revision": "1",
            "DisplayName": self.display_name,
            "IdentityStoreId": store_id,
            "CreatedAt": super::super::state::epoch(self.created_at),
            "CreatedBy": self.created_by,
            "UpdatedAt": super::super::state::epoch(self.created_at),
            "UpdatedBy": self.created_by,
        });
        if let Some(d) = &self.description {
            v["Description"] = json!(d);
        }
        if let Some((issuer, id)) = &self.external_id {
            v["ExternalIds"] = json!([{"Issuer": issuer, "Id": id}]);
        }
        v
    }
}

/// `"Mar 2, 2026, 9:00:05 AM"`, the form of `responseElements.meta` timestamps.
fn meta_time(t: DateTime<Utc>) -> String {
    t.format("%b %-d, %Y, %-I:%M:%S %p").to_string()
}

impl Aws {
    pub fn issuer(&self) -> String {
        format!("https://scim.aws.com/{}", self.scim_tenant)
    }

    /// Appends a CloudTrail event for a SCIM call made by Okta.
    #[allow(clippy::too_many_arguments)]
    fn scim_event(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        available: Option<DateTime<Utc>>,
        name: &str,
        target_id: Option<&str>,
        body: Value,
        response: Value,
    ) {
        let Some(available) = available else { return };
        let at = at + self.clock_skew;
        let event_id = rng.guid();
        let mut params = json!({"httpBody": body, "tenantId": self.scim_tenant});
        if let Some(id) = target_id {
            params["id"] = json!(id);
        }
        let raw = json!({
            "eventVersion": "1.10",
            "userIdentity": {"type": "WebIdentityUser", "accountId": self.account_id, "accessKeyId": self.scim_token_id},
            "eventTime": at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true),
            "eventSource": "identitystore-scim.amazonaws.com",
            "eventName": name,
            "awsRegion": self.region,
            "sourceIPAddress": "198.51.100.23",
            "userAgent": "Okta SCIM Client 1.0.0",
            "requestParameters": params,
            "responseElements": response,
            "requestID": rng.guid(),
            "eventID": event_id,
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": self.account_id,
            "eventCategory": "Management",
            "tlsDetails": {"clientProvidedHostHeader": format!("scim.{}.amazonaws.com", self.region)},
        });
        self.trail.push(TrailEvent {
            event_id,
            time: at,
            available,
            name: name.into(),
            source: "identitystore-scim.amazonaws.com".into(),
            read_only: false,
            access_key_id: self.scim_token_id.clone(),
            username: None,
            raw,
        });
    }

    fn user_response(u: &IsUser) -> Value {
        json!({
            "meta": {"created": meta_time(u.created_at), "lastModified": meta_time(u.updated_at), "resourceType": "User"},
            "displayName": HIDDEN,
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "name": {"familyName": HIDDEN, "givenName": HIDDEN},
            "active": u.enabled,
            "id": u.id,
            "externalId": HIDDEN,
            "userName": HIDDEN,
        })
    }

    fn masked_user_body(active: bool, id: Option<&str>) -> Value {
        let mut v = json!({
            "displayName": HIDDEN,
            "schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"],
            "name": {"familyName": HIDDEN, "givenName": HIDDEN},
            "emails": [{"value": HIDDEN, "type": "work", "primary": true}],
            "title": HIDDEN,
            "externalId": HIDDEN,
            "active": active,
            "userName": HIDDEN,
        });
        if let Some(id) = id {
            v["id"] = json!(id);
        }
        v
    }

    pub fn scim_create_user(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        audit: Option<DateTime<Utc>>,
        m: &Mapped,
        external_id: &str,
    ) -> String {
        let id = rng.identity_center_id();
        let u = IsUser {
            id: id.clone(),
            user_name: m.user_name.clone(),
            display_name: m.display_name.clone(),
            given_name: m.given_name.clone(),
            family_name: m.family_name.clone(),
            email: Some(m.email.clone()),
            title: m.title.clone(),
            external_id: Some((self.issuer(), external_id.to_string())),
            enabled: true,
            created_at: at,
            updated_at: at,
            created_by: "SCIM".into(),
            updated_by: "SCIM".into(),
            revision: 1,
        };
        let response = Self::user_response(&u);
        self.users.insert(id.clone(), u);
        self.scim_event(rng, at, audit, "CreateUser", None, Self::masked_user_body(true, None), response);
        id
    }

    /// Profile update: Okta's OIN app sends GET then PUT.
    pub fn scim_put_user(
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
        u.user_name = m.user_name.clone();
        u.display_name = m.display_name.clone();
        u.given_name = m.given_name.clone();
        u.family_name = m.family_name.clone();
        u.email = Some(m.email.clone());
        u.title = m.title.clone();
        u.updated_at = at;
        u.revision += 1;
        let (response, active) = (Self::user_response(u), u.enabled);
        self.scim_event(rng, at, audit, "PutUser", Some(id), Self::masked_user_body(active, Some(id)), response);
        true
    }

    /// De/activation: PATCH `{"op":"replace","value":{"active":false}}`; the masked body has no path.
    pub fn scim_patch_active(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        audit: Option<DateTime<Utc>>,
        id: &str,
        active: bool,
    ) -> bool {
        let Some(u) = self.users.get_mut(id) else {
            return false;
        };
        u.enabled = active;
        u.updated_at = at;
        u.revision += 1;
        let response = Self::user_response(u);
        let body = json!({"operations": [{"op": "REPLACE", "value": HIDDEN}], "schemas": [HIDDEN]});
        self.scim_event(rng, at, audit, "PatchUser", Some(id), body, response);
        true
    }

    pub fn scim_delete_user(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        audit: Option<DateTime<Utc>>,
        id: &str,
    ) -> bool {
        if self.users.remove(id).is_none() {
            return false;
        }
        for g in self.groups.values_mut() {
            g.members.remove(id);
        }
        self.assignments.retain(|a| a.principal_id != id);
        self.scim_event(rng, at, audit, "DeleteUser", Some(id), Value::Null, Value::Null);
        if let Some(e) = self.trail.last_mut()
            && let Some(p) = e.raw.get_mut("requestParameters").and_then(Value::as_object_mut)
        {
            p.remove("httpBody");
        }
        true
    }

    pub fn scim_patch_group(
        &mut self,
        rng: &mut Rng,
        at: DateTime<Utc>,
        audit: Option<DateTime<Utc>>,
        group_id: &str,
        user_id: &str,
        add: bool,
    ) -> bool {
        let mid = rng.identity_center_id();
        let Some(g) = self.groups.get_mut(group_id) else {
            return false;
        };
        if add {
            g.members.entry(user_id.to_string()).or_insert(Membership { id: mid, created_at: at });
        } else {
            g.members.remove(user_id);
        }
        let op = if add { "ADD" } else { "REMOVE" };
        let body = json!({"operations": [{"op": op, "path": "members", "value": HIDDEN}], "schemas": [HIDDEN]});
        self.scim_event(rng, at, audit, "PatchGroup", Some(group_id), body, Value::Null);
        true
    }
}
