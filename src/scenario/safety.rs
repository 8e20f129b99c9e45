//! Before the first write, and after each create: the run must only ever touch its
//! own users and only reach the two apps under test. The test groups must hold no
//! one outside the login prefix and be assigned to exactly the two configured apps;
//! a test user that reaches any other app (a group rule, an "Everyone" assignment)
//! stops the run.

use crate::api::ApiError;
use crate::okta::OktaClient;

#[derive(Debug, thiserror::Error)]
pub enum Unsafe {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("refusing to run: {0}")]
    Refused(String),
}

/// The two test groups, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct TestGroups {
    pub group_id: String,
    pub mover_group_id: String,
}

fn local_prefix_ok(login: &str, prefix: &str) -> bool {
    login.to_lowercase().starts_with(&prefix.to_lowercase())
}

/// Checks the test groups; returns their ids. `apps` are the two provisioning app ids.
pub async fn preflight(
    okta: &OktaClient,
    group: &str,
    mover_group: &str,
    prefix: &str,
    apps: &[&str],
) -> Result<TestGroups, Unsafe> {
    let mut ids = Vec::new();
    for name in [group, mover_group] {
        let g = okta
            .find_group(name)
            .await?
            .ok_or_else(|| Unsafe::Refused(format!("Okta group {name:?} does not exist")))?;
        let strangers: Vec<String> = okta
            .group_members(&g.id)
            .await?
            .into_iter()
            .map(|u| u.login().to_string())
            .filter(|l| !local_prefix_ok(l, prefix))
            .collect();
        if !strangers.is_empty() {
            let shown: Vec<&str> = strangers.iter().take(5).map(String::as_str).collect();
            return Err(Unsafe::Refused(format!(
                "group {name:?} holds {} user(s) outside the login prefix {prefix:?} ({}{})",
                strangers.len(),
                shown.join(", "),
                if strangers.len() > 5 { ", …" } else { "" }
            )));
        }
        let assigned: Vec<String> = okta.group_apps(&g.id).await?.into_iter().map(|a| a.id).collect();
        if let Some(other) = assigned.iter().find(|a| !apps.contains(&a.as_str())) {
            return Err(Unsafe::Refused(format!(
                "group {name:?} is also assigned to app {other}, which is not under test"
            )));
        }
        if let Some(missing) = apps.iter().find(|a| !assigned.iter().any(|x| x == *a)) {
            return Err(Unsafe::Refused(format!(
                "group {name:?} is not assigned to app {missing}; the test needs it assigned to both apps"
            )));
        }
        ids.push(g.id);
    }
    Ok(TestGroups { group_id: ids[0].clone(), mover_group_id: ids[1].clone() })
}

/// After a test user exists: it must reach no app but the two under test.
pub async fn check_user_apps(okta: &OktaClient, user_id: &str, login: &str, apps: &[&str]) -> Result<(), Unsafe> {
    let reached: Vec<String> = okta.user_apps(user_id).await?.into_iter().map(|a| a.id).collect();
    match reached.iter().find(|a| !apps.contains(&a.as_str())) {
        Some(other) => Err(Unsafe::Refused(format!(
            "test user {login} was assigned to app {other}, which is not under test (a group rule or an Everyone assignment?)"
        ))),
        None => Ok(()),
    }
}
