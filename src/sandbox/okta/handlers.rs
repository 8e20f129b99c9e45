//! Okta management API handlers: users, groups, apps.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::store::{NewUser, Tx, app_json, app_user_json, group_json, user_json};
use super::{Ctx, OktaApi, error, filter};
use crate::sandbox::provisioner;
use crate::sandbox::web::{self, first, form_pairs};

type Api = State<Arc<OktaApi>>;

fn pairs(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref().map(form_pairs).unwrap_or_default()
}

fn tx(ctx: &Ctx) -> Tx {
    Tx { kind: "WEB", id: ctx.request_id.clone(), actor: ctx.actor.clone(), uri: Some(ctx.uri.clone()) }
}

fn ok(body: Value) -> Response {
    web::json(StatusCode::OK, &body, "application/json")
}

fn not_found_user(api: &OktaApi, what: &str, kind: &str) -> Response {
    error(
        &api.shared,
        StatusCode::NOT_FOUND,
        "E0000007",
        &format!("Not found: Resource not found: {what} ({kind})"),
        &[],
    )
}

fn bad_body(api: &OktaApi) -> Response {
    error(&api.shared, StatusCode::BAD_REQUEST, "E0000003", "The request body was not well-formed.", &[])
}

fn parse_body(body: &Bytes) -> Option<Map<String, Value>> {
    if body.is_empty() {
        return Some(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Some(m),
        _ => None,
    }
}

/// One page of a cursor-paged list: `after` is the last id of the previous page.
/// Okta sends one `Link` header per relation.
fn page(
    api: &OktaApi,
    path: &str,
    q: &[(String, String)],
    items: Vec<(String, Value)>,
    default_limit: usize,
    max_limit: usize,
) -> Response {
    let limit = first(q, "limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(default_limit).clamp(1, max_limit);
    let after = first(q, "after").unwrap_or("");
    let start =
        if after.is_empty() { 0 } else { items.iter().position(|(id, _)| id.as_str() > after).unwrap_or(items.len()) };
    let slice: Vec<&(String, Value)> = items.iter().skip(start).take(limit).collect();
    let more = start + slice.len() < items.len();
    let base = &api.shared.urls.okta;
    let query = |after: Option<&str>| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.iter().filter(|(k, _)| k != "after") {
            s.append_pair(k, v);
        }
        if let Some(a) = after {
            s.append_pair("after", a);
        }
        let s = s.finish();
        if s.is_empty() { format!("{base}{path}") } else { format!("{base}{path}?{s}") }
    };
    let body = Value::Array(slice.iter().map(|(_, v)| v.clone()).collect());
    let mut r = ok(body);
    let self_q = if after.is_empty() { query(None) } else { query(Some(after)) };
    web::append(r.headers_mut(), "link", &format!("<{self_q}>; rel=\"self\""));
    if more && let Some((last, _)) = slice.last() {
        web::append(r.headers_mut(), "link", &format!("<{}>; rel=\"next\"", query(Some(last))));
    }
    r
}

pub async fn not_found(State(api): Api) -> Response {
    error(&api.shared, StatusCode::NOT_FOUND, "E0000022", "The endpoint does not support the provided HTTP method", &[])
}

pub async fn create_user(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let q = pairs(&q);
    let Some(body) = parse_body(&body) else {
        return bad_body(&api);
    };
    let activate = first(&q, "activate").map(|v| v != "false").unwrap_or(true);
    let Some(Value::Object(profile)) = body.get("profile").cloned() else {
        return error(
            &api.shared,
            StatusCode::BAD_REQUEST,
            "E0000001",
            "Api validation failed: profile",
            &["profile: The field cannot be left blank".into()],
        );
    };
    let mut causes = Vec::new();
    for field in ["login", "email", "firstName", "lastName"] {
        if profile.get(field).and_then(Value::as_str).is_none_or(str::is_empty) {
            causes.push(format!("{field}: The field cannot be left blank"));
        }
    }
    if let Some(login) = profile.get("login").and_then(Value::as_str)
        && !causes.iter().any(|c| c.starts_with("login"))
        && (login.len() < 5 || login.len() > 100 || !login.contains('@'))
    {
        causes.push("login: Username must be in the form of an email address".into());
    }
    if !causes.is_empty() {
        let first_field = causes[0].split(':').next().unwrap_or("profile").to_string();
        return error(
            &api.shared,
            StatusCode::BAD_REQUEST,
            "E0000001",
            &format!("Api validation failed: {first_field}"),
            &causes,
        );
    }
    let with_password = body
        .get("credentials")
        .and_then(|c| c.get("password"))
        .and_then(|p| p.get("value"))
        .and_then(Value::as_str)
        .is_some();
    let group_ids: Vec<String> = body
        .get("groupIds")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect())
        .unwrap_or_default();
    let now = api.shared.now();
    let (resp, jobs) = {
        let mut t = api.shared.tenant();
        let login = profile.get("login").and_then(Value::as_str).unwrap_or("");
        if t.okta.user(login).is_some() {
            drop(t);
            return error(
                &api.shared,
                StatusCode::BAD_REQUEST,
                "E0000001",
                "Api validation failed: login",
                &["login: An object with this field already exists in the current organization".into()],
            );
        }
        if let Some(g) = group_ids.iter().find(|g| !t.okta.groups.contains_key(*g)) {
            let g = g.clone();
            drop(t);
            return error(
                &api.shared,
                StatusCode::BAD_REQUEST,
                "E0000001",
                "Api validation failed: groupIds",
                &[format!("groupIds: Group {g} not found")],
            );
        }
        let crate::sandbox::state::Tenant { okta, rng, .. } = &mut *t;
        let new = NewUser { profile, activate, with_password, group_ids };
        let (user, jobs) = okta.create_user(rng, now, &tx(&ctx), new);
        (user_json(&user, &api.shared.urls.okta), jobs)
    };
    provisioner::enqueue(&api.shared, jobs);
    ok(resp)
}

pub async fn get_user(State(api): Api, Path(id): Path<String>) -> Response {
    let t = api.shared.tenant();
    match t.okta.user(&id) {
        Some(u) => {
            let body = user_json(u, &api.shared.urls.okta);
            drop(t);
            let mut r = ok(body);
            web::set(r.headers_mut(), "etag", "W/\"1\"");
            r
        }
        None => {
            drop(t);
            not_found_user(&api, &id, "User")
        }
    }
}

pub async fn update_user(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(body) = parse_body(&body) else {
        return bad_body(&api);
    };
    let now = api.shared.now();
    let (resp, jobs) = {
        let mut t = api.shared.tenant();
        let Some(user) = t.okta.user(&id).cloned() else {
            drop(t);
            return not_found_user(&api, &id, "User");
        };
        if user.status == "DEPROVISIONED" {
            drop(t);
            return error(
                &api.shared,
                StatusCode::FORBIDDEN,
                "E0000038",
                "This operation is not allowed in the user's current status.",
                &[],
            );
        }
        let changes = match body.get("profile") {
            Some(Value::Object(p)) => p.clone(),
            None => Map::new(),
            Some(_) => {
                drop(t);
                return bad_body(&api);
            }
        };
        if let Some(login) = changes.get("login").and_then(Value::as_str)
            && t.okta.user(login).is_some_and(|u| u.id != user.id)
        {
            drop(t);
            return error(
                &api.shared,
                StatusCode::BAD_REQUEST,
                "E0000001",
                "Api validation failed: login",
                &["login: An object with this field already exists in the current organization".into()],
            );
        }
        let crate::sandbox::state::Tenant { okta, rng, .. } = &mut *t;
        let jobs = okta.update_profile(rng, now, &tx(&ctx), &user.id, changes);
        let u = okta.users.get(&user.id).map(|u| user_json(u, &api.shared.urls.okta)).unwrap_or(Value::Null);
        (u, jobs)
    };
    provisioner::enqueue(&api.shared, jobs);
    ok(resp)
}

pub async fn lifecycle(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let now = api.shared.now();
    let jobs = {
        let mut t = api.shared.tenant();
        let Some(user) = t.okta.user(&id).cloned() else {
            drop(t);
            return not_found_user(&api, &id, "User");
        };
        let crate::sandbox::state::Tenant { okta, rng, .. } = &mut *t;
        match action.as_str() {
            "deactivate" if user.status != "DEPROVISIONED" => okta.deactivate(rng, now, &tx(&ctx), &user.id),
            "activate" if matches!(user.status.as_str(), "STAGED" | "DEPROVISIONED") => {
                okta.activate(rng, now, &tx(&ctx), &user.id)
            }
            "deactivate" | "activate" => {
                drop(t);
                return error(
                    &api.shared,
                    StatusCode::FORBIDDEN,
                    "E0000038",
                    "This operation is not allowed in the user's current status.",
                    &[],
                );
            }
            _ => {
                drop(t);
                return not_found_user(&api, &action, "Lifecycle operation");
            }
        }
    };
    provisioner::enqueue(&api.shared, jobs);
    // Current orgs answer 200 with `{}` (older recordings show 204).
    ok(json!({}))
}

pub async fn delete_user(State(api): Api, Extension(ctx): Extension<Ctx>, Path(id): Path<String>) -> Response {
    let now = api.shared.now();
    let jobs = {
        let mut t = api.shared.tenant();
        let Some(user) = t.okta.user(&id).cloned() else {
            drop(t);
            return not_found_user(&api, &id, "User");
        };
        let crate::sandbox::state::Tenant { okta, rng, .. } = &mut *t;
        // A DELETE on a user that is not deactivated deactivates it instead.
        if user.status != "DEPROVISIONED" {
            okta.deactivate(rng, now, &tx(&ctx), &user.id)
        } else {
            okta.delete(rng, now, &tx(&ctx), &user.id);
            vec![]
        }
    };
    provisioner::enqueue(&api.shared, jobs);
    StatusCode::NO_CONTENT.into_response()
}

/// `GET /api/v1/users`: a plain list omits DEPROVISIONED users; `search=` and `filter=`
/// include them; `q=` matches the start of login, email, first or last name.
pub async fn list_users(State(api): Api, RawQuery(q): RawQuery) -> Response {
    let q = pairs(&q);
    let expr = first(&q, "search").or_else(|| first(&q, "filter"));
    let parsed = match expr.map(filter::parse) {
        Some(Err(e)) => {
            return error(&api.shared, StatusCode::BAD_REQUEST, "E0000053", "Invalid search criteria.", &[e]);
        }
        Some(Ok(f)) => Some(f),
        None => None,
    };
    let prefix = first(&q, "q").map(str::to_lowercase);
    let items: Vec<(String, Value)> = {
        let t = api.shared.tenant();
        t.okta
            .users
            .values()
            .filter(|u| parsed.is_some() || u.status != "DEPROVISIONED")
            .filter(|u| match &prefix {
                Some(p) => ["login", "email", "firstName", "lastName"]
                    .iter()
                    .any(|k| u.attr(k).is_some_and(|v| v.to_lowercase().starts_with(p))),
                None => true,
            })
            .map(|u| (u.id.clone(), user_json(u, &api.shared.urls.okta)))
            .filter(|(_, v)| parsed.as_ref().is_none_or(|f| f.matches(v)))
            .collect()
    };
    let default = if prefix.is_some() { 10 } else { 200 };
    page(&api, "/api/v1/users", &q, items, default, 200)
}

pub async fn user_groups(State(api): Api, Path(id): Path<String>) -> Response {
    let t = api.shared.tenant();
    let Some(user) = t.okta.user(&id) else {
        drop(t);
        return not_found_user(&api, &id, "User");
    };
    let groups: Vec<Value> = t
        .okta
        .groups
        .values()
        .filter(|g| g.members.contains(&user.id))
        .map(|g| group_json(g, &api.shared.urls.okta))
        .collect();
    drop(t);
    ok(Value::Array(groups))
}

pub async fn list_groups(State(api): Api, RawQuery(q): RawQuery) -> Response {
    let q = pairs(&q);
    let search = match first(&q, "search").map(filter::parse) {
        Some(Err(e)) => {
            return error(&api.shared, StatusCode::BAD_REQUEST, "E0000053", "Invalid search criteria.", &[e]);
        }
        Some(Ok(f)) => Some(f),
        None => None,
    };
    let prefix = first(&q, "q").map(str::to_lowercase);
    let items: Vec<(String, Value)> = {
        let t = api.shared.tenant();
        t.okta
            .groups
            .values()
            .filter(|g| prefix.as_ref().is_none_or(|p| g.name.to_lowercase().starts_with(p)))
            .map(|g| (g.id.clone(), group_json(g, &api.shared.urls.okta)))
            .filter(|(_, v)| search.as_ref().is_none_or(|f| f.matches(v)))
            .collect()
    };
    page(&api, "/api/v1/groups", &q, items, if prefix.is_some() { 300 } else { 10_000 }, 10_000)
}

pub async fn create_group(State(api): Api, body: Bytes) -> Response {
    let Some(body) = parse_body(&body) else {
        return bad_body(&api);
    };
    let name = body.get("profile").and_then(|p| p.get("name")).and_then(Value::as_str).unwrap_or("").to_string();
    if name.is_empty() {
        return error(
            &api.shared,
            StatusCode::BAD_REQUEST,
            "E0000001",
            "Api validation failed: name",
            &["name: The field cannot be left blank".into()],
        );
    }
    let description =
        body.get("profile").and_then(|p| p.get("description")).and_then(Value::as_str).unwrap_or("").to_string();
    let now = api.shared.now();
    let mut t = api.shared.tenant();
    if t.okta.group_by_name(&name).is_some() {
        drop(t);
        return error(
            &api.shared,
            StatusCode::BAD_REQUEST,
            "E0000001",
            "Api validation failed: name",
            &["name: An object with this field already exists in the current organization".into()],
        );
    }
    let id = t.rng.okta_id("00g");
    let g = super::store::OktaGroup {
        id: id.clone(),
        name,
        description,
        created: now,
        last_updated: now,
        last_membership_updated: now,
        members: Default::default(),
    };
    let body = group_json(&g, &api.shared.urls.okta);
    t.okta.groups.insert(id, g);
    drop(t);
    ok(body)
}

pub async fn get_group(State(api): Api, Path(id): Path<String>) -> Response {
    let t = api.shared.tenant();
    match t.okta.groups.get(&id) {
        Some(g) => {
            let body = group_json(g, &api.shared.urls.okta);
            drop(t);
            ok(body)
        }
        None => {
            drop(t);
            not_found_user(&api, &id, "UserGroup")
        }
    }
}

pub async fn group_users(State(api): Api, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let q = pairs(&q);
    let items: Option<Vec<(String, Value)>> = {
        let t = api.shared.tenant();
        t.okta.groups.get(&id).map(|g| {
            g.members
                .iter()
                .filter_map(|uid| t.okta.users.get(uid))
                .map(|u| (u.id.clone(), user_json(u, &api.shared.urls.okta)))
                .collect()
        })
    };
    match items {
        Some(items) => page(&api, &format!("/api/v1/groups/{id}/users"), &q, items, 1000, 1000),
        None => not_found_user(&api, &id, "UserGroup"),
    }
}

async fn membership(api: Arc<OktaApi>, ctx: Ctx, gid: String, uid: String, add: bool) -> Response {
    let now = api.shared.now();
    let jobs = {
        let mut t = api.shared.tenant();
        if !t.okta.groups.contains_key(&gid) {
            drop(t);
            return not_found_user(&api, &gid, "UserGroup");
        }
        let Some(user_id) = t.okta.user(&uid).map(|u| u.id.clone()) else {
            drop(t);
            return not_found_user(&api, &uid, "User");
        };
        let crate::sandbox::state::Tenant { okta, rng, .. } = &mut *t;
        if add {
            okta.add_member(rng, now, &tx(&ctx), &gid, &user_id)
        } else {
            okta.remove_member(rng, now, &tx(&ctx), &gid, &user_id)
        }
    };
    provisioner::enqueue(&api.shared, jobs);
    StatusCode::NO_CONTENT.into_response()
}

pub async fn add_member(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    Path((gid, uid)): Path<(String, String)>,
) -> Response {
    membership(api, ctx, gid, uid, true).await
}

pub async fn remove_member(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    Path((gid, uid)): Path<(String, String)>,
) -> Response {
    membership(api, ctx, gid, uid, false).await
}

pub async fn group_apps(State(api): Api, Path(id): Path<String>) -> Response {
    let t = api.shared.tenant();
    if !t.okta.groups.contains_key(&id) {
        drop(t);
        return not_found_user(&api, &id, "UserGroup");
    }
    let apps: Vec<Value> =
        t.okta.apps.iter().filter(|a| a.groups.contains(&id)).map(|a| app_json(a, &api.shared.urls.okta)).collect();
    drop(t);
    ok(Value::Array(apps))
}

/// `GET /api/v1/apps`, with `filter=user.id eq "…"` or `filter=group.id eq "…"`.
pub async fn list_apps(State(api): Api, RawQuery(q): RawQuery) -> Response {
    let q = pairs(&q);
    let f = match first(&q, "filter").map(filter::parse) {
        Some(Err(e)) => {
            return error(&api.shared, StatusCode::BAD_REQUEST, "E0000053", "Invalid search criteria.", &[e]);
        }
        Some(Ok(f)) => Some(f),
        None => None,
    };
    let t = api.shared.tenant();
    let items: Vec<(String, Value)> = t
        .okta
        .apps
        .iter()
        .filter(|a| {
            let Some(f) = &f else { return true };
            let users: Vec<&str> = t.okta.app_users.values().filter(|au| au.app_id == a.id && au.status != "DEPROVISIONED").map(|au| au.user_id.as_str()).collect();
            let doc = json!({"user": users.iter().map(|u| json!({"id": u})).collect::<Vec<_>>(), "group": a.groups.iter().map(|g| json!({"id": g})).collect::<Vec<_>>(), "status": "ACTIVE", "name": a.name});
            f.matches(&doc)
        })
        .map(|a| (a.id.clone(), app_json(a, &api.shared.urls.okta)))
        .collect();
    drop(t);
    page(&api, "/api/v1/apps", &q, items, 20, 200)
}

pub async fn get_app(State(api): Api, Path(id): Path<String>) -> Response {
    let t = api.shared.tenant();
    let app = t.okta.apps.iter().find(|a| a.id == id).map(|a| app_json(a, &api.shared.urls.okta));
    drop(t);
    match app {
        Some(a) => ok(a),
        None => not_found_user(&api, &id, "AppInstance"),
    }
}

pub async fn app_users(State(api): Api, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let q = pairs(&q);
    let t = api.shared.tenant();
    if !t.okta.apps.iter().any(|a| a.id == id) {
        drop(t);
        return not_found_user(&api, &id, "AppInstance");
    }
    let items: Vec<(String, Value)> = t
        .okta
        .app_users
        .values()
        .filter(|au| au.app_id == id)
        .map(|au| (au.user_id.clone(), app_user_json(au, &api.shared.urls.okta)))
        .collect();
    drop(t);
    page(&api, &format!("/api/v1/apps/{id}/users"), &q, items, 50, 500)
}

pub async fn app_user(State(api): Api, Path((id, uid)): Path<(String, String)>) -> Response {
    let t = api.shared.tenant();
    let au = t.okta.app_users.get(&(id.clone(), uid.clone())).map(|au| app_user_json(au, &api.shared.urls.okta));
    drop(t);
    match au {
        Some(a) => ok(a),
        None => not_found_user(&api, &uid, "AppUser"),
    }
}

pub async fn app_groups(State(api): Api, Path(id): Path<String>) -> Response {
    let t = api.shared.tenant();
    let Some(app) = t.okta.apps.iter().find(|a| a.id == id) else {
        drop(t);
        return not_found_user(&api, &id, "AppInstance");
    };
    let base = &api.shared.urls.okta;
    let groups: Vec<Value> = app
        .groups
        .iter()
        .enumerate()
        .map(|(i, g)| json!({"id": g, "lastUpdated": crate::sandbox::state::ms(app.created), "priority": i, "profile": {}, "_links": {"app": {"href": format!("{base}/api/v1/apps/{id}")}, "group": {"href": format!("{base}/api/v1/groups/{g}")}}}))
        .collect();
    drop(t);
    ok(Value::Array(groups))
}

pub async fn push_mappings(State(api): Api, Path(id): Path<String>) -> Response {
    let t = api.shared.tenant();
    let Some(app) = t.okta.apps.iter().find(|a| a.id == id) else {
        drop(t);
        return not_found_user(&api, &id, "AppInstance");
    };
    let base = &api.shared.urls.okta;
    let created = crate::sandbox::state::ms(app.created);
    let maps: Vec<Value> = app
        .pushes
        .iter()
        .map(|(src, (mid, target))| {
            json!({"id": mid, "sourceGroupId": src, "targetGroupId": target, "status": "ACTIVE", "errorSummary": null, "lastPush": created, "created": created, "lastUpdated": created,
                   "appConfig": null, "_links": {"app": {"href": format!("{base}/api/v1/apps/{id}")}, "sourceGroup": {"href": format!("{base}/api/v1/groups/{src}")}}})
        })
        .collect();
    drop(t);
    ok(Value::Array(maps))
}

/// `POST /api/v1/apps/{appId}/users` `{"id": "00u…", "scope": "USER", …}`: a direct
/// assignment. A repeated POST updates rather than fails (Okta does not document E0000062 here).
pub async fn assign_user(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let Some(body) = parse_body(&body) else { return bad_body(&api) };
    let Some(uid) = body.get("id").and_then(Value::as_str).map(str::to_string) else {
        return error(
            &api.shared,
            StatusCode::BAD_REQUEST,
            "E0000001",
            "Api validation failed: id",
            &["id: The field cannot be left blank".into()],
        );
    };
    let now = api.shared.now();
    let (resp, jobs) = {
        let mut t = api.shared.tenant();
        if !t.okta.apps.iter().any(|a| a.id == id) {
            drop(t);
            return not_found_user(&api, &id, "AppInstance");
        }
        let Some(user) = t.okta.users.get(&uid).cloned() else {
            drop(t);
            return not_found_user(&api, &uid, "User");
        };
        if user.status == "DEPROVISIONED" {
            drop(t);
            return error(
                &api.shared,
                StatusCode::FORBIDDEN,
                "E0000038",
                "This operation is not allowed in the user's current status.",
                &[],
            );
        }
        let crate::sandbox::state::Tenant { okta, rng, .. } = &mut *t;
        let jobs = okta.set_direct(rng, now, &tx(&ctx), &id, &uid, true);
        let au = okta
            .app_users
            .get(&(id.clone(), uid.clone()))
            .map(|au| app_user_json(au, &api.shared.urls.okta))
            .unwrap_or(Value::Null);
        (au, jobs)
    };
    provisioner::enqueue(&api.shared, jobs);
    ok(resp)
}

/// `DELETE /api/v1/apps/{appId}/users/{userId}`: with provisioning on, the user is
/// deactivated downstream unless a group still assigns the app.
pub async fn unassign_user(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    Path((id, uid)): Path<(String, String)>,
) -> Response {
    let now = api.shared.now();
    let jobs = {
        let mut t = api.shared.tenant();
        if !t.okta.app_users.contains_key(&(id.clone(), uid.clone())) {
            drop(t);
            return not_found_user(&api, &uid, "AppUser");
        }
        let crate::sandbox::state::Tenant { okta, rng, .. } = &mut *t;
        okta.set_direct(rng, now, &tx(&ctx), &id, &uid, false)
    };
    provisioner::enqueue(&api.shared, jobs);
    StatusCode::NO_CONTENT.into_response()
}

async fn app_group(api: Arc<OktaApi>, ctx: Ctx, id: String, gid: String, on: bool) -> Response {
    let now = api.shared.now();
    let jobs = {
        let mut t = api.shared.tenant();
        if !t.okta.apps.iter().any(|a| a.id == id) {
            drop(t);
            return not_found_user(&api, &id, "AppInstance");
        }
        if !t.okta.groups.contains_key(&gid) {
            drop(t);
            return not_found_user(&api, &gid, "UserGroup");
        }
        let crate::sandbox::state::Tenant { okta, rng, .. } = &mut *t;
        okta.set_app_group(rng, now, &tx(&ctx), &id, &gid, on)
    };
    provisioner::enqueue(&api.shared, jobs);
    if !on {
        return StatusCode::NO_CONTENT.into_response();
    }
    let base = &api.shared.urls.okta;
    ok(json!({"id": gid, "lastUpdated": crate::sandbox::state::ms(now), "priority": 0, "profile": {},
              "_links": {"app": {"href": format!("{base}/api/v1/apps/{id}")}, "group": {"href": format!("{base}/api/v1/groups/{gid}")}}}))
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
