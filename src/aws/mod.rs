//! IAM Identity Center and CloudTrail through the official AWS SDK for Rust: the
//! standard credential chain, the configured region and endpoint overrides
//! (`[aws] endpoint_url`, or the SDK's own `AWS_ENDPOINT_URL_*`), every call
//! counted in the footprint, errors in one line with the AWS error code and
//! request id. Lists are paged to the end; LookupEvents is paced to 2 calls per 1.25 s (AWS allows 2 a second).

mod footprint;
pub mod types;

use std::fmt::Debug;
use std::sync::Arc;
use std::time::Duration;

use aws_sdk_cloudtrail::types::{LookupAttribute, LookupAttributeKey};
use aws_sdk_identitystore::types::{AlternateIdentifier, ExternalId, MemberId, ResourceType, UniqueAttribute};
use aws_sdk_ssoadmin::types::{ListAccountAssignmentsFilter, PrincipalType};
use aws_smithy_runtime_api::client::orchestrator::HttpResponse;
use aws_smithy_runtime_api::client::result::SdkError;
use aws_smithy_types::error::display::DisplayErrorContext;
use aws_smithy_types::error::metadata::ProvideErrorMetadata;
use chrono::{DateTime, Utc};

use crate::api::ApiError;
use crate::config::AwsConfig;
use crate::entra::Pacer;
use crate::http::{Footprint, HttpError, System};
use crate::raw::RawLog;
use types::{Assignment, IcUser, Instance, Membership, PermissionSet, TrailEvent};

pub struct AwsClient {
    identitystore: aws_sdk_identitystore::Client,
    ssoadmin: aws_sdk_ssoadmin::Client,
    cloudtrail: aws_sdk_cloudtrail::Client,
    store_id: String,
    instance_arn: String,
    lookups: Pacer,
    clock_offset: Arc<std::sync::Mutex<Option<chrono::TimeDelta>>>,
}

/// Converts an SDK error into the one-line `ApiError` of every client.
fn sdk<E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static>(
    op: &str,
    e: SdkError<E, HttpResponse>,
) -> ApiError {
    let endpoint = format!("POST {op}");
    match &e {
        // A success status whose body did not parse reaches the SDK as an unmodeled error.
        SdkError::ServiceError(se) if se.raw().status().is_success() => ApiError::Malformed {
            system: System::Aws,
            endpoint,
            detail: format!("HTTP {} with a body that does not parse", se.raw().status().as_u16()),
        },
        SdkError::ServiceError(se) => {
            let raw = se.raw();
            let request_id = raw.headers().get("x-amzn-requestid").map(str::to_string);
            ApiError::Vendor {
                system: System::Aws,
                endpoint,
                status: raw.status().as_u16(),
                code: se.err().code().unwrap_or("-").to_string(),
                message: se.err().message().unwrap_or("").replace(['\r', '\n'], " "),
                request_id,
            }
        }
        SdkError::ResponseError(_) => {
            ApiError::Malformed { system: System::Aws, endpoint, detail: DisplayErrorContext(&e).to_string() }
        }
        SdkError::ConstructionFailure(_) => {
            ApiError::Setup { system: System::Aws, detail: format!("{op}: {}", DisplayErrorContext(&e)) }
        }
        // Dispatch failures (unreachable, TLS, credentials) and timeouts.
        _ => ApiError::Http(HttpError::Request {
            system: System::Aws,
            endpoint,
            cause: DisplayErrorContext(&e).to_string(),
        }),
    }
}

fn time(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    DateTime::from_timestamp(t.secs(), t.subsec_nanos())
}

/// The identity store sends epoch seconds with milliseconds as a JSON number; through
/// an f64 `…16.494` arrives as `…16.493999958`. Rounding to the millisecond gives back
/// the value on the wire.
fn time_ms(t: Option<&aws_smithy_types::DateTime>) -> Option<DateTime<Utc>> {
    let t = t?;
    let ms = (t.subsec_nanos() as i64 + 500_000) / 1_000_000;
    DateTime::from_timestamp(t.secs(), 0).map(|d| d + chrono::Duration::milliseconds(ms))
}

/// A ResourceNotFoundException means the thing asked about is absent only when it
/// names that kind of resource; a missing identity store must not read as "user gone".
/// (moto leaves ResourceType out on a missing user: absent is accepted for it.)
fn missing(kind: Option<&ResourceType>, want: &ResourceType) -> bool {
    kind.is_none_or(|k| k == want)
}

/// The SDK fills required members a server left out with "": that is "not reported".
fn reported(s: &str) -> Option<String> {
    (!s.is_empty()).then(|| s.to_string())
}

macro_rules! ic_user {
    ($u:expr) => {{
        let u = $u;
        IcUser {
            id: u.user_id().to_string(),
            user_name: u.user_name().map(str::to_string),
            display_name: u.display_name().map(str::to_string),
            given_name: u.name().and_then(|n| n.given_name()).map(str::to_string),
            family_name: u.name().and_then(|n| n.family_name()).map(str::to_string),
            emails: u.emails().iter().filter_map(|e| e.value()).map(str::to_string).collect(),
            external_ids: u.external_ids().iter().map(|x| (x.issuer().to_string(), x.id().to_string())).collect(),
            status: u.user_status().map(|s| s.as_str().to_string()),
            created_at: time(u.created_at()),
            updated_at: time_ms(u.updated_at()),
            user_arn: reported(u.user_arn()),
            revision: reported(u.revision()),
        }
    }};
}

/// The SDK sets no read or attempt timeout of its own, so an AWS endpoint that stops
/// answering would hang the run. Each attempt gets the HTTP policy's limits unless the
/// loaded config (or the caller) chose its own; a timed-out attempt is retried.
fn timeouts(sdk: &aws_config::SdkConfig) -> aws_smithy_types::timeout::TimeoutConfig {
    let policy = crate::http::Policy::default();
    let ours = aws_smithy_types::timeout::TimeoutConfig::builder()
        .connect_timeout(policy.connect_timeout)
        .operation_attempt_timeout(policy.request_timeout);
    match sdk.timeout_config() {
        Some(chosen) => chosen.to_builder().take_unset_from(ours).build(),
        None => ours.build(),
    }
}

impl AwsClient {
    /// Loads the SDK configuration the standard way (env, profile, SSO, web identity,
    /// credential_process), with `[aws]` region, profile and endpoint override.
    pub async fn from_config(
        cfg: &AwsConfig,
        footprint: Arc<Footprint>,
        raw: Option<Arc<RawLog>>,
    ) -> Result<AwsClient, ApiError> {
        let mut loader = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new(cfg.region.clone()));
        if let Some(profile) = &cfg.profile {
            loader = loader.profile_name(profile);
        }
        if let Some(url) = &cfg.endpoint_url {
            crate::http::check_parsed(url)
                .map_err(|e| ApiError::Setup { system: System::Aws, detail: format!("[aws] endpoint_url: {e}") })?;
            loader = loader.endpoint_url(url.as_str().trim_end_matches('/'));
        }
        let sdk = loader.load().await;
        Ok(AwsClient::new(&sdk, &cfg.identity_store_id, &cfg.instance_arn, footprint, raw))
    }

    pub fn new(
        sdk: &aws_config::SdkConfig,
        store_id: &str,
        instance_arn: &str,
        footprint: Arc<Footprint>,
        raw: Option<Arc<RawLog>>,
    ) -> AwsClient {
        let clock_offset = Arc::default();
        let count = || footprint::CountCalls {
            footprint: footprint.clone(),
            raw: raw.clone(),
            clock_offset: Arc::clone(&clock_offset),
        };
        let timeouts = timeouts(sdk);
        let is = aws_sdk_identitystore::config::Builder::from(sdk)
            .interceptor(count())
            .retry_classifier(footprint::RetryUnparsed)
            .timeout_config(timeouts.clone())
            .build();
        let sso = aws_sdk_ssoadmin::config::Builder::from(sdk)
            .interceptor(count())
            .retry_classifier(footprint::RetryUnparsed)
            .timeout_config(timeouts.clone())
            .build();
        // LookupEvents' 2 calls a second are per account and region: another tool, or
        // the previous collect, may have used them. More and longer retries than the
        // SDK's three quick ones ride that out.
        let patient = aws_smithy_types::retry::RetryConfig::standard()
            .with_max_attempts(6)
            .with_initial_backoff(Duration::from_secs(1));
        let ct = aws_sdk_cloudtrail::config::Builder::from(sdk)
            .interceptor(count())
            .retry_classifier(footprint::RetryUnparsed)
            .retry_config(patient)
            .timeout_config(timeouts)
            .build();
        AwsClient {
            identitystore: aws_sdk_identitystore::Client::from_conf(is),
            ssoadmin: aws_sdk_ssoadmin::Client::from_conf(sso),
            cloudtrail: aws_sdk_cloudtrail::Client::from_conf(ct),
            store_id: store_id.into(),
            instance_arn: instance_arn.into(),
            // AWS counts calls as they arrive, and two calls sent exactly a second apart
            // can arrive less than a second apart: a quarter second of margin keeps a
            // paced pager from tripping the limit it paces for.
            lookups: Pacer::new(2, Duration::from_millis(1250)),
            clock_offset,
        }
    }

    /// AWS's clock less ours, measured from the last response's `Date` header.
    pub fn clock_offset(&self) -> Option<chrono::TimeDelta> {
        *self.clock_offset.lock().unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    // --- identitystore -------------------------------------------------------

    /// GetUserId by userName, then DescribeUser. `None` when there is no such user.
    /// Replaces the LookupEvents pacing (tests against a sped-up sandbox).
    pub fn with_lookup_pacing(mut self, max: usize, window: Duration) -> AwsClient {
        self.lookups = Pacer::new(max, window);
        self
    }

    pub async fn user_by_user_name(&self, user_name: &str) -> Result<Option<IcUser>, ApiError> {
        let attr = UniqueAttribute::builder()
            .attribute_path("userName")
            .attribute_value(aws_smithy_types::Document::String(user_name.into()))
            .build()
            .map_err(|e| ApiError::Setup { system: System::Aws, detail: e.to_string() })?;
        self.user_by(AlternateIdentifier::UniqueAttribute(attr)).await
    }

    /// GetUserId by the IdP's externalId (issuer and id), then DescribeUser.
    pub async fn user_by_external_id(&self, issuer: &str, id: &str) -> Result<Option<IcUser>, ApiError> {
        let ext = ExternalId::builder()
            .issuer(issuer)
            .id(id)
            .build()
            .map_err(|e| ApiError::Setup { system: System::Aws, detail: e.to_string() })?;
        self.user_by(AlternateIdentifier::ExternalId(ext)).await
    }

    async fn user_by(&self, alt: AlternateIdentifier) -> Result<Option<IcUser>, ApiError> {
        let op = "identitystore.GetUserId";
        match self.identitystore.get_user_id().identity_store_id(&self.store_id).alternate_identifier(alt).send().await
        {
            Ok(out) => self.describe_user(&out.user_id).await,
            Err(e) if matches!(e.as_service_error(), Some(aws_sdk_identitystore::operation::get_user_id::GetUserIdError::ResourceNotFoundException(x)) if missing(x.resource_type(), &ResourceType::User)) => {
                Ok(None)
            }
            Err(e) => Err(sdk(op, e)),
        }
    }

    pub async fn describe_user(&self, user_id: &str) -> Result<Option<IcUser>, ApiError> {
        match self.identitystore.describe_user().identity_store_id(&self.store_id).user_id(user_id).send().await {
            Ok(u) => Ok(Some(ic_user!(&u))),
            Err(e) if matches!(e.as_service_error(), Some(aws_sdk_identitystore::operation::describe_user::DescribeUserError::ResourceNotFoundException(x)) if missing(x.resource_type(), &ResourceType::User)) => {
                Ok(None)
            }
            Err(e) => Err(sdk("identitystore.DescribeUser", e)),
        }
    }

    /// Every user of the identity store, paged to the end.
    pub async fn list_users(&self) -> Result<Vec<IcUser>, ApiError> {
        self.list_users_where(|_| true).await
    }

    /// `list_users`, keeping only the users `keep` accepts as pages arrive.
    pub async fn list_users_where(&self, mut keep: impl FnMut(&IcUser) -> bool) -> Result<Vec<IcUser>, ApiError> {
        let mut out = Vec::new();
        let mut pages =
            self.identitystore.list_users().identity_store_id(&self.store_id).max_results(100).into_paginator().send();
        while let Some(page) = pages.next().await {
            let page = page.map_err(|e| sdk("identitystore.ListUsers", e))?;
            out.extend(page.users().iter().map(|u| ic_user!(u)).filter(|u| keep(u)));
        }
        Ok(out)
    }

    /// Users whose ExternalIds carry this id, whatever the issuer (for stores where
    /// GetUserId by ExternalId is not available or the issuer is not known).
    pub async fn users_with_external_id(&self, id: &str) -> Result<Vec<IcUser>, ApiError> {
        Ok(self.list_users().await?.into_iter().filter(|u| u.has_external_id(id)).collect())
    }

    pub async fn group_id_by_name(&self, name: &str) -> Result<Option<String>, ApiError> {
        let attr = UniqueAttribute::builder()
            .attribute_path("displayName")
            .attribute_value(aws_smithy_types::Document::String(name.into()))
            .build()
            .map_err(|e| ApiError::Setup { system: System::Aws, detail: e.to_string() })?;
        match self
            .identitystore
            .get_group_id()
            .identity_store_id(&self.store_id)
            .alternate_identifier(AlternateIdentifier::UniqueAttribute(attr))
            .send()
            .await
        {
            Ok(out) => Ok(Some(out.group_id)),
            Err(e) if matches!(e.as_service_error(), Some(aws_sdk_identitystore::operation::get_group_id::GetGroupIdError::ResourceNotFoundException(x)) if missing(x.resource_type(), &ResourceType::Group)) => {
                Ok(None)
            }
            Err(e) => Err(sdk("identitystore.GetGroupId", e)),
        }
    }

    pub async fn group_memberships(&self, group_id: &str) -> Result<Vec<Membership>, ApiError> {
        let mut out = Vec::new();
        let mut pages = self
            .identitystore
            .list_group_memberships()
            .identity_store_id(&self.store_id)
            .group_id(group_id)
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for m in page.map_err(|e| sdk("identitystore.ListGroupMemberships", e))?.group_memberships() {
                out.push(Membership {
                    membership_id: m.membership_id().to_string(),
                    group_id: m.group_id().unwrap_or(group_id).to_string(),
                    user_id: m.member_id().and_then(|id| id.as_user_id().ok()).cloned(),
                    created_at: time(m.created_at()),
                });
            }
        }
        Ok(out)
    }

    pub async fn memberships_of_user(&self, user_id: &str) -> Result<Vec<Membership>, ApiError> {
        let mut out = Vec::new();
        let member = MemberId::UserId(user_id.into());
        let mut pages = self
            .identitystore
            .list_group_memberships_for_member()
            .identity_store_id(&self.store_id)
            .member_id(member)
            .max_results(100)
            .into_paginator()
            .send();
        while let Some(page) = pages.next().await {
            for m in page.map_err(|e| sdk("identitystore.ListGroupMembershipsForMember", e))?.group_memberships() {
                out.push(Membership {
                    membership_id: m.membership_id().to_string(),
                    group_id: m.group_id().unwrap_or("").to_string(),
                    user_id: Some(user_id.to_string()),
                    created_at: time(m.created_at()),
                });
            }
        }
        Ok(out)
    }

    /// Which of `group_ids` (at most 100) the user is a member of.
    pub async fn is_member_in_groups(
        &self,
        user_id: &str,
        group_ids: &[String],
    ) -> Result<Vec<(String, bool)>, ApiError> {
        let mut out = Vec::new();
        for chunk in group_ids.chunks(100) {
            let r = self
                .identitystore
                .is_member_in_groups()
                .identity_store_id(&self.store_id)
                .member_id(MemberId::UserId(user_id.into()))
                .set_group_ids(Some(chunk.to_vec()))
                .send()
                .await
                .map_err(|e| sdk("identitystore.IsMemberInGroups", e))?;
            out.extend(r.results().iter().map(|m| (m.group_id().unwrap_or("").to_string(), m.membership_exists())));
        }
        Ok(out)
    }

    // --- sso-admin -------------------------------------------------------------

    pub async fn instances(&self) -> Result<Vec<Instance>, ApiError> {
        let mut out = Vec::new();
        let mut pages = self.ssoadmin.list_instances().into_paginator().send();
        while let Some(page) = pages.next().await {
            for i in page.map_err(|e| sdk("sso.ListInstances", e))?.instances() {
                out.push(Instance {
                    instance_arn: i.instance_arn().unwrap_or("").into(),
                    identity_store_id: i.identity_store_id().unwrap_or("").into(),
                });
            }
        }
        Ok(out)
    }

    /// The account assignments that bind a principal (a GROUP, or a USER directly) to
    /// permission sets, optionally on one account.
    pub async fn assignments_for(
        &self,
        principal_id: &str,
        group: bool,
        account_id: Option<&str>,
    ) -> Result<Vec<Assignment>, ApiError> {
        let mut req = self
            .ssoadmin
            .list_account_assignments_for_principal()
            .instance_arn(&self.instance_arn)
            .principal_id(principal_id)
            .principal_type(if group { PrincipalType::Group } else { PrincipalType::User });
        if let Some(a) = account_id {
            req = req.filter(ListAccountAssignmentsFilter::builder().account_id(a).build());
        }
        let mut out = Vec::new();
        let mut pages = req.into_paginator().send();
        while let Some(page) = pages.next().await {
            for a in page.map_err(|e| sdk("sso.ListAccountAssignmentsForPrincipal", e))?.account_assignments() {
                out.push(Assignment {
                    account_id: a.account_id().unwrap_or("").into(),
                    permission_set_arn: a.permission_set_arn().unwrap_or("").into(),
                    principal_id: a.principal_id().unwrap_or("").into(),
                    principal_type: a.principal_type().map(|p| p.as_str().to_string()).unwrap_or_default(),
                });
            }
        }
        Ok(out)
    }

    pub async fn permission_set(&self, arn: &str) -> Result<PermissionSet, ApiError> {
        let out = self
            .ssoadmin
            .describe_permission_set()
            .instance_arn(&self.instance_arn)
            .permission_set_arn(arn)
            .send()
            .await
            .map_err(|e| sdk("sso.DescribePermissionSet", e))?;
        let ps = out.permission_set();
        Ok(PermissionSet {
            arn: arn.into(),
            name: ps.and_then(|p| p.name()).map(str::to_string),
            session_duration: ps.and_then(|p| p.session_duration()).map(str::to_string),
        })
    }

    // --- CloudTrail ------------------------------------------------------------

    /// SCIM events (`identitystore-scim.amazonaws.com`) in [start, end], every page,
    /// oldest first, each call paced under LookupEvents' 2 per second.
    pub async fn scim_events(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<Vec<TrailEvent>, ApiError> {
        let pages = self.lookup(LookupAttributeKey::EventSource, SCIM_SOURCE, start, end, None, |_| true).await?;
        Ok(pages.events)
    }

    /// The SCIM calls that disable, re-enable or delete users (PatchUser, DeleteUser)
    /// in [start, end], oldest first, asked by event name so a large tenant's group
    /// pushes and creates are never fetched at LookupEvents' two calls a second.
    /// `seen` is 1 when CloudTrail holds any SCIM event at all in the window, else 0.
    pub async fn scim_user_changes(&self, start: DateTime<Utc>, end: DateTime<Utc>) -> Result<TrailPages, ApiError> {
        let any = self.lookup(LookupAttributeKey::EventSource, SCIM_SOURCE, start, end, Some(1), |_| true).await?;
        let mut out = TrailPages { seen: any.seen.min(1), ..TrailPages::default() };
        for name in ["PatchUser", "DeleteUser"] {
            let scim = |e: &TrailEvent| e.event["eventSource"].as_str() == Some(SCIM_SOURCE);
            let pages = self.lookup(LookupAttributeKey::EventName, name, start, end, None, scim).await?;
            out.oldest = match (out.oldest, pages.events.first().and_then(|e| e.event_time)) {
                (Some(a), Some(b)) => Some(a.min(b)),
                (a, b) => a.or(b),
            };
            out.events.extend(pages.events);
        }
        out.events.sort_by_key(|e| e.event_time);
        Ok(out)
    }

    /// Whether CloudTrail still returns a SCIM event at or before `t`: proof that its
    /// event history reaches back that far (one call, one event).
    pub async fn scim_event_at_or_before(&self, t: DateTime<Utc>) -> Result<bool, ApiError> {
        let from = t - chrono::Duration::days(366);
        let any = self.lookup(LookupAttributeKey::EventSource, SCIM_SOURCE, from, t, Some(1), |_| true).await?;
        Ok(any.seen > 0)
    }

    /// One LookupEvents query (one attribute, as the API allows), every page, or only
    /// the first with `limit`; the events `keep` accepts, oldest first, with how many
    /// there were in all and the oldest one's time.
    async fn lookup(
        &self,
        key: LookupAttributeKey,
        value: &str,
        start: DateTime<Utc>,
        end: DateTime<Utc>,
        limit: Option<i32>,
        mut keep: impl FnMut(&TrailEvent) -> bool,
    ) -> Result<TrailPages, ApiError> {
        let attr = LookupAttribute::builder()
            .attribute_key(key)
            .attribute_value(value)
            .build()
            .map_err(|e| ApiError::Setup { system: System::Aws, detail: e.to_string() })?;
        let op = "cloudtrail.LookupEvents";
        let mut out = Vec::new();
        let (mut seen, mut oldest) = (0usize, None::<DateTime<Utc>>);
        let mut token: Option<String> = None;
        loop {
            self.lookups.admit().await;
            let page = self
                .cloudtrail
                .lookup_events()
                .lookup_attributes(attr.clone())
                .start_time(aws_smithy_types::DateTime::from_secs(start.timestamp()))
                .end_time(aws_smithy_types::DateTime::from_secs(
                    end.timestamp() + i64::from(end.timestamp_subsec_nanos() > 0),
                ))
                .max_results(limit.unwrap_or(50))
                .set_next_token(token.take())
                .send()
                .await
                .map_err(|e| sdk(op, e))?;
            for e in page.events() {
                let event = match e.cloud_trail_event() {
                    Some(s) => serde_json::from_str(s).map_err(|err| ApiError::Malformed {
                        system: System::Aws,
                        endpoint: format!("POST {op}"),
                        detail: format!("CloudTrailEvent is not JSON: {err}"),
                    })?,
                    None => serde_json::Value::Null,
                };
                let e = TrailEvent {
                    event_id: e.event_id().unwrap_or("").into(),
                    event_name: e.event_name().unwrap_or("").into(),
                    event_time: time(e.event_time()),
                    username: e.username().map(str::to_string),
                    event,
                };
                seen += 1;
                if let Some(t) = e.event_time {
                    oldest = Some(oldest.map_or(t, |o| o.min(t)));
                }
                if keep(&e) {
                    out.push(e);
                }
            }
            token = page.next_token().map(str::to_string);
            if token.is_none() || limit.is_some() {
                break;
            }
        }
        // CloudTrail lists newest first with whole seconds: reverse, then a stable sort by
        // time keeps same-second events in the order CloudTrail gave them.
        out.reverse();
        out.sort_by_key(|e| e.event_time);
        Ok(TrailPages { events: out, seen, oldest })
    }
}

const SCIM_SOURCE: &str = "identitystore-scim.amazonaws.com";

/// What a CloudTrail lookup kept, and what it saw.
#[derive(Debug, Default)]
pub struct TrailPages {
    /// The kept events, oldest first.
    pub events: Vec<TrailEvent>,
    /// How many events the lookup returned in all.
    pub seen: usize,
    /// The oldest event returned.
    pub oldest: Option<DateTime<Utc>>,
}

impl Debug for AwsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsClient")
            .field("store_id", &self.store_id)
            .field("instance_arn", &self.instance_arn)
            .finish_non_exhaustive()
    }
}
