//! The run's safety checks against the sandbox: test groups holding strangers, or
//! assigned to an app not under test, are refused before any write; a test user
//! that reaches another app is caught.

mod common;

use common::{Okta, start_fast};
use jmlproof::http::{Footprint, HttpClient, Policy, System};
use jmlproof::okta::OktaClient;
use jmlproof::okta::auth::Auth;
use jmlproof::sandbox::Sandbox;
use jmlproof::scenario::safety::{check_user_apps, preflight};
use jmlproof::secret::Secret;

fn okta(sb: &Sandbox) -> OktaClient {
    let http = HttpClient::new(System::Okta, Policy::default(), Footprint::new()).unwrap();
    OktaClient::new(
        &url::Url::parse(&sb.endpoints.okta_url).unwrap(),
        Auth::Ssws(Secret::new(sb.endpoints.okta_token.clone())),
        http,
        None,
    )
    .unwrap()
}

#[tokio::test]
async fn healthy_groups_pass_and_each_unsafe_case_is_refused() {
    let sb = start_fast().await;
    let e = sb.endpoints.clone();
    let apps = [e.okta_entra_app_id.as_str(), e.okta_aws_app_id.as_str()];
    let client = okta(&sb);
    let groups = preflight(&client, "jmlproof-test", "jmlproof-mover", "jmlproof-", &apps).await.unwrap();
    assert_ne!(groups.group_id, groups.mover_group_id);

    let err = preflight(&client, "no-such-group", "jmlproof-mover", "jmlproof-", &apps).await.unwrap_err().to_string();
    assert_eq!(err, "refusing to run: Okta group \"no-such-group\" does not exist");

    // A stranger in the test group.
    let o = Okta::new(&sb);
    let stranger =
        o.create("real.person@sandbox.example", "Real", "Person", std::slice::from_ref(&groups.group_id)).await;
    let err = preflight(&client, "jmlproof-test", "jmlproof-mover", "jmlproof-", &apps).await.unwrap_err().to_string();
    assert!(
        err.contains("holds 1 user(s) outside the login prefix") && err.contains("real.person@sandbox.example"),
        "{err}"
    );
    o.delete(&format!("/api/v1/groups/{}/users/{}", groups.group_id, stranger["id"].as_str().unwrap())).await;

    // The mover group also assigned to a production app.
    let wiki =
        o.json("/api/v1/apps").await.as_array().unwrap().iter().find(|a| a["label"] == "Corporate Wiki").unwrap()["id"]
            .as_str()
            .unwrap()
            .to_string();
    o.put(&format!("/api/v1/apps/{wiki}/groups/{}", groups.mover_group_id)).await;
    let err = preflight(&client, "jmlproof-test", "jmlproof-mover", "jmlproof-", &apps).await.unwrap_err().to_string();
    assert!(err.contains(&format!("is also assigned to app {wiki}")), "{err}");

    // A test user who reaches the wiki through the mover group is caught.
    let u = o.create("jmlproof-s-01@sandbox.example", "S", "T", std::slice::from_ref(&groups.mover_group_id)).await;
    let err = check_user_apps(&client, u["id"].as_str().unwrap(), "jmlproof-s-01@sandbox.example", &apps)
        .await
        .unwrap_err()
        .to_string();
    assert!(err.contains("was assigned to app") && err.contains(&wiki), "{err}");
    o.delete(&format!("/api/v1/apps/{wiki}/groups/{}", groups.mover_group_id)).await;
    check_user_apps(&client, u["id"].as_str().unwrap(), "jmlproof-s-01@sandbox.example", &apps).await.unwrap();
    // A group not assigned to both apps cannot test both legs.
    o.delete(&format!("/api/v1/apps/{}/groups/{}", e.okta_aws_app_id, groups.group_id)).await;
    let err = preflight(&client, "jmlproof-test", "jmlproof-mover", "jmlproof-", &apps).await.unwrap_err().to_string();
    assert!(err.contains("is not assigned to app"), "{err}");
}
