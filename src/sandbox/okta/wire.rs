//! How Okta serializes its objects: User, Group, AppUser, AppInstance.

use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::store::{AppUser, OktaApp, OktaGroup, OktaUser, USER_TYPE_ID};
use crate::sandbox::state::{ms, secs};

/// The User object as Okta serializes it.
pub fn user_json(u: &OktaUser, base: &str) -> Value {
    let mut profile = u.profile.clone();
    profile.entry("mobilePhone").or_insert(Value::Null);
    profile.entry("secondEmail").or_insert(Value::Null);
    let self_href = format!("{base}/api/v1/users/{}", u.id);
    let mut links = serde_json::Map::new();
    links.insert("self".into(), json!({"href": self_href}));
    links.insert("schema".into(), json!({"href": format!("{base}/api/v1/meta/schemas/user/oscLA2qou4n874OKI1d7")}));
    links.insert("type".into(), json!({"href": format!("{base}/api/v1/meta/types/user/{USER_TYPE_ID}")}));
    let lifecycle: &[&str] = match u.status.as_str() {
        "DEPROVISIONED" => &["activate"],
        "STAGED" => &["activate"],
        _ => &["suspend", "deactivate"],
    };
    for action in lifecycle {
        links.insert((*action).into(), json!({"href": format!("{self_href}/lifecycle/{action}"), "method": "POST"}));
    }
    // An active user with a password also links its credential operations.
    if u.status == "ACTIVE" {
        for (name, path) in [
            ("resetPassword", "lifecycle/reset_password"),
            ("expirePassword", "lifecycle/expire_password"),
            ("changeRecoveryQuestion", "credentials/change_recovery_question"),
            ("changePassword", "credentials/change_password"),
        ] {
            links.insert(name.into(), json!({"href": format!("{self_href}/{path}"), "method": "POST"}));
        }
    }
    let email = u.attr("email").unwrap_or("");
    json!({
        "id": u.id,
        "status": u.status,
        "created": secs_ms(u.created),
        "activated": u.activated.map(secs_ms),
        "statusChanged": u.status_changed.map(secs_ms),
        "lastLogin": null,
        "lastUpdated": secs_ms(u.last_updated),
        "passwordChanged": u.password_changed.map(secs_ms),
        "type": {"id": USER_TYPE_ID},
        "profile": profile,
        "credentials": {
            "password": {},
            "emails": [{"value": email, "status": "VERIFIED", "type": "PRIMARY"}],
            "provider": {"type": "OKTA", "name": "OKTA"}
        },
        "_links": links,
    })
}

/// User object timestamps have one-second resolution but keep the `.000Z` form.
fn secs_ms(t: DateTime<Utc>) -> String {
    let s = secs(t);
    format!("{}.000Z", s.trim_end_matches('Z'))
}

pub fn group_json(g: &OktaGroup, base: &str) -> Value {
    json!({
        "id": g.id,
        "created": ms(g.created),
        "lastUpdated": ms(g.last_updated),
        "lastMembershipUpdated": ms(g.last_membership_updated),
        "objectClass": ["okta:user_group"],
        "type": "OKTA_GROUP",
        "profile": {"name": g.name, "description": g.description},
        "_links": {
            "logo": [],
            "users": {"href": format!("{base}/api/v1/groups/{}/users", g.id)},
            "apps": {"href": format!("{base}/api/v1/groups/{}/apps", g.id)}
        }
    })
}

pub fn app_user_json(au: &AppUser, base: &str) -> Value {
    json!({
        "id": au.user_id,
        "externalId": au.external_id,
        "created": ms(au.created),
        "lastUpdated": ms(au.last_updated),
        "scope": au.scope,
        "status": au.status,
        "statusChanged": ms(au.status_changed),
        "passwordChanged": null,
        "syncState": au.sync_state,
        "lastSync": au.last_sync.map(ms),
        "credentials": {"userName": au.user_name},
        "profile": {},
        "_links": {
            "app": {"href": format!("{base}/api/v1/apps/{}", au.app_id)},
            "user": {"href": format!("{base}/api/v1/users/{}", au.user_id)}
        }
    })
}

pub fn app_json(app: &OktaApp, base: &str) -> Value {
    let mut features = vec![];
    if app.leg.is_some() {
        features = vec!["PUSH_NEW_USERS", "PUSH_USER_DEACTIVATION", "PUSH_PROFILE_UPDATES", "GROUP_PUSH"];
    }
    json!({
        "id": app.id,
        "name": app.name,
        "label": app.label,
        "status": "ACTIVE",
        "created": ms(app.created),
        "lastUpdated": ms(app.created),
        "signOnMode": "SAML_2_0",
        "features": features,
        "_links": {
            "users": {"href": format!("{base}/api/v1/apps/{}/users", app.id)},
            "groups": {"href": format!("{base}/api/v1/apps/{}/groups", app.id)}
        }
    })
}
