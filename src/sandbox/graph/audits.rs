//! `/v1.0/auditLogs/directoryAudits`: newest first, filtered on the properties Graph
//! supports, readable only after the availability delay and within retention, and
//! limited to 5 requests per 10 seconds (429 with Retry-After past that).

use std::sync::Arc;

use axum::extract::{Extension, RawQuery, State};
use axum::http::StatusCode;
use axum::response::Response;
use serde_json::{Map, Value, json};

use super::{GraphApi, ODATA_JSON, ReqId, error, next_link, odata, parse_skiptoken};
use crate::sandbox::web::{self, first, form_pairs};

const WINDOW_SECS: i64 = 10;

fn supported(prop: &str, op: &str) -> bool {
    match prop {
        "activityDateTime" => matches!(op, "eq" | "ge" | "le" | "gt" | "lt"),
        "activityDisplayName" | "initiatedBy/user/userPrincipalName" | "targetResources/any/displayName" => {
            matches!(op, "eq" | "startswith")
        }
        "correlationId"
        | "id"
        | "loggedByService"
        | "category"
        | "result"
        | "initiatedBy/user/id"
        | "initiatedBy/user/displayName"
        | "initiatedBy/app/appId"
        | "initiatedBy/app/displayName"
        | "targetResources/any/id" => op == "eq",
        _ => false,
    }
}

pub async fn list(
    State(api): State<Arc<GraphApi>>,
    Extension(ReqId(req)): Extension<ReqId>,
    RawQuery(q): RawQuery,
) -> Response {
    let q = q.as_deref().map(form_pairs).unwrap_or_default();
    let now = api.shared.now();
    let faults = api.shared.faults().entra;
    // The reports API limit: a sliding window of 10 seconds of tenant time.
    {
        let mut t = api.shared.tenant();
        let calls = &mut t.entra.audit_calls;
        while calls.front().is_some_and(|c| *c <= now - chrono::Duration::seconds(WINDOW_SECS)) {
            calls.pop_front();
        }
        if calls.len() >= faults.audit_rate_limit as usize {
            let wait = calls
                .front()
                .map(|c| (*c + chrono::Duration::seconds(WINDOW_SECS) - now).num_milliseconds().max(1))
                .unwrap_or(1000);
            drop(t);
            let mut r = error(
                &api,
                &req,
                StatusCode::TOO_MANY_REQUESTS,
                "TooManyRequests",
                "Too many requests from Identifier under category:throttle.aad.reports. Please retry again later.",
            );
            let secs = (wait as f64 / 1000.0 / api.shared.clock.speed()).max(0.001);
            web::set(r.headers_mut(), "retry-after", &format!("{secs:.3}"));
            return r;
        }
        calls.push_back(now);
    }
    let top = match first(&q, "$top") {
        None => 1000,
        Some(t) => match t.parse::<i64>() {
            Ok(n) if (1..=1000).contains(&n) => n as usize,
            _ => {
                return error(
                    &api,
                    &req,
                    StatusCode::BAD_REQUEST,
                    "Request_UnsupportedQuery",
                    &format!("Invalid page size specified: '{t}'."),
                );
            }
        },
    };
    let filter = match first(&q, "$filter").map(odata::parse) {
        None => None,
        Some(Err(e)) => {
            return error(&api, &req, StatusCode::BAD_REQUEST, "BadRequest", &format!("Invalid filter clause: {e}"));
        }
        Some(Ok(f)) => {
            if f.has_or() {
                return error(
                    &api,
                    &req,
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    "Invalid filter clause: 'or' is not supported on this resource.",
                );
            }
            if let Some((p, o)) = f.leaves().into_iter().find(|(p, o)| !supported(p, o)) {
                return error(
                    &api,
                    &req,
                    StatusCode::BAD_REQUEST,
                    "BadRequest",
                    &format!("Invalid filter clause: operator '{o}' on property '{p}' is not supported."),
                );
            }
            Some(f)
        }
    };
    let ascending = match first(&q, "$orderby") {
        None | Some("activityDateTime desc") => false,
        Some("activityDateTime asc") | Some("activityDateTime") => true,
        Some(o) => {
            return error(&api, &req, StatusCode::BAD_REQUEST, "BadRequest", &format!("Invalid $orderby: '{o}'."));
        }
    };
    let oldest = now - chrono::Duration::from_std(faults.audit_retention.0).unwrap_or(chrono::Duration::days(30));
    let mut rows: Vec<(chrono::DateTime<chrono::Utc>, Value)> = api
        .shared
        .tenant()
        .entra
        .audits
        .iter()
        .filter(|a| a.available <= now && a.at >= oldest)
        .filter(|a| filter.as_ref().is_none_or(|f| f.eval(&a.row)))
        .map(|a| (a.at, a.row.clone()))
        .collect();
    rows.sort_by(|a, b| if ascending { a.0.cmp(&b.0) } else { b.0.cmp(&a.0) });
    let offset = first(&q, "$skiptoken").and_then(parse_skiptoken).unwrap_or(0);
    let total = rows.len();
    let page: Vec<Value> = rows.into_iter().skip(offset).take(top).map(|r| r.1).collect();
    let mut body = Map::new();
    body.insert(
        "@odata.context".into(),
        json!(format!("{}/v1.0/$metadata#auditLogs/directoryAudits", api.shared.urls.graph)),
    );
    if offset + page.len() < total {
        body.insert("@odata.nextLink".into(), next_link(&api, "/auditLogs/directoryAudits", &q, offset + page.len()));
    }
    body.insert("value".into(), Value::Array(page));
    web::json(StatusCode::OK, &Value::Object(body), ODATA_JSON)
}
