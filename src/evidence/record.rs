//! The evidence record (`run.json`). Field names are a contract with the renderers
//! and with anyone who reads a pack years later: add fields, never rename them, and
//! bump `SCHEMA_VERSION` when a meaning changes.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::http::EndpointStats;

pub const SCHEMA_VERSION: &str = "1";

/// Where a timestamp came from. An SLA rests on the first kind when it can.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Provenance {
    /// The system's own audit clock (Okta `published`, Entra `activityDateTime`,
    /// CloudTrail `eventTime`, identitystore `UpdatedAt`).
    Source,
    /// Bounded by our polling: the first poll that saw the change.
    Observed,
    /// Our clock, when we asked for something.
    Requested,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Stamp {
    pub at: DateTime<Utc>,
    pub provenance: Provenance,
    /// What exactly the time is (e.g. "okta_system_log user.lifecycle.deactivate published").
    pub detail: String,
}

/// The poll window in which a change became visible.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Window {
    /// The last poll that did not see the change (`None`: the first poll already saw it).
    pub last_not_seen: Option<DateTime<Utc>>,
    pub first_seen: DateTime<Utc>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Leg {
    Okta,
    Entra,
    Aws,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Phase {
    Joiner,
    Mover,
    Leaver,
    Residual,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Status {
    Pass,
    Fail,
    Unknown,
}

/// The audit trails events come from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Source {
    OktaSystemLog,
    EntraDirectoryAudit,
    Cloudtrail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    pub name: String,
    pub version: String,
}

impl Default for Tool {
    fn default() -> Self {
        Tool { name: "jmlproof".into(), version: env!("CARGO_PKG_VERSION").into() }
    }
}

/// The tenants the evidence is about.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Targets {
    pub okta_org: String,
    pub entra_tenant: String,
    pub aws_identity_store: String,
    pub aws_region: String,
    pub okta_entra_app: String,
    pub okta_aws_app: String,
}

impl Targets {
    /// The tenants a config points at.
    pub fn of_config(cfg: &crate::config::Config) -> Targets {
        Targets {
            okta_org: cfg.okta.org_url.to_string(),
            entra_tenant: cfg.entra.tenant_id.clone(),
            aws_identity_store: cfg.aws.identity_store_id.clone(),
            aws_region: cfg.aws.region.clone(),
            okta_entra_app: cfg.entra.okta_app_id.clone(),
            okta_aws_app: cfg.aws.okta_app_id.clone(),
        }
    }

    /// The sandbox's tenants.
    pub fn of_sandbox(e: &crate::sandbox::Endpoints) -> Targets {
        Targets {
            okta_org: e.okta_url.clone(),
            entra_tenant: e.tenant_id.clone(),
            aws_identity_store: e.identity_store_id.clone(),
            aws_region: e.aws_region.clone(),
            okta_entra_app: e.okta_entra_app_id.clone(),
            okta_aws_app: e.okta_aws_app_id.clone(),
        }
    }
}

/// SLAs in seconds, as configured.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Sla {
    pub joiner_secs: u64,
    pub mover_secs: u64,
    pub leaver_secs: u64,
    pub residual_secs: u64,
    /// How long past its SLA a leg was still watched.
    #[serde(default)]
    pub grace_secs: u64,
    /// How long downstream audit trails were read after the last change.
    #[serde(default)]
    pub audit_wait_secs: u64,
    /// `attest --terminations`: from HR's termination date to Okta's deactivation.
    #[serde(default)]
    pub termination_secs: u64,
}

/// A disposable user of a run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Subject {
    /// Stable short name within the run (`s01`).
    pub key: String,
    pub login: String,
    /// Given and family name as created (the views must render them exactly).
    #[serde(default)]
    pub name: String,
    pub okta_id: Option<String>,
    pub employee_number: String,
    pub entra_id: Option<String>,
    pub aws_id: Option<String>,
}

/// Something the tool did.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Step {
    pub subject: String,
    pub action: String,
    pub requested_at: DateTime<Utc>,
    pub responded_at: Option<DateTime<Utc>>,
    /// `X-Okta-Request-Id`, the WEB transaction id of the events it caused.
    pub request_id: Option<String>,
    pub outcome: String,
}

/// An audit-trail entry used as evidence: its identity, time, and the hash of its
/// raw body (the body itself is in the pack's raw/ folder).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SourceEvent {
    pub source: Source,
    pub id: String,
    pub time: DateTime<Utc>,
    /// eventType / activityDisplayName / eventName.
    pub kind: String,
    pub outcome: Option<String>,
    pub subject: Option<String>,
    pub leg: Option<Leg>,
    /// Who made the change, as the source names it (Okta actor, Entra initiatedBy,
    /// CloudTrail userIdentity).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub actor: Option<String>,
    pub sha256: String,
}

/// What was checked and what was seen.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Observation {
    pub subject: String,
    pub leg: Leg,
    pub phase: Phase,
    pub check: String,
    pub expected: String,
    pub seen: String,
    pub window: Option<Window>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Verdict {
    pub subject: String,
    pub leg: Leg,
    pub phase: Phase,
    pub check: String,
    pub status: Status,
    /// From T0 to the change, when both are known.
    pub latency_ms: Option<i64>,
    pub sla_ms: Option<i64>,
    /// The time the verdict rests on, with its provenance.
    pub time: Option<Stamp>,
    /// Always set for FAIL and UNKNOWN; what a user would need to act on it.
    pub reason: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ClockOffset {
    pub system: String,
    /// Vendor `Date` minus our clock, in milliseconds (one-second resolution).
    pub offset_ms: i64,
}

/// The period an attestation covers: `since` inclusive, `until` exclusive.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
}

impl Period {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        t >= self.since && t < self.until
    }
}

/// How far back a source's answers reached, measured from what it returned (never
/// from an assumed retention).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Coverage {
    /// `okta_system_log`, `entra_directory_audit`, `cloudtrail`.
    pub source: Source,
    /// The oldest entry the source returned for the queries made (None: it returned none).
    pub oldest: Option<DateTime<Utc>>,
    /// From when the source is taken to cover the period; None when it covers none of it.
    pub covers_from: Option<DateTime<Utc>>,
    /// In words, for the report.
    pub note: String,
}

/// The reproducible sample an auditor asked for.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Sample {
    pub size: usize,
    pub seed: u64,
    /// Subject keys, in the order drawn.
    pub subjects: Vec<String>,
}

/// Someone the System Log shows deactivated in the period who is not counted as a
/// leaver, and why (test residue of `run`, reactivated afterwards).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Excluded {
    pub okta_id: String,
    pub login: String,
    pub deactivated: DateTime<Utc>,
    pub why: String,
}

/// What `reconcile` found wrong with a downstream account.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FindingClass {
    /// Its Okta owner is deactivated or deleted; the account is still enabled.
    Lingering,
    /// No Okta user owns it.
    Orphan,
    /// Two accounts of one system for one Okta user.
    Duplicate,
    /// A name or mail differs from the Okta profile the mapping copies.
    Drift,
    /// A disabled AWS user still holds an account assignment directly.
    DisabledWithAssignment,
}

impl FindingClass {
    /// Lingering, orphan and duplicate accounts are access that should not exist;
    /// drift and a disabled user's assignment are warnings (shared/DESIGN.md).
    pub fn blocks(self) -> bool {
        matches!(self, FindingClass::Lingering | FindingClass::Orphan | FindingClass::Duplicate)
    }
}

/// How an account was tied to an Okta user.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LinkKind {
    /// Okta's own assignment record: the app user's externalId is the account's id.
    AppUser,
    /// The account carries the Okta id (onPremisesImmutableId, ExternalIds).
    OktaId,
    /// Only the user name equals the Okta login: a labelled fallback.
    UserName,
    /// Only a guest's mail equals the Okta user's email or secondEmail: weak.
    WeakMail,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Owner {
    pub okta_id: String,
    pub login: String,
    pub status: String,
    pub link: LinkKind,
}

/// An accepted exception from the exceptions file, as it applied to a finding.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Accepted {
    pub reason: String,
    pub owner: String,
    pub approved_by: String,
    pub expires: DateTime<Utc>,
    /// False once `expires` has passed: the finding counts again.
    pub live: bool,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Finding {
    pub class: FindingClass,
    pub system: Leg,
    pub account_id: String,
    pub account_name: String,
    pub enabled: Option<bool>,
    pub owner: Option<Owner>,
    /// Since when the finding holds, where known (the owner's deactivation).
    pub since: Option<DateTime<Utc>>,
    pub detail: String,
    pub exception: Option<Accepted>,
}

impl Finding {
    pub fn blocks(&self) -> bool {
        self.class.blocks() && !self.exception.as_ref().is_some_and(|e| e.live)
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Record {
    pub schema_version: String,
    pub kind: String,
    pub tool: Tool,
    pub run_id: String,
    pub operator: String,
    pub started: DateTime<Utc>,
    pub finished: Option<DateTime<Utc>>,
    /// The configuration as loaded, secrets as references only.
    pub config: serde_json::Value,
    pub sla: Sla,
    pub targets: Targets,
    pub subjects: Vec<Subject>,
    pub steps: Vec<Step>,
    pub events: Vec<SourceEvent>,
    pub observations: Vec<Observation>,
    pub verdicts: Vec<Verdict>,
    pub footprint: Vec<EndpointStats>,
    pub clock_offsets: Vec<ClockOffset>,
    /// Findings that are not verdicts: leftover downstream accounts, disagreements
    /// between source times and poll windows, gaps.
    pub notes: Vec<String>,
    /// `attest`: the period, what each source covered of it, the auditor's sample,
    /// and the deactivations that are not leavers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub period: Option<Period>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub coverage: Vec<Coverage>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sample: Option<Sample>,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub excluded: Vec<Excluded>,
    /// `reconcile`: every downstream account that is not as it should be.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub findings: Vec<Finding>,
}

impl Record {
    pub fn new(kind: &str, run_id: &str, operator: &str, started: DateTime<Utc>) -> Record {
        Record {
            schema_version: SCHEMA_VERSION.into(),
            kind: kind.into(),
            tool: Tool::default(),
            run_id: run_id.into(),
            operator: operator.into(),
            started,
            finished: None,
            config: serde_json::Value::Null,
            sla: Sla::default(),
            targets: Targets::default(),
            subjects: Vec::new(),
            steps: Vec::new(),
            events: Vec::new(),
            observations: Vec::new(),
            verdicts: Vec::new(),
            footprint: Vec::new(),
            clock_offsets: Vec::new(),
            notes: Vec::new(),
            period: None,
            coverage: Vec::new(),
            sample: None,
            excluded: Vec::new(),
            findings: Vec::new(),
        }
    }

    /// PASS only when there is at least one verdict and every one passed.
    pub fn all_pass(&self) -> bool {
        !self.verdicts.is_empty() && self.verdicts.iter().all(|v| v.status == Status::Pass)
    }

    /// Verdicts sorted the one way every view shows them: subject, phase, leg, check.
    pub fn sort(&mut self) {
        self.verdicts
            .sort_by(|a, b| (&a.subject, a.phase, a.leg, &a.check).cmp(&(&b.subject, b.phase, b.leg, &b.check)));
        self.observations
            .sort_by(|a, b| (&a.subject, a.phase, a.leg, &a.check).cmp(&(&b.subject, b.phase, b.leg, &b.check)));
        self.events.sort_by(|a, b| (a.time, a.source, &a.id).cmp(&(b.time, b.source, &b.id)));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_names_are_stable() {
        let t = DateTime::parse_from_rfc3339("2026-03-20T17:30:00.415Z").unwrap().to_utc();
        let mut r = Record::new("run", "7f3c", "ops@acme.example", t);
        r.verdicts.push(Verdict {
            subject: "s01".into(),
            leg: Leg::Aws,
            phase: Phase::Leaver,
            check: "revoked".into(),
            status: Status::Unknown,
            latency_ms: None,
            sla_ms: Some(3_600_000),
            time: Some(Stamp { at: t, provenance: Provenance::Observed, detail: "first poll".into() }),
            reason: "could not observe".into(),
        });
        let json = serde_json::to_value(&r).unwrap();
        assert_eq!(json["schema_version"], "1");
        assert_eq!(json["verdicts"][0]["status"], "UNKNOWN");
        assert_eq!(json["verdicts"][0]["leg"], "aws");
        assert_eq!(json["verdicts"][0]["time"]["provenance"], "observed");
        let back: Record = serde_json::from_value(json).unwrap();
        assert_eq!(back, r);
        assert!(!r.all_pass());
        assert!(!Record::new("run", "x", "y", t).all_pass(), "no verdict is not a pass");
    }
}
