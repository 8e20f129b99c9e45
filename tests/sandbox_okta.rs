//! The emulated Okta org over HTTP: auth, users, groups, apps, System Log paging,
//! rate limits and the error bodies, as the research files document them.

mod common;

use common::{Okta, next_link, set_faults, start_fast};
use serde_json::{Value, json};

#[tokio::test]
async fn ssws_is_enforced() {
    let sb = start_fast().await;
    let c = common::http();
    let r = c.get(format!("{}/api/v1/users", sb.endpoints.okta_url)).send().await.unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers().contains_key("x-okta-request-id"));
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errorCode"], "E0000011");
    let r = c
        .get(format!("{}/api/v1/users", sb.endpoints.okta_url))
        .header("authorization", "SSWS wrong")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    let r = c
        .get(format!("{}/api/v1/users", sb.endpoints.okta_url))
        .header("authorization", format!("Bearer {}", sb.endpoints.okta_token))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401, "an SSWS token is not a bearer token");
}

#[tokio::test]
async fn user_lifecycle_and_errors() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    let u = o.create("jmlproof-t-01@sandbox.example", "Łukasz", "Żółć", &[]).await;
    assert_eq!(u["status"], "ACTIVE");
    let id = u["id"].as_str().unwrap();
    assert_eq!(id.len(), 20);
    assert!(id.starts_with("00u"));
    assert!(u["created"].as_str().unwrap().ends_with(".000Z"));

    // Duplicate login: 400 E0000001 with the documented cause.
    let r = o.post("/api/v1/users?activate=true", json!({"profile": {"login": "jmlproof-t-01@sandbox.example", "email": "a@b.c", "firstName": "A", "lastName": "B"}})).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errorCode"], "E0000001");
    assert!(v["errorCauses"][0]["errorSummary"].as_str().unwrap().contains("already exists"));

    // Malformed JSON body.
    let r = o
        .req(reqwest::Method::POST, "/api/v1/users")
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 400);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000003");

    // By id and by URL-encoded login.
    assert_eq!(o.json(&format!("/api/v1/users/{id}")).await["id"], id);
    assert_eq!(o.json("/api/v1/users/jmlproof-t-01%40sandbox.example").await["id"], id);

    // Partial update keeps what it does not name.
    let r = o.post(&format!("/api/v1/users/{id}"), json!({"profile": {"lastName": "Nowak"}})).await;
    assert_eq!(r.status(), 200);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["profile"]["lastName"], "Nowak");
    assert_eq!(v["profile"]["firstName"], "Łukasz");

    // Deactivate: 200 {}; again: 403 E0000038.
    let r = o.post(&format!("/api/v1/users/{id}/lifecycle/deactivate"), json!({})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap(), json!({}));
    let r = o.post(&format!("/api/v1/users/{id}/lifecycle/deactivate"), json!({})).await;
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000038");

    // A plain list omits DEPROVISIONED users; search includes them.
    let list = o.json("/api/v1/users").await;
    assert!(list.as_array().unwrap().is_empty());
    let found = o.json("/api/v1/users?search=profile.login%20eq%20%22jmlproof-t-01%40sandbox.example%22").await;
    assert_eq!(found[0]["status"], "DEPROVISIONED");

    // Delete a deprovisioned user: 204, then 404 with Okta's summary.
    assert_eq!(o.delete(&format!("/api/v1/users/{id}")).await.status(), 204);
    let r = o.get(&format!("/api/v1/users/{id}")).await;
    assert_eq!(r.status(), 404);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["errorCode"], "E0000007");
    assert_eq!(v["errorSummary"], format!("Not found: Resource not found: {id} (User)"));
    assert_eq!(v["errorId"].as_str().unwrap().len(), 25);
}

#[tokio::test]
async fn delete_of_an_active_user_deactivates_first() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    let id = o.create("jmlproof-t-02@sandbox.example", "A", "B", &[]).await["id"].as_str().unwrap().to_string();
    assert_eq!(o.delete(&format!("/api/v1/users/{id}")).await.status(), 204);
    assert_eq!(o.json(&format!("/api/v1/users/{id}")).await["status"], "DEPROVISIONED");
    assert_eq!(o.delete(&format!("/api/v1/users/{id}")).await.status(), 204);
    assert_eq!(o.get(&format!("/api/v1/users/{id}")).await.status(), 404);
}

#[tokio::test]
async fn users_page_with_one_link_header_per_relation() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    for i in 0..5 {
        o.create(&format!("jmlproof-p-{i:02}@sandbox.example"), "P", "Q", &[]).await;
    }
    let mut url = Some(o.url("/api/v1/users?limit=2"));
    let mut seen = Vec::new();
    let mut pages = 0;
    while let Some(u) = url {
        let r = o.c.get(&u).header("authorization", format!("SSWS {}", sb.endpoints.okta_token)).send().await.unwrap();
        let links: Vec<_> = r.headers().get_all("link").iter().collect();
        assert!(links.iter().any(|l| l.to_str().unwrap().ends_with("rel=\"self\"")));
        url = next_link(r.headers());
        let page: Vec<Value> = r.json().await.unwrap();
        seen.extend(page.iter().map(|u| u["id"].as_str().unwrap().to_string()));
        pages += 1;
    }
    assert_eq!(pages, 3);
    seen.dedup();
    assert_eq!(seen.len(), 5);
}

#[tokio::test]
async fn groups_and_apps_answer_for_the_safety_checks() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    let g = o.group_id("jmlproof-test").await;
    let apps = o.json(&format!("/api/v1/groups/{g}/apps")).await;
    let ids: Vec<&str> = apps.as_array().unwrap().iter().map(|a| a["id"].as_str().unwrap()).collect();
    assert_eq!(ids.len(), 2);
    assert!(ids.contains(&sb.endpoints.okta_entra_app_id.as_str()));
    let u = o.create("jmlproof-g-01@sandbox.example", "G", "H", &[]).await;
    let uid = u["id"].as_str().unwrap();
    assert_eq!(o.put(&format!("/api/v1/groups/{g}/users/{uid}")).await.status(), 204);
    let members = o.json(&format!("/api/v1/groups/{g}/users")).await;
    assert_eq!(members[0]["id"], uid);
    let apps = o.json(&format!("/api/v1/apps?filter=user.id%20eq%20%22{uid}%22")).await;
    assert_eq!(apps.as_array().unwrap().len(), 2);
    let maps = o.json(&format!("/api/v1/apps/{}/group-push/mappings", sb.endpoints.okta_aws_app_id)).await;
    assert_eq!(maps.as_array().unwrap().len(), 2);
    assert_eq!(o.delete(&format!("/api/v1/groups/{g}/users/{uid}")).await.status(), 204);
    assert_eq!(o.get("/api/v1/groups/00gNOPE0000000000000").await.status(), 404);
}

#[tokio::test]
async fn system_log_polling_and_bounded_queries() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    let u = o.create("jmlproof-l-01@sandbox.example", "L", "M", &[]).await;
    let uid = u["id"].as_str().unwrap();

    // Polling (ASCENDING, no until): next is present even on an empty page.
    let r = o.get("/api/v1/logs?sortOrder=ASCENDING&limit=1").await;
    let mut next = next_link(r.headers()).expect("polling page has next");
    let first: Vec<Value> = r.json().await.unwrap();
    assert_eq!(first[0]["eventType"], "user.lifecycle.create");
    let mut all = first;
    loop {
        let r =
            o.c.get(&next).header("authorization", format!("SSWS {}", sb.endpoints.okta_token)).send().await.unwrap();
        let n = next_link(r.headers()).expect("polling always has next");
        let page: Vec<Value> = r.json().await.unwrap();
        if page.is_empty() {
            assert_eq!(n, next, "an empty polling page repeats its cursor");
            break;
        }
        all.extend(page);
        next = n;
    }
    assert_eq!(all.len(), 2);
    // New events appear behind the same cursor.
    o.post(&format!("/api/v1/users/{uid}"), json!({"profile": {"title": "Engineer"}})).await;
    let r = o.c.get(&next).header("authorization", format!("SSWS {}", sb.endpoints.okta_token)).send().await.unwrap();
    let page: Vec<Value> = r.json().await.unwrap();
    assert_eq!(page[0]["eventType"], "user.account.update_profile");

    // Bounded: the last page has no next.
    let events = o.events().await;
    assert_eq!(events.len(), 3);
    // Filters by eventType and target.id.
    let f = o
        .json(&format!(
            "/api/v1/logs?filter=eventType%20eq%20%22user.lifecycle.create%22%20and%20target.id%20eq%20%22{uid}%22"
        ))
        .await;
    assert_eq!(f.as_array().unwrap().len(), 1);
    assert_eq!(f[0]["target"][0]["type"], "User");
    // Strictness: limit over 1000, a filter on published, a malformed filter, since beyond 180 days.
    for (q, code) in [
        ("limit=1001", "E0000001"),
        ("filter=published%20gt%20%222026-01-01%22", "E0000031"),
        ("filter=eventType%20eq", "E0000053"),
        ("since=2020-01-01T00:00:00Z", "E0000053"),
    ] {
        let r = o.get(&format!("/api/v1/logs?{q}")).await;
        assert_eq!(r.status(), 400, "{q}");
        assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], code, "{q}");
    }
}

#[tokio::test]
async fn rate_limit_headers_and_429() {
    let sb = start_fast().await;
    set_faults(&sb, "[okta]\nrate_limit = 2\nrate_window = \"60s\"\n").await;
    let o = Okta::new(&sb);
    let r = o.get("/api/v1/users").await;
    assert_eq!(r.headers()["x-rate-limit-limit"], "2");
    assert_eq!(r.headers()["x-rate-limit-remaining"], "1");
    let reset: i64 = r.headers()["x-rate-limit-reset"].to_str().unwrap().parse().unwrap();
    let date = chrono::DateTime::parse_from_rfc2822(r.headers()["date"].to_str().unwrap()).unwrap().timestamp();
    assert!(reset > date && reset <= date + 62, "reset is epoch seconds ahead of Date");
    o.get("/api/v1/users").await;
    let r = o.get("/api/v1/users").await;
    assert_eq!(r.status(), 429);
    assert_eq!(r.headers()["x-rate-limit-remaining"], "0");
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000047");
    // The logs bucket is separate.
    assert_eq!(o.get("/api/v1/logs").await.status(), 200);
}

#[tokio::test]
async fn fault_switches_429_and_5xx() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    set_faults(&sb, "[okta]\nrate_429 = 1.0\n").await;
    let r = o.get("/api/v1/users").await;
    assert_eq!(r.status(), 429);
    set_faults(&sb, "[okta]\nrate_429 = 0.0\nrate_5xx = 1.0\n").await;
    let r = o.get("/api/v1/users").await;
    assert!(r.status().is_server_error());
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000009");
    set_faults(&sb, "[okta]\nrate_5xx = 0.0\nrate_429 = 0.0\n").await;
    assert_eq!(o.get("/api/v1/users").await.status(), 200);
}
