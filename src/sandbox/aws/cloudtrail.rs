//! CloudTrail LookupEvents: newest first, one lookup attribute at most, 90 days
//! back, 2 calls per second, events readable only once delivered.

use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::{Value, json};

use super::{Call, error, page_of, validation};

fn time(v: Option<&Value>) -> Option<DateTime<Utc>> {
    let secs = v?.as_f64()?;
    DateTime::from_timestamp_millis((secs * 1000.0) as i64)
}

pub fn handle(call: &Call, op: &str) -> Response {
    if op != "LookupEvents" {
        return error(
            &call.request_id,
            StatusCode::BAD_REQUEST,
            "UnknownOperationException",
            &format!("Operation {op} is not supported by this sandbox."),
            json!({}),
        );
    }
    if !call.api.lookup_allowed() {
        return error(&call.request_id, StatusCode::BAD_REQUEST, "ThrottlingException", "Rate exceeded", json!({}));
    }
    let attrs = call.input.get("LookupAttributes").and_then(Value::as_array).cloned().unwrap_or_default();
    if attrs.len() > 1 {
        return error(
            &call.request_id,
            StatusCode::BAD_REQUEST,
            "InvalidLookupAttributesException",
            "You cannot specify more than one lookup attribute.",
            json!({}),
        );
    }
    let attr = attrs.first().map(|a| {
        (
            a.get("AttributeKey").and_then(Value::as_str).unwrap_or("").to_string(),
            a.get("AttributeValue").and_then(Value::as_str).unwrap_or("").to_string(),
        )
    });
    if let Some((k, _)) = &attr
        && ![
            "EventId",
            "EventName",
            "ReadOnly",
            "Username",
            "ResourceType",
            "ResourceName",
            "EventSource",
            "AccessKeyId",
        ]
        .contains(&k.as_str())
    {
        return error(
            &call.request_id,
            StatusCode::BAD_REQUEST,
            "InvalidLookupAttributesException",
            &format!("{k} is not a valid lookup attribute key."),
            json!({}),
        );
    }
    let now = call.api.shared.now();
    let start = time(call.input.get("StartTime")).unwrap_or(now - chrono::Duration::days(90));
    let end = time(call.input.get("EndTime")).unwrap_or(now);
    if start > end {
        return error(
            &call.request_id,
            StatusCode::BAD_REQUEST,
            "InvalidTimeRangeException",
            "Start time must be before end time.",
            json!({}),
        );
    }
    let oldest = now - chrono::Duration::days(90);
    let t = call.api.shared.tenant();
    let mut events: Vec<&super::store::TrailEvent> = t
        .aws
        .trail
        .iter()
        // Newest first, also among events of the same second.
        .rev()
        .filter(|e| e.available <= now && e.time >= start.max(oldest) && e.time <= end)
        .filter(|e| match &attr {
            None => true,
            Some((k, v)) => match k.as_str() {
                "EventSource" => &e.source == v,
                "EventName" => &e.name == v,
                "EventId" => &e.event_id == v,
                "ReadOnly" => e.read_only.to_string() == *v,
                "Username" => e.username.as_deref() == Some(v.as_str()),
                "AccessKeyId" => &e.access_key_id == v,
                _ => false,
            },
        })
        .collect();
    events.sort_by_key(|e| std::cmp::Reverse(e.time));
    let items: Vec<Value> = events
        .iter()
        .map(|e| {
            let mut v = json!({"EventId": e.event_id, "EventName": e.name, "ReadOnly": e.read_only.to_string(), "AccessKeyId": e.access_key_id,
                               "EventTime": e.time.timestamp() as f64, "EventSource": e.source, "Resources": [], "CloudTrailEvent": e.raw.to_string()});
            if let Some(u) = &e.username {
                v["Username"] = json!(u);
            }
            v
        })
        .collect();
    drop(t);
    if call.input.get("MaxResults").is_some_and(|v| v.as_i64().is_some_and(|n| n > 50)) {
        return validation(
            call,
            "1 validation error detected: Value at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 50",
        );
    }
    page_of(call, "Events", items, 50)
}
