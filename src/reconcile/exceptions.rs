//! The exceptions file: break-glass and service accounts are real and legitimate.
//! Each entry accepts one account's findings until it expires; an expired entry
//! leaves the finding counted again, and says so.
//!
//! ```toml
//! [[exception]]
//! system = "aws"                      # entra | aws
//! account = "ops-breakglass"          # user name, UPN or the account's id
//! reason = "break-glass administrator"
//! owner = "secops@acme.example"
//! approved_by = "ciso@acme.example"
//! expires = "2027-03-31"              # a UTC date (valid through that day) or RFC 3339
//! ```

use std::path::Path;

use chrono::{DateTime, Utc};
use serde::Deserialize;

use crate::attest::period::{End, parse_when};
use crate::evidence::record::{Accepted, Leg};

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct Entry {
    system: String,
    account: String,
    reason: String,
    owner: String,
    approved_by: String,
    expires: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct File {
    #[serde(default)]
    exception: Vec<Entry>,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Exception {
    pub system: Leg,
    pub account: String,
    pub reason: String,
    pub owner: String,
    pub approved_by: String,
    pub expires: DateTime<Utc>,
}

impl Exception {
    pub fn covers(&self, system: Leg, id: &str, name: &str) -> bool {
        self.system == system && (self.account.eq_ignore_ascii_case(id) || self.account.eq_ignore_ascii_case(name))
    }

    pub fn accepted(&self, now: DateTime<Utc>) -> Accepted {
        Accepted {
            reason: self.reason.clone(),
            owner: self.owner.clone(),
            approved_by: self.approved_by.clone(),
            expires: self.expires,
            live: now < self.expires,
        }
    }
}

pub fn parse(text: &str, name: &str) -> Result<Vec<Exception>, String> {
    let file: File = toml::from_str(text).map_err(|e| {
        let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let msg = e.message().replace('\n', " ");
        match line {
            Some(l) => format!("{name}:{l}: {msg}"),
            None => format!("{name}: {msg}"),
        }
    })?;
    file.exception
        .into_iter()
        .enumerate()
        .map(|(i, e)| {
            let at = |m: String| format!("{name}: exception {}: {m}", i + 1);
            let system = match e.system.as_str() {
                "entra" => Leg::Entra,
                "aws" => Leg::Aws,
                other => return Err(at(format!("system {other:?} (expected entra or aws)"))),
            };
            for (key, v) in
                [("account", &e.account), ("reason", &e.reason), ("owner", &e.owner), ("approved_by", &e.approved_by)]
            {
                if v.trim().is_empty() {
                    return Err(at(format!("{key} is empty")));
                }
            }
            let expires = parse_when(&e.expires, End::Until)
                .map_err(|_| at(format!("expires {:?} is not a date or RFC 3339 time", e.expires)))?;
            Ok(Exception {
                system,
                account: e.account,
                reason: e.reason,
                owner: e.owner,
                approved_by: e.approved_by,
                expires,
            })
        })
        .collect()
}

pub fn load(path: &Path) -> Result<Vec<Exception>, String> {
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    parse(&text, &path.display().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn entries_parse_and_errors_name_where() {
        let x = parse(
            "[[exception]]\nsystem = \"aws\"\naccount = \"ops-breakglass\"\nreason = \"break-glass\"\nowner = \"secops\"\napproved_by = \"ciso\"\nexpires = \"2027-03-31\"\n",
            "ex.toml",
        )
        .unwrap();
        assert_eq!(x[0].expires.to_rfc3339(), "2027-04-01T00:00:00+00:00");
        assert!(x[0].covers(Leg::Aws, "id-1", "OPS-BREAKGLASS") && !x[0].covers(Leg::Entra, "id-1", "ops-breakglass"));
        let now = DateTime::parse_from_rfc3339("2027-04-01T00:00:00Z").unwrap().to_utc();
        assert!(!x[0].accepted(now).live, "valid through its last day, not after");
        let e = parse("[[exception]]\nsystem = \"aws\"\nacount = \"x\"\n", "ex.toml").unwrap_err();
        assert!(e.starts_with("ex.toml:3: unknown field `acount`"), "{e}");
        let e = parse("[[exception]]\nsystem = \"okta\"\naccount = \"x\"\nreason = \"r\"\nowner = \"o\"\napproved_by = \"a\"\nexpires = \"2027-01-01\"\n", "ex.toml").unwrap_err();
        assert_eq!(e, "ex.toml: exception 1: system \"okta\" (expected entra or aws)");
    }
}
