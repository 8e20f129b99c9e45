//! `/api/v1/users`: create, read, partial update, lifecycle, delete, list and search.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value, json};

use super::common::{Refusal, change, expression, ok, page_after, pairs, parse_body, read, tx, window};
use super::store::{NewUser, group_json, user_json};
use super::{Ctx, OktaApi};
use crate::sandbox::web::{self, first};

type Api = State<Arc<OktaApi>>;

/// The profile Okta requires, and its field errors (all of them, as Okta lists them).
fn check_profile(body: &Map<String, Value>) -> Result<Map<String, Value>, Refusal> {
    let Some(Value::Object(profile)) = body.get("profile").cloned() else {
        return Err(Refusal::validation("profile", vec!["profile: The field cannot be left blank".into()]));
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
    match causes.first() {
        Some(c) => {
            let field = c.split(':').next().unwrap_or("profile").to_string();
            Err(Refusal::validation(&field, causes))
        }
        None => Ok(profile),
    }
}

pub async fn create_user(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    let q = pairs(&q);
    let activate = first(&q, "activate").map(|v| v != "false").unwrap_or(true);
    let base = api.shared.urls.okta.clone();
    let created = change(&api, |okta, rng, now| {
        let body = parse_body(&body)?;
        let profile = check_profile(&body)?;
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
        if okta.user(profile.get("login").and_then(Value::as_str).unwrap_or("")).is_some() {
            return Err(Refusal::exists("login"));
        }
        if let Some(g) = group_ids.iter().find(|g| !okta.groups.contains_key(*g)) {
            return Err(Refusal::validation("groupIds", vec![format!("groupIds: Group {g} not found")]));
        }
        let (user, jobs) =
            okta.create_user(rng, now, &tx(&ctx), NewUser { profile, activate, with_password, group_ids });
        Ok((user_json(&user, &base), jobs))
    });
    created.map(ok).unwrap_or_else(|r| r)
}

pub async fn get_user(State(api): Api, Path(id): Path<String>) -> Response {
    match read(&api, |okta| {
        okta.user(&id).map(|u| user_json(u, &api.shared.urls.okta)).ok_or_else(|| Refusal::not_found(&id, "User"))
    }) {
        Ok(body) => {
            let mut r = ok(body);
            web::set(r.headers_mut(), "etag", "W/\"1\"");
            r
        }
        Err(r) => r,
    }
}

/// `POST /api/v1/users/{id}` merges: only the given profile attributes change.
pub async fn update_user(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let base = api.shared.urls.okta.clone();
    let updated = change(&api, |okta, rng, now| {
        let body = parse_body(&body)?;
        let user = okta.user(&id).cloned().ok_or_else(|| Refusal::not_found(&id, "User"))?;
        if user.status == "DEPROVISIONED" {
            return Err(Refusal::status());
        }
        let changes = match body.get("profile") {
            Some(Value::Object(p)) => p.clone(),
            None => Map::new(),
            Some(_) => return Err(Refusal::bad_body()),
        };
        if let Some(login) = changes.get("login").and_then(Value::as_str)
            && okta.user(login).is_some_and(|u| u.id != user.id)
        {
            return Err(Refusal::exists("login"));
        }
        let jobs = okta.update_profile(rng, now, &tx(&ctx), &user.id, changes);
        Ok((okta.users.get(&user.id).map(|u| user_json(u, &base)).unwrap_or(Value::Null), jobs))
    });
    updated.map(ok).unwrap_or_else(|r| r)
}

pub async fn lifecycle(
    State(api): Api,
    Extension(ctx): Extension<Ctx>,
    Path((id, action)): Path<(String, String)>,
) -> Response {
    let done = change(&api, |okta, rng, now| {
        let user = okta.user(&id).cloned().ok_or_else(|| Refusal::not_found(&id, "User"))?;
        let jobs = match (action.as_str(), user.status.as_str()) {
            ("deactivate", "DEPROVISIONED")
            | ("activate", "ACTIVE" | "PROVISIONED" | "RECOVERY" | "LOCKED_OUT" | "PASSWORD_EXPIRED" | "SUSPENDED") => {
                return Err(Refusal::status());
            }
            ("deactivate", _) => okta.deactivate(rng, now, &tx(&ctx), &user.id),
            ("activate", _) => okta.activate(rng, now, &tx(&ctx), &user.id),
            _ => return Err(Refusal::not_found(&action, "Lifecycle operation")),
        };
        Ok(((), jobs))
    });
    // Current orgs answer 200 with `{}` (older recordings show 204).
    done.map(|()| ok(json!({}))).unwrap_or_else(|r| r)
}

/// A DELETE on a user that is not deactivated deactivates it instead; the second deletes.
pub async fn delete_user(State(api): Api, Extension(ctx): Extension<Ctx>, Path(id): Path<String>) -> Response {
    let done = change(&api, |okta, rng, now| {
        let user = okta.user(&id).cloned().ok_or_else(|| Refusal::not_found(&id, "User"))?;
        if user.status != "DEPROVISIONED" {
            return Ok(((), okta.deactivate(rng, now, &tx(&ctx), &user.id)));
        }
        okta.delete(rng, now, &tx(&ctx), &user.id);
        Ok(((), vec![]))
    });
    done.map(|()| StatusCode::NO_CONTENT.into_response()).unwrap_or_else(|r| r)
}

/// `GET /api/v1/users`: a plain list omits DEPROVISIONED users; `search=` and `filter=`
/// include them; `q=` matches the start of login, email, first or last name.
pub async fn list_users(State(api): Api, RawQuery(q): RawQuery) -> Response {
    let q = pairs(&q);
    let prefix = first(&q, "q").map(str::to_lowercase);
    let base = api.shared.urls.okta.clone();
    let (limit, after) = window(&q, if prefix.is_some() { 10 } else { 200 }, 200);
    let items = read(&api, |okta| {
        let parsed = expression(&q, &["search", "filter"])?;
        // From the cursor on, and only as many as the page needs: a 100,000-user org
        // pages in linear time.
        let from =
            if after.is_empty() { std::ops::Bound::Unbounded } else { std::ops::Bound::Excluded(after.to_string()) };
        Ok(okta
            .users
            .range((from, std::ops::Bound::Unbounded))
            .map(|(_, u)| u)
            .filter(|u| parsed.is_some() || u.status != "DEPROVISIONED")
            .filter(|u| {
                prefix.as_ref().is_none_or(|p| {
                    ["login", "email", "firstName", "lastName"]
                        .iter()
                        .any(|k| u.attr(k).is_some_and(|v| v.to_lowercase().starts_with(p)))
                })
            })
            .map(|u| (u.id.clone(), user_json(u, &base)))
            .filter(|(_, v)| parsed.as_ref().is_none_or(|f| f.matches(v)))
            .take(limit + 1)
            .collect())
    });
    match items {
        Ok(items) => page_after(&api, "/api/v1/users", &q, items, limit),
        Err(r) => r,
    }
}

pub async fn user_groups(State(api): Api, Path(id): Path<String>) -> Response {
    let groups = read(&api, |okta| {
        let user = okta.user(&id).ok_or_else(|| Refusal::not_found(&id, "User"))?;
        Ok(okta
            .groups
            .values()
            .filter(|g| g.members.contains(&user.id))
            .map(|g| group_json(g, &api.shared.urls.okta))
            .collect())
    });
    groups.map(|g| ok(Value::Array(g))).unwrap_or_else(|r| r)
}
