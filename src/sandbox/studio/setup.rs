//! The studio's fixed furniture: department groups wired to both provisioning apps
//! and to AWS permission sets, and the contractor with a hand-made Entra guest.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use super::people::{self, DEPARTMENTS};
use super::{Department, ENTRA_DOMAIN, workday};
use crate::sandbox::aws::store::{Assignment, IsGroup, PermissionSet};
use crate::sandbox::graph::store::{EntraGroup, EntraUser};
use crate::sandbox::okta::store::{OktaGroup, OktaUser};
use crate::sandbox::state::{Identity, Leg, Tenant};

/// Adds a department: the Okta group (assigned to both apps and pushed), its Entra and
/// AWS copies, and a permission set the AWS group holds on the account.
pub fn department(t: &mut Tenant, id: &Identity, i: usize, created: DateTime<Utc>, session: &str) -> Department {
    let (suffix, dept, _, _) = DEPARTMENTS[i];
    let name = format!("APP-Studio-{suffix}");
    let gid = t.rng.okta_id("00g");
    t.okta.groups.insert(
        gid.clone(),
        OktaGroup {
            id: gid.clone(),
            name: name.clone(),
            description: format!("Studio {dept}: HR-driven, assigned to Entra ID and AWS"),
            created,
            last_updated: created,
            last_membership_updated: created,
            members: BTreeSet::new(),
        },
    );
    let eg = t.rng.guid();
    t.entra.groups.insert(
        eg.clone(),
        EntraGroup { id: eg.clone(), display_name: name.clone(), members: BTreeSet::new(), created },
    );
    let ag = t.rng.identity_center_id();
    let issuer = t.aws.issuer();
    t.aws.groups.insert(
        ag.clone(),
        IsGroup {
            id: ag.clone(),
            display_name: name.clone(),
            description: None,
            external_id: Some((issuer, gid.clone())),
            members: Default::default(),
            created_at: created,
            created_by: "SCIM".into(),
        },
    );
    for app in &mut t.okta.apps {
        let target = match app.leg {
            Some(Leg::Entra) => eg.clone(),
            Some(Leg::Aws) => ag.clone(),
            None => continue,
        };
        app.groups.insert(gid.clone());
        let mapping = format!("gPm{}", &t.rng.okta_id("gpm")[3..]);
        app.pushes.insert(gid.clone(), (mapping, target));
    }
    let ps = permission_set(t, id, &format!("Studio{suffix}"), dept, session, created);
    t.aws.assignments.push(Assignment {
        account_id: id.aws_account_id.clone(),
        permission_set_arn: ps.clone(),
        principal_type: "GROUP".into(),
        principal_id: ag.clone(),
    });
    Department { name, okta_group_id: gid, entra_group_id: eg, aws_group_id: ag, permission_set_arn: ps }
}

pub fn permission_set(
    t: &mut Tenant,
    id: &Identity,
    name: &str,
    what: &str,
    session: &str,
    created: DateTime<Utc>,
) -> String {
    let instance = id.instance_arn.rsplit('/').next().unwrap_or_default();
    let arn = format!("arn:aws:sso:::permissionSet/{instance}/ps-{}", &t.rng.request_id()[..16]);
    t.aws.permission_sets.push(PermissionSet {
        arn: arn.clone(),
        name: name.into(),
        description: format!("{what} access for the studio"),
        session_duration: session.into(),
        created,
    });
    arn
}

/// The contractor: in Okta but in no provisioning app, invited to Entra as a B2B guest
/// by hand (so Okta never knew to switch it off).
pub fn contractor(t: &mut Tenant, acquired: DateTime<Utc>) -> (String, String, DateTime<Utc>) {
    let vendors = ["vendor.example", "keyframe-partners.example", "pixelcraft-outsourcing.example"];
    let vendor = vendors[t.rng.below(vendors.len() as u64) as usize];
    let (first, last) = people::name(&mut t.rng);
    let (first, last) = (first.to_string(), last.to_string());
    let local = format!("{}.{}", people::ascii(&first), people::ascii(&last));
    let email = format!("{local}@{vendor}");
    let created = workday(&mut t.rng, acquired, -20);
    let okta_id = t.rng.okta_id("00u");
    let mut profile = serde_json::Map::new();
    for (k, v) in [
        ("login", email.as_str()),
        ("email", email.as_str()),
        ("firstName", first.as_str()),
        ("lastName", last.as_str()),
        ("displayName", &format!("{first} {last}")),
        ("userType", "Contractor"),
        ("organization", vendor),
        ("title", "Contract Animator"),
    ] {
        profile.insert(k.into(), serde_json::json!(v));
    }
    t.okta.users.insert(
        okta_id.clone(),
        OktaUser {
            id: okta_id.clone(),
            status: "ACTIVE".into(),
            created,
            activated: Some(created),
            status_changed: Some(created),
            last_updated: created,
            password_changed: Some(created),
            profile,
        },
    );
    let invited = created + Duration::days(2) + Duration::minutes(t.rng.below(600) as i64);
    let entra_id = t.rng.guid();
    t.entra.users.insert(
        entra_id.clone(),
        EntraUser {
            id: entra_id.clone(),
            upn: format!("{local}_{vendor}#EXT#@{ENTRA_DOMAIN}"),
            display_name: format!("{first} {last}"),
            given_name: first,
            surname: last,
            mail: Some(email),
            account_enabled: true,
            employee_id: None,
            immutable_id: None,
            created: invited,
            user_type: "Guest".into(),
            external_user_state: Some("Accepted".into()),
            department: None,
            job_title: None,
            sessions_valid_from: invited,
            deleted: None,
        },
    );
    (okta_id, entra_id, created)
}
