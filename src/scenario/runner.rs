//! The run: create disposable subjects, watch both downstreams follow each change
//! (joiner, mover, leaver), gather the three audit trails, and draw the verdicts.
//! Every mutation is journaled first; teardown removes what the run made.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::journal::{Action, Journal, Stage};
use super::plan::{self, Planned};
use super::safety::{self, TestGroups, Unsafe};
use super::watch::{Backoff, Watch};
use crate::api::ApiError;
use crate::aws::AwsClient;
use crate::config::{ExternalId, LinkAttribute};
use crate::entra::types::GraphUser;
use crate::entra::{AuditQuery, GraphClient};
use crate::evidence::record::{Leg, Phase, Record, Step, Subject};
use crate::http::Footprint;
use crate::okta::{LogQuery, OktaClient};

/// What a run needs to know, taken from the config (or the sandbox's built-in one).
#[derive(Debug, Clone)]
pub struct Settings {
    pub run_id: String,
    pub operator: String,
    pub prefix: String,
    pub domain: String,
    pub subjects: u32,
    pub max_users: u32,
    pub group: String,
    pub mover_group: String,
    pub entra_app: String,
    pub aws_app: String,
    pub account_id: String,
    pub permission_set_arn: String,
    pub mover_permission_set_arn: String,
    pub link: LinkAttribute,
    pub external_id: ExternalId,
    pub okta_sp_id: Option<String>,
    pub sla: Slas,
    /// Extra time past an SLA before a change that never came is judged.
    pub grace: Duration,
    pub poll_start: Duration,
    pub poll_max: Duration,
    /// How long to wait for audit entries after a change was seen.
    pub audit_wait: Duration,
    pub mover: bool,
    pub leaver: bool,
    pub journal_dir: PathBuf,
    /// The tenants, as the record names them.
    pub targets: crate::evidence::record::Targets,
}

#[derive(Debug, Clone, Copy)]
pub struct Slas {
    pub joiner: Duration,
    pub mover: Duration,
    pub leaver: Duration,
    pub residual: Duration,
}

pub struct Clients<'a> {
    /// Raised by Ctrl-C or SIGTERM: stop polling, tear down, keep what was gathered.
    pub stop: &'a super::stop::Stop,
    pub progress: &'a super::progress::Progress,
    pub okta: &'a OktaClient,
    pub graph: &'a GraphClient,
    pub aws: &'a AwsClient,
    /// Where raw responses and the bodies of the events used are kept for the pack.
    pub raw: Option<&'a crate::raw::RawLog>,
}

#[derive(Debug, thiserror::Error)]
pub enum RunError {
    #[error(transparent)]
    Unsafe(#[from] Unsafe),
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error(transparent)]
    Journal(#[from] super::journal::JournalError),
    #[error("refusing to run: {0}")]
    Refused(String),
}

/// One subject as the run goes.
#[derive(Debug, Clone)]
pub struct Live {
    pub plan: Planned,
    pub okta_id: Option<String>,
    pub entra_id: Option<String>,
    pub aws_id: Option<String>,
    /// When each phase's change was asked for (our clock).
    pub requested: BTreeMap<Phase, DateTime<Utc>>,
    /// When Okta answered it: the change took effect between the two.
    pub answered: BTreeMap<Phase, DateTime<Utc>>,
    /// (phase, leg) → the watched change.
    pub watches: BTreeMap<(Phase, Leg), Watch>,
    /// How the leaver was revoked per leg (disabled / deleted), as seen.
    pub revoked_as: BTreeMap<Leg, String>,
    /// (phase, leg) → the downstream group membership following the Okta change.
    pub memberships: BTreeMap<(Phase, Leg), Watch>,
    /// After the move, per leg: still enabled (a move is not a leaver).
    pub still_enabled: BTreeMap<Leg, Result<bool, String>>,
    /// Phases whose Okta change could not be made, with the error: their checks are UNKNOWN.
    pub not_made: BTreeMap<Phase, String>,
}

/// Everything gathered, handed to the checks.
pub struct Gathered {
    pub subjects: Vec<Live>,
    pub okta_events: Vec<crate::okta::types::LogEvent>,
    pub audits: Vec<crate::entra::types::DirectoryAudit>,
    pub trail: Vec<crate::aws::types::TrailEvent>,
    pub groups: TestGroups,
    pub aws_groups: (Option<String>, Option<String>),
    /// Why the Identity Center test groups could not be looked up, if they could not.
    pub aws_groups_error: Option<String>,
    pub unread: Unread,
}

/// The trails that could not be read, each with the error as a user would see it.
#[derive(Debug, Clone, Default)]
pub struct Unread {
    pub log: Option<String>,
    pub audits: Option<String>,
    pub trail: Option<String>,
}

fn now() -> DateTime<Utc> {
    Utc::now()
}

impl Settings {
    fn apps(&self) -> [&str; 2] {
        [self.entra_app.as_str(), self.aws_app.as_str()]
    }
}

/// Runs the test and returns the record (verdicts included). Teardown always runs
/// once subjects exist, whatever happened in between.
pub async fn run(s: &Settings, c: &Clients<'_>, footprint: &Arc<Footprint>) -> Result<Record, RunError> {
    if s.subjects > s.max_users {
        return Err(RunError::Refused(format!("[test] subjects ({}) is over max_users ({})", s.subjects, s.max_users)));
    }
    let started = now();
    let groups = safety::preflight(c.okta, &s.group, &s.mover_group, &s.prefix, &s.apps()).await?;
    c.progress.event("preflight passed", json!({"run": s.run_id, "subjects": s.subjects}));
    let mut journal = Journal::create(&s.journal_dir, &s.run_id, &s.prefix)?;
    let mut record = Record::new("run", &s.run_id, &s.operator, started);
    let planned = plan::subjects(&s.prefix, &s.run_id, &s.domain, s.subjects);
    let mut live: Vec<Live> = planned
        .into_iter()
        .map(|p| Live {
            plan: p,
            okta_id: None,
            entra_id: None,
            aws_id: None,
            requested: BTreeMap::new(),
            answered: BTreeMap::new(),
            watches: BTreeMap::new(),
            revoked_as: BTreeMap::new(),
            memberships: BTreeMap::new(),
            still_enabled: BTreeMap::new(),
            not_made: BTreeMap::new(),
        })
        .collect();

    let outcome = phases(s, c, &groups, &mut journal, &mut record, &mut live).await;
    c.progress.event("teardown", json!({"run": s.run_id}));
    let teardown = teardown(s, c, &mut journal, &mut record, &live).await;
    journal.append(
        Action::RunFinished,
        Stage::Done,
        &s.prefix,
        None,
        None,
        Some(if teardown.as_ref().is_ok_and(|complete| *complete) { "clean" } else { "teardown incomplete" }),
    )?;
    let gathered = outcome?;
    teardown?;
    if c.stop.raised() {
        record.notes.push("interrupted (Ctrl-C or SIGTERM): polling stopped early and the run was torn down; unseen changes are UNKNOWN or FAIL as gathered".into());
    }
    super::checks::draw(s, c, &mut record, &gathered).await;
    record.subjects = gathered
        .subjects
        .iter()
        .map(|l| Subject {
            key: l.plan.key.clone(),
            login: l.plan.login.clone(),
            name: format!("{} {}", l.plan.given, l.plan.family),
            okta_id: l.okta_id.clone(),
            employee_number: l.plan.employee_number.clone(),
            entra_id: l.entra_id.clone(),
            aws_id: l.aws_id.clone(),
        })
        .collect();
    record.footprint = footprint.snapshot();
    record.targets = s.targets.clone();
    for (system, offset) in [
        ("okta", c.okta.http().clock_offset()),
        ("graph", c.graph.http().clock_offset()),
        ("aws", c.aws.clock_offset()),
    ] {
        if let Some(o) = offset {
            record
                .clock_offsets
                .push(crate::evidence::record::ClockOffset { system: system.into(), offset_ms: o.num_milliseconds() });
        }
    }
    record.finished = Some(now());
    record.sort();
    Ok(record)
}

/// The Identity Center copies of the two test groups (pushed by Okta), if they exist.
#[derive(Debug, Clone, Default)]
pub struct AwsGroups {
    pub test: Option<String>,
    pub mover: Option<String>,
    /// Why they could not be looked up, if they could not.
    pub error: Option<String>,
}

async fn phases(
    s: &Settings,
    c: &Clients<'_>,
    groups: &TestGroups,
    journal: &mut Journal,
    record: &mut Record,
    live: &mut [Live],
) -> Result<Gathered, RunError> {
    let started = now();
    let aws_groups = match (c.aws.group_id_by_name(&s.group).await, c.aws.group_id_by_name(&s.mover_group).await) {
        (Ok(test), Ok(mover)) => AwsGroups { test, mover, error: None },
        (Err(e), _) | (_, Err(e)) => AwsGroups { error: Some(e.to_string()), ..AwsGroups::default() },
    };
    // Joiner: create active, with a random password (no activation email), in the test group.
    for l in live.iter_mut() {
        if c.stop.raised() {
            break;
        }
        let profile: Map<String, Value> = json!({
            "login": l.plan.login, "email": l.plan.login, "firstName": l.plan.given, "lastName": l.plan.family,
            "employeeNumber": l.plan.employee_number, "displayName": format!("{} {}", l.plan.given, l.plan.family),
        })
        .as_object()
        .cloned()
        .unwrap_or_default();
        journal.append(Action::CreateUser, Stage::Intent, &l.plan.login, None, Some(&groups.group_id), None)?;
        let asked = now();
        let created = super::okta_changes::create_checked(c, &profile, &l.plan.login, &groups.group_id).await;
        match created {
            Ok(u) => {
                journal.append(
                    Action::CreateUser,
                    Stage::Done,
                    &l.plan.login,
                    Some(&u.id),
                    Some(&groups.group_id),
                    None,
                )?;
                record.steps.push(Step {
                    subject: l.plan.key.clone(),
                    action: "create".into(),
                    requested_at: asked,
                    responded_at: Some(now()),
                    request_id: None,
                    outcome: "ok".into(),
                });
                l.okta_id = Some(u.id.clone());
                c.progress.event("created", json!({"subject": l.plan.key, "login": l.plan.login}));
                l.requested.insert(Phase::Joiner, asked);
                l.answered.insert(Phase::Joiner, now());
                safety::check_user_apps(c.okta, &u.id, &l.plan.login, &s.apps()).await?;
            }
            Err(e) => {
                // Looked for by login after each failure and not found: no user was made.
                journal.append(Action::CreateUser, Stage::Failed, &l.plan.login, None, None, Some(&e.to_string()))?;
                l.not_made.insert(Phase::Joiner, format!("the user could not be created in Okta: {e}"));
            }
        }
    }
    watch_phase(s, c, live, Phase::Joiner, s.sla.joiner, &aws_groups).await;
    let go_on = |c: &Clients<'_>| !c.stop.raised();

    if s.mover && go_on(c) {
        for l in live.iter_mut() {
            let Some(id) = l.okta_id.clone() else { continue };
            let changes =
                json!({"lastName": l.plan.married, "displayName": format!("{} {}", l.plan.given, l.plan.married)})
                    .as_object()
                    .cloned()
                    .unwrap_or_default();
            journal.append(Action::UpdateProfile, Stage::Intent, &l.plan.login, Some(&id), None, None)?;
            let asked = now();
            if let Err(e) = super::okta_changes::move_in_okta(c, journal, l, &id, &changes, groups).await? {
                l.not_made.insert(Phase::Mover, format!("the move could not be made in Okta: {e}"));
                continue;
            }
            journal.append(
                Action::RemoveMember,
                Stage::Done,
                &l.plan.login,
                Some(&id),
                Some(&groups.group_id),
                None,
            )?;
            record.steps.push(Step {
                subject: l.plan.key.clone(),
                action: "move".into(),
                requested_at: asked,
                responded_at: Some(now()),
                request_id: None,
                outcome: "ok".into(),
            });
            l.requested.insert(Phase::Mover, asked);
            l.answered.insert(Phase::Mover, now());
        }
        watch_phase(s, c, live, Phase::Mover, s.sla.mover, &aws_groups).await;
        still_enabled(c, live).await;
    }

    if s.leaver && go_on(c) {
        for l in live.iter_mut() {
            let Some(id) = l.okta_id.clone() else { continue };
            journal.append(Action::Deactivate, Stage::Intent, &l.plan.login, Some(&id), None, None)?;
            let asked = now();
            if let Err(e) = super::okta_changes::deactivate_checked(c, &id).await {
                journal.append(
                    Action::Deactivate,
                    Stage::Failed,
                    &l.plan.login,
                    Some(&id),
                    None,
                    Some(&e.to_string()),
                )?;
                l.not_made.insert(Phase::Leaver, format!("the user could not be deactivated in Okta: {e}"));
                continue;
            }
            journal.append(Action::Deactivate, Stage::Done, &l.plan.login, Some(&id), None, None)?;
            record.steps.push(Step {
                subject: l.plan.key.clone(),
                action: "deactivate".into(),
                requested_at: asked,
                responded_at: Some(now()),
                request_id: None,
                outcome: "ok".into(),
            });
            l.requested.insert(Phase::Leaver, asked);
            l.answered.insert(Phase::Leaver, now());
        }
        watch_phase(s, c, live, Phase::Leaver, s.sla.leaver, &aws_groups).await;
    }

    // The audit trails, read once for the whole run (the directory-audit limit is low).
    c.progress.event("reading audit trails", json!({"wait_s": s.audit_wait.as_secs()}));
    c.stop.sleep(s.audit_wait).await;
    let until = now() + chrono::Duration::seconds(1);
    let since = started - chrono::Duration::minutes(1);
    let ids: Vec<&String> = live.iter().filter_map(|l| l.okta_id.as_ref()).collect();
    // A trail that cannot be read is recorded, not fatal: the checks that needed it say
    // so (UNKNOWN), and the others still stand on the polling.
    let (okta_events, log_error) = split(okta_events_of(c, &ids, since, until).await);
    // Each trail is asked in its own system's clock: Graph's by its measured offset;
    // CloudTrail with a fixed margin wider than any skew SigV4 lets through (5 minutes),
    // which holds whether or not an offset was measured.
    let graph_offset = c.graph.http().clock_offset().unwrap_or_else(chrono::Duration::zero);
    let margin = chrono::Duration::seconds(2);
    let (audits, audits_error) = split(
        c.graph
            .directory_audits(&AuditQuery {
                since: Some(since + graph_offset - margin),
                until: Some(until + graph_offset + margin),
                ..AuditQuery::default()
            })
            .await,
    );
    let aws_margin = chrono::Duration::minutes(6);
    let (trail, trail_error) = split(c.aws.scim_events(since - aws_margin, until + aws_margin).await);
    let aws_groups_error = aws_groups.error;
    let aws_groups = (aws_groups.test, aws_groups.mover);
    Ok(Gathered {
        aws_groups_error,
        subjects: live.to_vec(),
        okta_events,
        audits,
        trail,
        groups: groups.clone(),
        aws_groups,
        unread: Unread { log: log_error, audits: audits_error, trail: trail_error },
    })
}

fn split<T: Default>(r: Result<T, ApiError>) -> (T, Option<String>) {
    match r {
        Ok(v) => (v, None),
        Err(e) => (T::default(), Some(e.to_string())),
    }
}

/// The subjects' System Log events: one query per OKTA_IDS_PER_QUERY subjects, their
/// ids or-ed (the URL stays short); an event naming subjects of two queries is kept once.
async fn okta_events_of(
    c: &Clients<'_>,
    ids: &[&String],
    since: DateTime<Utc>,
    until: DateTime<Utc>,
) -> Result<Vec<crate::okta::types::LogEvent>, ApiError> {
    let mut okta_events = Vec::new();
    let mut uuids = std::collections::BTreeSet::new();
    for chunk in ids.chunks(OKTA_IDS_PER_QUERY) {
        let filter = chunk.iter().map(|id| format!("target.id eq \"{id}\"")).collect::<Vec<_>>().join(" or ");
        for e in c.okta.logs(&LogQuery::bounded(since, until).filter(filter))?.collect().await? {
            if uuids.insert(e.uuid.clone()) {
                okta_events.push(e);
            }
        }
    }
    Ok(okta_events)
}

/// Probes one leg of one subject for the phase's change; `Ok(true)` once it landed.
/// What one probe learnt: whether the change is there, and ids or facts found on the way.
#[derive(Debug, Default)]
struct Found {
    seen: bool,
    entra_id: Option<String>,
    aws_id: Option<String>,
    revoked_as: Option<&'static str>,
}

fn seen(yes: bool) -> Found {
    Found { seen: yes, ..Found::default() }
}

/// Probes one leg of one subject for the phase's change.
async fn probe(s: &Settings, c: &Clients<'_>, l: &Live, phase: Phase, leg: Leg) -> Result<Found, String> {
    let api = |e: ApiError| e.to_string();
    match (phase, leg) {
        (Phase::Joiner, Leg::Entra) => {
            let Some(okta_id) = &l.okta_id else { return Ok(seen(false)) };
            let found = match s.link {
                LinkAttribute::OnPremisesImmutableId => c.graph.users_by_immutable_id(okta_id).await.map_err(api)?,
                LinkAttribute::EmployeeId => {
                    c.graph.users_by_employee_id(&l.plan.employee_number).await.map_err(api)?
                }
            };
            Ok(Found { seen: !found.is_empty(), entra_id: found.first().map(|u| u.id.clone()), ..Found::default() })
        }
        (Phase::Joiner, Leg::Aws) => {
            let u = c.aws.user_by_user_name(&l.plan.login).await.map_err(api)?;
            Ok(Found { seen: u.is_some(), aws_id: u.map(|u| u.id), ..Found::default() })
        }
        (Phase::Mover, Leg::Aws) => {
            let Some(id) = &l.aws_id else { return Err(no_account(Leg::Aws)) };
            Ok(seen(
                c.aws.describe_user(id).await.map_err(api)?.and_then(|u| u.family_name).as_deref()
                    == Some(l.plan.married.as_str()),
            ))
        }
        (Phase::Mover | Phase::Leaver, Leg::Entra) => {
            let Some(id) = &l.entra_id else { return Err(no_account(Leg::Entra)) };
            entra_change(c, l, phase, id, c.graph.get_user(id).await.map_err(api)?).await.map_err(api)
        }
        (Phase::Leaver, Leg::Aws) => {
            let Some(id) = &l.aws_id else { return Err(no_account(Leg::Aws)) };
            match c.aws.describe_user(id).await.map_err(api)? {
                None => Ok(Found { seen: true, revoked_as: Some("deleted"), ..Found::default() }),
                Some(u) => match u.is_disabled() {
                    Some(true) => Ok(Found { seen: true, revoked_as: Some("disabled"), ..Found::default() }),
                    Some(false) => Ok(seen(false)),
                    None => Err(ApiError::Malformed {
                        system: crate::http::System::Aws,
                        endpoint: "POST identitystore.DescribeUser".into(),
                        detail: "UserStatus is not reported, so a disable cannot be seen".into(),
                    }
                    .to_string()),
                },
            }
        }
        _ => Ok(seen(false)),
    }
}

/// A probe that has no downstream account to read checked nothing: it must not count
/// as "not changed yet", or the poll window would start after the change it bounds.
fn no_account(leg: Leg) -> String {
    let system = match leg {
        Leg::Entra => "Entra",
        Leg::Aws => "Identity Center",
        Leg::Okta => "Okta",
    };
    format!("no {system} account found to check")
}

/// Whether an Entra account read as `user` shows the phase's change: the new surname
/// for a mover; for a leaver, disabled, or deleted (and then in deleted items).
async fn entra_change(
    c: &Clients<'_>,
    l: &Live,
    phase: Phase,
    id: &str,
    user: Option<GraphUser>,
) -> Result<Found, ApiError> {
    match (phase, user) {
        (Phase::Mover, u) => Ok(seen(u.and_then(|u| u.surname).as_deref() == Some(l.plan.married.as_str()))),
        (_, Some(u)) if u.account_enabled == Some(false) => {
            Ok(Found { seen: true, revoked_as: Some("disabled"), ..Found::default() })
        }
        (_, Some(_)) => Ok(seen(false)),
        // A 404 is not proof of deletion: deleted items must hold it.
        (_, None) => match c.graph.deleted_user(id).await? {
            Some(_) => Ok(Found { seen: true, revoked_as: Some("deleted"), ..Found::default() }),
            None => Err(ApiError::Malformed {
                system: crate::http::System::Graph,
                endpoint: "GET /users/{id}".into(),
                detail: format!("user {id} is neither in users nor in deleted items"),
            }),
        },
    }
}

/// Entra accounts still to be read this cycle for a mover or leaver change, read
/// together in `$batch` calls (20 users a call) rather than one GET each: on a real
/// tenant Graph's per-app limits, not our patience, bound how many subjects a run
/// can watch. Returns, per subject index, the account as read, and the instants the
/// batch was sent and answered (the poll window's bounds for every user in it).
struct EntraBatch {
    asked: DateTime<Utc>,
    answered: DateTime<Utc>,
    users: Result<BTreeMap<String, Option<GraphUser>>, String>,
}

async fn read_entra_batch(c: &Clients<'_>, ids: Vec<String>) -> Option<EntraBatch> {
    if ids.is_empty() {
        return None;
    }
    let asked = now();
    let users = c.graph.users_by_ids(&ids).await.map(|v| v.into_iter().collect()).map_err(|e| e.to_string());
    Some(EntraBatch { asked, answered: now(), users })
}

/// Whether the downstream membership follows the phase: a joiner in the test group; a
/// mover in the mover group and out of the test group.
async fn probe_membership(
    s: &Settings,
    c: &Clients<'_>,
    l: &Live,
    phase: Phase,
    leg: Leg,
    groups: &AwsGroups,
) -> Result<bool, String> {
    let api = |e: ApiError| e.to_string();
    let mover = phase == Phase::Mover;
    match leg {
        Leg::Entra => {
            let Some(id) = &l.entra_id else { return Err(no_account(Leg::Entra)) };
            let names: Vec<String> =
                c.graph.member_of(id).await.map_err(api)?.into_iter().filter_map(|g| g.display_name).collect();
            let has = |n: &str| names.iter().any(|x| x == n);
            Ok(if mover { has(&s.mover_group) && !has(&s.group) } else { has(&s.group) })
        }
        Leg::Aws => {
            let Some(id) = &l.aws_id else { return Err(no_account(Leg::Aws)) };
            // Groups Okta never pushed: no membership can appear (the check fails). Groups
            // that could not be looked up: nothing was checked.
            let (Some(test), Some(moved)) = (&groups.test, &groups.mover) else {
                return groups.error.clone().map_or(Ok(false), Err);
            };
            let ids: Vec<String> =
                c.aws.memberships_of_user(id).await.map_err(api)?.into_iter().map(|m| m.group_id).collect();
            let has = |g: &String| ids.contains(g);
            Ok(if mover { has(moved) && !has(test) } else { has(test) })
        }
        Leg::Okta => Ok(true),
    }
}

/// After the move: both downstream accounts must still be enabled (a move is not a leaver).
async fn still_enabled(c: &Clients<'_>, live: &mut [Live]) {
    for l in live.iter_mut() {
        if let Some(id) = l.entra_id.clone() {
            let seen = c
                .graph
                .get_user(&id)
                .await
                .map(|u| u.and_then(|u| u.account_enabled) == Some(true))
                .map_err(|e| e.to_string());
            l.still_enabled.insert(Leg::Entra, seen);
        }
        if let Some(id) = l.aws_id.clone() {
            let seen = c
                .aws
                .describe_user(&id)
                .await
                .map(|u| u.and_then(|u| u.is_disabled()) == Some(false))
                .map_err(|e| e.to_string());
            l.still_enabled.insert(Leg::Aws, seen);
        }
    }
}

/// Subjects per System Log query: 20 or-ed `target.id` clauses keep the URL near 1 KB.
const OKTA_IDS_PER_QUERY: usize = 20;

/// How many probes may be in flight at once (each system's own limits pace the rest).
const PROBES_AT_ONCE: usize = 16;

/// Polls every subject's two legs until each change is seen or SLA + grace has passed.
/// Each leg is polled on its own: a throttled or slow system must not keep the other
/// one from being looked at.
async fn watch_phase(
    s: &Settings,
    c: &Clients<'_>,
    live: &mut [Live],
    phase: Phase,
    sla: Duration,
    groups: &AwsGroups,
) {
    let watched = live.iter().filter(|l| l.okta_id.is_some()).count();
    c.progress.event(
        "watching",
        json!({"phase": format!("{phase:?}").to_lowercase(), "sla_s": sla.as_secs(), "subjects": watched}),
    );
    let (mut entra, mut aws) = (live.to_vec(), live.to_vec());
    futures_util::future::join(
        watch_leg(s, c, &mut entra, phase, Leg::Entra, sla, groups),
        watch_leg(s, c, &mut aws, phase, Leg::Aws, sla, groups),
    )
    .await;
    for (l, (e, a)) in live.iter_mut().zip(entra.into_iter().zip(aws)) {
        for (leg, from) in [(Leg::Entra, e), (Leg::Aws, a)] {
            match leg {
                Leg::Entra => l.entra_id = from.entra_id,
                _ => l.aws_id = from.aws_id,
            }
            for (map, theirs) in [(&mut l.watches, from.watches), (&mut l.memberships, from.memberships)] {
                if let Some(w) = theirs.get(&(phase, leg)) {
                    map.insert((phase, leg), w.clone());
                }
            }
            if let Some(how) = from.revoked_as.get(&leg) {
                l.revoked_as.insert(leg, how.clone());
            }
        }
    }
}

/// Polls one leg of every subject until each change is seen or SLA + grace has passed.
#[allow(clippy::too_many_arguments)]
async fn watch_leg(
    s: &Settings,
    c: &Clients<'_>,
    live: &mut [Live],
    phase: Phase,
    leg: Leg,
    sla: Duration,
    groups: &AwsGroups,
) {
    let deadline = tokio::time::Instant::now() + sla + s.grace;
    let mut backoff = Backoff::new(s.poll_start, s.poll_max);
    // Joiners and movers also have a group membership to follow (the group push).
    let with_membership = matches!(phase, Phase::Joiner | Phase::Mover);
    loop {
        // What is still to be seen: (subject, leg, membership?).
        let mut todo = Vec::new();
        for (i, l) in live.iter().enumerate().filter(|(_, l)| l.okta_id.is_some()) {
            if !l.watches.get(&(phase, leg)).is_some_and(Watch::seen) {
                todo.push((i, leg, false));
            }
            if with_membership && !l.memberships.get(&(phase, leg)).is_some_and(Watch::seen) {
                todo.push((i, leg, true));
            }
        }
        let mut changed = false;
        // Mover and leaver reads of Entra accounts go in one batch; the rest are probes.
        let batched = |&(_, leg, membership): &(usize, Leg, bool)| {
            matches!(phase, Phase::Mover | Phase::Leaver) && leg == Leg::Entra && !membership
        };
        let ids = todo.iter().filter(|t| batched(t)).filter_map(|&(i, ..)| live[i].entra_id.clone()).collect();
        let batch = read_entra_batch(c, ids).await;
        // Probes run concurrently, a bounded number at a time: accounts first, then the
        // memberships, which need the account ids this round may just have found.
        let (accounts, memberships): (Vec<_>, Vec<_>) = todo.iter().partition(|t| !t.2);
        for chunk in accounts.chunks(PROBES_AT_ONCE).chain(memberships.chunks(PROBES_AT_ONCE)) {
            let results = futures_util::future::join_all(chunk.iter().map(|t| {
                let (i, leg, membership) = *t;
                let l = &live[i];
                let from_batch = batch.as_ref().filter(|_| batched(t));
                async move {
                    if let (Some(b), Some(id)) = (from_batch, &l.entra_id) {
                        let outcome = match &b.users {
                            Ok(users) => match users.get(id) {
                                // Deleted: one more call to deleted items, which extends the window.
                                Some(None) => entra_change(c, l, phase, id, None).await.map(|f| (f, now())),
                                Some(Some(u)) => {
                                    entra_change(c, l, phase, id, Some(u.clone())).await.map(|f| (f, b.answered))
                                }
                                None => Err(ApiError::Malformed {
                                    system: crate::http::System::Graph,
                                    endpoint: "POST /$batch".into(),
                                    detail: format!("no answer for user {id}"),
                                }),
                            }
                            .map_err(|e| e.to_string()),
                            Err(e) => Err(e.clone()),
                        };
                        let answered = outcome.as_ref().map_or(b.answered, |(_, at)| *at);
                        return (i, leg, membership, b.asked, answered, outcome.map(|(f, _)| f));
                    }
                    let asked = now();
                    let outcome = if membership {
                        probe_membership(s, c, l, phase, leg, groups).await.map(seen)
                    } else {
                        probe(s, c, l, phase, leg).await
                    };
                    (i, leg, membership, asked, now(), outcome)
                }
            }))
            .await;
            for (i, leg, membership, asked, answered, outcome) in results {
                let l = &mut live[i];
                let hit = outcome.as_ref().is_ok_and(|f| f.seen);
                if let Ok(f) = &outcome {
                    if let Some(id) = &f.entra_id {
                        l.entra_id = Some(id.clone());
                    }
                    if let Some(id) = &f.aws_id {
                        l.aws_id = Some(id.clone());
                    }
                    if let Some(how) = f.revoked_as {
                        l.revoked_as.insert(leg, how.into());
                    }
                }
                if hit && !membership {
                    c.progress.event("changed", json!({"subject": l.plan.key, "phase": format!("{phase:?}").to_lowercase(), "leg": format!("{leg:?}").to_lowercase()}));
                }
                let map = if membership { &mut l.memberships } else { &mut l.watches };
                map.entry((phase, leg)).or_default().record(asked, answered, outcome.map(|f| f.seen));
                changed |= hit;
            }
        }
        let pending = !todo.is_empty()
            && live.iter().any(|l| {
                l.okta_id.is_some()
                    && (!l.watches.get(&(phase, leg)).is_some_and(Watch::seen)
                        || (with_membership && !l.memberships.get(&(phase, leg)).is_some_and(Watch::seen)))
            });
        if c.stop.raised() {
            // Stopped before the deadline: what was not seen is unknown, not late.
            for l in live.iter_mut() {
                for w in [l.watches.get_mut(&(phase, leg)), l.memberships.get_mut(&(phase, leg))].into_iter().flatten()
                {
                    if !w.seen() {
                        w.last_error = Some("interrupted before the SLA elapsed".into());
                    }
                }
            }
            return;
        }
        if !pending || tokio::time::Instant::now() >= deadline {
            return;
        }
        let wait = backoff.next(changed).min(deadline.saturating_duration_since(tokio::time::Instant::now()));
        c.stop.sleep(wait).await;
    }
}

/// One subject: deactivate if still active, wait for Okta to push that to every app
/// the user is assigned to (deleted sooner, a downstream account could stay enabled
/// with no owner), then delete; each intent journaled first. `Some(why)` when the
/// user is left deactivated because a push has not happened within the leaver SLA.
async fn remove(
    s: &Settings,
    c: &Clients<'_>,
    journal: &mut Journal,
    login: &str,
    id: &str,
) -> Result<Option<String>, RunError> {
    let Some(user) = c.okta.get_user(id).await? else { return Ok(None) };
    let apps: Vec<String> = s.apps().iter().map(|a| a.to_string()).collect();
    let apps = super::deprovision::assigned(c.okta, id, &apps).await?;
    let since = if user.status != "DEPROVISIONED" {
        journal.append(Action::Deactivate, Stage::Intent, login, Some(id), None, Some("teardown"))?;
        let at = now();
        super::okta_changes::deactivate_checked(c, id).await?;
        at
    } else {
        user.status_changed.unwrap_or_else(now)
    };
    // Interrupted, a minute at most: what is left is journaled for `jmlproof cleanup`.
    let wait = if c.stop.raised() { s.sla.leaver.min(std::time::Duration::from_secs(60)) } else { s.sla.leaver };
    if let Some(why) = super::deprovision::pushes_pending(c.okta, id, &apps, since, wait).await? {
        return Ok(Some(why));
    }
    journal.append(Action::DeleteUser, Stage::Intent, login, Some(id), None, None)?;
    c.okta.delete_user(id).await?;
    Ok(None)
}

/// Deletes what the run created: deactivate (if still active), then delete. Each
/// step journaled; the deletion cap holds. Ok(false) when a user was left
/// deactivated for `jmlproof cleanup` to finish.
async fn teardown(
    s: &Settings,
    c: &Clients<'_>,
    journal: &mut Journal,
    record: &mut Record,
    live: &[Live],
) -> Result<bool, RunError> {
    let mut first_error: Option<RunError> = None;
    let mut complete = true;
    for l in live {
        let id = match &l.okta_id {
            Some(id) => id.clone(),
            None if l.not_made.contains_key(&Phase::Joiner) => match c.okta.get_user(&l.plan.login).await {
                // A create reported as failed that happened after all.
                Ok(Some(u)) => u.id,
                Ok(None) => continue,
                Err(e) => {
                    record.notes.push(format!(
                        "teardown of {}: whether its failed create made a user is unknown ({e}); run `jmlproof cleanup`",
                        l.plan.login
                    ));
                    complete = false;
                    continue;
                }
            },
            None => continue,
        };
        let id = &id;
        let asked = now();
        let result = remove(s, c, journal, &l.plan.login, id).await;
        match result {
            Ok(Some(why)) => {
                journal.append(Action::DeleteUser, Stage::Failed, &l.plan.login, Some(id), None, Some(&why))?;
                record.notes.push(format!("teardown of {}: {why}", l.plan.login));
                complete = false;
            }
            Ok(None) => {
                journal.append(Action::DeleteUser, Stage::Done, &l.plan.login, Some(id), None, Some("gone"))?;
                record.steps.push(Step {
                    subject: l.plan.key.clone(),
                    action: "delete".into(),
                    requested_at: asked,
                    responded_at: Some(now()),
                    request_id: None,
                    outcome: "ok".into(),
                });
            }
            Err(e) => {
                journal.append(
                    Action::DeleteUser,
                    Stage::Failed,
                    &l.plan.login,
                    Some(id),
                    None,
                    Some(&e.to_string()),
                )?;
                record.notes.push(format!(
                    "teardown of {} failed: {e}; it is journaled, and `jmlproof cleanup` finishes it",
                    l.plan.login
                ));
                complete = false;
                // A vendor that failed to answer leaves evidence intact; an unsafe
                // state or a journal that cannot be written stops the run.
                if !matches!(e, RunError::Api(_)) {
                    first_error.get_or_insert(e);
                }
            }
        }
    }
    // Downstream accounts are only read, never changed: say which remain.
    for l in live {
        if l.entra_id.is_some() || l.aws_id.is_some() {
            record.notes.push(format!(
                "downstream accounts of {} are left to the provisioning (entra {}, aws {})",
                l.plan.login,
                l.entra_id.as_deref().unwrap_or("-"),
                l.aws_id.as_deref().unwrap_or("-")
            ));
        }
    }
    match first_error {
        Some(e) => Err(e),
        None => Ok(complete),
    }
}
