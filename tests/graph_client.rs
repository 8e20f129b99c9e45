//! The Graph client against the sandbox: secret and certificate tokens, users by
//! id, UPN, immutable id (advanced query) and in `$batch`, deleted items, groups,
//! directory audits decoded and paced, each error class; and against the fixtures.

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::{Okta, set_faults, start_fast};
use jmlproof::entra::token::{Credential, TokenSource};
use jmlproof::entra::types::{DirectoryAudit, GraphUser};
use jmlproof::entra::{AuditQuery, GraphClient};
use jmlproof::http::{Footprint, HttpClient, Policy, System};
use jmlproof::sandbox::faults::Faults;
use jmlproof::sandbox::{Options, Sandbox};
use jmlproof::secret::Secret;
use serde_json::{Value, json};

fn client(sb: &Sandbox, credential: Credential, fp: &Arc<Footprint>) -> GraphClient {
    let e = &sb.endpoints;
    let login = HttpClient::new(System::Login, Policy::default(), fp.clone()).unwrap();
    let token =
        TokenSource::new(&url::Url::parse(&e.login_url).unwrap(), &e.tenant_id, &e.client_id, credential, login)
            .unwrap();
    let http = HttpClient::new(System::Graph, Policy::default(), fp.clone()).unwrap();
    GraphClient::new(&url::Url::parse(&e.graph_url).unwrap(), token, http, None).unwrap()
}

fn secret(sb: &Sandbox) -> Credential {
    Credential::Secret(Secret::new(sb.endpoints.client_secret.clone()))
}

async fn joiners(sb: &Sandbox, n: usize) -> Vec<String> {
    let o = Okta::new(sb);
    let g = o.group_id("jmlproof-test").await;
    let mut ids = Vec::new();
    for i in 0..n {
        let u = o
            .create(
                &format!("o'brien.{i:02}@sandbox.example"),
                "Siobhán",
                &format!("O'Brien{i}"),
                std::slice::from_ref(&g),
            )
            .await;
        ids.push(u["id"].as_str().unwrap().to_string());
    }
    sb.settled().await;
    ids
}

fn fixture(path: &str) -> Value {
    serde_json::from_str(
        &std::fs::read_to_string(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap(),
    )
    .unwrap()
}

#[tokio::test]
async fn users_by_every_key_and_in_batches() {
    let sb = start_fast().await;
    let okta_ids = joiners(&sb, 3).await;
    let fp = Footprint::new();
    let g = client(&sb, secret(&sb), &fp);
    let by_immutable = g.users_by_immutable_id(&okta_ids[0]).await.unwrap();
    assert_eq!(by_immutable.len(), 1);
    let u = &by_immutable[0];
    assert_eq!(u.account_enabled, Some(true), "selected explicitly");
    assert_eq!(u.user_principal_name.as_deref(), Some("o'brien.00@sandbox.example"));
    // A quote in a UPN is doubled in the filter literal.
    assert_eq!(g.users_by_upn("o'brien.00@sandbox.example").await.unwrap()[0].id, u.id);
    assert_eq!(g.get_user(&u.id).await.unwrap().unwrap().surname.as_deref(), Some("O'Brien0"));
    assert_eq!(g.get_user("o'brien.01@sandbox.example").await.unwrap().unwrap().given_name.as_deref(), Some("Siobhán"));
    assert!(g.get_user("00000000-0000-0000-0000-000000000000").await.unwrap().is_none());
    assert_eq!(g.all_users().await.unwrap().len(), 3);
    assert_eq!(g.member_of(&u.id).await.unwrap()[0].display_name.as_deref(), Some("jmlproof-test"));
    let group = g.find_group("jmlproof-test").await.unwrap().unwrap();
    assert_eq!(g.group_members(&group.id).await.unwrap().len(), 3);

    // $batch: 45 lookups in three calls, unknown ids answered None.
    let mut ids: Vec<String> = g.all_users().await.unwrap().into_iter().map(|u| u.id).collect();
    ids.extend((0..42).map(|i| format!("00000000-0000-0000-0000-{i:012}")));
    let found = g.users_by_ids(&ids).await.unwrap();
    assert_eq!(found.len(), 45);
    assert_eq!(found.iter().filter(|(_, u)| u.is_some()).count(), 3);
    let batch = fp.snapshot().into_iter().find(|s| s.endpoint == "POST /$batch").unwrap();
    assert_eq!(batch.calls, 3);
    // One token for all of it.
    assert_eq!(fp.snapshot().into_iter().find(|s| s.system == System::Login).unwrap().calls, 1);
}

#[tokio::test]
async fn batch_requests_throttled_inside_are_retried() {
    let sb = start_fast().await;
    joiners(&sb, 2).await;
    let g = client(&sb, secret(&sb), &Footprint::new());
    let users: Vec<String> = g.all_users().await.unwrap().into_iter().map(|u| u.id).collect();
    let ids: Vec<String> = users.iter().cycle().take(20).cloned().collect();
    set_faults(&sb, "[entra]\nrate_429 = 0.4\n").await;
    let found = g.users_by_ids(&ids).await.unwrap();
    assert_eq!(found.len(), 20);
    assert!(found.iter().all(|(_, u)| u.is_some()));
    // Some inner lookups were throttled and asked again (the sandbox counts each).
    let counts = common::admin(&sb, "/counts").await;
    let inner =
        counts["calls"].as_array().unwrap().iter().find(|c| c["endpoint"] == "GET /v1.0/users/{id}").unwrap()["calls"]
            .as_u64()
            .unwrap();
    assert!(inner > 20, "{inner} inner calls");
}

#[tokio::test]
async fn deleted_users_are_found_in_deleted_items() {
    let sb = start_fast().await;
    set_faults(&sb, "[entra]\nrevoke = \"delete\"\n").await;
    let okta_ids = joiners(&sb, 1).await;
    let g = client(&sb, secret(&sb), &Footprint::new());
    let id = g.users_by_immutable_id(&okta_ids[0]).await.unwrap()[0].id.clone();
    Okta::new(&sb).post(&format!("/api/v1/users/{}/lifecycle/deactivate", okta_ids[0]), json!({})).await;
    sb.settled().await;
    assert!(g.get_user(&id).await.unwrap().is_none(), "404 on /users");
    let gone = g.deleted_user(&id).await.unwrap().unwrap();
    assert!(gone.deleted_date_time.is_some());
    assert!(g.deleted_user("00000000-0000-0000-0000-000000000000").await.unwrap().is_none());
}

#[tokio::test]
async fn directory_audits_decoded_and_paced() {
    // Tenant time ten times faster: the sandbox's 10-second window is one real second.
    let sb =
        Sandbox::start(Options { seed: 9, faults: Faults::fast(), speed: 10.0, ..Options::default() }).await.unwrap();
    let okta_ids = joiners(&sb, 1).await;
    Okta::new(&sb).post(&format!("/api/v1/users/{}/lifecycle/deactivate", okta_ids[0]), json!({})).await;
    sb.settled().await;
    let fp = Footprint::new();
    let g = client(&sb, secret(&sb), &fp).with_audit_pacing(5, Duration::from_millis(1100));
    let id = g.users_by_immutable_id(&okta_ids[0]).await.unwrap()[0].id.clone();
    let q = AuditQuery {
        since: Some(chrono::Utc::now() - chrono::Duration::hours(1)),
        target_id: Some(id.clone()),
        ..AuditQuery::default()
    };
    let rows = g.directory_audits(&q).await.unwrap();
    let names: Vec<&str> = rows.iter().map(|r| r.activity_display_name.as_str()).collect();
    assert_eq!(names.first(), Some(&"Add user"), "oldest first: {names:?}");
    let disable = rows.iter().find(|r| r.disables(&id)).unwrap();
    assert_eq!(disable.by_service_principal(), Some(sb.endpoints.okta_service_principal_id.as_str()));
    assert_eq!(disable.property(&id, "AccountEnabled").unwrap().after(), json!(false));
    // A session revocation writes two rows with one correlationId: one change.
    let changes = jmlproof::entra::types::by_correlation(&rows);
    assert!(changes.iter().any(|(_, g)| g.len() == 2
        && g.iter().any(|r| r.activity_display_name == "Update StsRefreshTokenValidFrom Timestamp")));
    assert!(changes.len() < rows.len());
    // Seven more calls stay within the pace: no 429 met.
    for _ in 0..7 {
        g.directory_audits(&AuditQuery { activity: Some("Disable account".into()), ..AuditQuery::default() })
            .await
            .unwrap();
    }
    let s = fp.snapshot().into_iter().find(|s| s.endpoint == "GET /auditLogs/directoryAudits").unwrap();
    assert_eq!((s.calls, s.throttled), (8, 0), "{s:?}");
}

#[tokio::test]
async fn certificate_credentials_and_token_errors() {
    let mut sb = start_fast().await;
    let bundle = sb.with_key_material().unwrap().graph_certificate.clone().unwrap();
    let fp = Footprint::new();
    let g = client(&sb, Credential::certificate(&Secret::new(bundle)).unwrap(), &fp);
    assert!(g.all_users().await.unwrap().is_empty());

    // A certificate Entra does not know.
    let key = jmlproof::jwt::SigningKey::generate_rsa().unwrap();
    let cert = jmlproof::sandbox::keys::self_signed(&key, "stranger").unwrap();
    let stranger = format!("{}{}", key.to_pkcs8_pem().unwrap(), jmlproof::jwt::pem_encode("CERTIFICATE", &cert));
    let g = client(&sb, Credential::certificate(&Secret::new(stranger)).unwrap(), &fp);
    let text = g.all_users().await.unwrap_err().to_string();
    assert!(text.starts_with("login POST /{tenant}/oauth2/v2.0/token: HTTP 401 AADSTS700027: "), "{text}");
    // A wrong secret: AADSTS7000215 with the trace id.
    let g = client(&sb, Credential::Secret(Secret::new("wrong".into())), &fp);
    let err = g.get_user("x").await.unwrap_err();
    assert_eq!(err.code(), Some("AADSTS7000215"));
    assert!(err.to_string().contains("(request "), "{err}");
    // A bundle without a certificate.
    let Err(err) = Credential::certificate(&Secret::new(key.to_pkcs8_pem().unwrap())) else { panic!() };
    assert!(err.to_string().contains("no CERTIFICATE block"), "{err}");
    // Unreachable Graph.
    let e = &sb.endpoints;
    let login = HttpClient::new(System::Login, Policy::default(), fp.clone()).unwrap();
    let token =
        TokenSource::new(&url::Url::parse(&e.login_url).unwrap(), &e.tenant_id, &e.client_id, secret(&sb), login)
            .unwrap();
    let http = HttpClient::new(System::Graph, Policy { max_retries: 0, ..Policy::default() }, fp).unwrap();
    let g = GraphClient::new(&url::Url::parse("http://127.0.0.1:9").unwrap(), token, http, None).unwrap();
    let text = g.get_user("x").await.unwrap_err().to_string();
    assert!(text.starts_with("graph GET /users/{id}: ") && text.contains("127.0.0.1:9"), "{text}");
    // Graph errors carry error.code and the request id.
    let http = HttpClient::new(System::Graph, Policy::default(), Footprint::new()).unwrap();
    let login = HttpClient::new(System::Login, Policy::default(), Footprint::new()).unwrap();
    let token =
        TokenSource::new(&url::Url::parse(&e.login_url).unwrap(), &e.tenant_id, &e.client_id, secret(&sb), login)
            .unwrap();
    let g = GraphClient::new(&url::Url::parse(&e.graph_url).unwrap(), token, http, None).unwrap();
    let err = g.find_users("jobTitle eq 'x'", false).await.unwrap_err();
    assert_eq!(err.code(), Some("Request_UnsupportedQuery"));
    assert!(err.to_string().starts_with("graph GET /users: HTTP 400 Request_UnsupportedQuery: "), "{err}");
}

#[test]
fn fixtures_parse() {
    let page = fixture("graph/directoryaudits-okta-jml-page.json");
    let rows: Vec<DirectoryAudit> =
        page["value"].as_array().unwrap().iter().cloned().map(|v| DirectoryAudit::from_value(v).unwrap()).collect();
    let target = "6b1f3e2a-9c4d-4f7e-8a21-3d5c0b9e7f48";
    let disable = rows.iter().find(|r| r.activity_display_name == "Disable account").unwrap();
    assert!(disable.disables(target));
    assert_eq!(disable.by_service_principal(), Some("b7e4a2d9-6c1f-4a58-8e3b-9d2f0c7a5e61"));
    let update = rows.iter().find(|r| r.activity_display_name == "Update user").unwrap();
    assert!(!update.disables(target), "a mover's Update user is not a disable");
    let dept = update.property(target, "Department").unwrap();
    assert_eq!((dept.before(), dept.after()), (json!("Sales"), json!("Finance")));
    // A disable logged as "Update user" with AccountEnabled true → false counts too.
    let mut as_update = disable.raw.clone();
    as_update["activityDisplayName"] = json!("Update user");
    assert!(DirectoryAudit::from_value(as_update).unwrap().disables(target));
    // A failed row, or one about another user, is not evidence of this disable.
    let mut failed = disable.raw.clone();
    failed["result"] = json!("failure");
    assert!(!DirectoryAudit::from_value(failed).unwrap().disables(target));
    assert!(!disable.disables("another-user-id"));
    for f in ["graph/user-enabled.json", "graph/user-disabled.json", "graph/deleteditems-user.json"] {
        let u: GraphUser = serde_json::from_value(fixture(f)).unwrap();
        assert!(u.account_enabled.is_some(), "{f}");
    }
    let list = fixture("graph/users-page1-nextlink.json");
    assert!(list["@odata.nextLink"].as_str().unwrap().contains("$skiptoken="));
    let users: Vec<GraphUser> = serde_json::from_value(list["value"].clone()).unwrap();
    assert_eq!(users[0].on_premises_immutable_id.as_deref(), Some("00u9x2kq7rT4bLmNp5d7"));
}
