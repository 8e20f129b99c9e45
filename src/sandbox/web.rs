//! Pieces every emulated API shares: JSON responses, the HTTP `Date` header from
//! the tenant clock, call counting, and the draw of injected faults.

use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::state::{Shared, System};

/// What the fault switches decided for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Hit {
    None,
    TooMany,
    Server(u16),
}

/// Counts the call, waits the injected latency, and draws the call's fate.
pub async fn pre(shared: &Shared, system: System, endpoint: &str) -> Hit {
    let api = shared.faults().api(system);
    let hit = {
        let mut t = shared.tenant();
        *t.calls.entry((system, endpoint.to_string())).or_default() += 1;
        if t.rng.chance(api.rate_429) {
            Hit::TooMany
        } else if t.rng.chance(api.rate_5xx) {
            Hit::Server([500, 502, 503][t.rng.below(3) as usize])
        } else {
            Hit::None
        }
    };
    if !api.latency.0.is_zero() {
        tokio::time::sleep(api.latency.0).await;
    }
    hit
}

/// `Date` in IMF-fixdate form, from the tenant clock (so clients can measure the offset).
pub fn http_date(t: DateTime<Utc>) -> String {
    t.format("%a, %d %b %Y %H:%M:%S GMT").to_string()
}

pub fn json(status: StatusCode, body: &Value, content_type: &'static str) -> Response {
    let mut r = (status, body.to_string()).into_response();
    r.headers_mut().insert("content-type", HeaderValue::from_static(content_type));
    r
}

pub fn set(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.insert(HeaderName::from_static(name), v);
    }
}

pub fn append(headers: &mut HeaderMap, name: &'static str, value: &str) {
    if let Ok(v) = HeaderValue::from_str(value) {
        headers.append(HeaderName::from_static(name), v);
    }
}

/// Decodes an `application/x-www-form-urlencoded` query or body into pairs.
pub fn form_pairs(s: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(s.as_bytes()).into_owned().collect()
}

pub fn first<'a>(pairs: &'a [(String, String)], key: &str) -> Option<&'a str> {
    pairs.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}
