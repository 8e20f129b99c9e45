//! Entra client credentials on the v2.0 token endpoint: a client secret, or a
//! certificate client assertion (PS256 with `x5t#S256`, as Microsoft documents
//! now). The token is cached until five minutes before it expires.

use std::time::{Duration, Instant};

use serde_json::{Map, json};
use sha2::{Digest, Sha256};
use url::Url;

use crate::api::{self, ApiError, Call};
use crate::http::{HttpClient, System};
use crate::jwt::{Alg, SigningKey, b64url, pem_blocks};
use crate::secret::Secret;

const SCOPE: &str = "https://graph.microsoft.com/.default";
const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

pub enum Credential {
    Secret(Secret),
    Certificate { key: SigningKey, x5t_s256: String },
}

impl Credential {
    /// Reads a PEM bundle holding the private key and its certificate.
    pub fn certificate(bundle: &Secret) -> Result<Credential, ApiError> {
        let setup = |d: String| ApiError::Setup { system: System::Graph, detail: format!("[entra] certificate: {d}") };
        let key = SigningKey::from_pem(bundle.expose()).map_err(|e| setup(e.to_string()))?;
        let cert = pem_blocks(bundle.expose())
            .into_iter()
            .find(|(l, _)| l == "CERTIFICATE")
            .ok_or_else(|| setup("no CERTIFICATE block in the PEM bundle".into()))?
            .1;
        Ok(Credential::Certificate { key, x5t_s256: b64url(&Sha256::digest(&cert)) })
    }
}

pub struct TokenSource {
    client_id: String,
    token_url: Url,
    credential: Credential,
    http: HttpClient,
    cache: tokio::sync::Mutex<Option<(Secret, Instant)>>,
}

impl TokenSource {
    pub fn new(
        login_url: &Url,
        tenant: &str,
        client_id: &str,
        credential: Credential,
        http: HttpClient,
    ) -> Result<TokenSource, ApiError> {
        let token_url = login_url
            .join(&format!("/{tenant}/oauth2/v2.0/token"))
            .map_err(|e| ApiError::Setup { system: System::Graph, detail: format!("login_url: {e}") })?;
        crate::http::check_parsed(&token_url)
            .map_err(|e| ApiError::Setup { system: System::Graph, detail: format!("login_url: {e}") })?;
        Ok(TokenSource {
            client_id: client_id.into(),
            token_url,
            credential,
            http,
            cache: tokio::sync::Mutex::new(None),
        })
    }

    pub async fn invalidate(&self) {
        *self.cache.lock().await = None;
    }

    /// The access token, fetched when none is cached. Token responses are never kept as
    /// raw evidence: their body is the token.
    pub async fn token(&self) -> Result<Secret, ApiError> {
        let mut cache = self.cache.lock().await;
        if let Some((token, refresh_after)) = cache.as_ref()
            && Instant::now() < *refresh_after
        {
            return Ok(Secret::new(token.expose().to_string()));
        }
        let (token, lifetime) = self.fetch().await?;
        let copy = Secret::new(token.expose().to_string());
        *cache = Some((token, Instant::now() + Duration::from_secs(lifetime.saturating_sub(300))));
        Ok(copy)
    }

    fn assertion(&self, key: &SigningKey, x5t: &str) -> Result<String, ApiError> {
        let now = chrono::Utc::now().timestamp();
        let mut jti = [0u8; 16];
        let _ = aws_lc_rs::rand::fill(&mut jti);
        let mut header = Map::new();
        header.insert("typ".into(), json!("JWT"));
        header.insert("x5t#S256".into(), json!(x5t));
        let claims = json!({"aud": self.token_url.as_str(), "iss": self.client_id, "sub": self.client_id, "jti": b64url(&jti), "nbf": now, "iat": now, "exp": now + 600});
        key.sign(Alg::Ps256, header, &claims).map_err(|e| ApiError::Setup {
            system: System::Graph,
            detail: format!("cannot sign the client assertion: {e}"),
        })
    }

    async fn fetch(&self) -> Result<(Secret, u64), ApiError> {
        let label = "/{tenant}/oauth2/v2.0/token";
        let assertion = match &self.credential {
            Credential::Certificate { key, x5t_s256 } => Some(self.assertion(key, x5t_s256)?),
            Credential::Secret(_) => None,
        };
        let mut form: Vec<(&str, &str)> =
            vec![("client_id", &self.client_id), ("scope", SCOPE), ("grant_type", "client_credentials")];
        match (&self.credential, &assertion) {
            (Credential::Secret(s), _) => form.push(("client_secret", s.expose())),
            (_, Some(a)) => {
                form.push(("client_assertion_type", JWT_BEARER));
                form.push(("client_assertion", a));
            }
            _ => {}
        }
        // A token request creates nothing: safe to retry.
        let resp = self
            .http
            .send(label, true, |c| c.post(self.token_url.clone()).header("accept", "application/json").form(&form))
            .await?;
        let call = Call { system: System::Login, endpoint: label, method: "POST", raw: None };
        let (status, headers, body) = api::read(&call, resp).await?;
        if !(200..300).contains(&status) {
            return Err(api::vendor_error(&call, status, &headers, &body));
        }
        let v = api::json(&call, &body)?;
        let token = v["access_token"].as_str().ok_or_else(|| ApiError::Malformed {
            system: System::Login,
            endpoint: format!("POST {label}"),
            detail: "no access_token".into(),
        })?;
        // v1 endpoints sent expires_in as a string; accept both.
        let lifetime =
            v["expires_in"].as_u64().or_else(|| v["expires_in"].as_str().and_then(|s| s.parse().ok())).unwrap_or(3599);
        Ok((Secret::new(token.to_string()), lifetime))
    }
}
