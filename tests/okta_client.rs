//! The Okta client against the sandbox (every operation, paging to the end, 429 then
//! success, each error class, SSWS and OAuth with DPoP) and against the fixtures.

mod common;

use std::sync::Arc;

use common::{set_faults, start_fast, start_studio};
use jmlproof::api::ApiError;
use jmlproof::http::{Footprint, HttpClient, Policy, System};
use jmlproof::okta::auth::{Auth, ServiceApp};
use jmlproof::okta::types::{LogEvent, User};
use jmlproof::okta::{LogQuery, OktaClient, codes};
use jmlproof::raw::RawLog;
use jmlproof::sandbox::Sandbox;
use jmlproof::secret::Secret;
use serde_json::{Map, Value, json};

fn ssws(sb: &Sandbox, footprint: &Arc<Footprint>, raw: Option<Arc<RawLog>>) -> OktaClient {
    let http = HttpClient::new(System::Okta, Policy::default(), footprint.clone()).unwrap();
    let url = url::Url::parse(&sb.endpoints.okta_url).unwrap();
    OktaClient::new(&url, Auth::Ssws(Secret::new(sb.endpoints.okta_token.clone())), http, raw).unwrap()
}

fn profile(login: &str, first: &str, last: &str, number: &str) -> Map<String, Value> {
    json!({"login": login, "email": login, "firstName": first, "lastName": last, "employeeNumber": number})
        .as_object()
        .unwrap()
        .clone()
}

fn fixture(path: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn users_lifecycle_and_lookups() {
    let sb = start_fast().await;
    let fp = Footprint::new();
    let raw = Arc::new(RawLog::default());
    let okta = ssws(&sb, &fp, Some(raw.clone()));
    let pw = Secret::new("Xq7!corr3ct-h0rse".into());
    let u = okta
        .create_user(&profile("jmlproof+x-01@sandbox.example", "Zoë", "Ångström", "E1"), &pw, true, &[])
        .await
        .unwrap();
    assert_eq!(u.status, "ACTIVE");
    // By id and by login with characters that need encoding.
    assert_eq!(okta.get_user(&u.id).await.unwrap().unwrap().id, u.id);
    assert_eq!(okta.get_user("jmlproof+x-01@sandbox.example").await.unwrap().unwrap().id, u.id);
    assert!(okta.get_user("nobody@sandbox.example").await.unwrap().is_none());
    let changed = okta.update_profile(&u.id, &json!({"lastName": "Nowak"}).as_object().unwrap().clone()).await.unwrap();
    assert_eq!((changed.attr("lastName"), changed.attr("firstName")), (Some("Nowak"), Some("Zoë")));
    // Duplicate login: E0000001 with the request id in the one-line message.
    let err =
        okta.create_user(&profile("jmlproof+x-01@sandbox.example", "A", "B", "E2"), &pw, true, &[]).await.unwrap_err();
    assert_eq!(err.code(), Some(codes::VALIDATION));
    let text = err.to_string();
    assert!(
        text.starts_with("okta POST /api/v1/users: HTTP 400 E0000001: Api validation failed: login (request "),
        "{text}"
    );
    assert!(!text.contains('\n'));

    okta.deactivate(&u.id).await.unwrap();
    assert_eq!(okta.deactivate(&u.id).await.unwrap_err().code(), Some(codes::WRONG_STATUS));
    // search includes DEPROVISIONED users; employeeNumber is not unique.
    assert_eq!(okta.find_by_login("jmlproof+x-01@sandbox.example").await.unwrap().unwrap().status, "DEPROVISIONED");
    okta.create_user(&profile("jmlproof-x-02@sandbox.example", "A", "B", "E1"), &pw, true, &[]).await.unwrap();
    assert_eq!(okta.find_by_employee_number("E1").await.unwrap().len(), 2);
    okta.delete_user(&u.id).await.unwrap();
    assert!(okta.get_user(&u.id).await.unwrap().is_none());

    // The footprint counted each endpoint; the raw log holds responses without credentials.
    let stats = fp.snapshot();
    assert!(stats.iter().any(|s| s.endpoint == "GET /api/v1/users/{id}" && s.calls >= 3));
    let all = raw.snapshot();
    assert!(all.iter().all(|r| r.headers.iter().any(|(k, _)| k == "x-okta-request-id")));
    let dump = serde_json::to_string(&all).unwrap();
    assert!(!dump.contains(&sb.endpoints.okta_token), "no credential in raw evidence");
    assert!(!dump.contains("Xq7!corr3ct"), "no password in raw evidence");
}

#[tokio::test]
async fn groups_apps_and_app_users() {
    let sb = start_fast().await;
    let okta = ssws(&sb, &Footprint::new(), None);
    let e = &sb.endpoints;
    let test = okta.find_group("jmlproof-test").await.unwrap().unwrap();
    assert!(okta.find_group("jmlproof-tes").await.unwrap().is_none(), "exact name, not the q= prefix");
    let pw = Secret::new("Xq7!corr3ct-h0rse".into());
    let u = okta.create_user(&profile("jmlproof-g-01@sandbox.example", "G", "H", "E3"), &pw, true, &[]).await.unwrap();
    okta.add_member(&test.id, &u.id).await.unwrap();
    assert_eq!(okta.group_members(&test.id).await.unwrap()[0].id, u.id);
    let apps = okta.group_apps(&test.id).await.unwrap();
    assert_eq!(apps.len(), 2);
    assert_eq!(okta.user_apps(&u.id).await.unwrap().len(), 2);
    sb.settled().await;
    let au = okta.app_user(&e.okta_aws_app_id, &u.id).await.unwrap().unwrap();
    assert!(au.external_id.is_some());
    assert_eq!(au.sync_state.as_deref(), Some("SYNCHRONIZED"));
    assert_eq!(au.credentials.and_then(|c| c.user_name).as_deref(), Some("jmlproof-g-01@sandbox.example"));
    assert_eq!(okta.app_users(&e.okta_aws_app_id).await.unwrap().len(), 1);
    assert_eq!(okta.app_groups(&e.okta_entra_app_id).await.unwrap().len(), 2);
    assert_eq!(okta.push_mappings(&e.okta_entra_app_id).await.unwrap().unwrap().len(), 2);
    okta.remove_member(&test.id, &u.id).await.unwrap();
    assert!(okta.group_members(&test.id).await.unwrap().is_empty());
    // An unknown app is an error, not "this user is not assigned".
    assert!(okta.app_user("0oaNOPE0000000000000", &u.id).await.unwrap_err().is_not_found());
    let stranger =
        okta.create_user(&profile("jmlproof-g-02@sandbox.example", "G", "H", "E9"), &pw, true, &[]).await.unwrap();
    assert!(okta.app_user(&e.okta_aws_app_id, &stranger.id).await.unwrap().is_none());
}

#[tokio::test]
async fn paging_to_the_end_on_a_large_tenant() {
    let sb = start_studio(42, 1.0, None).await;
    let okta = ssws(&sb, &Footprint::new(), None);
    let planted = common::admin(&sb, "/planted").await;
    // Users: 200 per page, so several pages, each user once.
    let active = okta.search_users("status eq \"ACTIVE\"").await.unwrap();
    assert_eq!(active.len() as u64, planted["counts"]["okta_active"].as_u64().unwrap());
    let mut ids: Vec<&str> = active.iter().map(|u| u.id.as_str()).collect();
    ids.sort();
    ids.dedup();
    assert_eq!(ids.len(), active.len(), "no page repeated");
    assert!(!okta.app_users(&sb.endpoints.okta_aws_app_id).await.unwrap().is_empty());
    // The System Log: the same bounded query in pages of 100 and of 1000 gives the same events.
    let since = chrono::Utc::now() - chrono::Duration::days(89);
    let until = chrono::Utc::now();
    let big = okta.logs(&LogQuery::bounded(since, until)).unwrap().collect().await.unwrap();
    let small =
        okta.logs(&LogQuery { limit: Some(100), ..LogQuery::bounded(since, until) }).unwrap().collect().await.unwrap();
    assert!(small.len() > 300, "{}", small.len());
    assert_eq!(small.iter().map(|e| &e.uuid).collect::<Vec<_>>(), big.iter().map(|e| &e.uuid).collect::<Vec<_>>());
    let leavers = okta
        .logs(&LogQuery::bounded(since, chrono::Utc::now()).filter("eventType eq \"user.lifecycle.deactivate\""))
        .unwrap()
        .collect()
        .await
        .unwrap();
    let planted_in_window = planted["leavers"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|l| l["t0"].as_str().unwrap() > since.to_rfc3339().as_str())
        .count();
    assert!(leavers.len() >= planted_in_window);
    assert!(leavers.iter().all(|e| e.target_of("User").is_some()));
}

#[tokio::test]
async fn polling_stops_on_an_empty_page_and_resumes() {
    let sb = start_fast().await;
    let okta = ssws(&sb, &Footprint::new(), None);
    let pw = Secret::new("Xq7!corr3ct-h0rse".into());
    let u = okta.create_user(&profile("jmlproof-p-01@sandbox.example", "P", "Q", "E4"), &pw, true, &[]).await.unwrap();
    let query = LogQuery::polling(chrono::Utc::now() - chrono::Duration::minutes(5))
        .filter(format!("target.id eq \"{}\"", u.id));
    let mut pager = okta.logs(&query).unwrap();
    let first = pager.next_page().await.unwrap().unwrap();
    assert_eq!(first.len(), 2);
    assert!(pager.next_page().await.unwrap().unwrap().is_empty(), "nothing new: an empty page, not the end");
    okta.deactivate(&u.id).await.unwrap();
    let next = pager.next_page().await.unwrap().unwrap();
    assert_eq!(next[0].event_type, "user.lifecycle.deactivate");
}

#[tokio::test]
async fn a_429_is_waited_out_and_counted() {
    let sb = start_fast().await;
    set_faults(&sb, "[okta]\nrate_limit = 2\nrate_window = \"1s\"\n").await;
    let fp = Footprint::new();
    let okta = ssws(&sb, &fp, None);
    for _ in 0..4 {
        okta.get_user("nobody@sandbox.example").await.unwrap();
    }
    let s = fp.snapshot().into_iter().find(|s| s.endpoint == "GET /api/v1/users/{id}").unwrap();
    assert_eq!(s.calls, 4);
    assert!(s.throttled >= 1 && s.waited_ms >= 1000, "{s:?}");
}

#[tokio::test]
async fn error_classes_are_one_line() {
    let sb = start_fast().await;
    let fp = Footprint::new();
    // Bad token: 401 E0000011.
    let http = HttpClient::new(System::Okta, Policy::default(), fp.clone()).unwrap();
    let url = url::Url::parse(&sb.endpoints.okta_url).unwrap();
    let okta = OktaClient::new(&url, Auth::Ssws(Secret::new("wrong".into())), http, None).unwrap();
    let err = okta.get_user("x").await.unwrap_err();
    assert_eq!((err.status(), err.code()), (Some(401), Some(codes::INVALID_TOKEN)));
    // Unreachable host.
    let dead = url::Url::parse("http://127.0.0.1:9").unwrap();
    let http = HttpClient::new(System::Okta, Policy { max_retries: 0, ..Policy::default() }, fp.clone()).unwrap();
    let okta = OktaClient::new(&dead, Auth::Ssws(Secret::new("t".into())), http, None).unwrap();
    let text = okta.get_user("x").await.unwrap_err().to_string();
    assert!(text.starts_with("okta GET /api/v1/users/{id}: ") && text.contains("127.0.0.1:9"), "{text}");
    // Plain http to a non-loopback host is refused before any call.
    let http = HttpClient::new(System::Okta, Policy::default(), fp.clone()).unwrap();
    let plain = url::Url::parse("http://acme.okta.com").unwrap();
    let Err(err) = OktaClient::new(&plain, Auth::Ssws(Secret::new("t".into())), http, None) else {
        panic!("accepted plain http")
    };
    assert!(err.to_string().contains("plain http"), "{err}");
    // A malformed body from a 200.
    let app = axum::Router::new()
        .route(
            "/api/v1/users/{id}",
            axum::routing::get(|| async { ([("content-type", "application/json")], "{not json") }),
        )
        .route(
            "/api/v1/users/{id}/lifecycle/deactivate",
            axum::routing::post(|| async { axum::http::StatusCode::NO_CONTENT }),
        )
        .route(
            "/api/v1/users",
            axum::routing::get(|| async {
                let link = "<https://evil.example/api/v1/users?after=x>; rel=\"next\"";
                ([("content-type", "application/json"), ("link", link)], "[]")
            }),
        )
        .route("/api/v1/logs", axum::routing::get(|| async { ([("content-type", "application/json")], "[]") }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    let http = HttpClient::new(System::Okta, Policy::default(), fp).unwrap();
    let okta = OktaClient::new(
        &url::Url::parse(&format!("http://{addr}")).unwrap(),
        Auth::Ssws(Secret::new("t".into())),
        http,
        None,
    )
    .unwrap();
    let err = okta.get_user("x").await.unwrap_err();
    assert!(matches!(err, ApiError::Malformed { .. }), "{err}");
    okta.deactivate("x").await.expect("a 204 deactivation is success (older orgs)");
    // A paging link to another host is refused (the token would go with it), and a
    // polling page without a next link is an error, not an endless loop.
    let away = okta.search_users("status eq \"ACTIVE\"").await.unwrap_err();
    assert!(away.to_string().contains("next link leaves the org"), "{away}");
    let mut pager = okta.logs(&LogQuery::polling(chrono::Utc::now())).unwrap();
    let lost = pager.next_page().await.unwrap_err();
    assert!(lost.to_string().contains("without a next link"), "{lost}");
    assert!(err.to_string().starts_with("okta GET /api/v1/users/{id}: malformed response: not JSON"), "{err}");
}

#[tokio::test]
async fn oauth_service_app_with_dpop() {
    let mut sb = start_fast().await;
    let e = sb.with_key_material().unwrap().clone();
    let fp = Footprint::new();
    let login = HttpClient::new(System::Login, Policy::default(), fp.clone()).unwrap();
    let scopes =
        ["okta.users.manage", "okta.groups.manage", "okta.apps.read", "okta.logs.read"].map(String::from).to_vec();
    let key = Secret::new(e.okta_private_key.clone().unwrap());
    let app = ServiceApp::new(
        &e.okta_oauth_client_id,
        &key,
        e.okta_key_id.clone(),
        scopes,
        format!("{}/oauth2/v1/token", e.okta_url),
        login,
    )
    .unwrap();
    let http = HttpClient::new(System::Okta, Policy::default(), fp.clone()).unwrap();
    let okta = OktaClient::new(&url::Url::parse(&e.okta_url).unwrap(), Auth::OAuth(Box::new(app)), http, None).unwrap();
    let pw = Secret::new("Xq7!corr3ct-h0rse".into());
    let u = okta.create_user(&profile("jmlproof-o-01@sandbox.example", "O", "P", "E5"), &pw, true, &[]).await.unwrap();
    for _ in 0..3 {
        assert!(okta.get_user(&u.id).await.unwrap().is_some());
    }
    let events = okta
        .logs(&LogQuery::bounded(chrono::Utc::now() - chrono::Duration::hours(1), chrono::Utc::now()))
        .unwrap()
        .collect()
        .await
        .unwrap();
    assert_eq!(events[0].actor.as_ref().and_then(|a| a.kind.as_deref()), Some("PublicClientApp"));
    // One token for every call: the nonce round trip is two token calls, then the cache.
    let token_calls = fp.snapshot().into_iter().find(|s| s.system == System::Login).unwrap();
    assert_eq!(token_calls.calls, 2, "{token_calls:?}");
    // A wrong key is refused with Okta's OAuth error, one line.
    let other = jmlproof::jwt::SigningKey::generate_rsa().unwrap().to_pkcs8_pem().unwrap();
    let login = HttpClient::new(System::Login, Policy::default(), fp.clone()).unwrap();
    let app = ServiceApp::new(
        &e.okta_oauth_client_id,
        &Secret::new(other),
        None,
        vec!["okta.users.read".into()],
        format!("{}/oauth2/v1/token", e.okta_url),
        login,
    )
    .unwrap();
    let http = HttpClient::new(System::Okta, Policy::default(), fp).unwrap();
    let okta = OktaClient::new(&url::Url::parse(&e.okta_url).unwrap(), Auth::OAuth(Box::new(app)), http, None).unwrap();
    let text = okta.get_user(&u.id).await.unwrap_err().to_string();
    assert!(text.starts_with("login POST /oauth2/v1/token: HTTP 401 invalid_client: "), "{text}");
    // A key that is not a key.
    let login = HttpClient::new(System::Login, Policy::default(), Footprint::new()).unwrap();
    let Err(err) = ServiceApp::new(
        "x",
        &Secret::new("not a pem".into()),
        None,
        vec![],
        "http://127.0.0.1:1/oauth2/v1/token".into(),
        login,
    ) else {
        panic!()
    };
    assert!(err.to_string().starts_with("okta: [okta.oauth] private_key: "), "{err}");
}

#[test]
fn fixtures_parse() {
    let page = fixture("okta/systemlog-page-joiner-leaver.json");
    let events: Vec<LogEvent> =
        page.as_array().unwrap().iter().cloned().map(|v| LogEvent::from_value(v).unwrap()).collect();
    assert_eq!(events.len(), 19);
    let push = events.iter().find(|e| e.event_type == "application.provision.user.push").unwrap();
    // Targets are found by type, not position.
    assert_eq!(push.target_of("User").and_then(|t| t.id.as_deref()), Some("00uLqT4aCei5eMA0c1d7"));
    assert!(push.target_of("AppInstance").and_then(|t| t.id.as_deref()).is_some_and(|id| id.starts_with("0oa")));
    // Unknown fields stay in the raw event.
    assert!(push.raw["debugContext"]["debugData"]["appname"].is_string());
    let failed = fixture("okta/systemlog-provisioning-failed.json");
    let failed = LogEvent::from_value(failed[0].clone()).unwrap();
    assert!(!failed.succeeded());
    assert!(failed.outcome.unwrap().reason.unwrap().contains("Errors reported by remote server"));
    let user: User = serde_json::from_value(fixture("okta/user-created.json")).unwrap();
    assert_eq!((user.login(), user.status.as_str()), ("priya.raman@acme.example", "ACTIVE"));
    assert!(user.other.contains_key("_links"));
    let gone: User = serde_json::from_value(fixture("okta/user-deactivated.json")).unwrap();
    assert_eq!(gone.status, "DEPROVISIONED");
}
