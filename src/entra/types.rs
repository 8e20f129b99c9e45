//! Microsoft Graph wire types jmlproof reads. Unselected properties are absent on
//! the wire, so every property is optional; unknown ones are kept (`other`), and
//! directory audits keep their raw JSON as evidence.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// What jmlproof selects on users (`accountEnabled` and friends are absent unless selected).
pub const USER_SELECT: &str = "id,userPrincipalName,displayName,givenName,surname,mail,accountEnabled,employeeId,onPremisesImmutableId,createdDateTime,userType,externalUserState,signInSessionsValidFromDateTime";

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GraphUser {
    pub id: String,
    #[serde(default)]
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(default)]
    pub given_name: Option<String>,
    #[serde(default)]
    pub surname: Option<String>,
    #[serde(default)]
    pub mail: Option<String>,
    #[serde(default)]
    pub account_enabled: Option<bool>,
    #[serde(default)]
    pub employee_id: Option<String>,
    #[serde(default)]
    pub on_premises_immutable_id: Option<String>,
    #[serde(default)]
    pub created_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub user_type: Option<String>,
    #[serde(default)]
    pub external_user_state: Option<String>,
    #[serde(default)]
    pub sign_in_sessions_valid_from_date_time: Option<DateTime<Utc>>,
    #[serde(default)]
    pub deleted_date_time: Option<DateTime<Utc>>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

impl GraphUser {
    /// The ids this account carries that may be an Okta user id: Okta's Entra
    /// provisioning writes the Okta id to onPremisesImmutableId or, by mapping, to
    /// employeeId. Callers check the shape or look the id up; a rename changes neither.
    pub fn carried_ids(&self) -> impl Iterator<Item = &str> {
        let immutable = self.on_premises_immutable_id.as_deref();
        let employee = self.employee_id.as_deref().filter(|e| Some(*e) != immutable);
        [immutable, employee].into_iter().flatten()
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct GraphGroup {
    pub id: String,
    #[serde(default)]
    pub display_name: Option<String>,
    #[serde(flatten)]
    pub other: Map<String, Value>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct AppIdentity {
    pub app_id: Option<String>,
    pub display_name: Option<String>,
    pub service_principal_id: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct UserIdentity {
    pub id: Option<String>,
    pub display_name: Option<String>,
    pub user_principal_name: Option<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Default)]
pub struct Initiator {
    pub app: Option<AppIdentity>,
    pub user: Option<UserIdentity>,
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct ModifiedProperty {
    pub display_name: Option<String>,
    pub old_value: Option<String>,
    pub new_value: Option<String>,
}

/// Audit values are JSON inside strings (`"[true]"`, `"[\"Sales\"]"`, `"\"Member\""`):
/// decode, and unwrap a one-element array. A string that is not JSON stays a string.
pub fn decode_value(v: &Option<String>) -> Value {
    let Some(s) = v else { return Value::Null };
    match serde_json::from_str::<Value>(s) {
        Ok(Value::Array(mut a)) if a.len() == 1 => a.remove(0),
        Ok(Value::Array(a)) if a.is_empty() => Value::Null,
        Ok(other) => other,
        Err(_) => Value::String(s.clone()),
    }
}

impl ModifiedProperty {
    /// The old value, decoded.
    pub fn before(&self) -> Value {
        decode_value(&self.old_value)
    }

    /// The new value, decoded.
    pub fn after(&self) -> Value {
        decode_value(&self.new_value)
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(rename_all = "camelCase")]
pub struct TargetResource {
    pub id: Option<String>,
    #[serde(rename = "type")]
    pub kind: Option<String>,
    pub user_principal_name: Option<String>,
    #[serde(default)]
    pub modified_properties: Vec<ModifiedProperty>,
}

/// One directory audit row: what jmlproof reads, and the row as sent.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct DirectoryAudit {
    pub id: String,
    pub activity_date_time: DateTime<Utc>,
    pub activity_display_name: String,
    pub correlation_id: Option<String>,
    pub result: Option<String>,
    pub initiated_by: Initiator,
    pub target_resources: Vec<TargetResource>,
    pub raw: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AuditView {
    id: String,
    activity_date_time: DateTime<Utc>,
    activity_display_name: String,
    #[serde(default)]
    correlation_id: Option<String>,
    #[serde(default)]
    result: Option<String>,
    #[serde(default)]
    initiated_by: Option<Initiator>,
    #[serde(default)]
    target_resources: Option<Vec<TargetResource>>,
}

impl DirectoryAudit {
    pub fn from_value(raw: Value) -> Result<DirectoryAudit, serde_json::Error> {
        let v = AuditView::deserialize(&raw)?;
        Ok(DirectoryAudit {
            id: v.id,
            activity_date_time: v.activity_date_time,
            activity_display_name: v.activity_display_name,
            correlation_id: v.correlation_id,
            result: v.result,
            initiated_by: v.initiated_by.unwrap_or_default(),
            target_resources: v.target_resources.unwrap_or_default(),
            raw,
        })
    }

    /// The modified property of the target `id`, by its display name.
    pub fn property(&self, target_id: &str, name: &str) -> Option<&ModifiedProperty> {
        self.target_resources
            .iter()
            .filter(|t| t.id.as_deref() == Some(target_id))
            .flat_map(|t| &t.modified_properties)
            .find(|p| p.display_name.as_deref() == Some(name))
    }

    /// Whether this row shows the account of `target_id` disabled: a successful
    /// "Disable account", or a successful row (often "Update user") whose
    /// AccountEnabled went true → false, naming that target.
    pub fn disables(&self, target_id: &str) -> bool {
        let ours = self.target_resources.iter().any(|t| t.id.as_deref() == Some(target_id));
        let succeeded = self.result.as_deref() == Some("success");
        let flipped = self
            .property(target_id, "AccountEnabled")
            .is_some_and(|p| p.after() == Value::Bool(false) && p.before() != Value::Bool(false));
        ours && succeeded && (self.activity_display_name == "Disable account" || flipped)
    }

    /// Who made the change, in words: `app <name> (service principal <id>)` or
    /// `user <upn>`; `None` when the row names no one.
    pub fn actor(&self) -> Option<String> {
        let by = &self.initiated_by;
        if let Some(app) = &by.app {
            let name = app.display_name.as_deref().or(app.app_id.as_deref()).unwrap_or("?");
            return Some(match &app.service_principal_id {
                Some(sp) => format!("app {name} (service principal {sp})"),
                None => format!("app {name}"),
            });
        }
        let user = by.user.as_ref()?;
        user.user_principal_name.as_deref().or(user.id.as_deref()).map(|u| format!("user {u}"))
    }

    /// The service principal (object id) that made the change, when an app did.
    pub fn by_service_principal(&self) -> Option<&str> {
        self.initiated_by.app.as_ref().and_then(|a| a.service_principal_id.as_deref())
    }
}

/// Rows that share a correlationId are one change (one API call can write several
/// rows milliseconds apart): grouped, in first-seen order.
pub fn by_correlation(rows: &[DirectoryAudit]) -> Vec<(String, Vec<&DirectoryAudit>)> {
    let mut out: Vec<(String, Vec<&DirectoryAudit>)> = Vec::new();
    for r in rows {
        let key = r.correlation_id.clone().unwrap_or_else(|| r.id.clone());
        match out.iter_mut().find(|(k, _)| *k == key) {
            Some((_, group)) => group.push(r),
            None => out.push((key, vec![r])),
        }
    }
    out
}
