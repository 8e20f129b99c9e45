//! The emulated Graph and its token endpoint: client credentials and AADSTS errors,
//! `$select`/`$top`/`$filter` strictness, advanced queries, paging to the end, and
//! directory audits with their filter grammar, 5-per-10-s limit and retention.

mod common;

use common::{Graph, Okta, admin, set_faults, start_fast};
use serde_json::Value;

async fn token_call(sb: &jmlproof::sandbox::Sandbox, tenant: &str, form: &[(&str, &str)]) -> (u16, Value) {
    let r = common::http()
        .post(format!("{}/{tenant}/oauth2/v2.0/token", sb.endpoints.login_url))
        .form(form)
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.json().await.unwrap())
}

#[tokio::test]
async fn token_endpoint_answers_like_entra() {
    let sb = start_fast().await;
    let e = &sb.endpoints;
    let scope = "https://graph.microsoft.com/.default";
    let (s, v) = token_call(
        &sb,
        &e.tenant_id,
        &[
            ("client_id", &e.client_id),
            ("client_secret", &e.client_secret),
            ("grant_type", "client_credentials"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(s, 200);
    assert_eq!(v["token_type"], "Bearer");
    assert_eq!(v["expires_in"], 3599);
    assert!(v["ext_expires_in"].is_number());

    let (s, v) = token_call(
        &sb,
        &e.tenant_id,
        &[
            ("client_id", &e.client_id),
            ("client_secret", "wrong"),
            ("grant_type", "client_credentials"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!(s, 401);
    assert_eq!(v["error"], "invalid_client");
    assert_eq!(v["error_codes"][0], 7000215);
    assert!(v["error_description"].as_str().unwrap().starts_with("AADSTS7000215: "));
    assert!(v["trace_id"].is_string() && v["correlation_id"].is_string());

    let (s, v) = token_call(
        &sb,
        "00000000-0000-0000-0000-000000000000",
        &[
            ("client_id", &e.client_id),
            ("client_secret", &e.client_secret),
            ("grant_type", "client_credentials"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!((s, v["error_codes"][0].as_u64()), (400, Some(90002)));
    let (s, v) = token_call(
        &sb,
        &e.tenant_id,
        &[
            ("client_id", "nope"),
            ("client_secret", &e.client_secret),
            ("grant_type", "client_credentials"),
            ("scope", scope),
        ],
    )
    .await;
    assert_eq!((s, v["error_codes"][0].as_u64()), (400, Some(700016)));
    let (s, v) = token_call(
        &sb,
        &e.tenant_id,
        &[("client_id", &e.client_id), ("grant_type", "client_credentials"), ("scope", scope)],
    )
    .await;
    assert_eq!((s, v["error_codes"][0].as_u64()), (401, Some(7000218)));

    // HTTP Basic client authentication is accepted too.
    let r = common::http()
        .post(format!("{}/{}/oauth2/v2.0/token", e.login_url, e.tenant_id))
        .basic_auth(&e.client_id, Some(&e.client_secret))
        .form(&[("grant_type", "client_credentials"), ("scope", scope)])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
}

#[tokio::test]
async fn bearer_is_required() {
    let sb = start_fast().await;
    let c = common::http();
    let r = c.get(format!("{}/v1.0/users", sb.endpoints.graph_url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "InvalidAuthenticationToken");
    let r = c.get(format!("{}/v1.0/users", sb.endpoints.graph_url)).bearer_auth("forged").send().await.unwrap();
    assert_eq!(r.status(), 401);
}

async fn provision(sb: &jmlproof::sandbox::Sandbox, n: usize) -> Vec<String> {
    let o = Okta::new(sb);
    let g = o.group_id("jmlproof-test").await;
    let mut ids = Vec::new();
    for i in 0..n {
        let u = o
            .create(
                &format!("jmlproof-g{i:02}@sandbox.example"),
                "Gina",
                &format!("O'Brien{i}"),
                std::slice::from_ref(&g),
            )
            .await;
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    sb.settled().await;
    ids
}

#[tokio::test]
async fn users_select_top_filter_and_paging() {
    let sb = start_fast().await;
    provision(&sb, 5).await;
    let g = Graph::new(&sb).await;

    // Without $select, accountEnabled and onPremisesImmutableId are absent.
    let v = g.json("/users").await;
    let u = &v["value"][0];
    assert!(u.get("accountEnabled").is_none());
    assert!(u.get("onPremisesImmutableId").is_none());
    assert!(u.get("userPrincipalName").is_some());
    // With $select, exactly those properties (and @odata.context names them).
    let v = g.json("/users?$select=id,accountEnabled").await;
    assert_eq!(v["value"][0].as_object().unwrap().len(), 2);
    assert!(v["@odata.context"].as_str().unwrap().ends_with("#users(id,accountEnabled)"));
    // Unknown property.
    let r = g.get("/users?$select=id,nope").await;
    assert_eq!(r.status(), 400);

    // $top bounds.
    for top in ["0", "1000"] {
        let r = g.get(&format!("/users?$top={top}")).await;
        assert_eq!(r.status(), 400, "$top={top}");
        assert!(r.json::<Value>().await.unwrap()["error"]["message"].as_str().unwrap().contains("Invalid page size"));
    }

    // Paging: follow @odata.nextLink whole until it is absent.
    let mut url = format!("{}/v1.0/users?$top=2&$select=id", sb.endpoints.graph_url);
    let mut seen = 0;
    let mut pages = 0;
    loop {
        let v: Value = g.c.get(&url).bearer_auth(&g.token).send().await.unwrap().json().await.unwrap();
        seen += v["value"].as_array().unwrap().len();
        pages += 1;
        match v["@odata.nextLink"].as_str() {
            Some(next) => {
                assert!(next.contains("$skiptoken=X%27") || next.contains("$skiptoken=X'"), "{next}");
                url = next.to_string();
            }
            None => break,
        }
    }
    assert_eq!((seen, pages), (5, 3));

    // A quote inside a literal is doubled; startswith works by default.
    let v = g.json("/users?$filter=startswith(surname,'O''Brien')&$select=id").await;
    assert_eq!(v["value"].as_array().unwrap().len(), 5);
    // Unsupported property → Request_UnsupportedQuery.
    let r = g.get("/users?$filter=jobTitle%20eq%20'x'").await;
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "Request_UnsupportedQuery");
    // Advanced query needed for ne / endswith / onPremisesImmutableId.
    let r = g.get("/users?$filter=accountEnabled%20ne%20true").await;
    assert_eq!(r.status(), 400);
    // $count=true without the header is silently ignored.
    let v = g.json("/users?$count=true&$filter=accountEnabled%20eq%20true&$select=id").await;
    assert!(v.get("@odata.count").is_none());
    let v: Value =
        g.c.get(format!(
            "{}/v1.0/users?$count=true&$filter=accountEnabled%20ne%20false&$select=id&$top=2",
            sb.endpoints.graph_url
        ))
        .header("ConsistencyLevel", "eventual")
        .bearer_auth(&g.token)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(v["@odata.count"], 5);
    assert_eq!(v["value"].as_array().unwrap().len(), 2);
    // 404 shape.
    let r = g.get("/users/6b1f3e2a-9c4d-4f7e-8a21-3d5c0b9e7f48").await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"]["code"], "Request_ResourceNotFound");
    assert!(v["error"]["innerError"]["request-id"].is_string());
    assert!(!v["error"]["innerError"]["date"].as_str().unwrap().ends_with('Z'));
}

#[tokio::test]
async fn directory_audits_filter_limit_and_retention() {
    let sb = start_fast().await;
    let ids = provision(&sb, 1).await;
    let g = Graph::new(&sb).await;
    let entra = g.by_immutable_id(&ids[0]).await.unwrap();
    let id = entra["id"].as_str().unwrap();

    let since = (chrono::Utc::now() - chrono::Duration::hours(1)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let v = g.json(&format!("/auditLogs/directoryAudits?$filter=activityDateTime%20ge%20{since}%20and%20targetResources/any(t:t/id%20eq%20'{id}')")).await;
    let rows = v["value"].as_array().unwrap();
    assert_eq!(rows.len(), 2);
    assert_eq!(rows[0]["activityDisplayName"], "Add member to group", "newest first");
    let add = &rows[1];
    assert_eq!(add["activityDisplayName"], "Add user");
    assert_eq!(add["initiatedBy"]["app"]["servicePrincipalId"], sb.endpoints.okta_service_principal_id.as_str());
    assert!(add["initiatedBy"]["user"].is_null());
    let stamp = add["activityDateTime"].as_str().unwrap();
    assert_eq!(stamp.split('.').nth(1).unwrap().len(), 8, "seven fractional digits and Z: {stamp}");
    // modifiedProperties values are JSON inside strings.
    let props = add["targetResources"][0]["modifiedProperties"].as_array().unwrap();
    let enabled = props.iter().find(|p| p["displayName"] == "AccountEnabled").unwrap();
    assert_eq!(
        serde_json::from_str::<Value>(enabled["newValue"].as_str().unwrap()).unwrap(),
        serde_json::json!([true])
    );
    let v = g.json("/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20'Add%20user'").await;
    assert_eq!(v["value"].as_array().unwrap().len(), 1);

    // Unsupported filters are refused.
    for f in [
        "result%20ne%20'success'",
        "activityDisplayName%20eq%20'a'%20or%20activityDisplayName%20eq%20'b'",
        "targetResources/any(t:t/type%20eq%20'User')",
    ] {
        let r = g.get(&format!("/auditLogs/directoryAudits?$filter={f}")).await;
        assert_eq!(r.status(), 400, "{f}");
    }

    // Five calls per 10 s (the refused ones above counted); the next is 429 with a decimal Retry-After.
    let r = g.get("/auditLogs/directoryAudits").await;
    assert_eq!(r.status(), 429);
    let retry: f64 = r.headers()["retry-after"].to_str().unwrap().parse().unwrap();
    assert!(retry > 0.0 && retry <= 10.0);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "TooManyRequests");

    // Retention: 31 days later the rows are gone (default retention 30 days).
    set_faults(&sb, "[entra]\naudit_retention = \"30d\"\n").await;
    common::http()
        .post(format!("{}/clock/advance", sb.endpoints.admin_url))
        .body(r#"{"by":"31d"}"#)
        .send()
        .await
        .unwrap();
    let g = Graph::new(&sb).await;
    let v = g.json("/auditLogs/directoryAudits").await;
    assert!(v["value"].as_array().unwrap().is_empty());
    assert_eq!(admin(&sb, "/counts").await["entra"]["audits"], 2, "stored, but past retention");
}

#[tokio::test]
async fn graph_faults_carry_retry_after() {
    let sb = start_fast().await;
    let g = Graph::new(&sb).await;
    set_faults(&sb, "[entra]\nrate_429 = 1.0\n").await;
    let r = g.get("/users").await;
    assert_eq!(r.status(), 429);
    assert!(r.headers().contains_key("retry-after"));
    set_faults(&sb, "[entra]\nrate_429 = 0.0\nrate_5xx = 1.0\n").await;
    let r = g.get("/users").await;
    assert!(r.status().is_server_error());
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "serviceNotAvailable");
}
