//! The emulated AWS endpoint through the official SDK for Rust (endpoint override),
//! and raw awsJson requests for what the SDK will not send: SigV4 is verified,
//! errors come in AWS's shape, paging uses NextToken, both CloudTrail target names work.

mod common;

use common::{Okta, aws_config, set_faults, start_fast};
use jmlproof::sandbox::Sandbox;
use serde_json::{Value, json};

async fn raw(
    sb: &Sandbox,
    target: &str,
    service: &str,
    body: Value,
    secret: &str,
) -> (u16, reqwest::header::HeaderMap, Value) {
    let e = &sb.endpoints;
    let body = body.to_string();
    let mut h = reqwest::header::HeaderMap::new();
    h.insert("host", e.aws_endpoint.trim_start_matches("http://").parse().unwrap());
    h.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
    h.insert("x-amz-target", target.parse().unwrap());
    jmlproof::sandbox::aws::sigv4::sign_for_tests(
        &mut h,
        body.as_bytes(),
        &e.aws_access_key_id,
        secret,
        &e.aws_region,
        service,
        chrono::Utc::now(),
    );
    let r = common::http().post(format!("{}/", e.aws_endpoint)).headers(h).body(body).send().await.unwrap();
    let status = r.status().as_u16();
    let headers = r.headers().clone();
    (status, headers, r.json().await.unwrap_or(Value::Null))
}

async fn advance(sb: &Sandbox, by: &str) {
    let r = common::http()
        .post(format!("{}/clock/advance", sb.endpoints.admin_url))
        .body(format!("{{\"by\":\"{by}\"}}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

async fn provision(sb: &Sandbox, n: usize) {
    let o = Okta::new(sb);
    let g = o.group_id("jmlproof-test").await;
    for i in 0..n {
        o.create(&format!("jmlproof-a{i:02}@sandbox.example"), "Ana", "Souza", std::slice::from_ref(&g)).await;
    }
    sb.settled().await;
}

#[tokio::test]
async fn sdk_lists_users_across_pages_and_a_wrong_secret_is_refused() {
    let sb = start_fast().await;
    provision(&sb, 5).await;
    let e = &sb.endpoints;
    let conf = aws_config(&sb, &e.aws_secret_access_key).await;
    let is = aws_sdk_identitystore::Client::new(&conf);
    let mut pages = is.list_users().identity_store_id(&e.identity_store_id).max_results(2).into_paginator().send();
    let (mut n, mut count) = (0, 0);
    while let Some(page) = pages.next().await {
        let page = page.unwrap();
        n += 1;
        count += page.users().len();
        for u in page.users() {
            assert!(!u.user_arn().is_empty() && !u.revision().is_empty());
            assert!(u.created_at().is_some() && u.updated_at().is_some());
        }
    }
    assert_eq!((count, n), (5, 3));

    let bad = aws_config(&sb, "not-the-secret").await;
    let err = aws_sdk_identitystore::Client::new(&bad)
        .list_users()
        .identity_store_id(&e.identity_store_id)
        .send()
        .await
        .unwrap_err();
    let svc = err.into_service_error();
    assert_eq!(aws_sdk_identitystore::error::ProvideErrorMetadata::code(&svc), Some("InvalidSignatureException"));
}

#[tokio::test]
async fn identitystore_errors_have_aws_shapes() {
    let sb = start_fast().await;
    let e = sb.endpoints.clone();
    let (s, h, v) = raw(
        &sb,
        "AWSIdentityStore.ListUsers",
        "identitystore",
        json!({"IdentityStoreId": e.identity_store_id, "MaxResults": 500}),
        &e.aws_secret_access_key,
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(h["x-amzn-errortype"], "ValidationException");
    assert_eq!(
        v["Message"],
        "1 validation error detected: Value '500' at 'maxResults' failed to satisfy constraint: Member must have value less than or equal to 100"
    );
    assert_eq!(v["RequestId"], h["x-amzn-requestid"].to_str().unwrap());

    let (s, _, v) = raw(
        &sb,
        "AWSIdentityStore.ListUsers",
        "identitystore",
        json!({"IdentityStoreId": "d-0000000000"}),
        &e.aws_secret_access_key,
    )
    .await;
    assert_eq!(s, 400);
    assert_eq!(v["__type"], "ResourceNotFoundException");
    assert_eq!(v["ResourceType"], "IDENTITY_STORE");

    let (s, _, v) = raw(
        &sb,
        "AWSIdentityStore.DescribeUser",
        "identitystore",
        json!({"IdentityStoreId": e.identity_store_id, "UserId": "nope"}),
        &e.aws_secret_access_key,
    )
    .await;
    assert_eq!((s, v["ResourceType"].as_str()), (400, Some("USER")));

    // Signed for the wrong service, or with an unknown key.
    let (s, _, v) = raw(
        &sb,
        "AWSIdentityStore.ListUsers",
        "sso",
        json!({"IdentityStoreId": e.identity_store_id}),
        &e.aws_secret_access_key,
    )
    .await;
    assert_eq!((s, v["__type"].as_str()), (400, Some("InvalidSignatureException")));
    let r = common::http()
        .post(format!("{}/", e.aws_endpoint))
        .header("x-amz-target", "AWSIdentityStore.ListUsers")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.headers()["x-amzn-errortype"], "MissingAuthenticationTokenException");

    // Throttling carries RetryAfterSeconds in the body.
    set_faults(&sb, "[aws]\nrate_429 = 1.0\n").await;
    let (s, _, v) = raw(
        &sb,
        "AWSIdentityStore.ListUsers",
        "identitystore",
        json!({"IdentityStoreId": e.identity_store_id}),
        &e.aws_secret_access_key,
    )
    .await;
    assert_eq!((s, v["__type"].as_str(), v["RetryAfterSeconds"].as_i64()), (400, Some("ThrottlingException"), Some(1)));
}

#[tokio::test]
async fn sso_admin_proves_the_group_grants_access() {
    let sb = start_fast().await;
    provision(&sb, 1).await;
    let e = &sb.endpoints;
    let conf = aws_config(&sb, &e.aws_secret_access_key).await;
    let sso = aws_sdk_ssoadmin::Client::new(&conf);
    let inst = sso.list_instances().send().await.unwrap();
    assert_eq!(inst.instances()[0].identity_store_id(), Some(e.identity_store_id.as_str()));
    assert_eq!(inst.instances()[0].instance_arn(), Some(e.instance_arn.as_str()));
    let ps = sso
        .describe_permission_set()
        .instance_arn(&e.instance_arn)
        .permission_set_arn(&e.permission_set_arn)
        .send()
        .await
        .unwrap();
    assert_eq!(ps.permission_set().and_then(|p| p.session_duration()), Some("PT4H"));

    let is = aws_sdk_identitystore::Client::new(&conf);
    let gid = is
        .get_group_id()
        .identity_store_id(&e.identity_store_id)
        .alternate_identifier(aws_sdk_identitystore::types::AlternateIdentifier::UniqueAttribute(
            aws_sdk_identitystore::types::UniqueAttribute::builder()
                .attribute_path("displayName")
                .attribute_value(aws_smithy_types::Document::String("jmlproof-test".into()))
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .group_id
        .clone();
    let assigned = sso
        .list_account_assignments_for_principal()
        .instance_arn(&e.instance_arn)
        .principal_id(&gid)
        .principal_type(aws_sdk_ssoadmin::types::PrincipalType::Group)
        .filter(aws_sdk_ssoadmin::types::ListAccountAssignmentsFilter::builder().account_id(&e.aws_account_id).build())
        .send()
        .await
        .unwrap();
    assert_eq!(assigned.account_assignments().len(), 1);
    assert_eq!(assigned.account_assignments()[0].permission_set_arn(), Some(e.permission_set_arn.as_str()));

    let user =
        is.list_users().identity_store_id(&e.identity_store_id).send().await.unwrap().users()[0].user_id().to_string();
    let member = is
        .is_member_in_groups()
        .identity_store_id(&e.identity_store_id)
        .member_id(aws_sdk_identitystore::types::MemberId::UserId(user))
        .group_ids(&gid)
        .send()
        .await
        .unwrap();
    assert!(member.results()[0].membership_exists());
}

#[tokio::test]
async fn cloudtrail_answers_both_target_spellings_and_pages() {
    let sb = start_fast().await;
    provision(&sb, 3).await;
    let e = sb.endpoints.clone();
    let lookup = json!({"LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": "identitystore-scim.amazonaws.com"}], "MaxResults": 4});
    for target in
        ["com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", "CloudTrail_20131101.LookupEvents"]
    {
        let (s, _, v) = raw(&sb, target, "cloudtrail", lookup.clone(), &e.aws_secret_access_key).await;
        assert_eq!(s, 200, "{target}: {v}");
        assert_eq!(v["Events"].as_array().unwrap().len(), 4);
        assert!(v["NextToken"].is_string());
        let ev = &v["Events"][0];
        assert!(ev["EventTime"].is_f64());
        assert_eq!(ev["ReadOnly"], "false");
        let inner: Value = serde_json::from_str(ev["CloudTrailEvent"].as_str().unwrap()).unwrap();
        assert_eq!(inner["eventSource"], "identitystore-scim.amazonaws.com");
    }
    // Two calls per second: the third within the second is throttled.
    let (s, _, v) =
        raw(&sb, "CloudTrail_20131101.LookupEvents", "cloudtrail", lookup.clone(), &e.aws_secret_access_key).await;
    assert_eq!((s, v["__type"].as_str()), (400, Some("ThrottlingException")));
    // More than one lookup attribute is refused.
    advance(&sb, "1s").await;
    let two = json!({"LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": "x"}, {"AttributeKey": "EventName", "AttributeValue": "y"}]});
    let (s, _, v) = raw(&sb, "CloudTrail_20131101.LookupEvents", "cloudtrail", two, &e.aws_secret_access_key).await;
    assert_eq!((s, v["__type"].as_str()), (400, Some("InvalidLookupAttributesException")));

    // The SDK pages to the end: 3 users → CreateUser ×3 + PatchGroup ×3.
    let conf = aws_config(&sb, &e.aws_secret_access_key).await;
    let ct = aws_sdk_cloudtrail::Client::new(&conf);
    let (mut n, mut token) = (0, None);
    loop {
        // Stay within 2 calls per tenant second by moving the tenant clock, not by sleeping.
        advance(&sb, "1s").await;
        let page = ct.lookup_events().max_results(4).set_next_token(token).send().await.unwrap();
        n += page.events().len();
        token = page.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    assert_eq!(n, 6);
}
