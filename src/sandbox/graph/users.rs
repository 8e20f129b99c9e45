//! `/v1.0/users`, single users, deleted items, groups and members, with Graph's
//! strictness: `$select` decides which properties come back, `$top` is 1–999, and
//! filters that need advanced query (`ConsistencyLevel: eventual` + `$count=true`)
//! fail without it.

use std::sync::Arc;

use axum::extract::{Extension, Path, RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::odata;
use super::store::EntraUser;
use super::{GraphApi, ODATA_JSON, ReqId, error, next_link, parse_skiptoken};
use crate::sandbox::web::{self, first, form_pairs};

type Api = State<Arc<GraphApi>>;

/// Returned when no `$select` is given (accountEnabled and friends are absent).
const DEFAULT_PROPS: &[&str] = &[
    "businessPhones",
    "displayName",
    "givenName",
    "id",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
];

/// Selectable beyond the defaults (only when `$select` names them).
const OTHER_PROPS: &[&str] = &[
    "accountEnabled",
    "employeeId",
    "onPremisesImmutableId",
    "createdDateTime",
    "externalUserState",
    "userType",
    "department",
    "signInSessionsValidFromDateTime",
    "deletedDateTime",
];

/// (property, operator) pairs that work on users, and whether they need advanced query.
fn user_filter_rule(prop: &str, op: &str) -> Option<bool> {
    let advanced = op == "ne" || op.starts_with("not") || op == "endswith";
    let ok = match prop {
        "userPrincipalName" | "mail" => {
            matches!(op, "eq" | "in" | "startswith" | "ne" | "endswith") || op.starts_with("not")
        }
        "employeeId" | "displayName" | "givenName" | "surname" => {
            matches!(op, "eq" | "in" | "startswith" | "ne") || op.starts_with("not")
        }
        // The advanced-queries table lists onPremisesImmutableId eq as advanced only.
        "onPremisesImmutableId" => return matches!(op, "eq" | "in" | "ne").then_some(true),
        "accountEnabled" | "userType" => matches!(op, "eq" | "in" | "ne") || op.starts_with("not"),
        "createdDateTime" => matches!(op, "ge" | "le" | "eq" | "in"),
        "id" => matches!(op, "eq" | "in"),
        _ => false,
    };
    ok.then_some(advanced)
}

fn advanced(headers: &HeaderMap, q: &[(String, String)]) -> bool {
    headers.get("consistencylevel").and_then(|v| v.to_str().ok()).is_some_and(|v| v.eq_ignore_ascii_case("eventual"))
        && first(q, "$count") == Some("true")
}

/// Applies `$select` to a user; errors on properties the user type does not have.
fn select(user: &EntraUser, sel: Option<&Vec<String>>) -> Map<String, Value> {
    let all = user.to_json();
    let props: Vec<&str> = match sel {
        Some(s) => s.iter().map(String::as_str).collect(),
        None => DEFAULT_PROPS.to_vec(),
    };
    props.into_iter().filter_map(|p| all.get(p).map(|v| (p.to_string(), v.clone()))).collect()
}

fn parse_select(api: &GraphApi, req: &str, q: &[(String, String)]) -> Result<Option<Vec<String>>, Response> {
    let Some(raw) = first(q, "$select") else {
        return Ok(None);
    };
    let props: Vec<String> = raw.split(',').map(|s| s.trim().to_string()).filter(|s| !s.is_empty()).collect();
    let known = |p: &str| DEFAULT_PROPS.contains(&p) || OTHER_PROPS.contains(&p);
    if let Some(bad) = props.iter().find(|p| !known(p)) {
        return Err(error(
            api,
            req,
            StatusCode::BAD_REQUEST,
            "Request_BadRequest",
            &format!("Could not find a property named '{bad}' on type 'microsoft.graph.user'."),
        ));
    }
    Ok(Some(props))
}

fn context(api: &GraphApi, set: &str, sel: Option<&Vec<String>>, entity: bool) -> String {
    let mut s = format!("{}/v1.0/$metadata#{set}", api.shared.urls.graph);
    if let Some(sel) = sel {
        s.push_str(&format!("({})", sel.join(",")));
    }
    if entity {
        s.push_str("/$entity");
    }
    s
}

/// `$filter`, parsed: `None` when absent, a 400 Request_BadRequest when malformed.
fn filter_param(api: &GraphApi, req: &str, q: &[(String, String)]) -> Result<Option<odata::Expr>, Response> {
    match first(q, "$filter").map(odata::parse) {
        None => Ok(None),
        Some(Ok(f)) => Ok(Some(f)),
        Some(Err(e)) => {
            Err(error(api, req, StatusCode::BAD_REQUEST, "Request_BadRequest", &format!("Invalid filter clause: {e}")))
        }
    }
}

fn page_size(api: &GraphApi, req: &str, q: &[(String, String)], default: usize) -> Result<usize, Response> {
    match first(q, "$top") {
        None => Ok(default),
        Some(t) => match t.parse::<i64>() {
            Ok(n) if (1..=999).contains(&n) => Ok(n as usize),
            _ => Err(error(
                api,
                req,
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                &format!("Invalid page size specified: '{t}'. Must be between 1 and 999 inclusive."),
            )),
        },
    }
}

/// Sends one page of a collection with `@odata.nextLink` when more remain.
#[allow(clippy::too_many_arguments)]
fn collection(
    api: &GraphApi,
    path: &str,
    q: &[(String, String)],
    ctx: String,
    items: Vec<Value>,
    top: usize,
    count: Option<usize>,
) -> Response {
    let offset = first(q, "$skiptoken").and_then(parse_skiptoken).unwrap_or(0);
    let total = items.len();
    let page: Vec<Value> = items.into_iter().skip(offset).take(top).collect();
    collection_page(api, path, q, ctx, page, offset, total, count)
}

/// One page already cut at `offset` from `total` items.
#[allow(clippy::too_many_arguments)]
fn collection_page(
    api: &GraphApi,
    path: &str,
    q: &[(String, String)],
    ctx: String,
    page: Vec<Value>,
    offset: usize,
    total: usize,
    count: Option<usize>,
) -> Response {
    let mut body = Map::new();
    body.insert("@odata.context".into(), json!(ctx));
    // @odata.count only on the first page.
    if let Some(c) = count.filter(|_| offset == 0) {
        body.insert("@odata.count".into(), json!(c));
    }
    if offset + page.len() < total {
        body.insert("@odata.nextLink".into(), next_link(api, path, q, offset + page.len()));
    }
    body.insert("value".into(), Value::Array(page));
    web::json(StatusCode::OK, &Value::Object(body), ODATA_JSON)
}

pub async fn list(
    State(api): Api,
    Extension(ReqId(req)): Extension<ReqId>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
) -> Response {
    let q = q.as_deref().map(form_pairs).unwrap_or_default();
    let sel = match parse_select(&api, &req, &q) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let top = match page_size(&api, &req, &q, 100) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let adv = advanced(&headers, &q);
    let filter = match filter_param(&api, &req, &q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Some(f) = &filter {
        for (prop, op) in f.leaves() {
            match user_filter_rule(&prop, &op) {
                None => {
                    return error(
                        &api,
                        &req,
                        StatusCode::BAD_REQUEST,
                        "Request_UnsupportedQuery",
                        &format!(
                            "Unsupported or invalid query filter clause specified for property '{prop}' of resource 'User'."
                        ),
                    );
                }
                Some(true) if !adv => {
                    return error(
                        &api,
                        &req,
                        StatusCode::BAD_REQUEST,
                        "Request_UnsupportedQuery",
                        &format!(
                            "Operator '{op}' is not supported because the required parameters might be missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header. Refer to https://aka.ms/graph-docs/advanced-queries for more information"
                        ),
                    );
                }
                Some(_) => {}
            }
        }
    }
    if filter.is_none() {
        // The whole directory, page by page: only the page is turned into JSON, so a
        // 100,000-user tenant pages in linear time.
        let offset = first(&q, "$skiptoken").and_then(parse_skiptoken).unwrap_or(0);
        let (page, total): (Vec<Value>, usize) = {
            let t = api.shared.tenant();
            let page =
                t.entra.users.values().skip(offset).take(top).map(|u| Value::Object(select(u, sel.as_ref()))).collect();
            (page, t.entra.users.len())
        };
        let ctx = context(&api, "users", sel.as_ref(), false);
        return collection_page(&api, "/users", &q, ctx, page, offset, total, adv.then_some(total));
    }
    let items: Vec<Value> = {
        let t = api.shared.tenant();
        t.entra
            .users
            .values()
            .filter(|u| filter.as_ref().is_none_or(|f| f.eval(&Value::Object(u.to_json()))))
            .map(|u| Value::Object(select(u, sel.as_ref())))
            .collect()
    };
    // $count=true without the header is silently ignored.
    let count = adv.then_some(items.len());
    collection(&api, "/users", &q, context(&api, "users", sel.as_ref(), false), items, top, count)
}

pub async fn get_one(
    State(api): Api,
    Extension(ReqId(req)): Extension<ReqId>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = q.as_deref().map(form_pairs).unwrap_or_default();
    let sel = match parse_select(&api, &req, &q) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let found = api.shared.tenant().entra.find(&id).map(|u| select(u, sel.as_ref()));
    match found {
        Some(mut m) => {
            m.insert("@odata.context".into(), json!(context(&api, "users", sel.as_ref(), true)));
            web::json(StatusCode::OK, &Value::Object(m), ODATA_JSON)
        }
        None => not_found(&api, &req, &id),
    }
}

fn not_found(api: &GraphApi, req: &str, id: &str) -> Response {
    error(
        api,
        req,
        StatusCode::NOT_FOUND,
        "Request_ResourceNotFound",
        &format!("Resource '{id}' does not exist or one of its queried reference-property objects are not present."),
    )
}

fn group_json(g: &super::store::EntraGroup) -> Value {
    json!({"@odata.type": "#microsoft.graph.group", "id": g.id, "displayName": g.display_name, "securityEnabled": true, "mailEnabled": false,
           "createdDateTime": g.created.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)})
}

pub async fn member_of(
    State(api): Api,
    Extension(ReqId(req)): Extension<ReqId>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = q.as_deref().map(form_pairs).unwrap_or_default();
    let top = match page_size(&api, &req, &q, 100) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let items = {
        let t = api.shared.tenant();
        t.entra
            .find(&id)
            .map(|u| t.entra.groups.values().filter(|g| g.members.contains(&u.id)).map(group_json).collect::<Vec<_>>())
    };
    match items {
        Some(items) => collection(
            &api,
            &format!("/users/{id}/memberOf"),
            &q,
            format!("{}/v1.0/$metadata#directoryObjects", api.shared.urls.graph),
            items,
            top,
            None,
        ),
        None => not_found(&api, &req, &id),
    }
}

/// Deleted users stay restorable for 30 days, then are gone for good.
fn purge(api: &GraphApi) {
    let cutoff = api.shared.now() - chrono::Duration::days(30);
    api.shared.tenant().entra.deleted.retain(|_, u| u.deleted.is_some_and(|d| d > cutoff));
}

fn deleted_json(u: &EntraUser, sel: Option<&Vec<String>>) -> Map<String, Value> {
    let mut m = select(
        u,
        sel.or(Some(&vec![
            "id".into(),
            "userPrincipalName".into(),
            "displayName".into(),
            "accountEnabled".into(),
            "deletedDateTime".into(),
        ])),
    );
    m.insert("@odata.type".into(), json!("#microsoft.graph.user"));
    m
}

pub async fn deleted_one(
    State(api): Api,
    Extension(ReqId(req)): Extension<ReqId>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    purge(&api);
    let q = q.as_deref().map(form_pairs).unwrap_or_default();
    let sel = match parse_select(&api, &req, &q) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let found = api.shared.tenant().entra.deleted.get(&id).map(|u| deleted_json(u, sel.as_ref()));
    match found {
        Some(mut m) => {
            let fields = sel.clone().unwrap_or_else(|| {
                vec![
                    "id".into(),
                    "userPrincipalName".into(),
                    "displayName".into(),
                    "accountEnabled".into(),
                    "deletedDateTime".into(),
                ]
            });
            m.insert(
                "@odata.context".into(),
                json!(format!(
                    "{}/v1.0/$metadata#directoryObjects({})/$entity",
                    api.shared.urls.graph,
                    fields.join(",")
                )),
            );
            web::json(StatusCode::OK, &Value::Object(m), ODATA_JSON)
        }
        None => not_found(&api, &req, &id),
    }
}

pub async fn deleted_list(State(api): Api, Extension(ReqId(req)): Extension<ReqId>, RawQuery(q): RawQuery) -> Response {
    purge(&api);
    let q = q.as_deref().map(form_pairs).unwrap_or_default();
    let sel = match parse_select(&api, &req, &q) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let top = match page_size(&api, &req, &q, 100) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let items: Vec<Value> =
        api.shared.tenant().entra.deleted.values().map(|u| Value::Object(deleted_json(u, sel.as_ref()))).collect();
    collection(
        &api,
        "/directory/deletedItems/microsoft.graph.user",
        &q,
        format!("{}/v1.0/$metadata#directoryObjects/microsoft.graph.user", api.shared.urls.graph),
        items,
        top,
        None,
    )
}

pub async fn groups(State(api): Api, Extension(ReqId(req)): Extension<ReqId>, RawQuery(q): RawQuery) -> Response {
    let q = q.as_deref().map(form_pairs).unwrap_or_default();
    let top = match page_size(&api, &req, &q, 100) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let filter = match filter_param(&api, &req, &q) {
        Ok(f) => f,
        Err(r) => return r,
    };
    if let Some(f) = &filter {
        if let Some((p, _)) = f.leaves().into_iter().find(|(p, o)| {
            !(matches!(p.as_str(), "displayName" | "id") && matches!(o.as_str(), "eq" | "in" | "startswith"))
        }) {
            return error(
                &api,
                &req,
                StatusCode::BAD_REQUEST,
                "Request_UnsupportedQuery",
                &format!(
                    "Unsupported or invalid query filter clause specified for property '{p}' of resource 'Group'."
                ),
            );
        }
    }
    let items: Vec<Value> = api
        .shared
        .tenant()
        .entra
        .groups
        .values()
        .map(group_json)
        .filter(|g| filter.as_ref().is_none_or(|f| f.eval(g)))
        .collect();
    collection(&api, "/groups", &q, format!("{}/v1.0/$metadata#groups", api.shared.urls.graph), items, top, None)
}

pub async fn group(State(api): Api, Extension(ReqId(req)): Extension<ReqId>, Path(id): Path<String>) -> Response {
    let g = api.shared.tenant().entra.groups.get(&id).map(group_json);
    match g {
        Some(mut g) => {
            g["@odata.context"] = json!(format!("{}/v1.0/$metadata#groups/$entity", api.shared.urls.graph));
            web::json(StatusCode::OK, &g, ODATA_JSON)
        }
        None => not_found(&api, &req, &id),
    }
}

pub async fn group_members(
    State(api): Api,
    Extension(ReqId(req)): Extension<ReqId>,
    Path(id): Path<String>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = q.as_deref().map(form_pairs).unwrap_or_default();
    let sel = match parse_select(&api, &req, &q) {
        Ok(s) => s,
        Err(r) => return r,
    };
    let top = match page_size(&api, &req, &q, 100) {
        Ok(t) => t,
        Err(r) => return r,
    };
    let items = {
        let t = api.shared.tenant();
        t.entra.groups.get(&id).map(|g| {
            g.members
                .iter()
                .filter_map(|m| t.entra.users.get(m))
                .map(|u| {
                    let mut m = select(u, sel.as_ref());
                    m.insert("@odata.type".into(), json!("#microsoft.graph.user"));
                    Value::Object(m)
                })
                .collect::<Vec<_>>()
        })
    };
    match items {
        Some(items) => collection(
            &api,
            &format!("/groups/{id}/members"),
            &q,
            format!("{}/v1.0/$metadata#directoryObjects", api.shared.urls.graph),
            items,
            top,
            None,
        ),
        None => not_found(&api, &req, &id),
    }
}
