//! `POST /{tenant}/oauth2/v2.0/token` on the login host: client credentials with a
//! client secret (form field or HTTP Basic). Errors carry AADSTS codes, trace and
//! correlation ids, as Entra's do.

use std::sync::Arc;

use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use base64::Engine;
use serde_json::{Value, json};

use super::GraphApi;
use crate::sandbox::web::{self, first, form_pairs};

const TOKEN_LIFETIME_SECS: i64 = 3599;

fn aadsts(api: &GraphApi, status: StatusCode, error: &str, code: u32, text: &str) -> Response {
    let (trace, corr) = {
        let mut t = api.shared.tenant();
        (t.rng.guid(), t.rng.guid())
    };
    let ts = api.shared.now().format("%Y-%m-%d %H:%M:%SZ").to_string();
    let body = json!({
        "error": error,
        "error_description": format!("AADSTS{code}: {text}\r\nTrace ID: {trace}\r\nCorrelation ID: {corr}\r\nTimestamp: {ts}"),
        "error_codes": [code],
        "timestamp": ts,
        "trace_id": trace,
        "correlation_id": corr,
        "error_uri": format!("{}/error?code={code}", api.shared.urls.login),
    });
    let mut r = web::json(status, &body, "application/json; charset=utf-8");
    web::set(r.headers_mut(), "x-ms-request-id", &trace);
    web::set(r.headers_mut(), "cache-control", "no-store, no-cache");
    r
}

pub async fn token(
    State(api): State<Arc<GraphApi>>,
    Path(tenant): Path<String>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let form = form_pairs(&String::from_utf8_lossy(&body));
    let id = &api.shared.id;
    if tenant != id.tenant_id && tenant != id.domain {
        return aadsts(
            &api,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            90002,
            &format!(
                "Tenant '{tenant}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud."
            ),
        );
    }
    // HTTP Basic (RFC 6749 §2.3.1) carries client_id:client_secret URL-encoded.
    let basic = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .and_then(|b| base64::engine::general_purpose::STANDARD.decode(b).ok())
        .and_then(|b| String::from_utf8(b).ok())
        .and_then(|s| s.split_once(':').map(|(a, b)| (a.to_string(), b.to_string())));
    let client_id = first(&form, "client_id").map(str::to_string).or_else(|| basic.as_ref().map(|b| b.0.clone()));
    let secret = first(&form, "client_secret").map(str::to_string).or_else(|| basic.as_ref().map(|b| b.1.clone()));
    if first(&form, "grant_type") != Some("client_credentials") {
        return aadsts(
            &api,
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            70003,
            "The app requested an unsupported grant type.",
        );
    }
    let Some(client_id) = client_id else {
        return aadsts(
            &api,
            StatusCode::BAD_REQUEST,
            "invalid_request",
            900144,
            "The request body must contain the following parameter: 'client_id'.",
        );
    };
    if client_id != id.client_id {
        return aadsts(
            &api,
            StatusCode::BAD_REQUEST,
            "unauthorized_client",
            700016,
            &format!("Application with identifier '{client_id}' was not found in the directory '{tenant}'."),
        );
    }
    if first(&form, "scope") != Some("https://graph.microsoft.com/.default") {
        return aadsts(
            &api,
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            1002012,
            "The provided value for scope is not valid. Client credential flows must have a scope value with /.default suffixed to the resource identifier (application ID URI).",
        );
    }
    if let Some(assertion) = first(&form, "client_assertion") {
        if first(&form, "client_assertion_type") != Some("urn:ietf:params:oauth:client-assertion-type:jwt-bearer") {
            return aadsts(
                &api,
                StatusCode::BAD_REQUEST,
                "invalid_request",
                50027,
                "Invalid JWT token: client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer.",
            );
        }
        return match check_assertion(&api, &tenant, &client_id, assertion) {
            Ok(()) => issue(&api),
            Err((code, text)) => aadsts(&api, StatusCode::UNAUTHORIZED, "invalid_client", code, &text),
        };
    }
    match secret {
        None => aadsts(
            &api,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000218,
            "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.",
        ),
        Some(s) if s != id.client_secret => aadsts(
            &api,
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            7000215,
            &format!(
                "Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID, for a secret added to app '{client_id}'."
            ),
        ),
        Some(_) => issue(&api),
    }
}

fn issue(api: &GraphApi) -> Response {
    let access = format!("sbx.{}", { api.shared.tenant().rng.request_id() });
    let exp = api.shared.now() + chrono::Duration::seconds(TOKEN_LIFETIME_SECS);
    api.tokens.lock().unwrap_or_else(|e| e.into_inner()).insert(access.clone(), exp);
    let mut r = web::json(
        StatusCode::OK,
        &json!({"token_type": "Bearer", "expires_in": TOKEN_LIFETIME_SECS, "ext_expires_in": TOKEN_LIFETIME_SECS, "access_token": access}),
        "application/json; charset=utf-8",
    );
    web::set(r.headers_mut(), "cache-control", "no-store, no-cache");
    r
}

/// A certificate client assertion: PS256 with `x5t#S256`, or RS256 with the SHA-1
/// `x5t` (older form, still accepted), signed by the registered certificate's key,
/// with aud = this token endpoint, iss = sub = the client id, and a current exp/nbf.
fn check_assertion(api: &GraphApi, tenant: &str, client_id: &str, assertion: &str) -> Result<(), (u32, String)> {
    let keys = api.shared.keys().map_err(|e| (500, e))?;
    let jwt = crate::jwt::decode(assertion).map_err(|e| (50027, format!("Invalid JWT token. {e}")))?;
    let header = |k: &str| jwt.header.get(k).and_then(Value::as_str);
    let claim = |k: &str| jwt.claims.get(k).and_then(Value::as_str);
    let thumb_ok = match (header("alg"), header("x5t#S256"), header("x5t")) {
        (Some("PS256") | Some("RS256"), Some(t), _) => t == keys.x5t_s256(),
        (Some("RS256") | Some("PS256"), None, Some(t)) => t == keys.x5t(),
        _ => return Err((
            700027,
            "Client assertion failed signature validation: the header needs alg PS256 or RS256 and x5t#S256 or x5t."
                .into(),
        )),
    };
    if !thumb_ok {
        return Err((
            700027,
            format!(
                "Client assertion contains an invalid signature. [Reason - The key was not found., Thumbprint of key used by client: '{}']",
                header("x5t#S256").or(header("x5t")).unwrap_or("")
            ),
        ));
    }
    jwt.verify(&keys.graph.public_jwk()).map_err(|_| (700027, "Client assertion contains an invalid signature. [Reason - The provided signature value did not match the expected signature value.]".to_string()))?;
    let aud = format!("{}/{tenant}/oauth2/v2.0/token", api.shared.urls.login);
    if claim("aud") != Some(aud.as_str()) {
        return Err((
            700212,
            format!(
                "No matching federated identity record found for presented assertion audience '{}'.",
                claim("aud").unwrap_or("")
            ),
        ));
    }
    if claim("iss") != Some(client_id) || claim("sub") != Some(client_id) {
        return Err((
            700023,
            "Client assertion audience claim does not match Realm issuer: iss and sub must be the client id.".into(),
        ));
    }
    // Assertion times are checked against the real clock: the client signs with its own.
    let now = chrono::Utc::now().timestamp();
    let exp = jwt.claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
    let nbf = jwt.claims.get("nbf").and_then(Value::as_i64).unwrap_or(0);
    if exp + 300 < now || nbf > now + 300 {
        return Err((700024, "Client assertion is not within its valid time range.".into()));
    }
    Ok(())
}
