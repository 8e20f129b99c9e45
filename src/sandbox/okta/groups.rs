//! `/api/v1/groups`: create, list (`q=`, `search=`), members, and the apps a group is assigned to.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use super::common::{Refusal, change, expression, ok, page, pairs, parse_body, read, tx};
use super::store::{OktaGroup, app_json, group_json, user_json};
use super::{Ctx, OktaApi};
use crate::sandbox::web::first;

type Api = State<Arc<OktaApi>>;

pub async fn list_groups(State(api): Api, RawQuery(q): RawQuery) -> Response {
    let q = pairs(&q);
    let prefix = first(&q, "q").map(str::to_lowercase);
    let base = api.shared.urls.okta.clone();
    let items = read(&api, |okta| {
        let search = expression(&q, &["search"])?;
        Ok(okta
            .groups
            .values()
            .filter(|g| prefix.as_ref().is_none_or(|p| g.name.to_lowercase().starts_with(p)))
            .map(|g| (g.id.clone(), group_json(g, &base)))
            .filter(|(_, v)| search.as_ref().is_none_or(|f| f.matches(v)))
            .collect())
    });
    match items {
        // `q=` cannot be paged and defaults to 300.
        Ok(items) => page(&api, "/api/v1/groups", &q, items, if prefix.is_some() { 300 } else { 10_000 }, 10_000),
        Err(r) => r,
    }
}

pub async fn create_group(State(api): Api, body: Bytes) -> Response {
    let base = api.shared.urls.okta.clone();
    let created = change(&api, |okta, rng, now| {
        let body = parse_body(&body)?;
        let field =
            |k: &str| body.get("profile").and_then(|p| p.get(k)).and_then(Value::as_str).unwrap_or("").to_string();
        let (name, description) = (field("name"), field("description"));
        if name.is_empty() {
            return Err(Refusal::validation("name", vec!["name: The field cannot be left blank".into()]));
        }
        if okta.group_by_name(&name).is_some() {
            return Err(Refusal::exists("name"));
        }
        let id = rng.okta_id("00g");
        let g = OktaGroup {
            id: id.clone(),
            name,
            description,
            created: now,
            last_updated: now,
            last_membership_updated: now,
            members: Default::default(),
        };
        let body = group_json(&g, &base);
        okta.groups.insert(id, g);
        Ok((body, vec![]))
    });
    created.map(ok).unwrap_or_else(|r| r)
}

pub async fn get_group(State(api): Api, Path(id): Path<String>) -> Response {
    read(&api, |okta| {
        okta.groups
            .get(&id)
            .map(|g| group_json(g, &api.shared.urls.okta))
            .ok_or_else(|| Refusal::not_found(&id, "UserGroup"))
    })
    .map(ok)
    .unwrap_or_else(|r| r)
}

pub async fn group_users(State(api): Api, Path(id): Path<String>, RawQuery(q): RawQuery) -> Response {
    let q = pairs(&q);
    let items = read(&api, |okta| {
        let g = okta.groups.get(&id).ok_or_else(|| Refusal::not_found(&id, "UserGroup"))?;
        Ok(g.members
            .iter()
            .filter_map(|uid| okta.users.get(uid))
            .map(|u| (u.id.clone(), user_json(u, &api.shared.urls.okta)))
            .collect())
    });
    match items {
        Ok(items) => page(&api, &format!("/api/v1/groups/{id}/users"), &q, items, 1000, 1000),
        Err(r) => r,
    }
}

/// `PUT`/`DELETE /api/v1/groups/{gid}/users/{uid}`: 204 either way.
async fn membership(api: Arc<OktaApi>, ctx: Ctx, gid: String, uid: String, add: bool) -> Response {
    let done = change(&api, |okta, rng, now| {
        if !okta.groups.contains_key(&gid) {
            return Err(Refusal::not_found(&gid, "UserGroup"));
        }
        let user = okta.user(&uid).map(|u| u.id.clone()).ok_or_else(|| Refusal::not_found(&uid, "User"))?;
        let jobs = if add {
            okta.add_member(rng, now, &tx(&ctx), &gid, &user)
        } else {
            okta.remove_member(rng, now, &tx(&ctx), &gid, &user)
        };
        Ok(((), jobs))
    });
    done.map(|()| StatusCode::NO_CONTENT.into_response()).unwrap_or_else(|r| r)
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
    let apps = read(&api, |okta| {
        if !okta.groups.contains_key(&id) {
            return Err(Refusal::not_found(&id, "UserGroup"));
        }
        Ok(okta.apps.iter().filter(|a| a.groups.contains(&id)).map(|a| app_json(a, &api.shared.urls.okta)).collect())
    });
    apps.map(|a| ok(Value::Array(a))).unwrap_or_else(|r| r)
}
