//! The Microsoft Graph client: users (with `$select`, advanced queries, paging by
//! `@odata.nextLink` followed whole, and `$batch` lookups), deleted items, group
//! membership and directory audits (paced to the reports limit). Errors carry
//! Graph's `error.code` and request id; AADSTS codes for token failures.

mod pacer;
pub mod token;
pub mod types;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, SecondsFormat, Timelike, Utc};
use reqwest::Method;
use reqwest::header::HeaderMap;
use serde_json::{Value, json};
use url::Url;

use crate::api::{self, ApiError, Call};
use crate::config::{EntraConfig, EntraCredential};
use crate::http::{Footprint, HttpClient, Policy, System};
use crate::raw::RawLog;
pub use pacer::Pacer;
use token::{Credential, TokenSource};
use types::{DirectoryAudit, GraphGroup, GraphUser, USER_SELECT};

pub struct GraphClient {
    base: Url,
    http: HttpClient,
    token: TokenSource,
    raw: Option<Arc<RawLog>>,
    audits: Pacer,
}

/// A directory-audit query: one call covers many users (the endpoint's limit is low).
#[derive(Debug, Clone, Default)]
pub struct AuditQuery {
    pub since: Option<DateTime<Utc>>,
    pub until: Option<DateTime<Utc>>,
    pub activity: Option<String>,
    pub target_id: Option<String>,
}

/// An OData string literal: single quotes, a quote inside doubled.
pub fn literal(s: &str) -> String {
    format!("'{}'", s.replace('\'', "''"))
}

impl AuditQuery {
    pub fn filter(&self) -> Option<String> {
        let t = |d: &DateTime<Utc>| d.to_rfc3339_opts(SecondsFormat::Secs, true);
        let mut parts = Vec::new();
        if let Some(s) = &self.since {
            parts.push(format!("activityDateTime ge {}", t(s)));
        }
        if let Some(u) = &self.until {
            // Whole seconds in the filter: round the upper bound up, never cut events off.
            let up = if u.timestamp_subsec_nanos() > 0 { *u + chrono::Duration::seconds(1) } else { *u };
            parts.push(format!("activityDateTime le {}", t(&up.with_nanosecond(0).unwrap_or(up))));
        }
        if let Some(a) = &self.activity {
            parts.push(format!("activityDisplayName eq {}", literal(a)));
        }
        if let Some(id) = &self.target_id {
            parts.push(format!("targetResources/any(t:t/id eq {})", literal(id)));
        }
        (!parts.is_empty()).then(|| parts.join(" and "))
    }
}

/// A page's `@odata.nextLink`, which must stay on Graph (`base`'s origin): the token
/// goes wherever it points. Public for the fuzz tests.
pub fn next_link_of(base: &Url, label: &str, page: &Value) -> Result<Option<Url>, ApiError> {
    let Some(n) = page["@odata.nextLink"].as_str() else { return Ok(None) };
    let url = Url::parse(n).map_err(|e| malformed(label, format!("@odata.nextLink: {e}")))?;
    if url.origin() != base.origin() {
        return Err(malformed(label, format!("@odata.nextLink leaves Graph: {}", url.origin().ascii_serialization())));
    }
    Ok(Some(url))
}

fn setup(detail: String) -> ApiError {
    ApiError::Setup { system: System::Graph, detail }
}

fn malformed(label: &str, detail: String) -> ApiError {
    ApiError::Malformed { system: System::Graph, endpoint: format!("GET {label}"), detail }
}

impl GraphClient {
    pub fn new(
        graph_url: &Url,
        token: TokenSource,
        http: HttpClient,
        raw: Option<Arc<RawLog>>,
    ) -> Result<GraphClient, ApiError> {
        crate::http::check_parsed(graph_url).map_err(|e| setup(format!("graph_url: {e}")))?;
        let base = graph_url.join("/v1.0/").map_err(|e| setup(format!("graph_url: {e}")))?;
        Ok(GraphClient { base, http, token, raw, audits: Pacer::new(5, Duration::from_secs(10)) })
    }

    /// Builds the client from `[entra]`, resolving the credential now.
    pub fn from_config(
        cfg: &EntraConfig,
        footprint: Arc<Footprint>,
        raw: Option<Arc<RawLog>>,
    ) -> Result<GraphClient, ApiError> {
        let credential = match &cfg.credential {
            EntraCredential::ClientSecret(r) => {
                Credential::Secret(r.resolve().map_err(|e| setup(format!("[entra] client_secret: {e}")))?)
            }
            EntraCredential::Certificate(r) => {
                Credential::certificate(&r.resolve().map_err(|e| setup(format!("[entra] certificate: {e}")))?)?
            }
        };
        let login = HttpClient::new(System::Login, Policy::default(), footprint.clone())?;
        let token = TokenSource::new(&cfg.login_url, &cfg.tenant_id, &cfg.client_id, credential, login)?;
        let http = HttpClient::new(System::Graph, Policy::default(), footprint)?;
        GraphClient::new(&cfg.graph_url, token, http, raw)
    }

    /// Replaces the directory-audit pacing (tests against a sped-up sandbox).
    pub fn with_audit_pacing(mut self, max: usize, window: Duration) -> GraphClient {
        self.audits = Pacer::new(max, window);
        self
    }

    pub fn http(&self) -> &HttpClient {
        &self.http
    }

    fn url(&self, path: &str, query: &[(&str, &str)]) -> Result<Url, ApiError> {
        let mut url =
            self.base.join(path.trim_start_matches('/')).map_err(|e| setup(format!("bad path {path}: {e}")))?;
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        Ok(url)
    }

    /// One call with the bearer token, the shared policy and raw capture; a 401 is
    /// retried once with a new token.
    async fn call(
        &self,
        method: Method,
        url: Url,
        label: &str,
        advanced: bool,
        body: Option<&Value>,
    ) -> Result<(u16, HeaderMap, String), ApiError> {
        let raw = self.raw.as_deref();
        let m = method.as_str().to_string();
        let call = Call { system: System::Graph, endpoint: label, method: &m, raw };
        for round in 0..2 {
            let token = self.token.token().await?;
            // A request id of our own on every call: the join key Microsoft support asks for.
            let mut id = [0u8; 16];
            let _ = aws_lc_rs::rand::fill(&mut id);
            let client_request_id = hex::encode(id);
            let resp = self
                .http
                // GETs and $batch (which only reads) are safe to repeat.
                .send(label, method == Method::GET || label == "/$batch", |c| {
                    let mut b = c
                        .request(method.clone(), url.clone())
                        .bearer_auth(token.expose())
                        .header("accept", "application/json")
                        .header("client-request-id", &client_request_id);
                    // ConsistencyLevel is not carried in nextLink URLs: send it on every page.
                    if advanced {
                        b = b.header("ConsistencyLevel", "eventual");
                    }
                    if let Some(body) = body {
                        b = b.json(body);
                    }
                    b
                })
                .await?;
            let (status, headers, text) = api::read(&call, resp).await?;
            if status == 401 && round == 0 {
                self.token.invalidate().await;
                continue;
            }
            return Ok((status, headers, text));
        }
        Err(setup("the call was refused twice".into()))
    }

    async fn get_json(&self, url: Url, label: &str, advanced: bool) -> Result<Value, ApiError> {
        let call = Call { system: System::Graph, endpoint: label, method: "GET", raw: None };
        let read = || self.call(Method::GET, url.clone(), label, advanced, None);
        api::json_call(&call, true, read).await.map(|(v, _)| v)
    }

    /// Every item of a collection, following `@odata.nextLink` whole until it is absent.
    async fn collect(&self, first: Url, label: &str, advanced: bool) -> Result<Vec<Value>, ApiError> {
        let mut out = Vec::new();
        let mut next = Some(first);
        let mut seen = crate::api::Seen::default();
        while let Some(url) = next {
            let page = self.get_json(url.clone(), label, advanced).await?;
            let items = page["value"].as_array().ok_or_else(|| malformed(label, "no value array".into()))?;
            out.extend(items.iter().cloned());
            next = seen.follow(System::Graph, &format!("GET {label}"), &url, self.next_link(label, &page)?)?;
        }
        Ok(out)
    }

    fn next_link(&self, label: &str, page: &Value) -> Result<Option<Url>, ApiError> {
        next_link_of(&self.base, label, page)
    }

    fn parse<T: serde::de::DeserializeOwned>(label: &str, v: Value) -> Result<T, ApiError> {
        serde_json::from_value(v).map_err(|e| malformed(label, e.to_string()))
    }

    // --- users -------------------------------------------------------------

    /// A user by id or UPN, with the properties jmlproof needs. `None` on 404 —
    /// which is not proof of deletion: ask `deleted_user`.
    pub async fn get_user(&self, id_or_upn: &str) -> Result<Option<GraphUser>, ApiError> {
        let path =
            format!("users/{}", percent_encoding::utf8_percent_encode(id_or_upn, percent_encoding::NON_ALPHANUMERIC));
        match self.get_json(self.url(&path, &[("$select", USER_SELECT)])?, "/users/{id}", false).await {
            Ok(v) => Ok(Some(Self::parse("/users/{id}", v)?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Users matching a `$filter`. `advanced` sends `ConsistencyLevel: eventual` and
    /// `$count=true`, which the filters the docs list as advanced queries need.
    pub async fn find_users(&self, filter: &str, advanced: bool) -> Result<Vec<GraphUser>, ApiError> {
        let mut q = vec![("$filter", filter), ("$select", USER_SELECT), ("$top", "999")];
        if advanced {
            q.push(("$count", "true"));
        }
        let items = self.collect(self.url("users", &q)?, "/users", advanced).await?;
        items.into_iter().map(|v| Self::parse("/users", v)).collect()
    }

    pub async fn users_by_upn(&self, upn: &str) -> Result<Vec<GraphUser>, ApiError> {
        self.find_users(&format!("userPrincipalName eq {}", literal(upn)), false).await
    }

    /// `onPremisesImmutableId eq` is an advanced query.
    pub async fn users_by_immutable_id(&self, id: &str) -> Result<Vec<GraphUser>, ApiError> {
        self.find_users(&format!("onPremisesImmutableId eq {}", literal(id)), true).await
    }

    pub async fn users_by_employee_id(&self, id: &str) -> Result<Vec<GraphUser>, ApiError> {
        self.find_users(&format!("employeeId eq {}", literal(id)), false).await
    }

    /// Every user of the tenant, 999 per page.
    pub async fn all_users(&self) -> Result<Vec<GraphUser>, ApiError> {
        self.all_users_where(|_| true).await
    }

    /// `all_users`, keeping (and perhaps trimming) users as pages arrive, so a large
    /// tenant is never held whole.
    pub async fn all_users_where(
        &self,
        mut keep: impl FnMut(&mut GraphUser) -> bool,
    ) -> Result<Vec<GraphUser>, ApiError> {
        let label = "/users";
        let mut next = Some(self.url("users", &[("$select", USER_SELECT), ("$top", "999")])?);
        let mut out = Vec::new();
        let mut seen = crate::api::Seen::default();
        while let Some(url) = next {
            let mut page = self.get_json(url.clone(), label, false).await?;
            next = seen.follow(System::Graph, &format!("GET {label}"), &url, self.next_link(label, &page)?)?;
            let Some(Value::Array(items)) = page.get_mut("value").map(Value::take) else {
                return Err(malformed(label, "no value array".into()));
            };
            for v in items {
                let mut u: GraphUser = Self::parse(label, v)?;
                if keep(&mut u) {
                    out.push(u);
                }
            }
        }
        Ok(out)
    }

    /// Many users by id in `$batch` calls of 20. A request throttled inside a batch is
    /// sent again in the next round, after the longest `Retry-After` it carried.
    pub async fn users_by_ids(&self, ids: &[String]) -> Result<Vec<(String, Option<GraphUser>)>, ApiError> {
        let label = "/$batch";
        let mut out = Vec::new();
        let mut pending: Vec<String> = ids.to_vec();
        for _round in 0..6 {
            if pending.is_empty() {
                break;
            }
            let mut retry = Vec::new();
            let mut wait = Duration::ZERO;
            for chunk in pending.chunks(20) {
                let requests: Vec<Value> = chunk
                    .iter()
                    .enumerate()
                    .map(|(i, id)| {
                        let path = percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC);
                        json!({"id": i.to_string(), "method": "GET", "url": format!("/users/{path}?$select={USER_SELECT}")})
                    })
                    .collect();
                let (status, headers, text) = self
                    .call(Method::POST, self.url("$batch", &[])?, label, false, Some(&json!({"requests": requests})))
                    .await?;
                let call = Call { system: System::Graph, endpoint: label, method: "POST", raw: None };
                if !(200..300).contains(&status) {
                    return Err(api::vendor_error(&call, status, &headers, &text));
                }
                let v = api::json(&call, &text)?;
                let responses =
                    v["responses"].as_array().ok_or_else(|| malformed(label, "no responses array".into()))?;
                // Every request must be answered exactly once.
                let mut expected: std::collections::BTreeSet<usize> = (0..chunk.len()).collect();
                for r in responses {
                    let i: usize = r["id"]
                        .as_str()
                        .and_then(|s| s.parse().ok())
                        .ok_or_else(|| malformed(label, "a response without a valid id".into()))?;
                    if !expected.remove(&i) {
                        return Err(malformed(label, format!("response id {i} unknown or repeated")));
                    }
                    let id = chunk[i].clone();
                    let code = r["body"]["error"]["code"].as_str().unwrap_or("");
                    match r["status"].as_u64().unwrap_or(0) {
                        200 => out.push((id, Some(Self::parse("/users/{id}", r["body"].clone())?))),
                        404 if code == "Request_ResourceNotFound" => out.push((id, None)),
                        429 | 503 | 504 => {
                            let secs = r["headers"]["retry-after"]
                                .as_str()
                                .or(r["headers"]["Retry-After"].as_str())
                                .and_then(|s| s.parse::<f64>().ok())
                                .unwrap_or(1.0);
                            wait = wait.max(Duration::from_secs_f64(secs.clamp(0.0, 120.0)));
                            retry.push(id);
                        }
                        s => {
                            let body = r["body"].to_string();
                            let call = Call {
                                system: System::Graph,
                                endpoint: "/$batch → /users/{id}",
                                method: "GET",
                                raw: None,
                            };
                            return Err(api::vendor_error(&call, s as u16, &HeaderMap::new(), &body));
                        }
                    }
                }
                if !expected.is_empty() {
                    return Err(malformed(label, format!("{} requests got no response", expected.len())));
                }
            }
            if !retry.is_empty() {
                tokio::time::sleep(wait).await;
            }
            pending = retry;
        }
        if !pending.is_empty() {
            return Err(ApiError::Malformed {
                system: System::Graph,
                endpoint: "POST /$batch".into(),
                detail: format!("{} lookups still throttled after 6 rounds", pending.len()),
            });
        }
        Ok(out)
    }

    /// A deleted user (restorable for 30 days), or `None`.
    pub async fn deleted_user(&self, id: &str) -> Result<Option<GraphUser>, ApiError> {
        let select = "id,userPrincipalName,displayName,accountEnabled,deletedDateTime,onPremisesImmutableId,employeeId";
        let url = self.url(
            &format!(
                "directory/deletedItems/{}",
                percent_encoding::utf8_percent_encode(id, percent_encoding::NON_ALPHANUMERIC)
            ),
            &[("$select", select)],
        )?;
        match self.get_json(url, "/directory/deletedItems/{id}", false).await {
            Ok(v) => Ok(Some(Self::parse("/directory/deletedItems/{id}", v)?)),
            Err(e) if e.is_not_found() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Every group the user belongs to, directly or through nested groups (access
    /// through a nested group is access). Only groups: directory roles and
    /// administrative units also appear in memberOf.
    pub async fn member_of(&self, user_id: &str) -> Result<Vec<GraphGroup>, ApiError> {
        let id = percent_encoding::utf8_percent_encode(user_id, percent_encoding::NON_ALPHANUMERIC);
        let label = "/users/{id}/transitiveMemberOf";
        let items = self.collect(self.url(&format!("users/{id}/transitiveMemberOf"), &[])?, label, false).await?;
        items
            .into_iter()
            .filter(|v| v["@odata.type"] == "#microsoft.graph.group")
            .map(|v| Self::parse(label, v))
            .collect()
    }

    /// Every user in the group, directly or through nested groups (the cast segment
    /// leaves out devices, service principals and groups).
    pub async fn group_members(&self, group_id: &str) -> Result<Vec<GraphUser>, ApiError> {
        let id = percent_encoding::utf8_percent_encode(group_id, percent_encoding::NON_ALPHANUMERIC);
        let label = "/groups/{id}/transitiveMembers/microsoft.graph.user";
        let url =
            self.url(&format!("groups/{id}/transitiveMembers/microsoft.graph.user"), &[("$select", USER_SELECT)])?;
        let items = self.collect(url, label, false).await?;
        items.into_iter().map(|v| Self::parse(label, v)).collect()
    }

    /// The group with this display name; display names are not unique in Entra, so
    /// two matches is an error rather than a guess.
    pub async fn find_group(&self, name: &str) -> Result<Option<GraphGroup>, ApiError> {
        let url = self.url("groups", &[("$filter", &format!("displayName eq {}", literal(name)))])?;
        let mut groups = self
            .collect(url, "/groups", false)
            .await?
            .into_iter()
            .map(|v| Self::parse("/groups", v))
            .collect::<Result<Vec<GraphGroup>, _>>()?;
        match groups.len() {
            0 | 1 => Ok(groups.pop()),
            n => Err(malformed("/groups", format!("{n} groups are named {name:?}; name one unambiguously"))),
        }
    }

    // --- directory audits ----------------------------------------------------

    /// Directory audits matching the query, every page, oldest first. Each call waits
    /// its turn in the 5-per-10-seconds budget.
    pub async fn directory_audits(&self, query: &AuditQuery) -> Result<Vec<DirectoryAudit>, ApiError> {
        Ok(self.directory_audits_where(query, |_| true).await?.0)
    }

    /// Whether the directory audit log still returns an entry at or before `t`: proof
    /// that its retention reaches back that far (one call, one row).
    pub async fn audit_at_or_before(&self, t: DateTime<Utc>) -> Result<bool, ApiError> {
        let label = "/auditLogs/directoryAudits";
        let q = AuditQuery { until: Some(t), ..AuditQuery::default() };
        let filter = q.filter().unwrap_or_default();
        let url = self.url("auditLogs/directoryAudits", &[("$filter", filter.as_str()), ("$top", "1")])?;
        self.audits.admit().await;
        let page = self.get_json(url, label, false).await?;
        Ok(page["value"].as_array().is_some_and(|rows| !rows.is_empty()))
    }

    /// `directory_audits`, keeping only the rows `keep` accepts as pages arrive (a large
    /// tenant's "Update user" rows are mostly profile edits), with the oldest
    /// `activityDateTime` among all rows returned: how far back the log reached.
    pub async fn directory_audits_where(
        &self,
        query: &AuditQuery,
        mut keep: impl FnMut(&DirectoryAudit) -> bool,
    ) -> Result<(Vec<DirectoryAudit>, Option<DateTime<Utc>>), ApiError> {
        let label = "/auditLogs/directoryAudits";
        let filter = query.filter();
        let q: Vec<(&str, &str)> = filter.as_deref().map(|f| vec![("$filter", f)]).unwrap_or_default();
        let mut next = Some(self.url("auditLogs/directoryAudits", &q)?);
        let mut out = Vec::new();
        let mut oldest: Option<DateTime<Utc>> = None;
        let mut seen = crate::api::Seen::default();
        while let Some(url) = next {
            self.audits.admit().await;
            let mut page = self.get_json(url.clone(), label, false).await?;
            next = seen.follow(System::Graph, &format!("GET {label}"), &url, self.next_link(label, &page)?)?;
            let Some(Value::Array(rows)) = page.get_mut("value").map(Value::take) else {
                return Err(malformed(label, "no value array".into()));
            };
            for v in rows {
                let row = DirectoryAudit::from_value(v)
                    .map_err(|e| malformed(label, format!("an audit row does not parse: {e}")))?;
                oldest = Some(oldest.map_or(row.activity_date_time, |o| o.min(row.activity_date_time)));
                if keep(&row) {
                    out.push(row);
                }
            }
        }
        // Graph returns newest first, but that is not a contract: order here.
        out.sort_by(|a, b| a.activity_date_time.cmp(&b.activity_date_time).then_with(|| a.id.cmp(&b.id)));
        Ok((out, oldest))
    }
}
