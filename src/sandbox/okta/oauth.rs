//! Okta's OAuth 2.0 service-app path: `POST /oauth2/v1/token` with the client
//! credentials grant and a `private_key_jwt` client assertion, DPoP with the
//! `use_dpop_nonce` round trip, and the access tokens it issues, which the gate then
//! accepts as `Authorization: DPoP …` (with a fresh proof per request) or `Bearer …`.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode};
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

use super::OktaApi;
use crate::jwt;
use crate::sandbox::web::{self, first, form_pairs};

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// Scopes granted to the sandbox's service app.
const GRANTED: &[&str] = &[
    "okta.users.read",
    "okta.users.manage",
    "okta.groups.read",
    "okta.groups.manage",
    "okta.apps.read",
    "okta.apps.manage",
    "okta.logs.read",
];
/// Access tokens of the org authorization server live one hour.
const TOKEN_SECS: i64 = 3600;
/// Clock skew allowed on `iat` of proofs and `exp` of assertions (real clocks, as the client signs with its own).
const SKEW_SECS: i64 = 300;

#[derive(Default)]
pub struct OAuth {
    nonce: Mutex<String>,
    tokens: Mutex<HashMap<String, Issued>>,
    seen: Mutex<HashSet<String>>,
}

#[derive(Debug, Clone)]
pub struct Issued {
    pub client_id: String,
    pub expires: DateTime<Utc>,
    pub scopes: Vec<String>,
    /// Thumbprint of the DPoP key the token is bound to (`cnf.jkt`), if any.
    pub jkt: Option<String>,
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    web::json(status, &json!({"error": error, "error_description": description}), "application/json")
}

impl OAuth {
    fn fresh(&self, jti: &str) -> bool {
        self.seen.lock().unwrap_or_else(|e| e.into_inner()).insert(jti.to_string())
    }

    fn nonce(&self, api: &OktaApi) -> String {
        let mut n = self.nonce.lock().unwrap_or_else(|e| e.into_inner());
        if n.is_empty() {
            *n = api.shared.tenant().rng.request_id();
        }
        n.clone()
    }

    pub fn token(&self, token: &str) -> Option<Issued> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner()).get(token).cloned()
    }
}

/// Why a DPoP proof was refused.
pub enum ProofError {
    NeedNonce,
    Invalid(String),
}

/// Verifies a DPoP proof for `htm htu` and returns its key's thumbprint.
pub fn verify_proof(
    api: &OktaApi,
    proof: &str,
    htm: &str,
    htu: &str,
    ath: Option<&str>,
    need_nonce: bool,
) -> Result<String, ProofError> {
    let bad = |m: &str| ProofError::Invalid(m.to_string());
    let jwt = jwt::decode(proof).map_err(|e| ProofError::Invalid(format!("The DPoP proof JWT is malformed: {e}")))?;
    if jwt.header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(bad("The DPoP proof JWT typ header must be 'dpop+jwt'."));
    }
    let jwk = jwt.header.get("jwk").cloned().ok_or_else(|| bad("The DPoP proof JWT header has no jwk."))?;
    if jwk.get("d").is_some() {
        return Err(bad("The DPoP proof jwk must be a public key."));
    }
    jwt.verify(&jwk).map_err(|_| bad("The DPoP proof JWT signature is invalid."))?;
    let claim = |k: &str| jwt.claims.get(k).and_then(Value::as_str);
    if claim("htm") != Some(htm) {
        return Err(bad("The DPoP proof htm does not match the request method."));
    }
    if claim("htu") != Some(htu) {
        return Err(bad("The DPoP proof htu does not match the request URL."));
    }
    let iat = jwt.claims.get("iat").and_then(Value::as_i64).ok_or_else(|| bad("The DPoP proof has no iat."))?;
    if (Utc::now().timestamp() - iat).abs() > SKEW_SECS {
        return Err(bad("The DPoP proof iat is outside the allowed window."));
    }
    let jti = claim("jti").ok_or_else(|| bad("The DPoP proof has no jti."))?;
    if let Some(ath) = ath
        && claim("ath") != Some(ath)
    {
        return Err(bad("The DPoP proof ath does not match the access token."));
    }
    if need_nonce && claim("nonce") != Some(api.oauth.nonce(api).as_str()) {
        return Err(ProofError::NeedNonce);
    }
    if !api.oauth.fresh(&format!("dpop:{jti}")) {
        return Err(bad("The DPoP proof jti has been used before."));
    }
    jwt::thumbprint(&jwk).map_err(|e| ProofError::Invalid(e.to_string()))
}

/// `POST /oauth2/v1/token`.
pub async fn token(State(api): State<Arc<OktaApi>>, headers: HeaderMap, body: Bytes) -> Response {
    let form = form_pairs(&String::from_utf8_lossy(&body));
    let id = &api.shared.id;
    let token_url = format!("{}/oauth2/v1/token", api.shared.urls.okta);
    if first(&form, "grant_type") != Some("client_credentials") {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "unsupported_grant_type",
            "The authorization grant type is not supported by the authorization server.",
        );
    }
    let (Some(JWT_BEARER), Some(assertion)) = (first(&form, "client_assertion_type"), first(&form, "client_assertion"))
    else {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed. Either the client or the client credentials are invalid.",
        );
    };
    let keys = match api.shared.keys() {
        Ok(k) => k,
        Err(e) => return oauth_error(StatusCode::INTERNAL_SERVER_ERROR, "server_error", &e),
    };
    let invalid = |m: &str| oauth_error(StatusCode::UNAUTHORIZED, "invalid_client", m);
    let Ok(jwt) = jwt::decode(assertion) else {
        return invalid("The client_assertion is not a valid JWT.");
    };
    let claim = |k: &str| jwt.claims.get(k).and_then(Value::as_str);
    if claim("iss") != Some(id.okta_oauth_client_id.as_str()) || claim("sub") != claim("iss") {
        return invalid("The client_assertion iss and sub must both be the client_id.");
    }
    if claim("aud") != Some(token_url.as_str()) {
        return invalid("The audience claim for client_assertion must be the endpoint invoked for the request.");
    }
    if let Some(kid) = jwt.header.get("kid").and_then(Value::as_str)
        && kid != keys.okta_key_id
    {
        return invalid("The client_assertion kid does not match a registered key.");
    }
    if jwt.verify(&keys.okta_app.public_jwk()).is_err() {
        return invalid("The client_assertion signature is invalid.");
    }
    let now_real = Utc::now().timestamp();
    match jwt.claims.get("exp").and_then(Value::as_i64) {
        Some(exp) if exp + SKEW_SECS >= now_real && exp <= now_real + 3600 + SKEW_SECS => {}
        _ => {
            return invalid("The client_assertion token is expired, or its exp is more than one hour away.");
        }
    }
    if let Some(jti) = claim("jti")
        && !api.oauth.fresh(&format!("assertion:{jti}"))
    {
        return invalid("The client_assertion token has already been used.");
    }
    // Scopes: each must be granted to the app.
    let requested: Vec<String> = first(&form, "scope").unwrap_or("").split_whitespace().map(str::to_string).collect();
    if requested.is_empty() {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            "The authorization server resource does not have any configured default scopes, 'scope' must be provided.",
        );
    }
    let denied: Vec<&String> = requested.iter().filter(|s| !GRANTED.contains(&s.as_str())).collect();
    if !denied.is_empty() {
        let list = denied.iter().map(|s| format!("'{s}'")).collect::<Vec<_>>().join(", ");
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_scope",
            &format!("The following scopes are not allowed: [{list}]"),
        );
    }
    // DPoP: required by default; the first proof without the server's nonce is answered
    // with `use_dpop_nonce` and a DPoP-Nonce header to retry with.
    let require = api.shared.faults().okta.dpop;
    let jkt = match headers.get("dpop").and_then(|v| v.to_str().ok()) {
        None if require => {
            return oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof", "The DPoP proof JWT header is missing.");
        }
        None => None,
        Some(proof) => match verify_proof(&api, proof, "POST", &token_url, None, true) {
            Ok(jkt) => Some(jkt),
            Err(ProofError::NeedNonce) => {
                let mut r = oauth_error(
                    StatusCode::BAD_REQUEST,
                    "use_dpop_nonce",
                    "Authorization server requires nonce in DPoP proof.",
                );
                web::set(r.headers_mut(), "dpop-nonce", &api.oauth.nonce(&api));
                return r;
            }
            Err(ProofError::Invalid(m)) => {
                return oauth_error(StatusCode::BAD_REQUEST, "invalid_dpop_proof", &m);
            }
        },
    };
    let access = {
        let mut t = api.shared.tenant();
        format!("sbx.{}{}", t.rng.request_id(), t.rng.request_id())
    };
    let issued = Issued {
        client_id: id.okta_oauth_client_id.clone(),
        expires: api.shared.now() + chrono::Duration::seconds(TOKEN_SECS),
        scopes: requested.clone(),
        jkt: jkt.clone(),
    };
    api.oauth.tokens.lock().unwrap_or_else(|e| e.into_inner()).insert(access.clone(), issued);
    let token_type = if jkt.is_some() { "DPoP" } else { "Bearer" };
    web::json(
        StatusCode::OK,
        &json!({"token_type": token_type, "expires_in": TOKEN_SECS, "access_token": access, "scope": requested.join(" ")}),
        "application/json",
    )
}

/// The scope an API call needs: `okta.<resource>.read` for reads (manage also
/// allows reads), `okta.<resource>.manage` for writes.
pub fn needed_scope(method: &Method, path: &str) -> (&'static str, Option<&'static str>) {
    let resource = if path.starts_with("/api/v1/logs") {
        return ("okta.logs.read", None);
    } else if path.starts_with("/api/v1/users") {
        "users"
    } else if path.starts_with("/api/v1/groups") {
        "groups"
    } else {
        "apps"
    };
    let read = *method == Method::GET || *method == Method::HEAD;
    match (resource, read) {
        ("users", true) => ("okta.users.read", Some("okta.users.manage")),
        ("users", false) => ("okta.users.manage", None),
        ("groups", true) => ("okta.groups.read", Some("okta.groups.manage")),
        ("groups", false) => ("okta.groups.manage", None),
        (_, true) => ("okta.apps.read", Some("okta.apps.manage")),
        (_, false) => ("okta.apps.manage", None),
    }
}

/// `ath`: base64url SHA-256 of the access token.
pub fn ath(token: &str) -> String {
    jwt::b64url(&Sha256::digest(token.as_bytes()))
}
