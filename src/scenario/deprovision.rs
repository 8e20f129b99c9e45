//! Deleting a test user only once Okta has pushed its deactivation downstream. An
//! Okta user deleted before that push can take the push with it (the assignment is
//! gone), leaving an enabled Entra or Identity Center account that nothing owns: the
//! orphan this tool exists to find. jmlproof never writes downstream, so it waits for
//! Okta's own `application.provision.user.deactivate` SUCCESS to every app the user
//! was assigned to, read from the System Log, before it deletes.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::api::ApiError;
use crate::okta::OktaClient;
use crate::okta::logs::LogQuery;

const PUSH_DEACTIVATE: &str = "application.provision.user.deactivate";

/// The apps among `apps` the user is assigned to (asked before deactivating: Okta
/// keeps the assignment through the push).
pub async fn assigned(okta: &OktaClient, user_id: &str, apps: &[String]) -> Result<Vec<String>, ApiError> {
    let mut out = Vec::new();
    for app in apps {
        if okta.app_user(app, user_id).await?.is_some() {
            out.push(app.clone());
        }
    }
    Ok(out)
}

/// Why a user may not be deleted yet; None when every push succeeded.
pub async fn pushes_pending(
    okta: &OktaClient,
    user_id: &str,
    apps: &[String],
    since: DateTime<Utc>,
    wait: Duration,
) -> Result<Option<String>, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        let filter = format!("eventType eq \"{PUSH_DEACTIVATE}\" and target.id eq {}", crate::okta::quote(user_id));
        let q = LogQuery::bounded(since - chrono::Duration::seconds(5), Utc::now() + chrono::Duration::minutes(5))
            .filter(filter);
        let mut pager = okta.logs(&q)?;
        let mut ok = std::collections::BTreeSet::new();
        let mut failed = std::collections::BTreeMap::new();
        while let Some(page) = pager.next_page().await? {
            for e in page {
                let Some(app) = e.target_of("AppInstance").and_then(|t| t.id.clone()) else { continue };
                match e.outcome.as_ref().and_then(|o| o.result.as_deref()) {
                    Some("SUCCESS") => {
                        ok.insert(app);
                    }
                    _ => {
                        let why = e.outcome.as_ref().and_then(|o| o.reason.clone()).unwrap_or_default();
                        failed.insert(app, why);
                    }
                }
            }
        }
        let missing: Vec<&String> = apps.iter().filter(|a| !ok.contains(*a)).collect();
        if missing.is_empty() {
            return Ok(None);
        }
        if tokio::time::Instant::now() >= deadline {
            let parts: Vec<String> = missing
                .iter()
                .map(|a| match failed.get(*a) {
                    Some(why) => format!("app {a}: the push failed ({why})"),
                    None => format!("app {a}: no push yet"),
                })
                .collect();
            return Ok(Some(format!(
                "left deactivated, not deleted: Okta has not pushed the deactivation downstream ({}); its downstream account may still be enabled; run cleanup again",
                parts.join("; ")
            )));
        }
        tokio::time::sleep(Duration::from_millis(500).min(deadline - tokio::time::Instant::now())).await;
    }
}
