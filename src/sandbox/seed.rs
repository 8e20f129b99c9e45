//! Seed data. `empty` is the baseline every test starts from: the two provisioning
//! apps, the test and mover groups assigned to both and pushed downstream, and on
//! AWS the two permission sets those groups hold on the target account.

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Utc};

use super::aws::store::{Assignment, Aws, IsGroup, PermissionSet};
use super::graph::store::{Entra, EntraGroup};
use super::ids::Rng;
use super::okta::store::{Actor, Okta, OktaApp, OktaGroup};
use super::state::{Identity, Leg, Tenant};

pub const TEST_GROUP: &str = "jmlproof-test";
pub const MOVER_GROUP: &str = "jmlproof-mover";
pub const DOMAIN: &str = "sandbox.example";

/// Identifiers and credentials, all derived from the seed.
pub fn identity(rng: &mut Rng) -> Identity {
    let instance = format!("ssoins-{}", &rng.request_id()[..16]);
    let store = format!("d-{}", &rng.request_id()[..10]);
    Identity {
        okta_token: format!("00{}-{}", rng.request_id(), &rng.request_id()[..8]),
        okta_oauth_client_id: rng.okta_id("0oa"),
        okta_entra_app_id: rng.okta_id("0oa"),
        okta_aws_app_id: rng.okta_id("0oa"),
        tenant_id: rng.guid(),
        client_id: rng.guid(),
        client_secret: format!("sbx~{}", rng.request_id()),
        okta_service_principal_id: rng.guid(),
        aws_region: "us-east-1".into(),
        aws_access_key_id: format!("AKIA{}", rng.okta_id("SBX")[..16].to_uppercase()),
        aws_secret_access_key: format!("{}{}", rng.request_id(), &rng.request_id()[..8]),
        aws_account_id: format!("{:012}", rng.below(1_000_000_000_000)),
        permission_set_arn: format!("arn:aws:sso:::permissionSet/{instance}/ps-{}", &rng.request_id()[..16]),
        mover_permission_set_arn: format!("arn:aws:sso:::permissionSet/{instance}/ps-{}", &rng.request_id()[..16]),
        identity_store_id: store,
        instance_arn: format!("arn:aws:sso:::instance/{instance}"),
        scim_tenant_id: format!("f3v{}", rng.guid()),
        test_group: TEST_GROUP.into(),
        mover_group: MOVER_GROUP.into(),
        domain: DOMAIN.into(),
    }
}

pub fn empty(rng: &mut Rng, id: &Identity, now: DateTime<Utc>, session_duration: &str) -> Tenant {
    let created = now - chrono::Duration::days(400);
    let mut okta = Okta {
        admin: Some(Actor {
            id: rng.okta_id("00u"),
            kind: "User".into(),
            alternate_id: format!("sandbox.admin@{DOMAIN}"),
            display_name: "Sandbox Admin".into(),
        }),
        ..Okta::default()
    };
    let mut entra = Entra {
        okta_sp_id: id.okta_service_principal_id.clone(),
        okta_sp_name: "Okta Microsoft Graph Client".into(),
        ..Entra::default()
    };
    let mut aws = Aws {
        region: id.aws_region.clone(),
        account_id: id.aws_account_id.clone(),
        store_id: id.identity_store_id.clone(),
        instance_arn: id.instance_arn.clone(),
        scim_tenant: id.scim_tenant_id.clone(),
        scim_token_id: rng.guid(),
        ..Aws::default()
    };
    let mut entra_pushes = BTreeMap::new();
    let mut aws_pushes = BTreeMap::new();
    let mut group_ids = BTreeSet::new();
    for (name, ps) in [(TEST_GROUP, &id.permission_set_arn), (MOVER_GROUP, &id.mover_permission_set_arn)] {
        let gid = rng.okta_id("00g");
        okta.groups.insert(
            gid.clone(),
            OktaGroup {
                id: gid.clone(),
                name: name.into(),
                description: "jmlproof disposable test users".into(),
                created,
                last_updated: created,
                last_membership_updated: created,
                members: BTreeSet::new(),
            },
        );
        group_ids.insert(gid.clone());
        let eg = rng.guid();
        entra.groups.insert(
            eg.clone(),
            EntraGroup { id: eg.clone(), display_name: name.into(), members: BTreeSet::new(), created },
        );
        entra_pushes.insert(gid.clone(), (format!("gPm{}", &rng.okta_id("gpm")[3..]), eg));
        let ag = rng.identity_center_id();
        aws.groups.insert(
            ag.clone(),
            IsGroup {
                id: ag.clone(),
                display_name: name.into(),
                description: None,
                // Okta's SCIM group create sends no externalId.
                external_id: None,
                members: BTreeMap::new(),
                created_at: created,
                created_by: "SCIM".into(),
            },
        );
        aws_pushes.insert(gid.clone(), (format!("gPm{}", &rng.okta_id("gpm")[3..]), ag.clone()));
        aws.assignments.push(Assignment {
            account_id: id.aws_account_id.clone(),
            permission_set_arn: ps.clone(),
            principal_type: "GROUP".into(),
            principal_id: ag,
        });
    }
    aws.permission_sets.push(PermissionSet {
        arn: id.permission_set_arn.clone(),
        name: "JmlTestReadOnly".into(),
        description: "Read-only access for jmlproof test users".into(),
        session_duration: session_duration.into(),
        created,
    });
    aws.permission_sets.push(PermissionSet {
        arn: id.mover_permission_set_arn.clone(),
        name: "JmlMoverPowerUser".into(),
        description: "Mover target access for jmlproof test users".into(),
        session_duration: session_duration.into(),
        created,
    });
    okta.apps.push(OktaApp {
        id: id.okta_entra_app_id.clone(),
        label: "Microsoft Entra ID".into(),
        name: "office365".into(),
        catalog_name: "Microsoft Office 365".into(),
        leg: Some(Leg::Entra),
        groups: group_ids.clone(),
        pushes: entra_pushes,
        created,
    });
    okta.apps.push(OktaApp {
        id: id.okta_aws_app_id.clone(),
        label: "AWS IAM Identity Center".into(),
        name: "amazon_aws_sso".into(),
        catalog_name: "AWS IAM Identity Center".into(),
        leg: Some(Leg::Aws),
        groups: group_ids,
        pushes: aws_pushes,
        created,
    });
    // A production app with no provisioning: what a test user must never be assigned to.
    okta.apps.push(OktaApp {
        id: rng.okta_id("0oa"),
        label: "Corporate Wiki".into(),
        name: "bookmark".into(),
        catalog_name: "Bookmark App".into(),
        leg: None,
        groups: BTreeSet::new(),
        pushes: BTreeMap::new(),
        created,
    });
    Tenant { rng: rng.clone(), okta, entra, aws, truth: Vec::new(), calls: BTreeMap::new() }
}
