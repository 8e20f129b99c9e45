//! `POST /v1.0/$batch`: up to 20 requests in one call, each answered as if sent
//! alone (through the same router, with the caller's token), in the JSON batch
//! shape: `{"responses":[{"id","status","headers","body"}]}`.

use std::sync::Arc;

use axum::body::{Body, Bytes};
use axum::extract::{Extension, State};
use axum::http::{HeaderMap, Request, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use tower::ServiceExt;

use super::{GraphApi, ODATA_JSON, ReqId, error};
use crate::sandbox::web;

const MAX_REQUESTS: usize = 20;

pub async fn batch(
    State(api): State<Arc<GraphApi>>,
    Extension(ReqId(req)): Extension<ReqId>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let Ok(v) = serde_json::from_slice::<Value>(&body) else {
        return error(&api, &req, StatusCode::BAD_REQUEST, "BadRequest", "Invalid batch payload format.");
    };
    let Some(requests) = v.get("requests").and_then(Value::as_array) else {
        return error(&api, &req, StatusCode::BAD_REQUEST, "BadRequest", "Invalid batch payload format.");
    };
    if requests.len() > MAX_REQUESTS {
        return error(
            &api,
            &req,
            StatusCode::BAD_REQUEST,
            "BadRequest",
            "Invalid batch payload format. The number of requests exceeds the limit of 20.",
        );
    }
    let router = super::graph_router(api.clone());
    let auth = headers.get("authorization").cloned();
    let mut responses = Vec::new();
    for r in requests {
        let id = r.get("id").and_then(Value::as_str).unwrap_or("").to_string();
        let method = r.get("method").and_then(Value::as_str).unwrap_or("GET");
        let url = r.get("url").and_then(Value::as_str).unwrap_or("");
        if id.is_empty() || method != "GET" || !url.starts_with('/') {
            responses.push(json!({"id": id, "status": 400, "headers": {}, "body": {"error": {"code": "BadRequest", "message": "Each request needs an id, GET and a relative url."}}}));
            continue;
        }
        let mut inner = Request::builder().method("GET").uri(format!("/v1.0{url}"));
        if let Some(a) = &auth {
            inner = inner.header("authorization", a.clone());
        }
        if let Some(Value::Object(h)) = r.get("headers") {
            for (k, v) in h {
                if let Some(v) = v.as_str() {
                    inner = inner.header(k.as_str(), v);
                }
            }
        }
        let Ok(inner) = inner.body(Body::empty()) else {
            responses.push(json!({"id": id, "status": 400, "headers": {}, "body": {"error": {"code": "BadRequest", "message": "Invalid request url."}}}));
            continue;
        };
        let resp = match router.clone().oneshot(inner).await {
            Ok(r) => r,
            Err(e) => match e {},
        };
        let mut status = resp.status().as_u16();
        let mut out_headers = Map::new();
        for name in ["retry-after", "content-type"] {
            if let Some(v) = resp.headers().get(name).and_then(|v| v.to_str().ok()) {
                out_headers.insert(name.to_string(), json!(v));
            }
        }
        // Transport faults belong to the outer call: a sub-request that broke inside
        // is answered the way Graph answers one that failed, 503 with its error body.
        let bytes = axum::body::to_bytes(resp.into_body(), 16 * 1024 * 1024).await.ok();
        let body: Value = match bytes.as_deref().map(serde_json::from_slice::<Value>) {
            Some(Ok(v)) => v,
            _ => {
                status = 503;
                json!({"error": {"code": "serviceNotAvailable", "message": "The service is temporarily unavailable. Please retry later."}})
            }
        };
        responses.push(json!({"id": id, "status": status, "headers": out_headers, "body": body}));
    }
    web::json(StatusCode::OK, &json!({"responses": responses}), ODATA_JSON)
}
