//! Raw API responses kept as evidence: what was asked (method, URL), what came back
//! (status, a fixed list of headers, the body) and when. Never a request header, so
//! never a credential; URLs of these APIs carry no secrets.

use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde::Serialize;

use crate::http::System;

/// Response headers worth keeping: ids that tie the response to the vendor's logs,
/// paging, rate limits and the server's clock.
const KEPT: &[&str] = &[
    "date",
    "link",
    "x-okta-request-id",
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
    "request-id",
    "client-request-id",
    "retry-after",
    "x-amzn-requestid",
    "x-amzn-errortype",
];

/// Token responses are not meant to reach the raw log at all (the token clients never
/// pass it); should one arrive anyway, its token fields are withheld.
fn withhold_tokens(body: &str) -> String {
    const FIELDS: &[&str] = &["access_token", "refresh_token", "id_token", "client_secret", "client_assertion"];
    if !FIELDS.iter().any(|f| body.contains(f)) {
        return body.to_string();
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut m)) => {
            for f in FIELDS {
                if let Some(v) = m.get_mut(*f) {
                    *v = serde_json::Value::String("[withheld]".into());
                }
            }
            serde_json::Value::Object(m).to_string()
        }
        _ => "[withheld: a body that names a token field]".into(),
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct RawResponse {
    pub system: System,
    pub method: String,
    pub url: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub retrieved_at: DateTime<Utc>,
    pub body: String,
}

/// An append-only list of raw responses, shared by the clients of one run.
#[derive(Debug, Default)]
pub struct RawLog {
    items: Mutex<Vec<RawResponse>>,
    /// Bodies of the audit events used as evidence, by the SHA-256 the record gives.
    events: Mutex<std::collections::BTreeMap<String, String>>,
}

impl RawLog {
    pub fn record(
        &self,
        system: System,
        method: &str,
        url: &reqwest::Url,
        status: u16,
        headers: &HeaderMap,
        body: &str,
    ) {
        let body = &withhold_tokens(body);
        let headers = KEPT
            .iter()
            .flat_map(|name| {
                headers.get_all(*name).iter().filter_map(|v| v.to_str().ok()).map(|v| (name.to_string(), v.to_string()))
            })
            .collect();
        let item = RawResponse {
            system,
            method: method.into(),
            url: url.to_string(),
            status,
            headers,
            retrieved_at: Utc::now(),
            body: body.into(),
        };
        self.items.lock().unwrap_or_else(PoisonError::into_inner).push(item);
    }

    /// Records a response seen outside reqwest (the AWS SDK), from plain parts.
    pub fn record_parts(
        &self,
        system: System,
        method: &str,
        url: &str,
        status: u16,
        headers: &[(String, String)],
        body: &str,
    ) {
        let body = &withhold_tokens(body);
        let headers = headers
            .iter()
            .filter(|(k, _)| KEPT.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        let item = RawResponse {
            system,
            method: method.into(),
            url: url.into(),
            status,
            headers,
            retrieved_at: Utc::now(),
            body: body.into(),
        };
        self.items.lock().unwrap_or_else(PoisonError::into_inner).push(item);
    }

    pub fn keep_event(&self, sha256: &str, body: String) {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).insert(sha256.to_string(), body);
    }

    pub fn event_body(&self, sha256: &str) -> Option<String> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).get(sha256).cloned()
    }

    /// The pack's raw/ files: one NDJSON file of responses per system, and
    /// events.ndjson with the body of each event of `events`, line for line, so the
    /// record's hash of event N is the SHA-256 of line N without its newline.
    /// The responses are moved out as they are written (called once, at the end), so
    /// a large tenant's responses are not held twice.
    pub fn pack_files(&self, events: &[crate::evidence::record::SourceEvent]) -> crate::pack::Files {
        let mut by_system: std::collections::BTreeMap<String, Vec<u8>> = Default::default();
        let items = std::mem::take(&mut *self.items.lock().unwrap_or_else(PoisonError::into_inner));
        for item in items {
            let out = by_system.entry(format!("{}.ndjson", item.system)).or_default();
            out.extend(serde_json::to_vec(&item).unwrap_or_default());
            out.push(b'\n');
        }
        let mut lines = Vec::new();
        for e in events {
            // A body missing here would break the line numbering: `null` keeps the
            // line, and its hash visibly differs from the record's.
            lines.extend(self.event_body(&e.sha256).unwrap_or_else(|| "null".into()).into_bytes());
            lines.push(b'\n');
        }
        let mut files: Vec<(String, Vec<u8>)> = by_system.into_iter().collect();
        if !events.is_empty() {
            files.push(("events.ndjson".into(), lines));
        }
        files
    }

    pub fn snapshot(&self) -> Vec<RawResponse> {
        self.items.lock().unwrap_or_else(PoisonError::into_inner).clone()
    }

    pub fn len(&self) -> usize {
        self.items.lock().unwrap_or_else(PoisonError::into_inner).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_fields_are_withheld() {
        let log = RawLog::default();
        let url = reqwest::Url::parse("https://login.example/t").unwrap();
        log.record(
            System::Login,
            "POST",
            &url,
            200,
            &HeaderMap::new(),
            r#"{"access_token":"eyJ-secret","expires_in":3599}"#,
        );
        log.record_parts(System::Aws, "POST", "aws:x", 200, &[], "not json access_token=eyJ-secret");
        let dump = serde_json::to_string(&log.snapshot()).unwrap();
        assert!(!dump.contains("eyJ-secret"), "{dump}");
        assert!(dump.contains("expires_in"));
    }
}
