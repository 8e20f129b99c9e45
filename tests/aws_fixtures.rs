//! The AWS client parses the payloads of shared/api-fixtures exactly as written:
//! a loopback server answers each operation with its fixture (pages by NextToken,
//! errors with their status and x-amzn-ErrorType), and the client reads them.

mod common;

use std::sync::Arc;

use axum::body::Bytes;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use common::sdk_config;
use jmlproof::aws::AwsClient;
use jmlproof::http::Footprint;
use jmlproof::raw::RawLog;
use serde_json::Value;

fn fixture(path: &str) -> String {
    std::fs::read_to_string(format!("{}/tests/fixtures/aws/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

async fn answer(headers: HeaderMap, body: Bytes) -> Response {
    let target = headers.get("x-amz-target").and_then(|v| v.to_str().ok()).unwrap_or("");
    let op = target.rsplit('.').next().unwrap_or("");
    let input: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let page2 = input.get("NextToken").is_some();
    let store_ok = input.get("IdentityStoreId").is_none_or(|s| s == "d-9067d2c41e");
    let (status, file, kind) = match op {
        _ if !store_ok => {
            (400, "identitystore/error-resource-not-found.identity-store.json", Some("ResourceNotFoundException"))
        }
        "ListUsers" if page2 => (200, "identitystore/list-users.page2.response.json", None),
        "ListUsers" => (200, "identitystore/list-users.page1.response.json", None),
        "DescribeUser" if input["UserId"] == "a4f8b4c8-c0d1-7063-9e2a-5b71d0c4e8f3" => {
            (400, "identitystore/error-access-denied.json", Some("AccessDeniedException"))
        }
        "DescribeUser" if input["UserId"] == "gone" => {
            (400, "identitystore/error-resource-not-found.user.json", Some("ResourceNotFoundException"))
        }
        "DescribeUser" => (200, "identitystore/describe-user.disabled.response.json", None),
        "GetUserId" => (200, "identitystore/get-user-id.response.json", None),
        "GetGroupId" => (200, "identitystore/get-group-id.response.json", None),
        "ListGroupMemberships" => (200, "identitystore/list-group-memberships.response.json", None),
        "IsMemberInGroups" => (200, "identitystore/is-member-in-groups.response.json", None),
        "ListInstances" => (200, "sso-admin/list-instances.response.json", None),
        "ListAccountAssignmentsForPrincipal" => {
            (200, "sso-admin/list-account-assignments-for-principal.group.response.json", None)
        }
        "DescribePermissionSet" => (200, "sso-admin/describe-permission-set.response.json", None),
        "LookupEvents" if page2 => (200, "cloudtrail/lookup-events.page2.response.json", None),
        "LookupEvents" => (200, "cloudtrail/lookup-events.page1.response.json", None),
        _ => return (StatusCode::BAD_REQUEST, "unknown").into_response(),
    };
    let mut r = (StatusCode::from_u16(status).unwrap(), fixture(file)).into_response();
    r.headers_mut().insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
    r.headers_mut().insert("x-amzn-requestid", "6ffff25b-0170-40bb-b5be-c08caf884839".parse().unwrap());
    if let Some(k) = kind {
        r.headers_mut().insert("x-amzn-errortype", k.parse().unwrap());
    }
    r
}

async fn client(raw: Option<Arc<RawLog>>) -> AwsClient {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().route("/", axum::routing::post(answer))).await.unwrap()
    });
    let sdk = sdk_config(&format!("http://{addr}"), "us-east-1", "AKIAIOSFODNN7EXAMPLE", "x", 1).await;
    AwsClient::new(&sdk, "d-9067d2c41e", "arn:aws:sso:::instance/ssoins-72234f1c9e8a6b05", Footprint::new(), raw)
}

#[tokio::test]
async fn identitystore_fixtures() {
    let raw = Arc::new(RawLog::default());
    let aws = client(Some(raw.clone())).await;
    let users = aws.list_users().await.unwrap();
    assert_eq!(users.len(), 5, "page 1 (3) and page 2 (2), by NextToken");
    let breakglass = users.iter().find(|u| u.user_name.as_deref() == Some("ops-breakglass")).unwrap();
    assert!(breakglass.external_ids.is_empty(), "made in the console");
    let priya = aws.user_by_user_name("priya.raman@acme.example").await.unwrap().unwrap();
    assert_eq!(priya.is_disabled(), Some(true));
    assert_eq!(priya.updated_at.unwrap().timestamp_millis(), 1_774_027_802_871);
    assert_eq!(priya.external_ids[0].1, "00uLqT4aCei5eMA0c1d7");
    assert_eq!(priya.revision.as_deref(), Some("4"));
    let members = aws.group_memberships("d4c804a8-d0a1-7012-5f6e-3b8a9c0d2e71").await.unwrap();
    assert_eq!(members.len(), 3);
    let flags = aws
        .is_member_in_groups(
            &priya.id,
            &["d4c804a8-d0a1-7012-5f6e-3b8a9c0d2e71".into(), "34a8f408-a0e1-70d9-2c4b-7e1f5a6d8b93".into()],
        )
        .await
        .unwrap();
    assert_eq!(flags.iter().map(|(_, b)| *b).collect::<Vec<_>>(), [true, false]);
    assert!(aws.describe_user("gone").await.unwrap().is_none(), "ResourceNotFoundException is absence");
    let err = aws.describe_user("a4f8b4c8-c0d1-7063-9e2a-5b71d0c4e8f3").await.unwrap_err();
    assert_eq!((err.code(), err.status()), (Some("AccessDeniedException"), Some(400)));
    assert!(err.to_string().contains("(request 6ffff25b-0170-40bb-b5be-c08caf884839)"), "{err}");
    // Raw evidence kept, with the request id.
    assert!(
        raw.snapshot().iter().any(
            |r| r.url == "aws:identitystore.DescribeUser" && r.headers.iter().any(|(k, _)| k == "x-amzn-requestid")
        )
    );
}

#[tokio::test]
async fn ssoadmin_and_cloudtrail_fixtures() {
    let aws = client(None).await;
    assert_eq!(aws.instances().await.unwrap()[0].identity_store_id, "d-9067d2c41e");
    let assigned = aws.assignments_for("d4c804a8-d0a1-7012-5f6e-3b8a9c0d2e71", true, None).await.unwrap();
    assert_eq!(assigned.len(), 3);
    assert_eq!(
        aws.permission_set(&assigned[0].permission_set_arn).await.unwrap().session_duration.as_deref(),
        Some("PT4H")
    );
    let events = aws.scim_events(chrono::Utc::now() - chrono::Duration::days(365), chrono::Utc::now()).await.unwrap();
    assert_eq!(events.len(), 15, "two pages");
    assert!(events.windows(2).all(|w| w[0].event_time <= w[1].event_time), "oldest first");
    let patch = events.iter().find(|e| e.event_name == "PatchUser").unwrap();
    assert_eq!(patch.target_id(), Some("94482488-3041-7026-18f3-be45837cd0e4"));
    assert_eq!(patch.active_after(), Some(false));
    assert!(events.iter().all(|e| e.username.is_none()), "SCIM events carry no Username");
    let failed = events.iter().find(|e| e.error_code().is_some()).unwrap();
    assert_eq!(failed.event_name, "CreateGroup");
    // Who made each call: the SCIM token's id and Okta's user agent.
    assert_eq!(
        patch.actor().as_deref(),
        Some("WebIdentityUser 0c9e5b7a-3d14-4f82-a6b1-e27d49c08f35 (Okta SCIM Client 1.0.0)")
    );
}

#[tokio::test]
async fn a_wrong_identity_store_is_one_line() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, axum::Router::new().route("/", axum::routing::post(answer))).await.unwrap()
    });
    let sdk = sdk_config(&format!("http://{addr}"), "us-east-1", "AKIAIOSFODNN7EXAMPLE", "x", 1).await;
    let aws = AwsClient::new(&sdk, "d-9067d2c41f", "arn:aws:sso:::instance/x", Footprint::new(), None);
    let text = aws.list_users().await.unwrap_err().to_string();
    assert_eq!(
        text,
        "aws POST identitystore.ListUsers: HTTP 400 ResourceNotFoundException: IdentityStore not present for IdentityStoreId: d-9067d2c41f (request 6ffff25b-0170-40bb-b5be-c08caf884839)"
    );
}
