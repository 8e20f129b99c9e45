//! `/api/v1/apps`: app instances, their app users (what Okta recorded of each push),
//! group assignments, group-push mappings, and direct or group assignment.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use super::common::{Refusal, change, expression, ok, page, page_after, pairs, parse_body, read, tx, window};
use super::store::{OktaApp, app_json, app_user_json};
use super::{Ctx, OktaApi};
use crate::sandbox::state::ms;

type Api = State<Arc<OktaApi>>;

fn app<'a>(okta: &'a super::store::Okta, id: &str) -> Result<&'a OktaApp, Refusal> {
    okta.apps.iter().find(|a| a.id == id).ok_or_else(|| Refusal::not_found(id, "AppInstance"))
}

/// `GET /api/v1/apps`, with `filter=user.id eq "…"` or `filter=group.id eq "…"`.
pub async fn list_apps(State(api): Api, RawQuery(q): RawQuery) -> Response {
    let q = pairs(&q);
    let base = api.shared.urls.okta.clone();
    let items = read(&api, |okta| {
        let f = expression(&q, &["filter"])?;
        Ok(okta
            .apps
            .iter()
            .filter(|a| {
                let Some(f) = &f else { return true };
                let users: Vec<Value> = okta
                    .app_users
                    .values()
                    .filter(|au| au.app_id == a.id && au.status != "DEPROVISIONED")
                    .map(|au| json!({"id": au.user_id}))
                    .collect();
                let groups: Vec<Value> = a.groups.iter().map(|g| json!({"id": g})).collect();
                f.matches(&json!({"user": users, "group": groups, "status": "ACTIVE", "name": a.name}))
            })
            .map(|a| (a.id.clone(), app_json(a, &base)))
            .collect())
    });
    match items {
        Ok(items) => page(&api, "/api/v1/apps", &q, items, 20, 200),
        Err(r) => r,
    }
}

pub async fn get_app(State(api): Api, Path(id): Path<String>) -> Response {
    read(&api, |okta| app(okta, &id).map(|a| app_json(a, &api.shared.urls.okta))).map(ok).unwrap_or_else(|r| r)
}

pub async fn app_users(State(api): Api, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let q = pairs(&q);
    let (limit, after) = window(&q, 50, 500);
    let items = read(&api, |okta| {
        app(okta, &id)?;
        let mut rows: Vec<&crate::sandbox::okta::store::AppUser> = okta
            .app_users
            .values()
            .filter(|au| au.app_id == id && (after.is_empty() || au.user_id.as_str() > after))
            .collect();
        // The page in user-id order, and only the page turned into JSON.
        rows.sort_by(|a, b| a.user_id.cmp(&b.user_id));
        Ok(rows
            .into_iter()
            .take(limit + 1)
            .map(|au| (au.user_id.clone(), app_user_json(au, &api.shared.urls.okta)))
            .collect())
    });
    match items {
        Ok(items) => page_after(&api, &format!("/api/v1/apps/{id}/users"), &q, items, limit),
        Err(r) => r,
    }
}

pub async fn app_user(State(api): Api, Path((id, uid)): Path<(String, String)>) -> Response {
    read(&api, |okta| {
        okta.app_users
            .get(&(id.clone(), uid.clone()))
            .map(|au| app_user_json(au, &api.shared.urls.okta))
            .ok_or_else(|| Refusal::not_found(&uid, "AppUser"))
    })
    .map(ok)
    .unwrap_or_else(|r| r)
}

fn app_group_json(
    base: &str,
    app_id: &str,
    group_id: &str,
    at: chrono::DateTime<chrono::Utc>,
    priority: usize,
) -> Value {
    json!({"id": group_id, "lastUpdated": ms(at), "priority": priority, "profile": {},
           "_links": {"app": {"href": format!("{base}/api/v1/apps/{app_id}")}, "group": {"href": format!("{base}/api/v1/groups/{group_id}")}}})
}

pub async fn app_groups(State(api): Api, Path(id): Path<String>) -> Response {
    let base = &api.shared.urls.okta;
    read(&api, |okta| {
        let a = app(okta, &id)?;
        Ok(Value::Array(a.groups.iter().enumerate().map(|(i, g)| app_group_json(base, &id, g, a.created, i)).collect()))
    })
    .map(ok)
    .unwrap_or_else(|r| r)
}

pub async fn push_mappings(State(api): Api, Path(id): Path<String>) -> Response {
    let base = &api.shared.urls.okta;
    read(&api, |okta| {
        let a = app(okta, &id)?;
        let created = ms(a.created);
        Ok(Value::Array(
            a.pushes
                .iter()
                .map(|(src, (mid, target))| {
                    json!({"id": mid, "sourceGroupId": src, "targetGroupId": target, "status": "ACTIVE", "errorSummary": null, "lastPush": created,
                           "created": created, "lastUpdated": created, "appConfig": null,
                           "_links": {"app": {"href": format!("{base}/api/v1/apps/{id}")}, "sourceGroup": {"href": format!("{base}/api/v1/groups/{src}")}}})
                })
                .collect(),
        ))
    })
    .map(ok)
    .unwrap_or_else(|r| r)
}

/// `POST /api/v1/apps/{appId}/users` `{"id": "00u…", "scope": "USER", …}`: a direct
/// assignment. A repeated POST updates rather than fails (Okta does not document E0000062 here).
pub async fn assign_user(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let base = api.shared.urls.okta.clone();
    let assigned = change(&api, |okta, rng, now| {
        let body = parse_body(&body)?;
        let uid = body
            .get("id")
            .and_then(Value::as_str)
            .ok_or_else(|| Refusal::validation("id", vec!["id: The field cannot be left blank".into()]))?;
        app(okta, &id)?;
        let user = okta.users.get(uid).cloned().ok_or_else(|| Refusal::not_found(uid, "User"))?;
        if user.status == "DEPROVISIONED" {
            return Err(Refusal::status());
        }
        let jobs = okta.set_direct(rng, now, &tx(&ctx), &id, uid, true);
        Ok((
            okta.app_users
                .get(&(id.clone(), uid.to_string()))
                .map(|au| app_user_json(au, &base))
                .unwrap_or(Value::Null),
            jobs,
        ))
    });
    assigned.map(ok).unwrap_or_else(|r| r)
}

/// `DELETE /api/v1/apps/{appId}/users/{userId}`: with provisioning on, the user is
/// deactivated downstream unless a group still assigns the app.
pub async fn unassign_user(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    Path((id, uid)): Path<(String, String)>,
) -> Response {
    let done = change(&api, |okta, rng, now| {
        if !okta.app_users.contains_key(&(id.clone(), uid.clone())) {
            return Err(Refusal::not_found(&uid, "AppUser"));
        }
        Ok(((), okta.set_direct(rng, now, &tx(&ctx), &id, &uid, false)))
    });
    done.map(|()| StatusCode::NO_CONTENT.into_response()).unwrap_or_else(|r| r)
}

async fn app_group(api: Arc<OktaApi>, ctx: Ctx, id: String, gid: String, on: bool) -> Response {
    let done = change(&api, |okta, rng, now| {
        app(okta, &id)?;
        if !okta.groups.contains_key(&gid) {
            return Err(Refusal::not_found(&gid, "UserGroup"));
        }
        Ok((now, okta.set_app_group(rng, now, &tx(&ctx), &id, &gid, on)))
    });
    match done {
        Ok(_) if !on => StatusCode::NO_CONTENT.into_response(),
        Ok(now) => ok(app_group_json(&api.shared.urls.okta, &id, &gid, now, 0)),
        Err(r) => r,
    }
}

/// `PUT /api/v1/apps/{appId}/groups/{groupId}`: assigns the group; its members get app users.
pub async fn assign_group(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    Path((id, gid)): Path<(String, String)>,
) -> Response {
    app_group(api, ctx, id, gid, true).await
}

pub async fn unassign_group(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    Path((id, gid)): Path<(String, String)>,
) -> Response {
    app_group(api, ctx, id, gid, false).await
}
