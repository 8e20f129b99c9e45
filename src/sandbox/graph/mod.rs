//! The emulated Microsoft Graph (v1.0) and its token endpoint on the login host:
//! client credentials, users with `$filter`/`$select`/`$top`/`$count`, deleted items,
//! groups, and directory audits with their 5-per-10-seconds limit and retention.

mod audits;
mod batch;
pub mod odata;
pub mod store;
mod token;
mod users;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::state::{Shared, System};
use super::web::{self, Hit};

pub struct GraphApi {
    pub shared: Arc<Shared>,
    /// Issued access tokens and when they expire (tenant time).
    tokens: Mutex<HashMap<String, DateTime<Utc>>>,
}

/// The request id the middleware assigned (echoed in error bodies).
#[derive(Debug, Clone)]
pub struct ReqId(pub String);

pub const ODATA_JSON: &str =
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;charset=utf-8";

pub fn routers(shared: Arc<Shared>) -> (Router, Router) {
    let api = Arc::new(GraphApi { shared, tokens: Mutex::new(HashMap::new()) });
    let graph = graph_router(api.clone());
    let login = Router::new().route("/{tenant}/oauth2/v2.0/token", post(token::token)).with_state(api);
    (graph, login)
}

/// Every Graph route behind the gate. `$batch` builds one per call to dispatch its
/// requests (holding it in `GraphApi` would make a reference cycle).
fn graph_router(api: Arc<GraphApi>) -> Router {
    Router::new()
        .route("/v1.0/users", get(users::list))
        .route("/v1.0/users/{id}", get(users::get_one))
        .route("/v1.0/users/{id}/memberOf", get(users::member_of))
        // The sandbox has no nested groups, so transitive membership equals direct.
        .route("/v1.0/users/{id}/transitiveMemberOf", get(users::member_of))
        .route("/v1.0/directory/deletedItems/microsoft.graph.user", get(users::deleted_list))
        .route("/v1.0/directory/deletedItems/{id}", get(users::deleted_one))
        .route("/v1.0/groups", get(users::groups))
        .route("/v1.0/groups/{id}", get(users::group))
        .route("/v1.0/groups/{id}/members", get(users::group_members))
        .route("/v1.0/groups/{id}/transitiveMembers/microsoft.graph.user", get(users::group_members))
        .route("/v1.0/auditLogs/directoryAudits", get(audits::list))
        .route("/v1.0/$batch", post(batch::batch))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(api.clone(), gate))
        .with_state(api)
}

/// Graph's error envelope: `{"error":{"code","message","innerError":{…}}}`.
pub fn error(api: &GraphApi, req: &str, status: StatusCode, code: &str, message: &str) -> Response {
    let date = api.shared.now().format("%Y-%m-%dT%H:%M:%S").to_string();
    let mut inner = json!({"date": date, "request-id": req, "client-request-id": req});
    if status == StatusCode::TOO_MANY_REQUESTS {
        inner =
            json!({"code": "429", "date": date, "message": "Please retry after", "request-id": req, "status": "429"});
    }
    web::json(status, &json!({"error": {"code": code, "message": message, "innerError": inner}}), "application/json")
}

async fn not_found(State(api): State<Arc<GraphApi>>, req: Request) -> Response {
    let id = req.extensions().get::<ReqId>().map(|r| r.0.clone()).unwrap_or_default();
    error(
        &api,
        &id,
        StatusCode::BAD_REQUEST,
        "BadRequest",
        &format!("Resource not found for the segment '{}'.", req.uri().path().rsplit('/').next().unwrap_or("")),
    )
}

/// Bearer auth, fault injection, and the `request-id`/`client-request-id`/`Date` headers.
async fn gate(State(api): State<Arc<GraphApi>>, mut req: Request, next: Next) -> Response {
    let shared = api.shared.clone();
    let endpoint = format!(
        "{} {}",
        req.method(),
        req.extensions().get::<MatchedPath>().map(|m| m.as_str()).unwrap_or(req.uri().path())
    );
    let hit = web::pre(&shared, System::Entra, &endpoint).await;
    let faults = shared.faults().entra.api();
    let req_id = shared.tenant().rng.guid();
    let client_req = req.headers().get("client-request-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let now = shared.now();
    let token = req
        .headers()
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string);
    let valid = token
        .as_ref()
        .is_some_and(|t| api.tokens.lock().unwrap_or_else(|e| e.into_inner()).get(t).is_some_and(|exp| *exp > now));
    let mut resp = if token.is_none() {
        error(&api, &req_id, StatusCode::UNAUTHORIZED, "InvalidAuthenticationToken", "Access token is empty.")
    } else if !valid {
        error(
            &api,
            &req_id,
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            "Access token has expired or is not yet valid.",
        )
    } else if hit == Hit::TooMany {
        let mut r = error(&api, &req_id, StatusCode::TOO_MANY_REQUESTS, "TooManyRequests", "Please retry again later.");
        web::set(r.headers_mut(), "retry-after", "1");
        r
    } else if let Hit::Server(code) = hit {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::SERVICE_UNAVAILABLE);
        let mut r = error(
            &api,
            &req_id,
            status,
            "serviceNotAvailable",
            "The service is temporarily unavailable. Please retry later.",
        );
        web::set(r.headers_mut(), "retry-after", "0.5");
        r
    } else if hit == Hit::Reset {
        return web::reset();
    } else {
        req.extensions_mut().insert(ReqId(req_id.clone()));
        let served = next.run(req).await;
        web::post(served, hit, &faults).await
    };
    let h = resp.headers_mut();
    web::set(h, "date", &web::http_date(now + faults.clock_skew.0));
    web::set(h, "request-id", &req_id);
    web::set(h, "client-request-id", client_req.as_deref().unwrap_or(&req_id));
    web::set(h, "odata-version", "4.0");
    resp
}

/// Opaque paging token in Graph's `X'…'` form: hex of the offset.
pub fn skiptoken(offset: usize) -> String {
    format!("X'{}'", hex::encode(format!("4453707402:{offset}")))
}

pub fn parse_skiptoken(s: &str) -> Option<usize> {
    let inner = s.strip_prefix("X'")?.strip_suffix('\'')?;
    let raw = String::from_utf8(hex::decode(inner).ok()?).ok()?;
    raw.strip_prefix("4453707402:")?.parse().ok()
}

/// `@odata.nextLink`: the request's own query options plus `$skiptoken`, commas encoded.
pub fn next_link(api: &GraphApi, path: &str, q: &[(String, String)], offset: usize) -> Value {
    let mut s = url::form_urlencoded::Serializer::new(String::new());
    for (k, v) in q.iter().filter(|(k, _)| k != "$skiptoken") {
        s.append_pair(k, v);
    }
    s.append_pair("$skiptoken", &skiptoken(offset));
    let query = s.finish().replace("%24", "$").replace("%2C", "%2c");
    Value::String(format!("{}/v1.0{path}?{query}", api.shared.urls.graph))
}
