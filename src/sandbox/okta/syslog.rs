//! `GET /api/v1/logs`: bounded queries (since and until: ordered by `published`,
//! finite pages) and polling queries (no until, ASCENDING: ordered by persistence,
//! and a `next` link on every page, even an empty one).

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use chrono::{DateTime, Utc};
use serde_json::Value;

use super::{OktaApi, error, filter};
use crate::sandbox::web::{self, first, form_pairs};

/// The System Log keeps 90 days; older events are silently gone.
const RETENTION_DAYS: i64 = 90;
/// `since` further back than this is refused.
const MAX_LOOKBACK_DAYS: i64 = 180;

fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    DateTime::parse_from_rfc3339(s).ok().map(|t| t.with_timezone(&Utc))
}

/// The cursor: `<epoch ms>_<seq>` of the last event returned (opaque to clients).
fn cursor(published: DateTime<Utc>, seq: u64) -> String {
    format!("{}_{}", published.timestamp_millis(), seq)
}

fn parse_cursor(s: &str) -> Option<(i64, u64)> {
    let (ms, seq) = s.split_once('_')?;
    Some((ms.parse().ok()?, seq.parse().ok()?))
}

pub async fn logs(State(api): State<Arc<OktaApi>>, RawQuery(q): RawQuery) -> Response {
    let q = q.as_deref().map(form_pairs).unwrap_or_default();
    let bad = |summary: &str, cause: String| error(&api.shared, StatusCode::BAD_REQUEST, "E0000001", summary, &[cause]);
    let now = api.shared.now();
    let limit = match first(&q, "limit").map(str::parse::<i64>) {
        None => 100,
        Some(Ok(n)) if (0..=1000).contains(&n) => n as usize,
        Some(_) => {
            return bad("Api validation failed: limit", "limit: The limit must be between 0 and 1000".into());
        }
    };
    let until = match first(&q, "until") {
        Some(s) => match parse_time(s) {
            Some(t) => Some(t),
            None => {
                return bad("Api validation failed: until", format!("until: Invalid date format {s:?}"));
            }
        },
        None => None,
    };
    let since = match first(&q, "since") {
        Some(s) => match parse_time(s) {
            Some(t) => Some(t),
            None => {
                return bad("Api validation failed: since", format!("since: Invalid date format {s:?}"));
            }
        },
        None => None,
    };
    if since.is_some_and(|s| s < now - chrono::Duration::days(MAX_LOOKBACK_DAYS)) {
        return error(
            &api.shared,
            StatusCode::BAD_REQUEST,
            "E0000053",
            "Invalid parameter: since",
            &["since: must be within the last 180 days".into()],
        );
    }
    let descending = match first(&q, "sortOrder") {
        None | Some("ASCENDING") => false,
        Some("DESCENDING") => true,
        Some(other) => {
            return bad("Api validation failed: sortOrder", format!("sortOrder: Invalid value {other:?}"));
        }
    };
    let after = first(&q, "after");
    let after_pos = match after.map(parse_cursor) {
        Some(Some(c)) => Some(c),
        Some(None) => {
            return error(&api.shared, StatusCode::BAD_REQUEST, "E0000053", "Invalid parameter: after", &[]);
        }
        None => None,
    };
    let flt = match first(&q, "filter").map(filter::parse) {
        Some(Err(e)) => {
            return error(&api.shared, StatusCode::BAD_REQUEST, "E0000053", "Invalid search criteria.", &[e]);
        }
        Some(Ok(f)) => {
            if f.paths().iter().any(|p| p == "published") {
                return error(
                    &api.shared,
                    StatusCode::BAD_REQUEST,
                    "E0000031",
                    "Invalid search criteria.",
                    &["published cannot be filtered on; use since and until".into()],
                );
            }
            Some(f)
        }
        None => None,
    };
    let keyword = first(&q, "q").map(|s| s.to_lowercase());
    // Polling: no `until` and ascending. Everything else is bounded (a descending query
    // without `until` is bounded by now).
    let polling = until.is_none() && !descending;
    let until = until.unwrap_or(now);
    let since = since.unwrap_or(until - chrono::Duration::days(7)).max(now - chrono::Duration::days(RETENTION_DAYS));

    let (events, last, max_seq) = {
        let t = api.shared.tenant();
        let max_seq = t.okta.log.last().map(|e| e.seq).unwrap_or(0);
        let mut hits: Vec<(&crate::sandbox::okta::store::LogEntry, (i64, u64))> = t
            .okta
            .log
            .iter()
            // A polling cursor replaces `since` (Okta refuses the two together).
            .filter(|e| (polling && after_pos.is_some()) || e.published >= since)
            .filter(|e| polling || e.published <= until)
            .filter(|e| flt.as_ref().is_none_or(|f| f.matches(&e.event)))
            .filter(|e| {
                keyword
                    .as_ref()
                    .is_none_or(|k| k.split_whitespace().all(|w| e.event.to_string().to_lowercase().contains(w)))
            })
            .map(|e| (e, if polling { (0, e.seq) } else { (e.published.timestamp_millis(), e.seq) }))
            .collect();
        if descending {
            hits.reverse();
        }
        let start = match after_pos {
            Some((ms, seq)) => hits
                .iter()
                .position(|(_, key)| {
                    let k = if polling { (0, seq) } else { (ms, seq) };
                    if descending { *key < k } else { *key > k }
                })
                .unwrap_or(hits.len()),
            None => 0,
        };
        let page: Vec<_> = hits.iter().skip(start).take(limit).collect();
        let more = start + page.len() < hits.len();
        let last = page.last().map(|(e, _)| cursor(e.published, e.seq));
        let events: Vec<Value> = page.iter().map(|(e, _)| e.event.clone()).collect();
        (events, if polling || more { Some(last) } else { None }, max_seq)
    };

    let base = format!("{}/api/v1/logs", api.shared.urls.okta);
    let link = |drop_since: bool, after: Option<&str>| {
        let mut s = url::form_urlencoded::Serializer::new(String::new());
        for (k, v) in q.iter().filter(|(k, _)| k != "after" && !(drop_since && k == "since")) {
            s.append_pair(k, v);
        }
        if let Some(a) = after {
            s.append_pair("after", a);
        }
        format!("{base}?{}", s.finish())
    };
    let mut r = web::json(StatusCode::OK, &Value::Array(events), "application/json");
    web::append(r.headers_mut(), "link", &format!("<{}>; rel=\"self\"", link(after.is_some() && polling, after)));
    if api.shared.faults().okta.log_next_repeats {
        // The fault: `next` names the page just served, so following it never ends.
        let again = link(after.is_some() && polling, after);
        web::append(r.headers_mut(), "link", &format!("<{again}>; rel=\"next\""));
        return r;
    }
    match last {
        // Polling: always a next link; an empty page repeats the cursor it was given.
        Some(last) if polling => {
            let next = last.or_else(|| after.map(str::to_string)).unwrap_or_else(|| cursor(now, max_seq));
            web::append(r.headers_mut(), "link", &format!("<{}>; rel=\"next\"", link(true, Some(&next))));
        }
        Some(Some(last)) => {
            web::append(r.headers_mut(), "link", &format!("<{}>; rel=\"next\"", link(false, Some(&last))))
        }
        _ => {}
    }
    r
}
