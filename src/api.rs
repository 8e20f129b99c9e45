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

/// The pages one paged read has fetched. A `next` link that leads back to one of them
/// (a server bug, or a hostile answer) would loop forever and repeat its items: the
/// read stops with an error instead, and what depended on it is UNKNOWN.
#[derive(Debug, Default)]
pub struct Seen(std::collections::HashSet<String>);

impl Seen {
    /// Records `current` as read and vets the `next` link it gave.
    pub fn follow(
        &mut self,
        system: System,
        endpoint: &str,
        current: &reqwest::Url,
        next: Option<reqwest::Url>,
    ) -> Result<Option<reqwest::Url>, ApiError> {
        self.0.insert(current.as_str().to_string());
        match next {
            Some(n) if self.0.contains(n.as_str()) => Err(ApiError::Malformed {
                system,
                endpoint: endpoint.to_string(),
                detail: format!(
                    "the next link leads back to a page already read (after {} page{}); stopped rather than loop",
                    self.0.len(),
                    if self.0.len() == 1 { "" } else { "s" }
                ),
            }),
            n => Ok(n),
        }
    }
}

/// Reads of an idempotent call whose 2xx body arrives cut short or is not JSON: a
/// dropped connection or a proxy truncates, and the next read is usually whole.
pub const BODY_ATTEMPTS: u32 = 3;

/// A call whose 2xx body is JSON (other statuses become `ApiError::Vendor`), made by
/// `send`; when `retry` (an idempotent call), a body that could not be read or does not
/// parse is asked for again, up to `BODY_ATTEMPTS` times.
pub async fn json_call<F, Fut>(call: &Call<'_>, retry: bool, mut send: F) -> Result<(Value, HeaderMap), ApiError>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<(u16, HeaderMap, String), ApiError>>,
{
    let mut attempt = 1;
    loop {
        let again = retry && attempt < BODY_ATTEMPTS;
        attempt += 1;
        let (status, headers, text) = match send().await {
            Err(ApiError::Malformed { .. }) if again => continue,
            r => r?,
        };
        if !(200..300).contains(&status) {
            return Err(vendor_error(call, status, &headers, &text));
        }
        match json(call, &text) {
            Err(_) if again => continue,
            r => return Ok((r?, headers)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_next_link_back_to_any_page_read_is_refused() {
        let u = |q: &str| reqwest::Url::parse(&format!("https://acme.okta.com/api/v1/logs?after={q}")).unwrap();
        let mut seen = Seen::default();
        assert_eq!(seen.follow(System::Okta, "GET /api/v1/logs", &u("1"), Some(u("2"))).unwrap(), Some(u("2")));
        assert_eq!(seen.follow(System::Okta, "GET /api/v1/logs", &u("2"), Some(u("3"))).unwrap(), Some(u("3")));
        // A cycle of three pages, not only a page naming itself.
        let e = seen.follow(System::Okta, "GET /api/v1/logs", &u("3"), Some(u("1"))).unwrap_err().to_string();
        assert!(e.contains("leads back to a page already read (after 3 pages)"), "{e}");
        assert!(seen.follow(System::Okta, "GET /api/v1/logs", &u("4"), None).unwrap().is_none());
    }
}
