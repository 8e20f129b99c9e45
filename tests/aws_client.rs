//! The AWS client against the sandbox: users by userName and externalId, status and
//! timestamps, memberships, the group's permission set on the account, SCIM events
//! from CloudTrail, throttling retried by the SDK and counted, each error class.

mod common;

use common::{Okta, sdk_config, set_faults, start_fast};
use jmlproof::aws::AwsClient;
use jmlproof::aws::types::iso_duration;
use jmlproof::http::{Footprint, System};
use jmlproof::sandbox::Sandbox;
use serde_json::json;

async fn client(sb: &Sandbox, fp: &std::sync::Arc<Footprint>, secret: &str, attempts: u32) -> AwsClient {
    let e = &sb.endpoints;
    let sdk = sdk_config(&e.aws_endpoint, &e.aws_region, &e.aws_access_key_id, secret, attempts).await;
    AwsClient::new(&sdk, &e.identity_store_id, &e.instance_arn, fp.clone(), None)
}

#[tokio::test]
async fn joiner_and_leaver_as_identity_center_shows_them() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    let g = o.group_id("jmlproof-test").await;
    let u = o.create("jmlproof-w-01@sandbox.example", "Wiktoria", "Wąs", std::slice::from_ref(&g)).await;
    let okta_id = u["id"].as_str().unwrap().to_string();
    sb.settled().await;
    let fp = Footprint::new();
    let aws = client(&sb, &fp, &sb.endpoints.aws_secret_access_key, 3).await;

    let user = aws.user_by_user_name("jmlproof-w-01@sandbox.example").await.unwrap().unwrap();
    assert_eq!(user.family_name.as_deref(), Some("Wąs"));
    assert_eq!(user.is_disabled(), Some(false));
    assert!(user.created_at.is_some() && user.user_arn.is_some() && user.revision.is_some());
    assert!(user.has_external_id(&okta_id));
    let (issuer, _) = user.external_ids[0].clone();
    assert_eq!(aws.user_by_external_id(&issuer, &okta_id).await.unwrap().unwrap().id, user.id);
    assert_eq!(aws.users_with_external_id(&okta_id).await.unwrap().len(), 1);
    assert!(aws.user_by_user_name("nobody").await.unwrap().is_none());

    // Access: member of the pushed group, which holds the permission set on the account.
    let gid = aws.group_id_by_name("jmlproof-test").await.unwrap().unwrap();
    assert_eq!(aws.is_member_in_groups(&user.id, std::slice::from_ref(&gid)).await.unwrap(), vec![(gid.clone(), true)]);
    let assigned = aws.assignments_for(&gid, true, Some(&sb.endpoints.aws_account_id)).await.unwrap();
    assert_eq!(assigned[0].permission_set_arn, sb.endpoints.permission_set_arn);
    let ps = aws.permission_set(&assigned[0].permission_set_arn).await.unwrap();
    assert_eq!(ps.session_duration.as_deref().and_then(iso_duration), Some(std::time::Duration::from_secs(4 * 3600)));
    assert!(aws.assignments_for(&user.id, false, None).await.unwrap().is_empty(), "no direct assignment");
    assert_eq!(aws.instances().await.unwrap()[0].identity_store_id, sb.endpoints.identity_store_id);

    // Leaver: DISABLED, memberships kept, a PatchUser in CloudTrail with active=false.
    o.post(&format!("/api/v1/users/{okta_id}/lifecycle/deactivate"), json!({})).await;
    sb.settled().await;
    let gone = aws.describe_user(&user.id).await.unwrap().unwrap();
    assert_eq!(gone.is_disabled(), Some(true));
    assert!(gone.updated_at > user.updated_at);
    assert_eq!(aws.memberships_of_user(&user.id).await.unwrap().len(), 1);
    assert_eq!(aws.group_memberships(&gid).await.unwrap()[0].user_id.as_deref(), Some(user.id.as_str()));
    let events = aws
        .scim_events(chrono::Utc::now() - chrono::Duration::hours(1), chrono::Utc::now() + chrono::Duration::minutes(1))
        .await
        .unwrap();
    let names: Vec<&str> = events.iter().map(|e| e.event_name.as_str()).collect();
    assert_eq!(names, ["CreateUser", "PatchGroup", "PatchUser"], "oldest first");
    let patch = events.last().unwrap();
    assert_eq!((patch.target_id(), patch.active_after()), (Some(user.id.as_str()), Some(false)));
    assert!(patch.username.is_none(), "SCIM events carry no Username");

    let stats = fp.snapshot();
    assert!(stats.iter().all(|s| s.system == System::Aws));
    assert!(stats.iter().any(|s| s.endpoint == "POST identitystore.DescribeUser" && s.calls >= 2), "{stats:?}");
}

#[tokio::test]
async fn throttling_is_retried_by_the_sdk_and_counted() {
    let sb = start_fast().await;
    set_faults(&sb, "[aws]\nrate_429 = 0.5\n").await;
    let fp = Footprint::new();
    let aws = client(&sb, &fp, &sb.endpoints.aws_secret_access_key, 8).await;
    for _ in 0..4 {
        aws.list_users().await.unwrap();
    }
    let s = fp.snapshot().into_iter().find(|s| s.endpoint == "POST identitystore.ListUsers").unwrap();
    assert_eq!(s.calls, 4);
    assert!(s.throttled >= 1 && s.retries >= 1, "{s:?}");
}

#[tokio::test]
async fn errors_name_the_operation_code_and_request() {
    let sb = start_fast().await;
    let fp = Footprint::new();
    let e = &sb.endpoints;
    // Wrong identity store.
    let sdk = sdk_config(&e.aws_endpoint, &e.aws_region, &e.aws_access_key_id, &e.aws_secret_access_key, 1).await;
    let aws = AwsClient::new(&sdk, "d-0000000000", &e.instance_arn, fp.clone(), None);
    let err = aws.list_users().await.unwrap_err();
    assert_eq!(err.code(), Some("ResourceNotFoundException"));
    // A missing identity store is an error, never "this user is gone".
    assert!(aws.user_by_user_name("anyone").await.is_err());
    let text = err.to_string();
    assert!(
        text.starts_with(
            "aws POST identitystore.ListUsers: HTTP 400 ResourceNotFoundException: IdentityStore not present"
        ) && text.contains("(request "),
        "{text}"
    );
    // Wrong secret.
    let aws = client(&sb, &fp, "wrong", 1).await;
    assert_eq!(aws.list_users().await.unwrap_err().code(), Some("InvalidSignatureException"));
    // Unreachable endpoint.
    let sdk = sdk_config("http://127.0.0.1:9", &e.aws_region, &e.aws_access_key_id, &e.aws_secret_access_key, 1).await;
    let text = AwsClient::new(&sdk, &e.identity_store_id, &e.instance_arn, fp, None)
        .list_users()
        .await
        .unwrap_err()
        .to_string();
    assert!(text.starts_with("aws POST identitystore.ListUsers: ") && !text.contains('\n'), "{text}");
}
