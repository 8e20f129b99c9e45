//! How the Okta client authenticates: an SSWS API token, or an OAuth 2.0 service
//! app with a `private_key_jwt` client assertion and DPoP (the `use_dpop_nonce`
//! round trip on the token endpoint, a fresh proof bound to the access token on
//! every call). Tokens are cached until a minute before they expire.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use crate::api::{self, ApiError, Call};
use crate::http::{HttpClient, System};
use crate::jwt::{Alg, SigningKey, b64url};
use crate::secret::Secret;

pub enum Auth {
    Ssws(Secret),
    OAuth(Box<ServiceApp>),
}

/// A cached access token.
struct Token {
    value: Secret,
    dpop: bool,
    refresh_after: Instant,
}

pub struct ServiceApp {
    client_id: String,
    key: SigningKey,
    key_id: Option<String>,
    scopes: Vec<String>,
    token_url: String,
    /// The DPoP key: made once per client, never stored.
    dpop_key: SigningKey,
    /// DPoP nonces are per server (RFC 9449): the token endpoint's and the API's.
    token_nonce: Mutex<Option<String>>,
    api_nonce: Mutex<Option<String>>,
    token: tokio::sync::Mutex<Option<Token>>,
    login: HttpClient,
}

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

/// A random `jti`: 128 bits from the system RNG.
fn jti() -> String {
    let mut b = [0u8; 16];
    // The system RNG does not fail on supported platforms; a zeroed jti would only be refused as a replay.
    let _ = aws_lc_rs::rand::fill(&mut b);
    b64url(&b)
}

impl ServiceApp {
    pub fn new(
        client_id: &str,
        private_key: &Secret,
        key_id: Option<String>,
        scopes: Vec<String>,
        token_url: String,
        login: HttpClient,
    ) -> Result<ServiceApp, ApiError> {
        let setup = |detail: String| ApiError::Setup { system: System::Okta, detail };
        let key =
            SigningKey::from_pem(private_key.expose()).map_err(|e| setup(format!("[okta.oauth] private_key: {e}")))?;
        let dpop_key = SigningKey::generate_ec().map_err(|e| setup(format!("cannot make a DPoP key: {e}")))?;
        Ok(ServiceApp {
            client_id: client_id.into(),
            key,
            key_id,
            scopes,
            token_url,
            dpop_key,
            token_nonce: Mutex::new(None),
            api_nonce: Mutex::new(None),
            token: tokio::sync::Mutex::new(None),
            login,
        })
    }

    fn assertion(&self) -> Result<String, ApiError> {
        let mut header = Map::new();
        if let Some(kid) = &self.key_id {
            header.insert("kid".into(), json!(kid));
        }
        let claims = json!({"iss": self.client_id, "sub": self.client_id, "aud": self.token_url, "iat": now(), "exp": now() + 300, "jti": jti()});
        self.key.sign(self.key.default_alg(), header, &claims).map_err(|e| ApiError::Setup {
            system: System::Okta,
            detail: format!("cannot sign the client assertion: {e}"),
        })
    }

    /// A DPoP proof for one request: `htu` is the URL without query or fragment. With
    /// an access token (`ath`) it is for the API, else for the token endpoint; each
    /// carries its own server's nonce.
    pub fn proof(&self, method: &str, url: &reqwest::Url, access: Option<&str>) -> Result<String, ApiError> {
        let mut htu = url.clone();
        htu.set_query(None);
        htu.set_fragment(None);
        let mut header = Map::new();
        header.insert("typ".into(), json!("dpop+jwt"));
        header.insert("jwk".into(), self.dpop_key.public_jwk());
        let mut claims = json!({"htm": method, "htu": htu.as_str(), "iat": now(), "jti": jti()});
        let slot = if access.is_some() { &self.api_nonce } else { &self.token_nonce };
        if let Some(n) = slot.lock().unwrap_or_else(|e| e.into_inner()).clone() {
            claims["nonce"] = json!(n);
        }
        if let Some(a) = access {
            claims["ath"] = json!(b64url(&Sha256::digest(a.as_bytes())));
        }
        self.dpop_key
            .sign(Alg::Es256, header, &claims)
            .map_err(|e| ApiError::Setup { system: System::Okta, detail: format!("cannot sign a DPoP proof: {e}") })
    }

    /// Remembers the nonce the API (resource server) asked for.
    pub fn set_api_nonce(&self, nonce: &str) {
        *self.api_nonce.lock().unwrap_or_else(|e| e.into_inner()) = Some(nonce.to_string());
    }

    fn set_token_nonce(&self, nonce: &str) {
        *self.token_nonce.lock().unwrap_or_else(|e| e.into_inner()) = Some(nonce.to_string());
    }

    /// Forgets the cached token (after a 401 on a call that used it).
    pub async fn invalidate(&self) {
        *self.token.lock().await = None;
    }

    /// The access token (and whether it is DPoP-bound), fetching one when none is cached.
    /// Token responses are never kept as raw evidence: their body is the token.
    pub async fn access(&self) -> Result<(Secret, bool), ApiError> {
        let mut cached = self.token.lock().await;
        if cached.as_ref().is_none_or(|t| Instant::now() >= t.refresh_after) {
            *cached = Some(self.fetch().await?);
        }
        match cached.as_ref() {
            Some(t) => Ok((Secret::new(t.value.expose().to_string()), t.dpop)),
            None => Err(ApiError::Setup { system: System::Okta, detail: "no access token".into() }),
        }
    }

    /// `POST /oauth2/v1/token`, retried once with the nonce when Okta answers `use_dpop_nonce`.
    async fn fetch(&self) -> Result<Token, ApiError> {
        let url = reqwest::Url::parse(&self.token_url)
            .map_err(|e| ApiError::Setup { system: System::Okta, detail: format!("token URL: {e}") })?;
        let call = Call { system: System::Login, endpoint: "/oauth2/v1/token", method: "POST", raw: None };
        let scope = self.scopes.join(" ");
        for round in 0..2 {
            // Signing is checked once here; every attempt below gets a fresh assertion and
            // proof, since Okta refuses a `jti` it has seen (a 429 retry would repeat it).
            self.assertion()?;
            self.proof("POST", &url, None)?;
            // Asking for a token creates nothing: safe to retry.
            let resp = self
                .login
                .send("/oauth2/v1/token", true, |c| {
                    let assertion = self.assertion().unwrap_or_default();
                    let proof = self.proof("POST", &url, None).unwrap_or_default();
                    let form = [
                        ("grant_type", "client_credentials"),
                        ("scope", scope.as_str()),
                        ("client_assertion_type", JWT_BEARER),
                        ("client_assertion", assertion.as_str()),
                    ];
                    c.post(url.clone()).header("DPoP", proof).header("accept", "application/json").form(&form)
                })
                .await?;
            let (status, headers, body) = api::read(&call, resp).await?;
            if (200..300).contains(&status) {
                let v = api::json(&call, &body)?;
                let access = v["access_token"].as_str().ok_or_else(|| ApiError::Malformed {
                    system: System::Login,
                    endpoint: "POST /oauth2/v1/token".into(),
                    detail: "no access_token".into(),
                })?;
                let lifetime = v["expires_in"].as_u64().unwrap_or(3600);
                return Ok(Token {
                    value: Secret::new(access.to_string()),
                    dpop: v["token_type"].as_str().is_some_and(|t| t.eq_ignore_ascii_case("DPoP")),
                    refresh_after: Instant::now() + Duration::from_secs(lifetime.saturating_sub(60)),
                });
            }
            let asked_nonce = serde_json::from_str::<Value>(&body)
                .ok()
                .and_then(|v| v["error"].as_str().map(str::to_string))
                .as_deref()
                == Some("use_dpop_nonce");
            match headers.get("dpop-nonce").and_then(|v| v.to_str().ok()) {
                Some(nonce) if asked_nonce && round == 0 => self.set_token_nonce(nonce),
                _ => return Err(api::vendor_error(&call, status, &headers, &body)),
            }
        }
        Err(ApiError::Setup {
            system: System::Login,
            detail: "the Okta token endpoint asked for a new DPoP nonce twice".into(),
        })
    }
}
