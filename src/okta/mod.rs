//! The Okta management API client: users, groups, apps and the System Log, with
//! SSWS or OAuth (private_key_jwt + DPoP) auth, paging by `Link` headers, and
//! errors typed by Okta's `errorCode`. Every response can be kept as raw evidence.

pub mod auth;
pub mod link;
pub mod logs;
pub mod types;

use std::sync::Arc;

use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Map, Value, json};
use url::Url;

use crate::api::{self, ApiError, Call};
use crate::config::{OktaAuth, OktaConfig};
use crate::http::{Footprint, HttpClient, Policy, System};
use crate::raw::RawLog;
use crate::secret::Secret;
use auth::{Auth, ServiceApp};
pub use logs::{LogPager, LogQuery};
use types::{App, AppGroup, AppUser, Group, PushMapping, User};

pub struct OktaClient {
    base: Url,
    http: HttpClient,
    auth: Auth,
    raw: Option<Arc<RawLog>>,
}

/// Okta's error codes jmlproof acts on.
pub mod codes {
    pub const NOT_FOUND: &str = "E0000007";
    pub const INVALID_TOKEN: &str = "E0000011";
    pub const RATE_LIMITED: &str = "E0000047";
    pub const VALIDATION: &str = "E0000001";
    pub const WRONG_STATUS: &str = "E0000038";
    pub const FORBIDDEN: &str = "E0000006";
}

fn percent(s: &str) -> String {
    percent_encoding::utf8_percent_encode(s, percent_encoding::NON_ALPHANUMERIC).to_string()
}

fn setup(detail: String) -> ApiError {
    ApiError::Setup { system: System::Okta, detail }
}

impl OktaClient {
    pub fn new(org_url: &Url, auth: Auth, http: HttpClient, raw: Option<Arc<RawLog>>) -> Result<OktaClient, ApiError> {
        crate::http::check_parsed(org_url).map_err(|e| setup(format!("org_url: {e}")))?;
        Ok(OktaClient { base: org_url.clone(), http, auth, raw })
    }

    /// Builds the client from `[okta]`, resolving the secret references now.
    pub fn from_config(
        cfg: &OktaConfig,
        footprint: Arc<Footprint>,
        raw: Option<Arc<RawLog>>,
    ) -> Result<OktaClient, ApiError> {
        let http = HttpClient::new(System::Okta, Policy::default(), footprint.clone())?;
        let auth = match &cfg.auth {
            OktaAuth::Token(r) => Auth::Ssws(r.resolve().map_err(|e| setup(format!("[okta] token: {e}")))?),
            OktaAuth::OAuth(o) => {
                let key = o.private_key.resolve().map_err(|e| setup(format!("[okta.oauth] private_key: {e}")))?;
                let login = HttpClient::new(System::Login, Policy::default(), footprint)?;
                let token_url = cfg.org_url.join("/oauth2/v1/token").map_err(|e| setup(format!("org_url: {e}")))?;
                Auth::OAuth(Box::new(ServiceApp::new(
                    &o.client_id,
                    &key,
                    o.key_id.clone(),
                    o.scopes.clone(),
                    token_url.to_string(),
                    login,
                )?))
            }
        };
        OktaClient::new(&cfg.org_url, auth, http, raw)
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn url(&self, path: &str) -> Result<Url, ApiError> {
        self.base.join(path).map_err(|e| setup(format!("bad path {path}: {e}")))
    }

    /// One call: auth header (and DPoP proof, fresh per attempt), the shared retry
    /// policy, raw capture. A 401 with an OAuth token is retried once after a new
    /// token (or the DPoP nonce the server asked for).
    async fn call(
        &self,
        method: Method,
        url: Url,
        label: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<(u16, HeaderMap, String), ApiError> {
        let raw = self.raw.as_deref();
        let call = Call { system: System::Okta, endpoint: label, method: method.as_str(), raw };
        for round in 0..2 {
            let (authorization, app) = match &self.auth {
                Auth::Ssws(t) => (Secret::new(format!("SSWS {}", t.expose())), None),
                Auth::OAuth(app) => {
                    let (token, dpop) = app.access().await?;
                    let scheme = if dpop { "DPoP" } else { "Bearer" };
                    (Secret::new(format!("{scheme} {}", token.expose())), dpop.then_some((app.as_ref(), token)))
                }
            };
            // A proof that cannot be signed is an error here, not a request sent without one.
            if let Some((app, token)) = &app {
                app.proof(method.as_str(), &url, Some(token.expose()))?;
            }
            let resp = self
                .http
                .send(label, idempotent, |c| {
                    let mut b = c
                        .request(method.clone(), url.clone())
                        .header("accept", "application/json")
                        .header("authorization", authorization.expose());
                    // A fresh proof per attempt: a retried request must not repeat a jti.
                    if let Some((app, token)) = &app
                        && let Ok(proof) = app.proof(method.as_str(), &url, Some(token.expose()))
                    {
                        b = b.header("DPoP", proof);
                    }
                    if let Some(body) = body {
                        b = b.json(body);
                    }
                    b
                })
                .await?;
            let (status, headers, text) = api::read(&call, resp).await?;
            if status == 401
                && round == 0
                && let Auth::OAuth(app) = &self.auth
            {
                let challenge = headers.get("www-authenticate").and_then(|v| v.to_str().ok()).unwrap_or("");
                match headers.get("dpop-nonce").and_then(|v| v.to_str().ok()) {
                    Some(nonce) if challenge.contains("use_dpop_nonce") => app.set_api_nonce(nonce),
                    _ => app.invalidate().await,
                }
                continue;
            }
            return Ok((status, headers, text));
        }
        Err(setup("the call was refused twice".into()))
    }

    /// A call whose 2xx body is JSON; other statuses become `ApiError::Vendor`.
    async fn json(
        &self,
        method: Method,
        url: Url,
        label: &str,
        body: Option<&Value>,
        idempotent: bool,
    ) -> Result<(Value, HeaderMap), ApiError> {
        let m = method.as_str().to_string();
        let call = Call { system: System::Okta, endpoint: label, method: &m, raw: None };
        api::json_call(&call, idempotent, || self.call(method.clone(), url.clone(), label, body, idempotent)).await
    }

    fn parse<T: serde::de::DeserializeOwned>(label: &str, method: &str, v: Value) -> Result<T, ApiError> {
        serde_json::from_value(v).map_err(|e| ApiError::Malformed {
            system: System::Okta,
            endpoint: format!("{method} {label}"),
            detail: e.to_string(),
        })
    }

    /// One page of a list and the URL of the next, exactly as Okta gave it.
    async fn page(&self, url: Url, label: &str) -> Result<(Vec<Value>, Option<Url>), ApiError> {
        let (v, headers) = self.json(Method::GET, url, label, None, true).await?;
        let next = link::find(headers.get_all("link").iter().filter_map(|h| h.to_str().ok()), "next");
        let next = match next {
            Some(n) => Some(self.same_origin(
                label,
                Url::parse(&n).map_err(|e| ApiError::Malformed {
                    system: System::Okta,
                    endpoint: format!("GET {label}"),
                    detail: format!("next link: {e}"),
                })?,
            )?),
            None => None,
        };
        match v {
            Value::Array(items) => Ok((items, next)),
            _ => Err(ApiError::Malformed {
                system: System::Okta,
                endpoint: format!("GET {label}"),
                detail: "expected a JSON array".into(),
            }),
        }
    }

    /// A paging link must stay on the org: the token goes wherever it points.
    fn same_origin(&self, label: &str, next: Url) -> Result<Url, ApiError> {
        if next.origin() == self.base.origin() {
            Ok(next)
        } else {
            Err(ApiError::Malformed {
                system: System::Okta,
                endpoint: format!("GET {label}"),
                detail: format!("next link leaves the org: {}", next.origin().ascii_serialization()),
            })
        }
    }

    /// Every item of a paged list, following `next` to the end.
    async fn all<T: serde::de::DeserializeOwned>(&self, url: Url, label: &str) -> Result<Vec<T>, ApiError> {
        self.all_where(url, label, |_| true).await
    }

    /// Every page, keeping the items `keep` accepts (it may also trim them) as each
    /// page arrives, so a large tenant's listing is never held whole.
    async fn all_where<T: serde::de::DeserializeOwned>(
        &self,
        url: Url,
        label: &str,
        mut keep: impl FnMut(&mut T) -> bool,
    ) -> Result<Vec<T>, ApiError> {
        let mut out = Vec::new();
        let mut seen = crate::api::Seen::default();
        let mut next = Some(url);
        while let Some(u) = next {
            let (items, n) = self.page(u.clone(), label).await?;
            for v in items {
                let mut item = Self::parse(label, "GET", v)?;
                if keep(&mut item) {
                    out.push(item);
                }
            }
            next = seen.follow(System::Okta, &format!("GET {label}"), &u, n)?;
        }
        Ok(out)
    }

    fn url_with(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, ApiError> {
        let mut url = self.url(path)?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// `GET` that treats Okta's E0000007 as absence.
    async fn get_opt<T: serde::de::DeserializeOwned>(&self, url: Url, label: &str) -> Result<Option<T>, ApiError> {
        match self.json(Method::GET, url, label, None, true).await {
            Ok((v, _)) => Ok(Some(Self::parse(label, "GET", v)?)),
            Err(e) if e.code() == Some(codes::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    // --- users -------------------------------------------------------------

    /// Creates a user with a password (so no activation email goes out), active when `activate`.
    pub async fn create_user(
        &self,
        profile: &Map<String, Value>,
        password: &Secret,
        activate: bool,
        group_ids: &[String],
    ) -> Result<User, ApiError> {
        let url = self.url_with("/api/v1/users", &[("activate", if activate { "true" } else { "false" })])?;
        let mut body = json!({"profile": profile, "credentials": {"password": {"value": password.expose()}}});
        if !group_ids.is_empty() {
            body["groupIds"] = json!(group_ids);
        }
        // Not idempotent: a lost answer may hide a created user, which the caller's journal resolves.
        let (v, _) = self.json(Method::POST, url, "/api/v1/users", Some(&body), false).await?;
        Self::parse("/api/v1/users", "POST", v)
    }

    /// By id, login or short name (the login is URL-encoded). `None` when Okta says E0000007.
    pub async fn get_user(&self, id_or_login: &str) -> Result<Option<User>, ApiError> {
        self.get_opt(self.url(&format!("/api/v1/users/{}", percent(id_or_login)))?, "/api/v1/users/{id}").await
    }

    /// Partial update (POST): only the given profile attributes change.
    pub async fn update_profile(&self, id: &str, changes: &Map<String, Value>) -> Result<User, ApiError> {
        let url = self.url(&format!("/api/v1/users/{}", percent(id)))?;
        let (v, _) =
            self.json(Method::POST, url, "/api/v1/users/{id}", Some(&json!({"profile": changes})), true).await?;
        Self::parse("/api/v1/users/{id}", "POST", v)
    }

    /// Deactivates (DEPROVISIONED). Current orgs answer 200 `{}`, older ones 204: both are
    /// success. Not retried on a lost answer: a caller resolves that by reading the user back.
    pub async fn deactivate(&self, id: &str) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/v1/users/{}/lifecycle/deactivate", percent(id)))?;
        self.json(Method::POST, url, "/api/v1/users/{id}/lifecycle/deactivate", None, false).await.map(|_| ())
    }

    /// DELETE: on a user not yet DEPROVISIONED this deactivates; the second call deletes.
    /// Never retried: a retry after a lost answer would turn a deactivation into a delete.
    pub async fn delete_user(&self, id: &str) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/v1/users/{}", percent(id)))?;
        self.json(Method::DELETE, url, "/api/v1/users/{id}", None, false).await.map(|_| ())
    }

    /// `search=` (includes DEPROVISIONED users), paged to the end.
    pub async fn search_users(&self, expression: &str) -> Result<Vec<User>, ApiError> {
        self.search_users_where(expression, |_| true).await
    }

    /// `search_users`, keeping (and perhaps trimming) users as pages arrive.
    pub async fn search_users_where(
        &self,
        expression: &str,
        keep: impl FnMut(&mut User) -> bool,
    ) -> Result<Vec<User>, ApiError> {
        let url = self.url_with("/api/v1/users", &[("search", expression), ("limit", "200")])?;
        self.all_where(url, "/api/v1/users", keep).await
    }

    pub async fn find_by_login(&self, login: &str) -> Result<Option<User>, ApiError> {
        Ok(self.search_users(&format!("profile.login eq {}", quote(login))).await?.into_iter().next())
    }

    /// employeeNumber is not unique in Okta: every match is returned.
    pub async fn find_by_employee_number(&self, number: &str) -> Result<Vec<User>, ApiError> {
        self.search_users(&format!("profile.employeeNumber eq {}", quote(number))).await
    }

    // --- groups and apps ---------------------------------------------------

    /// The group with exactly this name. `search=` (paged, exact) rather than `q=`, which
    /// is a prefix match capped at 300 results; two groups of one name is an error.
    pub async fn find_group(&self, name: &str) -> Result<Option<Group>, ApiError> {
        let search = format!("profile.name eq {}", quote(name));
        let groups: Vec<Group> = self
            .all(self.url_with("/api/v1/groups", &[("search", &search), ("limit", "200")])?, "/api/v1/groups")
            .await?;
        let mut exact: Vec<Group> = groups.into_iter().filter(|g| g.profile.name == name).collect();
        match exact.len() {
            0 | 1 => Ok(exact.pop()),
            n => Err(ApiError::Malformed {
                system: System::Okta,
                endpoint: "GET /api/v1/groups".into(),
                detail: format!("{n} groups are named {name:?}; name one unambiguously"),
            }),
        }
    }

    pub async fn add_member(&self, group_id: &str, user_id: &str) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/v1/groups/{}/users/{}", percent(group_id), percent(user_id)))?;
        self.json(Method::PUT, url, "/api/v1/groups/{id}/users/{userId}", None, true).await.map(|_| ())
    }

    pub async fn remove_member(&self, group_id: &str, user_id: &str) -> Result<(), ApiError> {
        let url = self.url(&format!("/api/v1/groups/{}/users/{}", percent(group_id), percent(user_id)))?;
        self.json(Method::DELETE, url, "/api/v1/groups/{id}/users/{userId}", None, true).await.map(|_| ())
    }

    pub async fn group_members(&self, group_id: &str) -> Result<Vec<User>, ApiError> {
        self.all(
            self.url_with(&format!("/api/v1/groups/{}/users", percent(group_id)), &[("limit", "200")])?,
            "/api/v1/groups/{id}/users",
        )
        .await
    }

    /// Apps the group is assigned to.
    pub async fn group_apps(&self, group_id: &str) -> Result<Vec<App>, ApiError> {
        self.all(self.url(&format!("/api/v1/groups/{}/apps", percent(group_id)))?, "/api/v1/groups/{id}/apps").await
    }

    /// Apps the user is assigned to, directly or through a group.
    pub async fn user_apps(&self, user_id: &str) -> Result<Vec<App>, ApiError> {
        let filter = format!("user.id eq {}", quote(user_id));
        self.all(self.url_with("/api/v1/apps", &[("filter", &filter)])?, "/api/v1/apps").await
    }

    /// Every app user of an app: what Okta recorded of each push (externalId, userName, syncState).
    pub async fn app_users(&self, app_id: &str) -> Result<Vec<AppUser>, ApiError> {
        self.app_users_where(app_id, |_| true).await
    }

    /// `app_users`, keeping (and perhaps trimming) app users as pages arrive.
    pub async fn app_users_where(
        &self,
        app_id: &str,
        keep: impl FnMut(&mut AppUser) -> bool,
    ) -> Result<Vec<AppUser>, ApiError> {
        let url = self.url_with(&format!("/api/v1/apps/{}/users", percent(app_id)), &[("limit", "500")])?;
        self.all_where(url, "/api/v1/apps/{id}/users", keep).await
    }

    /// The user's assignment to an app, or `None` when it has none. Okta answers E0000007
    /// for an unknown app too, so absence is only trusted once the app is known to exist.
    pub async fn app_user(&self, app_id: &str, user_id: &str) -> Result<Option<AppUser>, ApiError> {
        let url = self.url(&format!("/api/v1/apps/{}/users/{}", percent(app_id), percent(user_id)))?;
        match self.get_opt(url, "/api/v1/apps/{id}/users/{userId}").await? {
            Some(au) => Ok(Some(au)),
            None => {
                self.json(
                    Method::GET,
                    self.url(&format!("/api/v1/apps/{}", percent(app_id)))?,
                    "/api/v1/apps/{id}",
                    None,
                    true,
                )
                .await?;
                Ok(None)
            }
        }
    }

    pub async fn app_groups(&self, app_id: &str) -> Result<Vec<AppGroup>, ApiError> {
        self.all(self.url(&format!("/api/v1/apps/{}/groups", percent(app_id)))?, "/api/v1/apps/{id}/groups").await
    }

    /// Group-push mappings, where the org exposes the API: `None` when it does not
    /// (the endpoint is recent and absent from some orgs).
    pub async fn push_mappings(&self, app_id: &str) -> Result<Option<Vec<PushMapping>>, ApiError> {
        let url = self.url(&format!("/api/v1/apps/{}/group-push/mappings", percent(app_id)))?;
        match self.all(url, "/api/v1/apps/{id}/group-push/mappings").await {
            Ok(m) => Ok(Some(m)),
            Err(e) if matches!(e.status(), Some(404 | 405)) && e.code() != Some(codes::NOT_FOUND) => Ok(None),
            Err(e) => Err(e),
        }
    }

    // --- System Log ----------------------------------------------------------

    pub fn logs(&self, query: &LogQuery) -> Result<LogPager<'_>, ApiError> {
        LogPager::new(self, query)
    }
}

/// A SCIM filter string literal.
/// A SCIM filter string literal: quotes and backslashes escaped.
pub fn quote(s: &str) -> String {
    format!("\"{}\"", s.replace('\\', "\\\\").replace('"', "\\\""))
}
