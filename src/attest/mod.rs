//! `jmlproof attest`: every real leaver of a period, per leg, from the three audit
//! trails and the current state, as a signed pack. Read-only: it changes nothing in
//! any tenant.

pub mod cmd;
pub mod gather;
pub mod hr;
pub mod legs;
pub mod period;
pub mod sample;
pub mod terminations;

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use crate::api::ApiError;
use crate::evidence::record::{Period, Record, Sample};
use crate::raw::RawLog;

/// What one attestation is asked.
pub struct Settings {
    pub run_id: String,
    pub operator: String,
    pub period: Period,
    /// The tenant's "now" (the wall clock for a real tenant, the sandbox's clock for it).
    pub now: DateTime<Utc>,
    pub leaver_sla: Duration,
    pub test_login: Option<legs::TestLogin>,
    pub test_ids: BTreeSet<String>,
    pub sample: Option<(usize, u64)>,
    /// HR's list (`--terminations`), held to `termination_sla`.
    pub terminations: Vec<terminations::Termination>,
    pub termination_sla: Duration,
    /// A verified ledger (`--ledger`), read beside the live APIs.
    pub ledger: Option<crate::ledger::read::LedgerView>,
}

pub async fn attest(s: &Settings, src: &gather::Sources<'_>, raw: Option<&RawLog>) -> Result<Record, ApiError> {
    let started = Utc::now();
    let g = gather::gather(src, &s.period, s.now, s.ledger.as_ref()).await?;
    let rules = legs::Rules {
        entra_app: src.entra_app,
        aws_app: src.aws_app,
        leaver_sla: s.leaver_sla,
        test_login: s.test_login.clone(),
        test_ids: &s.test_ids,
        now: s.now,
    };
    let (leavers, excluded) = legs::leavers(&g, &rules, &s.period);
    let drawn = legs::draw(&leavers, &g, &rules, raw);
    let cov = legs::coverage(&g, &s.period, s.now);
    let mut record = Record::new("attest", &s.run_id, &s.operator, started);
    record.sla.leaver_secs = s.leaver_sla.num_seconds().max(0) as u64;
    legs::fill(&mut record, drawn, excluded, cov, s.period);
    if !s.terminations.is_empty() {
        record.sla.termination_secs = s.termination_sla.num_seconds().max(0) as u64;
        let keys = record.subjects.iter().filter_map(|x| x.okta_id.clone().map(|id| (id, x.key.clone()))).collect();
        let c = hr::Context {
            okta: src.okta,
            sla: s.termination_sla,
            now: s.now,
            log_from: g.okta_oldest,
            raw,
            leaver_keys: &keys,
        };
        let checked = hr::check(&c, &s.terminations).await?;
        record.subjects.extend(checked.subjects);
        record.verdicts.extend(checked.verdicts);
        record.events.extend(checked.events);
        record.sort();
        record.events.dedup_by(|a, b| a.source == b.source && a.id == b.id);
    }
    if let Some((size, seed)) = s.sample {
        let keys: Vec<String> = record.subjects.iter().map(|x| x.key.clone()).collect();
        record.sample = Some(Sample { size, seed, subjects: sample::draw(&keys, size, seed) });
    }
    if s.period.until > s.now {
        record.notes.push(format!(
            "the period ends in the future ({}); it is attested up to {}",
            crate::report::fmt::time(&s.period.until),
            crate::report::fmt::time(&s.now)
        ));
    }
    record.finished = Some(Utc::now());
    Ok(record)
}
