//! The emulated Okta org: management API (users, groups, apps) and the System Log,
//! with SSWS auth, rate-limit headers and 429s, and Okta's error bodies.

mod apps;
mod common;
pub mod filter;
mod groups;
pub mod oauth;
pub mod store;
mod syslog;
mod users;
mod wire;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use axum::Router;
use axum::extract::{MatchedPath, Request, State};
use axum::http::StatusCode;
use axum::middleware::{self, Next};
use axum::response::Response;
use axum::routing::{get, post, put};
use chrono::{DateTime, Utc};
use serde_json::json;

use super::state::{Shared, System};
use super::web::{self, Hit};
use store::Actor;

pub struct OktaApi {
    pub shared: Arc<Shared>,
    buckets: Mutex<HashMap<&'static str, Bucket>>,
    pub oauth: oauth::OAuth,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    window_start: DateTime<Utc>,
    used: u32,
}

/// Per-request context the middleware hands to handlers.
#[derive(Debug, Clone)]
pub struct Ctx {
    pub request_id: String,
    pub actor: Actor,
    pub uri: String,
}

pub fn router(shared: Arc<Shared>) -> Router {
    let api = Arc::new(OktaApi { shared, buckets: Mutex::new(HashMap::new()), oauth: oauth::OAuth::default() });
    // The token endpoint sits outside the gate: it authenticates with the client
    // assertion, not an API token.
    let token = Router::new().route("/oauth2/v1/token", post(oauth::token)).with_state(api.clone());
    Router::new()
        .route("/api/v1/users", get(users::list_users).post(users::create_user))
        .route("/api/v1/users/{id}", get(users::get_user).post(users::update_user).delete(users::delete_user))
        .route("/api/v1/users/{id}/lifecycle/{action}", post(users::lifecycle))
        .route("/api/v1/users/{id}/groups", get(users::user_groups))
        .route("/api/v1/groups", get(groups::list_groups).post(groups::create_group))
        .route("/api/v1/groups/{id}", get(groups::get_group))
        .route("/api/v1/groups/{id}/users", get(groups::group_users))
        .route("/api/v1/groups/{id}/users/{uid}", put(groups::add_member).delete(groups::remove_member))
        .route("/api/v1/groups/{id}/apps", get(groups::group_apps))
        .route("/api/v1/apps", get(apps::list_apps))
        .route("/api/v1/apps/{id}", get(apps::get_app))
        .route("/api/v1/apps/{id}/users", get(apps::app_users).post(apps::assign_user))
        .route("/api/v1/apps/{id}/users/{uid}", get(apps::app_user).delete(apps::unassign_user))
        .route("/api/v1/apps/{id}/groups", get(apps::app_groups))
        .route("/api/v1/apps/{id}/groups/{gid}", put(apps::assign_group).delete(apps::unassign_group))
        .route("/api/v1/apps/{id}/group-push/mappings", get(apps::push_mappings))
        .route("/api/v1/logs", get(syslog::logs))
        .fallback(not_found)
        .layer(middleware::from_fn_with_state(api.clone(), gate))
        .with_state(api)
        .merge(token)
}

async fn not_found(State(api): State<Arc<OktaApi>>) -> Response {
    error(&api.shared, StatusCode::NOT_FOUND, "E0000022", "The endpoint does not support the provided HTTP method", &[])
}

/// Okta's error body. `errorLink` repeats the code; `errorCauses` may be empty.
pub fn error(shared: &Shared, status: StatusCode, code: &str, summary: &str, causes: &[String]) -> Response {
    let error_id = shared.tenant().rng.okta_error_id();
    let causes: Vec<_> = causes.iter().map(|c| json!({"errorSummary": c})).collect();
    web::json(
        status,
        &json!({"errorCode": code, "errorSummary": summary, "errorLink": code, "errorId": error_id, "errorCauses": causes}),
        "application/json",
    )
}

fn bucket_of(path: &str) -> &'static str {
    if path.starts_with("/api/v1/logs") {
        "logs"
    } else if path.starts_with("/api/v1/users/") {
        "user"
    } else if path.starts_with("/api/v1/users") {
        "users"
    } else if path.starts_with("/api/v1/groups") {
        "groups"
    } else {
        "apps"
    }
}

/// Auth, faults, rate limits and the headers every Okta response carries.
async fn gate(State(api): State<Arc<OktaApi>>, mut req: Request, next: Next) -> Response {
    let shared = api.shared.clone();
    let endpoint = format!(
        "{} {}",
        req.method(),
        req.extensions().get::<MatchedPath>().map(|m| m.as_str()).unwrap_or(req.uri().path())
    );
    let hit = web::pre(&shared, System::Okta, &endpoint).await;
    let request_id = shared.tenant().rng.request_id();
    let now = shared.now();
    let faults = shared.faults().okta;
    let bucket = bucket_of(req.uri().path());
    let limit = if bucket == "logs" { faults.logs_rate_limit } else { faults.rate_limit };
    let window = chrono::Duration::from_std(faults.rate_window.0).unwrap_or(chrono::Duration::seconds(60));
    let (remaining, reset, exhausted) = {
        let mut buckets = api.buckets.lock().unwrap_or_else(|e| e.into_inner());
        let b = buckets.entry(bucket).or_insert(Bucket { window_start: now, used: 0 });
        if now >= b.window_start + window {
            *b = Bucket { window_start: now, used: 0 };
        }
        let exhausted = b.used >= limit;
        if !exhausted {
            b.used += 1;
        }
        let reset = (b.window_start + window).timestamp() + 1;
        (limit.saturating_sub(b.used), reset, exhausted)
    };

    let authn = authenticate(&api, &req);
    let mut resp = if let Err(refusal) = authn {
        refusal
    } else if exhausted || hit == Hit::TooMany {
        error(
            &shared,
            StatusCode::TOO_MANY_REQUESTS,
            "E0000047",
            "API call exceeded rate limit due to too many requests.",
            &[],
        )
    } else if let Hit::Server(code) = hit {
        let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        error(&shared, status, "E0000009", "Internal Server Error", &[])
    } else if hit == Hit::Reset {
        return web::reset();
    } else {
        let actor = authn.unwrap_or_else(|_| Actor::system());
        let uri = req.uri().path_and_query().map(|p| p.as_str().to_string()).unwrap_or_default();
        req.extensions_mut().insert(Ctx { request_id: request_id.clone(), actor, uri });
        let served = next.run(req).await;
        web::post(served, hit, &faults.api()).await
    };
    let throttled = resp.status() == StatusCode::TOO_MANY_REQUESTS;
    let h = resp.headers_mut();
    web::set(h, "date", &web::http_date(now));
    web::set(h, "x-okta-request-id", &request_id);
    web::set(h, "x-rate-limit-limit", &limit.to_string());
    web::set(h, "x-rate-limit-remaining", &if throttled { 0 } else { remaining }.to_string());
    web::set(h, "x-rate-limit-reset", &reset.to_string());
    web::set(h, "cache-control", "no-cache, no-store");
    resp
}

/// Who is calling: the SSWS token's admin, or the OAuth service app whose access
/// token (DPoP-bound, with a fresh proof, or Bearer) holds the scope the call needs.
fn authenticate(api: &OktaApi, req: &Request) -> Result<Actor, Response> {
    let shared = &api.shared;
    let unauthorized = |why: Option<&str>| {
        let mut r = error(shared, StatusCode::UNAUTHORIZED, "E0000011", "Invalid token provided", &[]);
        if let Some(why) = why {
            web::set(
                r.headers_mut(),
                "www-authenticate",
                &format!("DPoP error=\"invalid_dpop_proof\", error_description=\"{why}\""),
            );
        }
        r
    };
    let header = req.headers().get("authorization").and_then(|v| v.to_str().ok()).unwrap_or("");
    let Some((scheme, token)) = header.split_once(' ') else {
        return Err(unauthorized(None));
    };
    if scheme.eq_ignore_ascii_case("SSWS") {
        return if token == shared.id.okta_token {
            Ok(shared.tenant().okta.admin.clone().unwrap_or_else(Actor::system))
        } else {
            Err(unauthorized(None))
        };
    }
    let dpop = scheme.eq_ignore_ascii_case("DPoP");
    if !dpop && !scheme.eq_ignore_ascii_case("Bearer") {
        return Err(unauthorized(None));
    }
    let Some(issued) = api.oauth.token(token).filter(|t| t.expires > shared.now()) else {
        return Err(unauthorized(None));
    };
    match (dpop, &issued.jkt) {
        (true, Some(jkt)) => {
            let proof = req
                .headers()
                .get("dpop")
                .and_then(|v| v.to_str().ok())
                .ok_or_else(|| unauthorized(Some("The DPoP proof JWT header is missing.")))?;
            let htu = format!("{}{}", shared.urls.okta, req.uri().path());
            match oauth::verify_proof(api, proof, req.method().as_str(), &htu, Some(&oauth::ath(token)), false) {
                Ok(k) if &k == jkt => {}
                Ok(_) => {
                    return Err(unauthorized(Some("The DPoP proof key does not match the access token.")));
                }
                Err(oauth::ProofError::Invalid(m)) => return Err(unauthorized(Some(&m))),
                Err(oauth::ProofError::NeedNonce) => {
                    return Err(unauthorized(Some("nonce required")));
                }
            }
        }
        (false, None) => {}
        // A DPoP-bound token sent as Bearer, or a Bearer token sent as DPoP.
        _ => return Err(unauthorized(None)),
    }
    let (need, also) = oauth::needed_scope(req.method(), req.uri().path());
    if !issued.scopes.iter().any(|s| s == need || Some(s.as_str()) == also) {
        let mut r = error(
            shared,
            StatusCode::FORBIDDEN,
            "E0000006",
            "You do not have permission to perform the requested action",
            &[],
        );
        web::set(
            r.headers_mut(),
            "www-authenticate",
            &format!("Bearer error=\"insufficient_scope\", scope=\"{need}\""),
        );
        return Err(r);
    }
    Ok(Actor {
        id: issued.client_id.clone(),
        kind: "PublicClientApp".into(),
        alternate_id: issued.client_id.clone(),
        display_name: "jmlproof service app".into(),
    })
}
