//! Counts SDK calls in the API footprint and keeps their responses as raw
//! evidence. The SDK retries by itself, so an interceptor sees each attempt and
//! each response and records them under `service.Operation`.

use std::sync::Arc;

use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    AfterDeserializationInterceptorContextRef, BeforeDeserializationInterceptorContextRef,
    BeforeTransmitInterceptorContextRef,
};
use aws_smithy_runtime_api::client::orchestrator::Metadata;
use aws_smithy_runtime_api::client::retries::RequestAttempts;
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_types::config_bag::ConfigBag;

use crate::http::{Footprint, System};
use crate::raw::RawLog;

#[derive(Debug)]
pub struct CountCalls {
    pub footprint: Arc<Footprint>,
    pub raw: Option<Arc<RawLog>>,
    /// AWS's clock less ours, from the last response's `Date` header (the SDK corrects
    /// its signing clock with it but does not say).
    pub clock_offset: Arc<std::sync::Mutex<Option<chrono::TimeDelta>>>,
}

fn label(cfg: &ConfigBag) -> String {
    match cfg.load::<Metadata>() {
        Some(m) => format!("{}.{}", m.service(), m.name()),
        None => "unknown".into(),
    }
}

impl Intercept for CountCalls {
    fn name(&self) -> &'static str {
        "jmlproof-footprint"
    }

    fn read_before_transmit(
        &self,
        _: &BeforeTransmitInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let attempt = cfg.load::<RequestAttempts>().map(|a| a.attempts()).unwrap_or(1);
        self.footprint.record_attempt(System::Aws, &format!("POST {}", label(cfg)), attempt <= 1);
        Ok(())
    }

    fn read_after_transmit(
        &self,
        ctx: &BeforeDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let r = ctx.response();
        if let Some(date) = r.headers().get("date").and_then(|d| chrono::DateTime::parse_from_rfc2822(d.trim()).ok()) {
            let offset = date.with_timezone(&chrono::Utc) - chrono::Utc::now();
            *self.clock_offset.lock().unwrap_or_else(std::sync::PoisonError::into_inner) = Some(offset);
        }
        let status = r.status().as_u16();
        let kind = r.headers().get("x-amzn-errortype").unwrap_or("");
        let throttled = status == 429 || kind.contains("Throttling");
        self.footprint.record_outcome(System::Aws, &format!("POST {}", label(cfg)), throttled, status >= 500);
        Ok(())
    }

    /// The response as evidence, once the SDK has read its body (never the request's
    /// headers, so never a signature or credential).
    fn read_after_deserialization(
        &self,
        ctx: &AfterDeserializationInterceptorContextRef<'_>,
        _: &RuntimeComponents,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        let Some(raw) = &self.raw else { return Ok(()) };
        let r = ctx.response();
        let headers: Vec<(String, String)> = r.headers().iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
        let body = r.body().bytes().map(|b| String::from_utf8_lossy(b).into_owned()).unwrap_or_default();
        let url = format!("aws:{}", label(cfg));
        raw.record_parts(System::Aws, "POST", &url, r.status().as_u16(), &headers, &body);
        Ok(())
    }
}

/// Every call jmlproof makes to AWS reads: a 200 whose body does not parse (cut short
/// by a dropped connection or a proxy) is worth reading again, which the SDK's own
/// classifiers do not do.
#[derive(Debug)]
pub struct RetryUnparsed;

impl aws_smithy_runtime_api::client::retries::classifiers::ClassifyRetry for RetryUnparsed {
    fn classify_retry(
        &self,
        ctx: &aws_smithy_runtime_api::client::interceptors::context::InterceptorContext,
    ) -> aws_smithy_runtime_api::client::retries::classifiers::RetryAction {
        use aws_smithy_runtime_api::client::retries::classifiers::RetryAction;
        let ok_status = ctx.response().is_some_and(|r| r.status().is_success());
        let failed = ctx.output_or_error().is_some_and(|r| r.is_err());
        if ok_status && failed { RetryAction::transient_error() } else { RetryAction::NoActionIndicated }
    }

    fn name(&self) -> &'static str {
        "jmlproof-retry-unparsed"
    }
}
