//! The sandbox answers in the vendors' shapes: its responses hold against the
//! fixtures written from the public docs (tests/fixtures, copied from
//! shared/api-fixtures): same keys, same JSON types, same header names.
//! Keys whose presence depends on the data (optional profile attributes) are named
//! per comparison.

mod common;

use common::{Graph, Okta, aws_config, set_faults, start_fast};
use serde_json::{Value, json};

fn fixture(path: &str) -> Value {
    let text =
        std::fs::read_to_string(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).expect("fixture");
    serde_json::from_str(&text).expect("fixture json")
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Compares structure: every key on either side must be on the other (unless skipped),
/// with the same JSON type where neither is null; arrays compare their first elements.
fn shape(want: &Value, got: &Value, path: &str, skip: &[&str], errs: &mut Vec<String>) {
    match (want, got) {
        (Value::Object(w), Value::Object(g)) => {
            for k in w.keys().chain(g.keys()) {
                let p = format!("{path}.{k}");
                if skip.iter().any(|s| p.ends_with(s)) {
                    continue;
                }
                match (w.get(k), g.get(k)) {
                    (Some(a), Some(b)) => shape(a, b, &p, skip, errs),
                    (Some(_), None) => errs.push(format!("{p}: missing in the sandbox")),
                    (None, Some(_)) => errs.push(format!("{p}: not in the fixture")),
                    (None, None) => {}
                }
            }
        }
        (Value::Array(w), Value::Array(g)) => {
            if let (Some(a), Some(b)) = (w.first(), g.first()) {
                shape(a, b, &format!("{path}[]"), skip, errs);
            }
        }
        (Value::Null, _) | (_, Value::Null) => {}
        (a, b) if kind(a) != kind(b) => errs.push(format!("{path}: fixture has {}, sandbox has {}", kind(a), kind(b))),
        _ => {}
    }
}

fn assert_shape(name: &str, want: &Value, got: &Value, skip: &[&str]) {
    let mut errs = Vec::new();
    shape(want, got, "$", skip, &mut errs);
    errs.sort();
    errs.dedup();
    assert!(errs.is_empty(), "{name} differs from its fixture:\n{}", errs.join("\n"));
}

fn has_headers(name: &str, h: &reqwest::header::HeaderMap, names: &[&str]) {
    for n in names {
        assert!(h.contains_key(*n), "{name}: header {n} missing");
    }
}

#[tokio::test]
async fn okta_users_errors_and_system_log() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    let g = o.group_id("jmlproof-test").await;
    let body = fixture("okta/user-create-request.json");
    let mut body = body.clone();
    body["groupIds"] = json!([g]);
    let r = o.post("/api/v1/users?activate=true", body).await;
    has_headers(
        "create user",
        r.headers(),
        &["x-okta-request-id", "x-rate-limit-limit", "x-rate-limit-remaining", "x-rate-limit-reset", "date"],
    );
    let created: Value = r.json().await.unwrap();
    assert_shape("user-created", &fixture("okta/user-created.json"), &created, &[]);
    let id = created["id"].as_str().unwrap();
    sb.settled().await;
    o.post(&format!("/api/v1/users/{id}"), json!({"profile": {"title": "Senior Platform Engineer"}})).await;
    o.post(&format!("/api/v1/users/{id}/lifecycle/deactivate"), json!({})).await;
    sb.settled().await;
    let deactivated = o.json(&format!("/api/v1/users/{id}")).await;
    assert_shape("user-deactivated", &fixture("okta/user-deactivated.json"), &deactivated, &[]);
    assert_eq!(deactivated["status"], "DEPROVISIONED");

    let r = o.get("/api/v1/users/00uLqT4aCei5eMA0c1d7").await;
    assert_shape("error-404", &fixture("okta/error-404.json"), &r.json().await.unwrap(), &[]);

    // System Log: every event type of the fixture story has the fixture's shape.
    o.delete(&format!("/api/v1/users/{id}")).await;
    let r = o.get("/api/v1/logs?sortOrder=ASCENDING&limit=1000").await;
    has_headers("logs", r.headers(), &["link", "x-okta-request-id", "x-rate-limit-reset"]);
    let events: Vec<Value> = r.json().await.unwrap();
    let story = fixture("okta/systemlog-page-joiner-leaver.json");
    let mut compared = 0;
    for want in story.as_array().unwrap() {
        let Some(got) = events.iter().find(|e| e["eventType"] == want["eventType"]) else {
            continue;
        };
        // client, debugData and securityContext contents vary with the transaction.
        assert_shape(
            want["eventType"].as_str().unwrap(),
            want,
            got,
            &[
                ".client.userAgent",
                ".client.geographicalContext",
                ".debugContext.debugData",
                ".request.ipChain[].geographicalContext",
                ".securityContext.asNumber",
            ],
        );
        compared += 1;
    }
    let types: std::collections::BTreeSet<&str> = events.iter().filter_map(|e| e["eventType"].as_str()).collect();
    for want in story.as_array().unwrap().iter().filter_map(|e| e["eventType"].as_str()) {
        assert!(types.contains(want), "the sandbox never wrote {want}");
    }
    assert!(compared >= 19);
    let failed = fixture("okta/systemlog-provisioning-failed.json");
    set_faults(&sb, "[aws]\npush_failures = 1\n").await;
    o.create("jmlproof-c-02@sandbox.example", "C", "D", &[g]).await;
    sb.settled().await;
    let events = o.events().await;
    let got = events.iter().find(|e| e["outcome"]["result"] == "FAILURE").expect("a failed push");
    assert_shape("provisioning-failed", &failed[0], got, &[".client.userAgent", ".debugContext.debugData"]);

    set_faults(&sb, "[okta]\nrate_429 = 1.0\n").await;
    let r = o.get("/api/v1/users").await;
    assert_eq!(r.status(), 429);
    assert_shape("error-429", &fixture("okta/error-429.json"), &r.json().await.unwrap(), &[]);
}

const SELECT: &str = "id,userPrincipalName,displayName,accountEnabled,givenName,surname,mail,employeeId,onPremisesImmutableId,createdDateTime,externalUserState,userType,department,jobTitle";

#[tokio::test]
async fn graph_users_audits_tokens_and_errors() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    let g = o.group_id("jmlproof-test").await;
    let u = o.create("jordan.rivera@sandbox.example", "Jordan", "Rivera", &[g]).await;
    let uid = u["id"].as_str().unwrap();
    sb.settled().await;
    let graph = Graph::new(&sb).await;
    let r = graph
        .get(&format!("/users?$filter=userPrincipalName%20eq%20'jordan.rivera@sandbox.example'&$select={SELECT}"))
        .await;
    has_headers("users", r.headers(), &["request-id", "client-request-id", "date"]);
    let list: Value = r.json().await.unwrap();
    assert_shape("users-filter-upn-eq", &fixture("graph/users-filter-upn-eq.json"), &list, &[]);
    let eid = list["value"][0]["id"].as_str().unwrap().to_string();
    assert_shape(
        "user-enabled",
        &fixture("graph/user-enabled.json"),
        &graph.json(&format!("/users/{eid}?$select={SELECT}")).await,
        &[],
    );
    o.post(&format!("/api/v1/users/{uid}/lifecycle/deactivate"), json!({})).await;
    sb.settled().await;
    assert_shape(
        "user-disabled",
        &fixture("graph/user-disabled.json"),
        &graph.json(&format!("/users/{eid}?$select={SELECT}")).await,
        &[],
    );

    let audits = graph.json("/auditLogs/directoryAudits").await;
    let want = fixture("graph/directoryaudits-okta-jml-page.json");
    for w in want["value"].as_array().unwrap() {
        let got = audits["value"]
            .as_array()
            .unwrap()
            .iter()
            .find(|a| a["activityDisplayName"] == w["activityDisplayName"])
            .expect("activity present");
        assert_shape(w["activityDisplayName"].as_str().unwrap(), w, got, &[".modifiedProperties[]"]);
    }
    assert_shape(
        "404",
        &fixture("graph/error-404-user-not-found.json"),
        &graph.get("/users/00000000-0000-0000-0000-000000000000").await.json().await.unwrap(),
        &[],
    );

    let e = &sb.endpoints;
    let form = [
        ("client_id", e.client_id.as_str()),
        ("client_secret", e.client_secret.as_str()),
        ("grant_type", "client_credentials"),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let tok: Value = common::http()
        .post(format!("{}/{}/oauth2/v2.0/token", e.login_url, e.tenant_id))
        .form(&form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_shape("token", &fixture("graph/token-response.json"), &tok, &[]);
    let bad = [
        ("client_id", e.client_id.as_str()),
        ("client_secret", "x"),
        ("grant_type", "client_credentials"),
        ("scope", "https://graph.microsoft.com/.default"),
    ];
    let err: Value = common::http()
        .post(format!("{}/{}/oauth2/v2.0/token", e.login_url, e.tenant_id))
        .form(&bad)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_shape("token-error", &fixture("graph/token-error-invalid-client.json"), &err, &[]);

    set_faults(&sb, "[entra]\nrevoke = \"delete\"\n").await;
    let u2 = o.create("jamie.chen@sandbox.example", "Jamie", "Chen", &[o.group_id("jmlproof-test").await]).await;
    sb.settled().await;
    let d2 = graph.by_immutable_id(u2["id"].as_str().unwrap()).await.unwrap()["id"].as_str().unwrap().to_string();
    o.post(&format!("/api/v1/users/{}/lifecycle/deactivate", u2["id"].as_str().unwrap()), json!({})).await;
    sb.settled().await;
    let deleted = graph
        .json(&format!(
            "/directory/deletedItems/{d2}?$select=id,userPrincipalName,displayName,accountEnabled,deletedDateTime"
        ))
        .await;
    assert_shape("deleteditems", &fixture("graph/deleteditems-user.json"), &deleted, &[]);

    set_faults(&sb, "[entra]\nrate_429 = 1.0\n").await;
    let r = graph.get("/users").await;
    has_headers("429", r.headers(), &["retry-after", "request-id", "client-request-id"]);
    assert_shape("429", &fixture("graph/error-429-throttled.json"), &r.json().await.unwrap(), &[]);
}

#[tokio::test]
async fn aws_identitystore_ssoadmin_and_cloudtrail() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    let g = o.group_id("jmlproof-test").await;
    let u = o.create("priya.raman@sandbox.example", "Priya", "Raman", &[g]).await;
    sb.settled().await;
    o.post(
        &format!("/api/v1/users/{}", u["id"].as_str().unwrap()),
        json!({"profile": {"title": "Senior Platform Engineer"}}),
    )
    .await;
    o.post(&format!("/api/v1/users/{}/lifecycle/deactivate", u["id"].as_str().unwrap()), json!({})).await;
    sb.settled().await;
    let e = sb.endpoints.clone();
    let conf = aws_config(&sb, &e.aws_secret_access_key).await;
    let is = aws_sdk_identitystore::Client::new(&conf);
    let user_id =
        is.list_users().identity_store_id(&e.identity_store_id).send().await.unwrap().users()[0].user_id().to_string();

    // Raw JSON (the SDK would hide extra or missing members).
    let post = |target: &'static str, service: &'static str, body: Value| {
        let e = e.clone();
        async move {
            let body = body.to_string();
            let mut h = reqwest::header::HeaderMap::new();
            h.insert("host", e.aws_endpoint.trim_start_matches("http://").parse().unwrap());
            h.insert("content-type", "application/x-amz-json-1.1".parse().unwrap());
            h.insert("x-amz-target", target.parse().unwrap());
            jmlproof::sandbox::aws::sigv4::sign_for_tests(
                &mut h,
                body.as_bytes(),
                &e.aws_access_key_id,
                &e.aws_secret_access_key,
                &e.aws_region,
                service,
                chrono::Utc::now(),
            );
            let r = common::http().post(format!("{}/", e.aws_endpoint)).headers(h).body(body).send().await.unwrap();
            has_headers(target, r.headers(), &["x-amzn-requestid", "date"]);
            r.json::<Value>().await.unwrap()
        }
    };
    let store = e.identity_store_id.clone();
    let data = &[".UserType", ".Addresses", ".PhoneNumbers"];
    let got =
        post("AWSIdentityStore.DescribeUser", "identitystore", json!({"IdentityStoreId": store, "UserId": user_id}))
            .await;
    assert_shape(
        "describe-user.disabled",
        &fixture("aws/identitystore/describe-user.disabled.response.json"),
        &got,
        data,
    );
    assert_eq!(got["UserStatus"], "DISABLED");
    let got =
        post("AWSIdentityStore.ListUsers", "identitystore", json!({"IdentityStoreId": store, "MaxResults": 1})).await;
    assert_shape(
        "list-users",
        &fixture("aws/identitystore/list-users.page1.response.json"),
        &got,
        &[".Users[].UserType", ".Users[].Title", ".Users[].ExternalIds", ".NextToken"],
    );
    let got = post("AWSIdentityStore.GetUserId", "identitystore", json!({"IdentityStoreId": store, "AlternateIdentifier": {"ExternalId": {"Issuer": format!("https://scim.aws.com/{}", "x"), "Id": "y"}}})).await;
    assert_eq!(got["__type"], "ResourceNotFoundException");
    let groups = post("AWSIdentityStore.ListGroups", "identitystore", json!({"IdentityStoreId": store})).await;
    assert_shape(
        "list-groups",
        &fixture("aws/identitystore/list-groups.response.json"),
        &groups,
        &[".Groups[].Description"],
    );
    let gid =
        groups["Groups"].as_array().unwrap().iter().find(|g| g["DisplayName"] == "jmlproof-test").unwrap()["GroupId"]
            .as_str()
            .unwrap()
            .to_string();
    let got = post(
        "AWSIdentityStore.ListGroupMemberships",
        "identitystore",
        json!({"IdentityStoreId": store, "GroupId": gid}),
    )
    .await;
    assert_shape(
        "list-group-memberships",
        &fixture("aws/identitystore/list-group-memberships.response.json"),
        &got,
        &[],
    );
    let got = post(
        "AWSIdentityStore.IsMemberInGroups",
        "identitystore",
        json!({"IdentityStoreId": store, "MemberId": {"UserId": user_id}, "GroupIds": [gid]}),
    )
    .await;
    assert_shape("is-member-in-groups", &fixture("aws/identitystore/is-member-in-groups.response.json"), &got, &[]);
    let got = post("AWSIdentityStore.GetGroupId", "identitystore", json!({"IdentityStoreId": store, "AlternateIdentifier": {"UniqueAttribute": {"AttributePath": "displayName", "AttributeValue": "jmlproof-test"}}})).await;
    assert_shape("get-group-id", &fixture("aws/identitystore/get-group-id.response.json"), &got, &[]);
    let got = post(
        "AWSIdentityStore.DescribeUser",
        "identitystore",
        json!({"IdentityStoreId": store, "UserId": "94482488-3041-7026-18f3-be45837cd0e4"}),
    )
    .await;
    assert_shape("not-found", &fixture("aws/identitystore/error-resource-not-found.user.json"), &got, &[]);
    let got =
        post("AWSIdentityStore.ListUsers", "identitystore", json!({"IdentityStoreId": store, "MaxResults": 500})).await;
    assert_shape("validation", &fixture("aws/identitystore/error-validation.json"), &got, &[]);

    let inst = e.instance_arn.clone();
    let got = post("SWBExternalService.ListInstances", "sso", json!({})).await;
    assert_shape("list-instances", &fixture("aws/sso-admin/list-instances.response.json"), &got, &[]);
    let got = post(
        "SWBExternalService.DescribePermissionSet",
        "sso",
        json!({"InstanceArn": inst, "PermissionSetArn": e.permission_set_arn}),
    )
    .await;
    assert_shape("describe-permission-set", &fixture("aws/sso-admin/describe-permission-set.response.json"), &got, &[]);
    let got = post("SWBExternalService.ListPermissionSets", "sso", json!({"InstanceArn": inst})).await;
    assert_shape("list-permission-sets", &fixture("aws/sso-admin/list-permission-sets.response.json"), &got, &[]);
    let got = post(
        "SWBExternalService.ListAccountAssignmentsForPrincipal",
        "sso",
        json!({"InstanceArn": inst, "PrincipalId": gid, "PrincipalType": "GROUP"}),
    )
    .await;
    assert_shape(
        "assignments-for-principal",
        &fixture("aws/sso-admin/list-account-assignments-for-principal.group.response.json"),
        &got,
        &[],
    );
    let got = post(
        "SWBExternalService.ListAccountAssignments",
        "sso",
        json!({"InstanceArn": inst, "AccountId": e.aws_account_id, "PermissionSetArn": e.permission_set_arn}),
    )
    .await;
    assert_shape("account-assignments", &fixture("aws/sso-admin/list-account-assignments.response.json"), &got, &[]);

    let got = post("com.amazonaws.cloudtrail.v20131101.CloudTrail_20131101.LookupEvents", "cloudtrail", json!({"LookupAttributes": [{"AttributeKey": "EventSource", "AttributeValue": "identitystore-scim.amazonaws.com"}], "MaxResults": 2})).await;
    assert_shape(
        "lookup-events",
        &fixture("aws/cloudtrail/lookup-events.page1.response.json"),
        &got,
        &[".Events[].CloudTrailEvent"],
    );
    let decoded = fixture("aws/cloudtrail/scim-events.decoded.json");
    let conf_events = aws_sdk_cloudtrail::Client::new(&conf).lookup_events().send().await.unwrap();
    for ev in conf_events.events() {
        let inner: Value = serde_json::from_str(ev.cloud_trail_event().unwrap()).unwrap();
        let want = decoded
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["eventName"] == inner["eventName"] && d["userAgent"] == "Okta SCIM Client 1.0.0")
            .expect("a fixture event of that name");
        assert_shape(
            inner["eventName"].as_str().unwrap(),
            want,
            &inner,
            &[".requestParameters.httpBody", ".responseElements"],
        );
    }
    set_faults(&sb, "[aws]\nrate_429 = 1.0\n").await;
    let got = post("AWSIdentityStore.ListUsers", "identitystore", json!({"IdentityStoreId": store})).await;
    assert_shape("throttling", &fixture("aws/identitystore/error-throttling.json"), &got, &[]);
}
