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
