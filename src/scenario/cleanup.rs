//! `jmlproof cleanup`: finishes the teardown of crashed or interrupted runs from their
//! journals. A user is touched only if it is in a journal, its login starts with the
//! configured prefix, and Okta says it was created after the journal's intent to
//! create it; `max_users` caps how many are deactivated or deleted.

use chrono::Duration;

use super::journal::{Action, Journal, RunJournal, Stage};
use super::runner::RunError;
use crate::okta::OktaClient;

#[derive(Debug, Default, Clone, PartialEq)]
pub struct Report {
    pub removed: Vec<String>,
    /// Already gone (or never created).
    pub absent: Vec<String>,
    /// Not touched, with why (not ours, over the cap).
    pub refused: Vec<(String, String)>,
    pub failed: Vec<(String, String)>,
}

impl Report {
    pub fn complete(&self) -> bool {
        self.failed.is_empty() && self.refused.is_empty()
    }
}

/// Clock skew allowed between the journal's clock and Okta's `created`.
const SKEW_SECS: i64 = 5;

/// How cleanup deletes: only after Okta has pushed the deactivation to each of `apps`
/// the user is assigned to, waiting up to `wait` for it.
pub struct Deletion<'a> {
    pub apps: &'a [String],
    pub wait: std::time::Duration,
}

pub async fn cleanup(
    okta: &OktaClient,
    runs: &[RunJournal],
    prefix: &str,
    max_users: u32,
    deletion: &Deletion<'_>,
) -> Result<Report, RunError> {
    let mut report = Report::default();
    let mut actions = 0u32;
    for run in runs.iter().filter(|r| !r.clean()) {
        let mut journal = Journal::reopen(run)?;
        let mut left = false;
        for c in run.created() {
            let login = c.login.clone();
            if !(login.to_lowercase().starts_with(&prefix.to_lowercase())
                && login.to_lowercase().starts_with(&run.login_prefix.to_lowercase()))
            {
                report.refused.push((login, "does not start with the login prefix".into()));
                left = true;
                continue;
            }
            let user = match &c.okta_id {
                Some(id) => okta.get_user(id).await?,
                None => okta.find_by_login(&login).await?,
            };
            let Some(user) = user else {
                report.absent.push(login);
                continue;
            };
            if user.login().to_lowercase() != login.to_lowercase() {
                report.refused.push((login, format!("Okta id {} now belongs to {}", user.id, user.login())));
                left = true;
                continue;
            }
            // Only a user created after this run meant to create it can be this run's.
            if user.created.is_none_or(|created| created < c.intent_at - Duration::seconds(SKEW_SECS)) {
                report.refused.push((
                    login,
                    format!(
                        "created {:?}, before this run's intent ({}): not this run's user",
                        user.created, c.intent_at
                    ),
                ));
                left = true;
                continue;
            }
            if actions >= max_users {
                report.refused.push((login, format!("max_users ({max_users}) reached")));
                left = true;
                continue;
            }
            actions += 1;
            let outcome: Result<Option<String>, RunError> = async {
                let apps = super::deprovision::assigned(okta, &user.id, deletion.apps).await?;
                let since = if user.status != "DEPROVISIONED" {
                    journal.append(Action::Deactivate, Stage::Intent, &login, Some(&user.id), None, Some("cleanup"))?;
                    let at = chrono::Utc::now();
                    okta.deactivate(&user.id).await?;
                    at
                } else {
                    user.status_changed.unwrap_or(c.intent_at)
                };
                // Deleted before Okta pushed the deactivation, the downstream account
                // could stay enabled with no owner: wait for the pushes first.
                let pending = super::deprovision::pushes_pending(okta, &user.id, &apps, since, deletion.wait).await?;
                if let Some(why) = pending {
                    return Ok(Some(why));
                }
                journal.append(Action::DeleteUser, Stage::Intent, &login, Some(&user.id), None, Some("cleanup"))?;
                okta.delete_user(&user.id).await?;
                journal.append(Action::DeleteUser, Stage::Done, &login, Some(&user.id), None, Some("gone"))?;
                Ok(None)
            }
            .await;
            match outcome {
                Ok(Some(why)) => {
                    report.failed.push((login, why));
                    left = true;
                }
                Ok(None) => report.removed.push(login),
                Err(e) => {
                    report.failed.push((login, e.to_string()));
                    left = true;
                }
            }
        }
        journal.append(
            Action::RunFinished,
            Stage::Done,
            &run.login_prefix,
            None,
            None,
            Some(if left { "cleanup incomplete" } else { "clean" }),
        )?;
    }
    Ok(report)
}

/// `jmlproof cleanup --config FILE (--run ID | --all)`.
#[derive(Debug, Clone, clap::Args)]
pub struct CleanupArgs {
    #[arg(long, default_value = "jmlproof.toml")]
    pub config: std::path::PathBuf,
    /// The run to clean up (its id, as in the evidence folder's name).
    #[arg(long, conflicts_with = "all")]
    pub run: Option<String>,
    /// Every run whose journal is not marked clean.
    #[arg(long)]
    pub all: bool,
}

pub fn main(args: CleanupArgs) -> anyhow::Result<crate::exit::Outcome> {
    use anyhow::{Context, bail};
    if args.run.is_none() && !args.all {
        bail!("cleanup needs --run ID or --all");
    }
    let cfg = crate::config::load(&args.config)?;
    let Some(test) = &cfg.test else {
        bail!("{}: cleanup needs the [test] section (login_prefix, max_users)", args.config.display())
    };
    let base = args.config.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(std::path::Path::new("."));
    let mut runs = RunJournal::read_dir(&base.join(".jmlproof/journal"))?;
    if let Some(id) = &args.run {
        runs.retain(|r| &r.run_id == id);
        if runs.is_empty() {
            bail!("no journal for run {id:?} in {}", base.join(".jmlproof/journal").display());
        }
    }
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    let report = rt.block_on(async {
        let okta = OktaClient::from_config(&cfg.okta, crate::http::Footprint::new(), None)?;
        let apps = [cfg.entra.okta_app_id.clone(), cfg.aws.okta_app_id.clone()];
        // Okta is held to deprovision within the leaver SLA; cleanup waits that long.
        let deletion = Deletion { apps: &apps, wait: cfg.sla.leaver.0 };
        cleanup(&okta, &runs, &test.login_prefix, test.max_users, &deletion).await.map_err(anyhow::Error::from)
    })?;
    for l in &report.removed {
        println!("removed {l}");
    }
    for l in &report.absent {
        println!("already gone {l}");
    }
    for (l, why) in &report.refused {
        println!("not touched {l}: {why}");
    }
    for (l, why) in &report.failed {
        println!("failed {l}: {why}");
    }
    Ok(if report.complete() { crate::exit::Outcome::Pass } else { crate::exit::Outcome::Findings })
}
