//! What every vendor client shares: one error type whose Display is one line naming
//! the system, the endpoint and the cause (HTTP status, vendor error code, request
//! id), and reading a JSON response into that shape.

use reqwest::header::HeaderMap;
use serde_json::Value;

use crate::http::{HttpError, System};
use crate::raw::RawLog;

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error(transparent)]
    Http(#[from] HttpError),
    /// The vendor answered with an error: its HTTP status and its own code.
    #[error("{system} {endpoint}: HTTP {status} {code}: {message}{}", request_suffix(request_id))]
    Vendor { system: System, endpoint: String, status: u16, code: String, message: String, request_id: Option<String> },
    /// A 2xx whose body is not what the API documents.
    #[error("{system} {endpoint}: malformed response: {detail}")]
    Malformed { system: System, endpoint: String, detail: String },
    /// Local set-up that stops a call before it is sent (a key that does not parse).
    #[error("{system}: {detail}")]
    Setup { system: System, detail: String },
}

fn request_suffix(id: &Option<String>) -> String {
    id.as_ref().map(|i| format!(" (request {i})")).unwrap_or_default()
}

impl ApiError {
    /// The vendor's error code (`E0000007`, `Request_ResourceNotFound`, `ResourceNotFoundException`, `AADSTS7000215`).
    pub fn code(&self) -> Option<&str> {
        match self {
            ApiError::Vendor { code, .. } => Some(code),
            _ => None,
        }
    }

    pub fn status(&self) -> Option<u16> {
        match self {
            ApiError::Vendor { status, .. } => Some(*status),
            _ => None,
        }
    }

    pub fn is_not_found(&self) -> bool {
        matches!(self.code(), Some("E0000007" | "Request_ResourceNotFound" | "ResourceNotFoundException"))
    }
}

/// Where a response came from, for errors and raw evidence.
pub struct Call<'a> {
    pub system: System,
    pub endpoint: &'a str,
    pub method: &'a str,
    pub raw: Option<&'a RawLog>,
}

/// Reads a response: records it as raw evidence, and returns the status, headers and
/// body text. Errors come back as `ApiError::Vendor` via `vendor_error`.
pub async fn read(call: &Call<'_>, resp: reqwest::Response) -> Result<(u16, HeaderMap, String), ApiError> {
    let status = resp.status().as_u16();
    let url = resp.url().clone();
    let headers = resp.headers().clone();
    let body = resp.text().await.map_err(|e| ApiError::Malformed {
        system: call.system,
        endpoint: format!("{} {}", call.method, call.endpoint),
        detail: format!("body could not be read: {e}"),
    })?;
    if let Some(raw) = call.raw {
        raw.record(call.system, call.method, &url, status, &headers, &body);
    }
    Ok((status, headers, body))
}

/// Parses a success body as JSON.
pub fn json(call: &Call<'_>, body: &str) -> Result<Value, ApiError> {
    let text = if body.trim().is_empty() { "{}" } else { body };
    serde_json::from_str(text).map_err(|e| ApiError::Malformed {
        system: call.system,
        endpoint: format!("{} {}", call.method, call.endpoint),
        detail: format!("not JSON ({e})"),
    })
}

/// Builds the error for a non-2xx answer from the vendor's own error body.
pub fn vendor_error(call: &Call<'_>, status: u16, headers: &HeaderMap, body: &str) -> ApiError {
    let v: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let s = |v: &Value| v.as_str().map(str::to_string);
    let header = |name: &str| headers.get(name).and_then(|h| h.to_str().ok()).map(str::to_string);
    let (code, message, request_id) = match call.system {
        System::Okta => (s(&v["errorCode"]), s(&v["errorSummary"]), header("x-okta-request-id")),
        System::Graph => (
            s(&v["error"]["code"]),
            s(&v["error"]["message"]),
            s(&v["error"]["innerError"]["request-id"]).or_else(|| header("request-id")),
        ),
        System::Login => {
            // Entra: AADSTS code and trace id; Okta's token endpoint: OAuth `error`.
            let aadsts = v["error_codes"][0].as_u64().map(|c| format!("AADSTS{c}"));
            let description = s(&v["error_description"]).map(|d| d.lines().next().unwrap_or("").to_string());
            (aadsts.or_else(|| s(&v["error"])), description, s(&v["trace_id"]).or_else(|| header("x-okta-request-id")))
        }
        System::Aws => {
            let kind = s(&v["__type"])
                .or_else(|| header("x-amzn-errortype"))
                .map(|t| t.rsplit('#').next().unwrap_or(&t).split(':').next().unwrap_or("").to_string());
            (kind, s(&v["Message"]).or_else(|| s(&v["message"])), header("x-amzn-requestid"))
        }
    };
    let fallback = body.chars().take(200).collect::<String>();
    ApiError::Vendor {
        system: call.system,
        endpoint: format!("{} {}", call.method, call.endpoint),
        status,
        code: code.unwrap_or_else(|| "-".into()),
        message: message.unwrap_or(fallback).replace(['\r', '\n'], " "),
        request_id,
    }
}
