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
    /// The connection is dropped: no status, no body.
    Reset,
    /// The call is served, then its body is cut short.
    Malformed,
}

/// Counts the call, waits the injected latency, and draws the call's fate.
pub async fn pre(shared: &Shared, system: System, endpoint: &str) -> Hit {
    let api = shared.faults().api(system);
    let (hit, slow) = {
        let mut t = shared.tenant();
        *t.calls.entry((system, endpoint.to_string())).or_default() += 1;
        let hit = if t.rng.chance(api.rate_429) {
            Hit::TooMany
        } else if t.rng.chance(api.rate_5xx) {
            Hit::Server([500, 502, 503][t.rng.below(3) as usize])
        } else if t.rng.chance(api.rate_reset) {
            Hit::Reset
        } else if t.rng.chance(api.rate_malformed) {
            Hit::Malformed
        } else {
            Hit::None
        };
        (hit, api.rate_slow > 0.0 && t.rng.chance(api.rate_slow))
    };
    let wait = api.latency.0 + if slow { api.slow.0 } else { std::time::Duration::ZERO };
    if !wait.is_zero() {
        tokio::time::sleep(wait).await;
    }
    hit
}

/// A response that breaks the connection: its body fails before a byte is written,
/// so hyper closes the connection and the client reads no answer at all.
pub fn reset() -> Response {
    let broken = futures_util::stream::once(async {
        Err::<axum::body::Bytes, _>(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "sandbox: reset"))
    });
    Response::new(axum::body::Body::from_stream(broken))
}

/// What the call's faults do to a served response: a body cut short, or an extra
/// field on the page and its items.
pub async fn post(resp: Response, hit: Hit, api: &super::faults::ApiFaults) -> Response {
    if hit != Hit::Malformed && !api.extra_field {
        return resp;
    }
    let (mut parts, body) = resp.into_parts();
    let Ok(bytes) = axum::body::to_bytes(body, usize::MAX).await else { return reset() };
    let bytes = if hit == Hit::Malformed {
        bytes.slice(..bytes.len() / 2)
    } else {
        match serde_json::from_slice::<Value>(&bytes) {
            Ok(mut v) => {
                add_unknown_field(&mut v, 0);
                axum::body::Bytes::from(v.to_string())
            }
            Err(_) => bytes,
        }
    };
    parts.headers.remove("content-length");
    Response::from_parts(parts, axum::body::Body::from(bytes))
}

/// The page and its items get a field, as a vendor's later API version would add one.
/// Deeper objects are left alone: some are unions (AWS `MemberId`), where a second
/// key is not an addition but a different, invalid answer.
fn add_unknown_field(v: &mut Value, depth: usize) {
    match v {
        Value::Object(m) if depth <= 2 => {
            m.values_mut().for_each(|x| add_unknown_field(x, depth + 1));
            m.insert("sandboxUnannounced".into(), serde_json::json!({"addedIn": "a later API version", "n": [1]}));
        }
        Value::Array(items) if depth <= 1 => items.iter_mut().for_each(|x| add_unknown_field(x, depth + 1)),
        _ => {}
    }
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
