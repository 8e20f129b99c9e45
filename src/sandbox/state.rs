//! The emulated tenant: one Okta org, one Entra tenant, one Identity Center
//! instance, and the ground truth of every downstream change. Handlers lock it
//! briefly (never across an await) and the provisioner mutates it when a push
//! takes effect.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard, OnceLock, RwLock};

use chrono::{DateTime, Utc};
use serde::Serialize;

use super::aws::store::Aws;
use super::clock::Clock;
use super::faults::Faults;
use super::graph::store::Entra;
use super::ids::Rng;
use super::okta::store::Okta;

/// A downstream provisioning leg (an Okta app with provisioning on).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Leg {
    Entra,
    Aws,
}

impl Leg {
    pub const ALL: [Leg; 2] = [Leg::Entra, Leg::Aws];

    pub fn as_str(self) -> &'static str {
        match self {
            Leg::Entra => "entra",
            Leg::Aws => "aws",
        }
    }
}

/// An API the sandbox serves (for fault injection and call counting).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum System {
    Okta,
    Entra,
    Aws,
}

/// The exact instant a downstream change took effect, for tests and benchmarks.
/// Never served to the clients under test; only through the admin endpoint.
#[derive(Debug, Clone, Serialize)]
pub struct Truth {
    pub leg: Leg,
    /// create, update, disable, enable, delete, group_add, group_remove, push_failed
    pub action: String,
    pub okta_user_id: String,
    pub downstream_id: Option<String>,
    pub at: DateTime<Utc>,
}

/// Credentials and identifiers the sandbox hands out (printed as one JSON line).
#[derive(Debug, Clone, Serialize)]
pub struct Identity {
    pub okta_token: String,
    /// Client id of the Okta OAuth service app (private_key_jwt).
    pub okta_oauth_client_id: String,
    pub okta_entra_app_id: String,
    pub okta_aws_app_id: String,
    pub tenant_id: String,
    pub client_id: String,
    pub client_secret: String,
    pub okta_service_principal_id: String,
    pub aws_region: String,
    pub aws_access_key_id: String,
    pub aws_secret_access_key: String,
    pub aws_account_id: String,
    pub identity_store_id: String,
    pub instance_arn: String,
    pub scim_tenant_id: String,
    pub permission_set_arn: String,
    pub mover_permission_set_arn: String,
    pub test_group: String,
    pub mover_group: String,
    pub domain: String,
}

pub struct Tenant {
    pub rng: Rng,
    pub okta: Okta,
    pub entra: Entra,
    pub aws: Aws,
    pub truth: Vec<Truth>,
    /// API calls served, per system and endpoint label (ground truth for footprint checks).
    pub calls: BTreeMap<(System, String), u64>,
}

/// Everything the servers share.
pub struct Shared {
    tenant: Mutex<Tenant>,
    pub clock: Clock,
    faults: RwLock<Faults>,
    pub id: Identity,
    pub urls: Urls,
    /// The provisioner's queues, one per leg (set once the provisioner starts).
    pub queues: super::provisioner::Queues,
    keys: OnceLock<Result<super::keys::Keys, String>>,
    /// What the seed data planted for tests to find (none for `empty`). Read-only.
    pub planted: Option<super::studio::Planted>,
}

#[derive(Debug, Clone, Default, Serialize)]
pub struct Urls {
    pub okta: String,
    pub graph: String,
    pub login: String,
    pub aws: String,
    pub admin: String,
}

impl Shared {
    pub fn new(
        tenant: Tenant,
        clock: Clock,
        faults: Faults,
        id: Identity,
        urls: Urls,
        queues: super::provisioner::Queues,
        planted: Option<super::studio::Planted>,
    ) -> Arc<Shared> {
        Arc::new(Shared {
            tenant: Mutex::new(tenant),
            clock,
            faults: RwLock::new(faults),
            id,
            urls,
            queues,
            keys: OnceLock::new(),
            planted,
        })
    }

    /// Locks the tenant. A panic in a handler must not take the whole sandbox down,
    /// so a poisoned lock is recovered rather than propagated.
    pub fn tenant(&self) -> MutexGuard<'_, Tenant> {
        self.tenant.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn faults(&self) -> Faults {
        self.faults.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    pub fn set_faults(&self, f: Faults) {
        *self.faults.write().unwrap_or_else(|e| e.into_inner()) = f;
    }

    /// The sandbox's key material, generated on first use.
    pub fn keys(&self) -> Result<&super::keys::Keys, String> {
        self.keys
            .get_or_init(|| super::keys::Keys::generate().map_err(|e| e.to_string()))
            .as_ref()
            .map_err(Clone::clone)
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// RFC 3339 with milliseconds and `Z`, as Okta writes timestamps.
pub fn ms(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Millis, true)
}

/// RFC 3339 with whole seconds and `Z`, as Okta writes user object timestamps and Graph createdDateTime.
pub fn secs(t: DateTime<Utc>) -> String {
    t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
}

/// Epoch seconds with a fraction, as awsJson timestamps travel.
pub fn epoch(t: DateTime<Utc>) -> f64 {
    t.timestamp_millis() as f64 / 1000.0
}
