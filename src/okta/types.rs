//! Okta's wire types, as far as jmlproof reads them. Every type keeps the fields it
//! does not name (`other`), and System Log events keep their raw JSON: the vendor's
//! own record is the evidence, the typed view only finds things in it.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct User {
    pub id: String,
    pub status: String,
    pub created: Option<DateTime<Utc>>,
    pub activated: Option<DateTime<Utc>>,
    pub status_changed: Option<DateTime<Utc>>,
    pub last_updated: Option<DateTime<Utc>>,
    #[serde(default)]
    pub transitioning_to_status: Option<String>,
    #[serde(default)]
    pub profile: Map<String, Value>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl User {
    /// Drops the fields jmlproof does not name (`_links`, credentials, …): for bulk
    /// listings, whose raw responses (raw/okta.ndjson) keep them as evidence.
    pub fn slim(&mut self) {
        self.other = Map::new();
    }

    pub fn attr(&self, key: &str) -> Option<&str> {
        self.profile.get(key).and_then(Value::as_str)
    }

    pub fn login(&self) -> &str {
        self.attr("login").unwrap_or("")
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GroupProfile {
    pub name: String,
    #[serde(default)]
    pub description: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Group {
    pub id: String,
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    pub profile: GroupProfile,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct App {
    pub id: String,
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

/// What Okta records of a user's assignment to an app, including the push:
/// `externalId` is the downstream account's id once provisioned.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppUser {
    /// The Okta user id.
    pub id: String,
    #[serde(default)]
    pub external_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(default)]
    pub sync_state: Option<String>,
    #[serde(default)]
    pub scope: Option<String>,
    #[serde(default)]
    pub credentials: Option<AppUserCredentials>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl AppUser {
    /// Drops the fields jmlproof does not name (the app profile, `_links`): for bulk
    /// listings, whose raw responses keep them as evidence.
    pub fn slim(&mut self) {
        self.other = Map::new();
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppUserCredentials {
    #[serde(default)]
    pub user_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppGroup {
    pub id: String,
    #[serde(default)]
    pub priority: Option<i64>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct PushMapping {
    pub id: String,
    pub source_group_id: String,
    #[serde(default)]
    pub target_group_id: Option<String>,
    #[serde(default)]
    pub status: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Actor {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub alternate_id: Option<String>,
    pub display_name: Option<String>,
}

impl Actor {
    /// `<type> <alternateId>` (e.g. `User admin@example.com`, `PublicClientApp 0oa…`).
    pub fn label(&self) -> Option<String> {
        let who = self.alternate_id.as_deref().or(self.id.as_deref())?;
        Some(match &self.kind {
            Some(k) => format!("{k} {who}"),
            None => who.to_string(),
        })
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct Target {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub alternate_id: Option<String>,
    pub display_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Outcome {
    pub result: Option<String>,
    pub reason: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Transaction {
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub id: Option<String>,
}

/// One System Log event: the fields jmlproof reads, and the whole event as sent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct LogEvent {
    pub uuid: String,
    pub published: DateTime<Utc>,
    pub event_type: String,
    pub actor: Option<Actor>,
    pub outcome: Option<Outcome>,
    pub target: Vec<Target>,
    pub transaction: Option<Transaction>,
    pub raw: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LogEventView {
    uuid: String,
    published: DateTime<Utc>,
    event_type: String,
    #[serde(default)]
    actor: Option<Actor>,
    #[serde(default)]
    outcome: Option<Outcome>,
    #[serde(default)]
    target: Option<Vec<Target>>,
    #[serde(default)]
    transaction: Option<Transaction>,
}

impl LogEvent {
    /// Reads an event; unknown fields stay in `raw`.
    pub fn from_value(raw: Value) -> Result<LogEvent, serde_json::Error> {
        let v = LogEventView::deserialize(&raw)?;
        Ok(LogEvent {
            uuid: v.uuid,
            published: v.published,
            event_type: v.event_type,
            actor: v.actor,
            outcome: v.outcome,
            target: v.target.unwrap_or_default(),
            transaction: v.transaction,
            raw,
        })
    }

    /// The first target of a type (Okta: search by `type`, never by position).
    pub fn target_of(&self, kind: &str) -> Option<&Target> {
        self.target.iter().find(|t| t.kind.as_deref() == Some(kind))
    }

    pub fn succeeded(&self) -> bool {
        self.outcome.as_ref().and_then(|o| o.result.as_deref()) == Some("SUCCESS")
    }
}
