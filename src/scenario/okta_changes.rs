//! The run's own Okta changes, made so that a lost answer (a 5xx, a dropped
//! connection, a body cut short) neither stops the run nor repeats a change: what was
//! asked is checked before it is asked again.

use serde_json::{Map, Value};

use super::journal::{Action, Journal, Stage};
use super::plan;
use super::runner::{Clients, Live, RunError};
use super::safety::TestGroups;
use crate::api::ApiError;

/// Creates the user. A create whose answer was lost (5xx, reset, unreadable body) may
/// still have happened, so the login is looked up before another attempt: a retry
/// never makes a second user, and a user made is never left unknown to the run.
pub async fn create_checked(
    c: &Clients<'_>,
    profile: &Map<String, Value>,
    login: &str,
    group_id: &str,
) -> Result<crate::okta::types::User, ApiError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let e = match c
            .okta
            .create_user(profile, &plan::password(), true, std::slice::from_ref(&group_id.to_string()))
            .await
        {
            Ok(u) => return Ok(u),
            Err(e) => e,
        };
        // A lookup that fails too leaves the outcome open: try again, and if every
        // attempt fails, teardown looks once more and the journal keeps the login.
        if let Ok(Some(u)) = c.okta.get_user(login).await {
            return Ok(u);
        }
        let refused = matches!(&e, ApiError::Vendor { status, .. } if (400..500).contains(status) && *status != 429);
        if refused || attempts == CHANGE_ATTEMPTS {
            return Err(e);
        }
    }
}

/// Deactivates, checking the user's status after a failure: a deactivation whose
/// answer was lost is done, and one that was not is tried again.
pub async fn deactivate_checked(c: &Clients<'_>, id: &str) -> Result<(), ApiError> {
    let mut attempts = 0;
    loop {
        attempts += 1;
        let e = match c.okta.deactivate(id).await {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if c.okta.get_user(id).await?.is_some_and(|u| u.status == "DEPROVISIONED") {
            return Ok(());
        }
        if attempts == CHANGE_ATTEMPTS {
            return Err(e);
        }
    }
}

/// Attempts at an Okta change whose answer is lost before the subject's phase is given up.
const CHANGE_ATTEMPTS: u32 = 3;

/// The mover's three Okta changes (surname, into the mover group, out of the test
/// group), each journaled. The inner error is the change that failed; the outer one
/// a journal that could not be written (which stops the run).
pub async fn move_in_okta(
    c: &Clients<'_>,
    journal: &mut Journal,
    l: &Live,
    id: &str,
    changes: &Map<String, Value>,
    groups: &TestGroups,
) -> Result<Result<(), ApiError>, RunError> {
    if let Err(e) = c.okta.update_profile(id, changes).await {
        return Ok(Err(e));
    }
    journal.append(Action::AddMember, Stage::Intent, &l.plan.login, Some(id), Some(&groups.mover_group_id), None)?;
    if let Err(e) = c.okta.add_member(&groups.mover_group_id, id).await {
        return Ok(Err(e));
    }
    journal.append(Action::RemoveMember, Stage::Intent, &l.plan.login, Some(id), Some(&groups.group_id), None)?;
    Ok(c.okta.remove_member(&groups.group_id, id).await)
}
