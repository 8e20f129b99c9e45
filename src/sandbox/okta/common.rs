//! What every Okta handler shares: refusals in Okta's error shape, the one place a
//! change runs under the tenant lock and queues its provisioning jobs, and paging.

use axum::body::Bytes;
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Map, Value};

use super::store::{Okta, Tx};
use super::{Ctx, OktaApi, error};
use crate::sandbox::ids::Rng;
use crate::sandbox::provisioner::{self, Job};
use crate::sandbox::web::{self, first, form_pairs};

/// An Okta error to answer with. Built as data so it can leave the tenant lock
/// before the response (whose `errorId` needs the lock) is made.
#[derive(Debug)]
pub struct Refusal {
    status: StatusCode,
    code: &'static str,
    summary: String,
    causes: Vec<String>,
}

impl Refusal {
    pub fn new(status: StatusCode, code: &'static str, summary: impl Into<String>, causes: Vec<String>) -> Refusal {
        Refusal { status, code, summary: summary.into(), causes }
    }

    /// E0000007, "Not found: Resource not found: <what> (<kind>)".
    pub fn not_found(what: &str, kind: &str) -> Refusal {
        Refusal::new(
            StatusCode::NOT_FOUND,
            "E0000007",
            format!("Not found: Resource not found: {what} ({kind})"),
            vec![],
        )
    }

    /// E0000001 naming the field, with the causes Okta lists.
    pub fn validation(field: &str, causes: Vec<String>) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, "E0000001", format!("Api validation failed: {field}"), causes)
    }

    pub fn exists(field: &str) -> Refusal {
        Refusal::validation(
            field,
            vec![format!("{field}: An object with this field already exists in the current organization")],
        )
    }

    /// E0000038, an operation the user's status does not allow.
    pub fn status() -> Refusal {
        Refusal::new(
            StatusCode::FORBIDDEN,
            "E0000038",
            "This operation is not allowed in the user's current status.",
            vec![],
        )
    }

    pub fn bad_body() -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, "E0000003", "The request body was not well-formed.", vec![])
    }

    pub fn search(why: String) -> Refusal {
        Refusal::new(StatusCode::BAD_REQUEST, "E0000053", "Invalid search criteria.", vec![why])
    }

    pub fn respond(self, api: &OktaApi) -> Response {
        error(&api.shared, self.status, self.code, &self.summary, &self.causes)
    }
}

/// Runs `f` against the Okta store under the tenant lock, then (lock released)
/// queues the provisioning jobs it returned, like Okta's asynchronous pushes.
pub fn change<T>(
    api: &OktaApi,
    f: impl FnOnce(&mut Okta, &mut Rng, DateTime<Utc>) -> Result<(T, Vec<Job>), Refusal>,
) -> Result<T, Response> {
    let now = api.shared.now();
    let outcome = {
        let mut t = api.shared.tenant();
        let crate::sandbox::state::Tenant { okta, rng, .. } = &mut *t;
        f(okta, rng, now)
    };
    match outcome {
        Ok((value, jobs)) => {
            provisioner::enqueue(&api.shared, jobs);
            Ok(value)
        }
        Err(refusal) => Err(refusal.respond(api)),
    }
}

/// Reads the store under the tenant lock.
pub fn read<T>(api: &OktaApi, f: impl FnOnce(&Okta) -> Result<T, Refusal>) -> Result<T, Response> {
    let outcome = f(&api.shared.tenant().okta);
    outcome.map_err(|r| r.respond(api))
}

pub fn pairs(q: &Option<String>) -> Vec<(String, String)> {
    q.as_deref().map(form_pairs).unwrap_or_default()
}

/// The System Log transaction of an API call: WEB, with the request id.
pub fn tx(ctx: &Ctx) -> Tx {
    Tx { kind: "WEB", id: ctx.request_id.clone(), actor: ctx.actor.clone(), uri: Some(ctx.uri.clone()) }
}

pub fn ok(body: Value) -> Response {
    web::json(StatusCode::OK, &body, "application/json")
}

/// The JSON object of a request body; an empty body is an empty object.
pub fn parse_body(body: &Bytes) -> Result<Map<String, Value>, Refusal> {
    if body.is_empty() {
        return Ok(Map::new());
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(Value::Object(m)) => Ok(m),
        _ => Err(Refusal::bad_body()),
    }
}

/// One page of a cursor-paged list: `after` is the last id of the previous page.
/// Okta sends one `Link` header per relation.
/// The page size and cursor a list request asks for.
pub fn window(q: &[(String, String)], default_limit: usize, max_limit: usize) -> (usize, &str) {
    let limit = first(q, "limit").and_then(|l| l.parse::<usize>().ok()).unwrap_or(default_limit).clamp(1, max_limit);
    (limit, first(q, "after").unwrap_or(""))
}

pub fn page(
    api: &OktaApi,
    path: &str,
    q: &[(String, String)],
    items: Vec<(String, Value)>,
    default_limit: usize,
    max_limit: usize,
) -> Response {
    let (limit, after) = window(q, default_limit, max_limit);
    let rest: Vec<(String, Value)> =
        items.into_iter().filter(|(id, _)| after.is_empty() || id.as_str() > after).take(limit + 1).collect();
    page_after(api, path, q, rest, limit)
}

/// A page from the items after the cursor, in id order (at most `limit + 1` of them
/// are needed: one more than the page says whether there is a next).
pub fn page_after(
    api: &OktaApi,
    path: &str,
    q: &[(String, String)],
    rest: Vec<(String, Value)>,
    limit: usize,
) -> Response {
    let after = first(q, "after").unwrap_or("");
    let more = rest.len() > limit;
    let slice: Vec<&(String, Value)> = rest.iter().take(limit).collect();
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
    let mut r = ok(Value::Array(slice.iter().map(|(_, v)| v.clone()).collect()));
    let self_q = if after.is_empty() { query(None) } else { query(Some(after)) };
    web::append(r.headers_mut(), "link", &format!("<{self_q}>; rel=\"self\""));
    if more && let Some((last, _)) = slice.last() {
        web::append(r.headers_mut(), "link", &format!("<{}>; rel=\"next\"", query(Some(last))));
    }
    r
}

/// Parses a `search=`/`filter=` expression, or refuses with E0000053.
pub fn expression(q: &[(String, String)], keys: &[&str]) -> Result<Option<super::filter::Filter>, Refusal> {
    match keys.iter().find_map(|k| first(q, k)) {
        None => Ok(None),
        Some(expr) => super::filter::parse(expr).map(Some).map_err(Refusal::search),
    }
}
