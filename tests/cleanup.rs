//! `cleanup` touches only its own: a journaled login outside the prefix, or a user
//! Okta created before the journal's intent, is refused; the cap holds.

mod common;

use common::{Okta, start_fast};
use jmlproof::http::{Footprint, HttpClient, Policy, System};
use jmlproof::okta::OktaClient;
use jmlproof::okta::auth::Auth;
use jmlproof::scenario::cleanup::cleanup;
use jmlproof::scenario::journal::RunJournal;
use jmlproof::secret::Secret;

fn journal(dir: &std::path::Path, run: &str, lines: &[(&str, chrono::DateTime<chrono::Utc>)]) -> RunJournal {
    std::fs::create_dir_all(dir).unwrap();
    let start = chrono::Utc::now() - chrono::Duration::minutes(1);
    let mut text = format!(
        "{}\n",
        serde_json::json!({"seq": 1, "at": start, "run_id": run, "action": "run_started", "stage": "done", "login": "jmlproof-"})
    );
    for (i, (login, at)) in lines.iter().enumerate() {
        text.push_str(&format!("{}\n", serde_json::json!({"seq": i + 2, "at": at, "run_id": run, "action": "create_user", "stage": "intent", "login": login})));
    }
    let path = dir.join(format!("{run}.jsonl"));
    std::fs::write(&path, text).unwrap();
    RunJournal::read(&path).unwrap()
}

#[tokio::test]
async fn only_this_runs_users_are_removed() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    let ours = o.create("jmlproof-c0de-01@sandbox.example", "C", "D", &[]).await;
    let _older = o.create("jmlproof-c0de-02@sandbox.example", "E", "F", &[]).await;
    let _outsider = o.create("someone@sandbox.example", "G", "H", &[]).await;
    let dir = std::env::temp_dir().join(format!("jmlproof-cleanup-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let now = chrono::Utc::now();
    let run = journal(
        &dir,
        "c0de",
        &[
            ("jmlproof-c0de-01@sandbox.example", now - chrono::Duration::seconds(1)),
            // Okta made this user long before the "intent": not this run's.
            ("jmlproof-c0de-02@sandbox.example", now + chrono::Duration::minutes(10)),
            ("someone@sandbox.example", now),
            ("jmlproof-c0de-09@sandbox.example", now),
        ],
    );
    let http = HttpClient::new(System::Okta, Policy::default(), Footprint::new()).unwrap();
    let okta = OktaClient::new(
        &url::Url::parse(&sb.endpoints.okta_url).unwrap(),
        Auth::Ssws(Secret::new(sb.endpoints.okta_token.clone())),
        http,
        None,
    )
    .unwrap();
    let report = cleanup(&okta, std::slice::from_ref(&run), "jmlproof-", 10).await.unwrap();
    assert_eq!(report.removed, ["jmlproof-c0de-01@sandbox.example"]);
    assert_eq!(report.absent, ["jmlproof-c0de-09@sandbox.example"]);
    let refused: Vec<&str> = report.refused.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(refused, ["jmlproof-c0de-02@sandbox.example", "someone@sandbox.example"]);
    assert!(!report.complete());
    // The refused users are untouched.
    assert_eq!(o.json("/api/v1/users/jmlproof-c0de-02%40sandbox.example").await["status"], "ACTIVE");
    assert_eq!(o.json("/api/v1/users/someone%40sandbox.example").await["status"], "ACTIVE");
    assert_eq!(o.get(&format!("/api/v1/users/{}", ours["id"].as_str().unwrap())).await.status(), 404);

    // The cap: with max_users 0 nothing is touched.
    o.create("jmlproof-c0df-01@sandbox.example", "I", "J", &[]).await;
    let run = journal(
        &dir,
        "c0df",
        &[("jmlproof-c0df-01@sandbox.example", chrono::Utc::now() - chrono::Duration::seconds(1))],
    );
    let report = cleanup(&okta, &[run], "jmlproof-", 0).await.unwrap();
    assert!(report.refused[0].1.contains("max_users"));
    assert_eq!(o.json("/api/v1/users/jmlproof-c0df-01%40sandbox.example").await["status"], "ACTIVE");
    let _ = std::fs::remove_dir_all(&dir);
}
