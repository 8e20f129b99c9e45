//! The admin endpoint, under `/_sandbox` on its own port (no real API uses that
//! path): ground truth, the seed's planted manifest, counts, users per system, faults
//! and the clock. Tests and benchmarks read it; the tool's clients never do.

use std::sync::Arc;

use axum::Router;
use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use serde_json::{Value, json};

use super::faults::Faults;
use super::state::Shared;
use super::web::{first, form_pairs};

type S = State<Arc<Shared>>;

pub fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/_sandbox/truth", get(truth))
        .route("/_sandbox/planted", get(planted))
        .route("/_sandbox/counts", get(counts))
        .route("/_sandbox/users", get(users))
        .route("/_sandbox/faults", get(get_faults).put(put_faults).patch(patch_faults))
        .route("/_sandbox/clock", get(clock))
        .route("/_sandbox/clock/advance", post(advance))
        .with_state(shared)
}

fn ok(v: Value) -> Response {
    (StatusCode::OK, axum::Json(v)).into_response()
}

fn bad(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({"error": msg}))).into_response()
}

/// Every downstream change with the instant it took effect; `?okta_user_id=` narrows it.
async fn truth(State(s): S, RawQuery(q): RawQuery) -> Response {
    let q = q.as_deref().map(form_pairs).unwrap_or_default();
    let who = first(&q, "okta_user_id");
    let t = s.tenant();
    let rows: Vec<&super::state::Truth> = t.truth.iter().filter(|r| who.is_none_or(|w| r.okta_user_id == w)).collect();
    ok(json!({"truth": rows}))
}

/// What the seed data planted (the studio manifest); 404 for seed data that plants nothing.
async fn planted(State(s): S) -> Response {
    match &s.planted {
        Some(p) => ok(serde_json::to_value(p).unwrap_or(Value::Null)),
        None => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({"error": "this seed data plants nothing (start with --seed-data studio)"})),
        )
            .into_response(),
    }
}

async fn counts(State(s): S) -> Response {
    let t = s.tenant();
    let calls: Vec<Value> =
        t.calls.iter().map(|((sys, ep), n)| json!({"system": sys, "endpoint": ep, "calls": n})).collect();
    ok(json!({
        "okta": {"users": t.okta.users.len(), "deprovisioned": t.okta.users.values().filter(|u| u.status == "DEPROVISIONED").count(), "log_events": t.okta.log.len()},
        "entra": {"users": t.entra.users.len(), "enabled": t.entra.users.values().filter(|u| u.account_enabled).count(), "deleted": t.entra.deleted.len(), "audits": t.entra.audits.len()},
        "aws": {"users": t.aws.users.len(), "enabled": t.aws.users.values().filter(|u| u.enabled).count(), "cloudtrail_events": t.aws.trail.len()},
        "pending_jobs": s.queues.pending(),
        "calls": calls,
    }))
}

/// Users per system, optionally only those whose login starts with `?prefix=`.
async fn users(State(s): S, RawQuery(q): RawQuery) -> Response {
    let q = q.as_deref().map(form_pairs).unwrap_or_default();
    let prefix = first(&q, "prefix").unwrap_or("").to_lowercase();
    let t = s.tenant();
    let okta: Vec<Value> = t
        .okta
        .users
        .values()
        .filter(|u| u.login().to_lowercase().starts_with(&prefix))
        .map(|u| json!({"id": u.id, "login": u.login(), "status": u.status}))
        .collect();
    let entra: Vec<Value> = t
        .entra
        .users
        .values()
        .filter(|u| u.upn.to_lowercase().starts_with(&prefix))
        .map(|u| json!({"id": u.id, "upn": u.upn, "accountEnabled": u.account_enabled}))
        .collect();
    let aws: Vec<Value> = t
        .aws
        .users
        .values()
        .filter(|u| u.user_name.to_lowercase().starts_with(&prefix))
        .map(|u| json!({"id": u.id, "userName": u.user_name, "enabled": u.enabled}))
        .collect();
    ok(json!({"okta": okta, "entra": entra, "aws": aws}))
}

async fn get_faults(State(s): S) -> Response {
    ok(serde_json::to_value(s.faults()).unwrap_or(Value::Null))
}

/// Replaces the faults; the body is the faults file as TOML or the same shape as JSON.
async fn put_faults(State(s): S, body: String) -> Response {
    let parsed = if body.trim_start().starts_with('{') {
        serde_json::from_str::<Faults>(&body).map_err(|e| e.to_string())
    } else {
        Faults::parse(&body, "faults")
    };
    match parsed {
        Ok(f) => {
            s.set_faults(f);
            ok(json!({"ok": true}))
        }
        Err(e) => bad(e),
    }
}

/// Merges the given keys (TOML) into the current faults; keys not named keep their value.
async fn patch_faults(State(s): S, body: String) -> Response {
    match s.faults().merged(&body) {
        Ok(f) => {
            s.set_faults(f);
            ok(json!({"ok": true}))
        }
        Err(e) => bad(e),
    }
}

async fn clock(State(s): S) -> Response {
    ok(json!({"now": super::state::ms(s.now()), "speed": s.clock.speed()}))
}

/// `{"by": "1d"}` jumps tenant time forward.
async fn advance(State(s): S, body: String) -> Response {
    let by =
        serde_json::from_str::<Value>(&body).ok().and_then(|v| v.get("by").and_then(Value::as_str).map(str::to_string));
    match by.as_deref().map(crate::duration::parse) {
        Some(Ok(d)) => {
            s.clock.advance(d);
            ok(json!({"now": super::state::ms(s.now())}))
        }
        Some(Err(e)) => bad(e),
        None => bad("body must be {\"by\": \"<duration>\"}".into()),
    }
}
