//! What jmlproof reads of IAM Identity Center and CloudTrail, independent of the
//! SDK's builders. Fields the service added recently (UserStatus, CreatedAt,
//! UpdatedAt) and those emulators leave out are optional; an empty ARN or revision
//! (the SDK fills missing required members with "") means "not reported".

use chrono::{DateTime, Utc};
use serde::Serialize;
use serde_json::Value;

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct IcUser {
    pub id: String,
    pub user_name: Option<String>,
    pub display_name: Option<String>,
    pub given_name: Option<String>,
    pub family_name: Option<String>,
    pub emails: Vec<String>,
    /// (Issuer, Id): what the IdP pushed as SCIM externalId.
    pub external_ids: Vec<(String, String)>,
    /// ENABLED or DISABLED; `None` where the service (or an emulator) does not say.
    pub status: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
    pub updated_at: Option<DateTime<Utc>>,
    pub user_arn: Option<String>,
    pub revision: Option<String>,
}

impl IcUser {
    pub fn is_disabled(&self) -> Option<bool> {
        self.status.as_deref().map(|s| s == "DISABLED")
    }

    pub fn has_external_id(&self, id: &str) -> bool {
        self.external_ids.iter().any(|(_, e)| e == id)
    }
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Membership {
    pub membership_id: String,
    pub group_id: String,
    pub user_id: Option<String>,
    pub created_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Assignment {
    pub account_id: String,
    pub permission_set_arn: String,
    pub principal_id: String,
    pub principal_type: String,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct PermissionSet {
    pub arn: String,
    pub name: Option<String>,
    /// ISO 8601 (`PT4H`), as AWS returns it.
    pub session_duration: Option<String>,
}

#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Instance {
    pub instance_arn: String,
    pub identity_store_id: String,
}

/// A CloudTrail event: the lookup fields and the event itself, decoded from its JSON string.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct TrailEvent {
    pub event_id: String,
    pub event_name: String,
    pub event_time: Option<DateTime<Utc>>,
    /// Often absent for SCIM events.
    pub username: Option<String>,
    pub event: Value,
}

impl TrailEvent {
    /// The identity-store id the SCIM call acted on (`requestParameters.id`, else `responseElements.id`).
    pub fn target_id(&self) -> Option<&str> {
        self.event["requestParameters"]["id"].as_str().or_else(|| self.event["responseElements"]["id"].as_str())
    }

    /// SCIM PATCH operation paths (values are masked; paths are not always present).
    pub fn patch_paths(&self) -> Vec<&str> {
        self.event["requestParameters"]["httpBody"]["operations"]
            .as_array()
            .map(|ops| ops.iter().filter_map(|o| o["path"].as_str()).collect())
            .unwrap_or_default()
    }

    /// `responseElements.active`, which CloudTrail leaves visible.
    pub fn active_after(&self) -> Option<bool> {
        self.event["responseElements"]["active"].as_bool()
    }

    /// Who made the call: `userIdentity.type`, the access key (for SCIM, the bearer
    /// token's id, which tells Okta's token from another) and the user agent.
    pub fn actor(&self) -> Option<String> {
        let id = &self.event["userIdentity"];
        let kind = id["type"].as_str()?;
        let who = id["arn"].as_str().or(id["accessKeyId"].as_str()).or(self.username.as_deref());
        let mut out = match who {
            Some(w) => format!("{kind} {w}"),
            None => kind.to_string(),
        };
        if let Some(agent) = self.event["userAgent"].as_str() {
            out.push_str(&format!(" ({agent})"));
        }
        Some(out)
    }

    pub fn error_code(&self) -> Option<&str> {
        self.event["errorCode"].as_str()
    }
}

/// The ISO 8601 durations AWS uses for session lengths (`PT1H`, `PT12H`, `PT90M`).
pub fn iso_duration(s: &str) -> Option<std::time::Duration> {
    let rest = s.strip_prefix("PT")?;
    let mut secs = 0u64;
    let mut num = String::new();
    for c in rest.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            'H' => 3600,
            'M' => 60,
            'S' => 1,
            _ => return None,
        };
        secs = secs.checked_add(n.checked_mul(unit)?)?;
    }
    num.is_empty().then_some(std::time::Duration::from_secs(secs))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations() {
        assert_eq!(iso_duration("PT4H"), Some(std::time::Duration::from_secs(14_400)));
        assert_eq!(iso_duration("PT1H30M"), Some(std::time::Duration::from_secs(5_400)));
        assert_eq!(iso_duration("P1D"), None);
        assert_eq!(iso_duration("PT4"), None);
        assert_eq!(iso_duration("PT99999999999999999999H"), None);
        assert_eq!(iso_duration("PT9999999999999999H"), None, "overflow is refused, not wrapped");
    }
}
