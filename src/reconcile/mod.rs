//! `jmlproof reconcile`: every downstream account joined to the Okta user who owns
//! it, and every account that is not as it should be — lingering (owner gone, account
//! enabled), orphan (no owner), duplicate, attribute drift, and a disabled AWS user
//! still holding an assignment directly. Read-only.

pub mod cmd;
pub mod exceptions;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use crate::api::ApiError;
use crate::aws::AwsClient;
use crate::aws::types::IcUser;
use crate::entra::GraphClient;
use crate::entra::types::GraphUser;
use crate::evidence::record::{Finding, FindingClass, Leg, LinkKind, Owner, Record};
use crate::okta::OktaClient;
use crate::okta::types::{AppUser, User};
use exceptions::Exception;

/// Every Okta status: a plain list leaves DEPROVISIONED users out, and they are the
/// owners of lingering accounts.
pub(crate) const ALL_STATUSES: &str = "status eq \"STAGED\" or status eq \"PROVISIONED\" or status eq \"ACTIVE\" or status eq \"RECOVERY\" or status eq \"PASSWORD_EXPIRED\" or status eq \"LOCKED_OUT\" or status eq \"SUSPENDED\" or status eq \"DEPROVISIONED\"";

pub struct Sources<'a> {
    pub okta: &'a OktaClient,
    pub graph: &'a GraphClient,
    pub aws: &'a AwsClient,
    pub entra_app: &'a str,
    pub aws_app: &'a str,
}

#[derive(Debug, Default)]
pub struct Directory {
    pub okta: Vec<User>,
    pub app_users: BTreeMap<String, Vec<AppUser>>,
    pub entra: Vec<GraphUser>,
    pub aws: Vec<IcUser>,
    /// AWS user id → how many account assignments name the user directly.
    pub direct: BTreeMap<String, usize>,
}

pub async fn gather(s: &Sources<'_>) -> Result<Directory, ApiError> {
    // Every account is needed here; only the fields jmlproof names are kept in memory
    // (raw/ holds the responses whole).
    let okta = s
        .okta
        .search_users_where(ALL_STATUSES, |u| {
            u.slim();
            true
        })
        .await?;
    let mut d = Directory { okta, ..Directory::default() };
    for app in [s.entra_app, s.aws_app] {
        let users = s
            .okta
            .app_users_where(app, |u| {
                u.slim();
                true
            })
            .await?;
        d.app_users.insert(app.to_string(), users);
    }
    d.entra = s.graph.all_users().await?;
    d.aws = s.aws.list_users().await?;
    // Direct assignments are asked per user: only disabled users' matter (an enabled
    // user's access is the group's business), which keeps the calls few.
    for u in d.aws.iter().filter(|u| u.is_disabled() == Some(true)) {
        let n = s.aws.assignments_for(&u.id, false, None).await?.len();
        if n > 0 {
            d.direct.insert(u.id.clone(), n);
        }
    }
    Ok(d)
}

/// Okta user ids: `00u` and 17 more characters.
fn okta_shaped(id: &str) -> bool {
    id.len() == 20 && id.starts_with("00u") && id.chars().all(|c| c.is_ascii_alphanumeric())
}

fn disabled(status: &str) -> bool {
    matches!(status, "DEPROVISIONED" | "SUSPENDED")
}

fn lower(s: Option<&str>) -> Option<String> {
    s.map(|v| v.trim().to_lowercase()).filter(|v| !v.is_empty())
}

/// The accounts' owners, and what is wrong.
pub fn findings(d: &Directory, apps: (&str, &str), exceptions: &[Exception], now: DateTime<Utc>) -> Vec<Finding> {
    let okta: BTreeMap<&str, &User> = d.okta.iter().map(|u| (u.id.as_str(), u)).collect();
    let by_login: BTreeMap<String, &User> = d.okta.iter().map(|u| (u.login().to_lowercase(), u)).collect();
    let mut by_mail: BTreeMap<String, Vec<&User>> = BTreeMap::new();
    for u in &d.okta {
        for m in [u.attr("email"), u.attr("secondEmail")].into_iter().flatten() {
            let list = by_mail.entry(m.trim().to_lowercase()).or_default();
            // email and secondEmail may be the same address: one person, once.
            if !list.iter().any(|x| x.id == u.id) {
                list.push(u);
            }
        }
    }
    let app_link = |app: &str| -> BTreeMap<String, String> {
        d.app_users
            .get(app)
            .map(|v| v.iter().filter_map(|a| a.external_id.clone().map(|x| (x, a.id.clone()))).collect())
            .unwrap_or_default()
    };
    let (entra_links, aws_links) = (app_link(apps.0), app_link(apps.1));
    let owner = |id: &str, link: LinkKind| {
        okta.get(id).map(|u| Owner { okta_id: u.id.clone(), login: u.login().into(), status: u.status.clone(), link })
    };
    let mut out = Vec::new();
    // (system, okta id) → accounts, for duplicates.
    let mut owned: BTreeMap<(Leg, String), Vec<(String, String)>> = BTreeMap::new();

    for u in &d.entra {
        let name = u.user_principal_name.clone().unwrap_or_else(|| u.id.clone());
        let strong = entra_links
            .get(&u.id)
            .map(|o| (o.clone(), LinkKind::AppUser))
            // An id that is not an Okta user id (an AD-synced GUID, an HR number) links nothing.
            .or_else(|| u.carried_ids().find(|o| okta_shaped(o)).map(|o| (o.to_string(), LinkKind::OktaId)));
        let guest = u.user_type.as_deref() == Some("Guest");
        let link = strong.clone().and_then(|(o, k)| owner(&o, k)).or_else(|| {
            // A B2B guest is not Okta's: only its mail can tie it to a person, weakly.
            let m = lower(u.mail.as_deref())?;
            let hit = by_mail.get(&m).filter(|v| v.len() == 1)?;
            guest.then(|| Owner {
                okta_id: hit[0].id.clone(),
                login: hit[0].login().into(),
                status: hit[0].status.clone(),
                link: LinkKind::WeakMail,
            })
        });
        let finding = |class, owner: Option<Owner>, since, detail: String| Finding {
            class,
            system: Leg::Entra,
            account_id: u.id.clone(),
            account_name: name.clone(),
            enabled: u.account_enabled,
            owner,
            since,
            detail,
            exception: None,
        };
        let enabled = u.account_enabled != Some(false);
        match (&link, &strong) {
            (Some(o), _) => {
                // Two *enabled* accounts for one person are a duplicate; a disabled one is a leftover.
                if o.link != LinkKind::WeakMail && enabled {
                    owned.entry((Leg::Entra, o.okta_id.clone())).or_default().push((u.id.clone(), name.clone()));
                }
                let since = okta.get(o.okta_id.as_str()).and_then(|x| x.status_changed);
                if enabled && disabled(&o.status) {
                    let days = since.map(|t| format!(" for {} days", (now - t).num_days())).unwrap_or_default();
                    let (class, what) = if o.link == LinkKind::WeakMail {
                        (
                            FindingClass::Orphan,
                            format!(
                                "enabled guest; its only link is its mail to {}, whose Okta user is {}{days}",
                                o.login, o.status
                            ),
                        )
                    } else {
                        (FindingClass::Lingering, format!("enabled; its Okta owner {} is {}{days}", o.login, o.status))
                    };
                    out.push(finding(class, Some(o.clone()), since, what));
                } else if o.link != LinkKind::WeakMail
                    && let Some(ok) = okta.get(o.okta_id.as_str())
                {
                    let pairs = [
                        ("givenName", u.given_name.as_deref(), ok.attr("firstName")),
                        ("surname", u.surname.as_deref(), ok.attr("lastName")),
                        ("mail", u.mail.as_deref(), ok.attr("email")),
                    ];
                    let drift: Vec<String> = pairs
                        .iter()
                        // A value Entra does not hold (mail of an unlicensed user) is not drift.
                        .filter(|(_, a, b)| a.is_some() && lower(*a) != lower(*b))
                        .map(|(k, a, b)| format!("{k} {:?} vs Okta {:?}", a.unwrap_or(""), b.unwrap_or("")))
                        .collect();
                    if !drift.is_empty() {
                        out.push(finding(FindingClass::Drift, Some(o.clone()), None, drift.join("; ")));
                    }
                }
            }
            (None, Some((o, _))) if enabled => out.push(finding(
                FindingClass::Lingering,
                None,
                None,
                format!("enabled; it names Okta user {o}, which no longer exists"),
            )),
            (None, _) if enabled => {
                let what =
                    if guest { "enabled guest with no Okta user behind it" } else { "enabled; no Okta user owns it" };
                out.push(finding(FindingClass::Orphan, None, None, what.into()));
            }
            _ => {}
        }
    }

    for u in &d.aws {
        let name = u.user_name.clone().unwrap_or_else(|| u.id.clone());
        let strong = aws_links.get(&u.id).map(|o| (o.clone(), LinkKind::AppUser)).or_else(|| {
            u.external_ids
                .iter()
                .find(|(_, id)| okta.contains_key(id.as_str()))
                .map(|(_, id)| (id.clone(), LinkKind::OktaId))
        });
        let link = strong.clone().and_then(|(o, k)| owner(&o, k)).or_else(|| {
            // The name alone ties an account only when it carries no ExternalIds at all:
            // ExternalIds naming a vanished user are not rescued by a namesake.
            if !u.external_ids.is_empty() {
                return None;
            }
            let hit = by_login.get(&name.to_lowercase())?;
            Some(Owner {
                okta_id: hit.id.clone(),
                login: hit.login().into(),
                status: hit.status.clone(),
                link: LinkKind::UserName,
            })
        });
        let finding = |class, owner: Option<Owner>, since, detail: String| Finding {
            class,
            system: Leg::Aws,
            account_id: u.id.clone(),
            account_name: name.clone(),
            enabled: u.is_disabled().map(|d| !d),
            owner,
            since,
            detail,
            exception: None,
        };
        let enabled = u.is_disabled() != Some(true);
        if let Some(n) = d.direct.get(&u.id) {
            out.push(finding(
                FindingClass::DisabledWithAssignment,
                link.clone(),
                None,
                format!("disabled, but {n} account assignment(s) still name this user directly"),
            ));
        }
        match &link {
            Some(o) => {
                if enabled {
                    owned.entry((Leg::Aws, o.okta_id.clone())).or_default().push((u.id.clone(), name.clone()));
                }
                let since = okta.get(o.okta_id.as_str()).and_then(|x| x.status_changed);
                if enabled && disabled(&o.status) {
                    let days = since.map(|t| format!(" for {} days", (now - t).num_days())).unwrap_or_default();
                    out.push(finding(
                        FindingClass::Lingering,
                        Some(o.clone()),
                        since,
                        format!("enabled; its Okta owner {} is {}{days}", o.login, o.status),
                    ));
                }
            }
            None if enabled => {
                let what = if u.external_ids.is_empty() {
                    "enabled; no Okta user owns it (no ExternalIds: made by hand)".to_string()
                } else {
                    "enabled; its ExternalIds name no Okta user".to_string()
                };
                out.push(finding(FindingClass::Orphan, None, None, what));
            }
            None => {}
        }
    }

    for ((system, okta_id), accounts) in owned.into_iter().filter(|(_, v)| v.len() > 1) {
        let names: Vec<String> = accounts.iter().map(|(_, n)| n.clone()).collect();
        for (id, name) in &accounts {
            out.push(Finding {
                class: FindingClass::Duplicate,
                system,
                account_id: id.clone(),
                account_name: name.clone(),
                enabled: None,
                owner: owner(&okta_id, LinkKind::OktaId),
                since: None,
                detail: format!("{} accounts for one Okta user: {}", accounts.len(), names.join(", ")),
                exception: None,
            });
        }
    }
    for f in &mut out {
        // A live entry wins over an expired one; an entry naming the id over one naming the name.
        let mut hits: Vec<&Exception> =
            exceptions.iter().filter(|x| x.covers(f.system, &f.account_id, &f.account_name)).collect();
        hits.sort_by_key(|x| (!x.accepted(now).live, !x.account.eq_ignore_ascii_case(&f.account_id)));
        if let Some(x) = hits.first() {
            f.exception = Some(x.accepted(now));
        }
    }
    out.sort_by(|a, b| {
        (a.class, a.system, &a.account_name, &a.account_id).cmp(&(b.class, b.system, &b.account_name, &b.account_id))
    });
    out
}

/// Counts per class and system, for the summary and the first page.
pub fn counts(findings: &[Finding]) -> BTreeMap<(FindingClass, Leg), (usize, usize)> {
    let mut c: BTreeMap<(FindingClass, Leg), (usize, usize)> = BTreeMap::new();
    for f in findings {
        let e = c.entry((f.class, f.system)).or_default();
        if f.exception.as_ref().is_some_and(|x| x.live) {
            e.1 += 1;
        } else {
            e.0 += 1;
        }
    }
    c
}

/// `run`'s disposable users, never orphans or lingering accounts (shared/DESIGN.md,
/// "Safety"): by the owner's Okta id in the journals, or by the test login (the
/// owner's, or the account's own name when the Okta user is gone).
pub struct Residue<'a> {
    pub login: Option<&'a crate::attest::legs::TestLogin>,
    pub ids: &'a BTreeSet<String>,
}

impl Residue<'_> {
    pub fn holds(&self, f: &Finding) -> bool {
        let by_login = |l: &str| self.login.is_some_and(|t| t.matches(l));
        f.owner.as_ref().is_some_and(|o| self.ids.contains(&o.okta_id) || by_login(&o.login))
            || by_login(&f.account_name)
    }
}

/// Moves the findings on test residue out, and names them in a note.
pub fn set_apart(record: &mut Record, residue: &Residue) {
    let (test, kept): (Vec<Finding>, Vec<Finding>) =
        std::mem::take(&mut record.findings).into_iter().partition(|f| residue.holds(f));
    record.findings = kept;
    if !test.is_empty() {
        let names: BTreeSet<&str> = test.iter().map(|f| f.account_name.as_str()).collect();
        record.notes.push(format!(
            "{} finding(s) on accounts of `jmlproof run`'s disposable users set apart as test residue: {}",
            test.len(),
            names.into_iter().collect::<Vec<_>>().join(", ")
        ));
    }
}

pub async fn reconcile(
    s: &Sources<'_>,
    exceptions: &[Exception],
    residue: &Residue<'_>,
    run_id: &str,
    operator: &str,
    now: DateTime<Utc>,
) -> Result<(Record, Directory), ApiError> {
    let started = Utc::now();
    let d = gather(s).await?;
    let mut record = Record::new("reconcile", run_id, operator, started);
    record.findings = findings(&d, (s.entra_app, s.aws_app), exceptions, now);
    set_apart(&mut record, residue);
    let expired: BTreeSet<&str> = record
        .findings
        .iter()
        .filter(|f| f.exception.as_ref().is_some_and(|x| !x.live))
        .map(|f| f.account_name.as_str())
        .collect();
    if !expired.is_empty() {
        record
            .notes
            .push(format!("expired exceptions, counted again: {}", expired.into_iter().collect::<Vec<_>>().join(", ")));
    }
    record.notes.push(format!(
        "joined {} Okta users, {} Entra users and {} Identity Center users",
        d.okta.len(),
        d.entra.len(),
        d.aws.len()
    ));
    record.finished = Some(Utc::now());
    Ok((record, d))
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn okta(id: &str, login: &str, status: &str, first: &str, last: &str) -> User {
        serde_json::from_value(json!({"id": id, "status": status, "statusChanged": "2026-10-01T00:00:00.000Z",
            "profile": {"login": login, "email": login, "firstName": first, "lastName": last}}))
        .unwrap()
    }

    fn entra(id: &str, immutable: &str, given: &str, surname: &str, mail: &str, enabled: bool) -> GraphUser {
        serde_json::from_value(json!({"id": id, "userPrincipalName": mail, "givenName": given, "surname": surname,
            "mail": mail, "accountEnabled": enabled, "onPremisesImmutableId": immutable, "userType": "Member"}))
        .unwrap()
    }

    #[test]
    fn run_s_leftover_accounts_are_test_residue_not_findings() {
        let now = DateTime::parse_from_rfc3339("2026-11-29T00:00:00Z").unwrap().to_utc();
        let d = Directory {
            entra: vec![
                // A disposable user's account, its Okta user deleted by the teardown.
                entra("e1", "00u7AAAAAAAAAAAAAAAA", "Zoë", "Ångström", "jmlproof-7f3c-01@test.acme.example", true),
                // A real person's account whose owner is gone: a finding.
                entra("e2", "00u8AAAAAAAAAAAAAAAA", "Ana", "Núñez", "ana@acme.example", true),
            ],
            ..Directory::default()
        };
        let mut r = Record::new("reconcile", "x", "y", now);
        r.findings = findings(&d, ("0oaE", "0oaA"), &[], now);
        assert_eq!(r.findings.len(), 2);
        let login = crate::attest::legs::TestLogin { prefix: "jmlproof-".into(), domain: "test.acme.example".into() };
        set_apart(&mut r, &Residue { login: Some(&login), ids: &BTreeSet::new() });
        assert_eq!(r.findings.iter().map(|f| f.account_id.as_str()).collect::<Vec<_>>(), ["e2"]);
        assert!(r.notes[0].contains("jmlproof-7f3c-01@test.acme.example"), "{:?}", r.notes);
    }

    #[test]
    fn duplicates_drift_and_a_vanished_owner_are_found() {
        let now = DateTime::parse_from_rfc3339("2026-11-29T00:00:00Z").unwrap().to_utc();
        let d = Directory {
            okta: vec![
                okta("00u1AAAAAAAAAAAAAAAA", "zoe@acme.example", "ACTIVE", "Zoë", "Ångström"),
                okta("00u2AAAAAAAAAAAAAAAA", "lukasz@acme.example", "ACTIVE", "Łukasz", "Żółć"),
            ],
            entra: vec![
                // The rename-without-externalId failure: a second account for Zoë.
                entra("e1", "00u1AAAAAAAAAAAAAAAA", "Zoë", "Ångström", "zoe@acme.example", true),
                entra("e2", "00u1AAAAAAAAAAAAAAAA", "Zoë", "Kowalczyk", "zoe.k@acme.example", true),
                // Łukasz's mapping did not carry his surname.
                entra("e3", "00u2AAAAAAAAAAAAAAAA", "Łukasz", "Zolc", "lukasz@acme.example", true),
                // Names an Okta user that no longer exists, still enabled.
                entra("e4", "00u9AAAAAAAAAAAAAAAA", "Gone", "User", "gone@acme.example", true),
            ],
            ..Directory::default()
        };
        let f = findings(&d, ("0oaE", "0oaA"), &[], now);
        let of = |class| {
            let mut v: Vec<&str> = f.iter().filter(|x| x.class == class).map(|x| x.account_id.as_str()).collect();
            v.sort();
            v
        };
        assert_eq!(of(FindingClass::Duplicate), ["e1", "e2"]);
        assert!(
            f.iter().any(|x| x.class == FindingClass::Drift
                && x.account_id == "e3"
                && x.detail.contains("surname \"Zolc\" vs Okta \"Żółć\"")),
            "{f:#?}"
        );
        assert_eq!(of(FindingClass::Lingering), ["e4"]);
        assert!(f.iter().filter(|x| x.class == FindingClass::Duplicate).all(|x| x.blocks()));
        assert!(f.iter().filter(|x| x.class == FindingClass::Drift).all(|x| !x.blocks()), "drift is a warning");
    }
}
