//! Reading a ledger for `attest`: it is verified whole first (a ledger that does not
//! verify is refused, never half used), then its events are parsed into the clients'
//! own types and each source's covered stretches are merged.

use std::collections::BTreeMap;
use std::path::Path;

use chrono::{DateTime, Utc};

use super::chain::verify_ledger;
use super::{LedgerError, read_events, read_manifest, segments};
use crate::aws::types::TrailEvent;
use crate::entra::types::DirectoryAudit;
use crate::evidence::record::Source;
use crate::okta::types::LogEvent;
use crate::pack::verify::Trust;

/// A stretch of time [from, to].
pub type Span = (DateTime<Utc>, DateTime<Utc>);
/// Per source, the stretches covered (merged, oldest first).
pub type Spans = BTreeMap<Source, Vec<Span>>;

/// What a verified ledger holds.
#[derive(Debug, Default)]
pub struct LedgerView {
    pub okta: Vec<LogEvent>,
    pub audits: Vec<DirectoryAudit>,
    pub trail: Vec<TrailEvent>,
    /// Per source, the stretches the ledger covers (merged, oldest first).
    pub spans: Spans,
    pub segments: usize,
    /// The SHA-256 of the last segment's SHA256SUMS.
    pub head: String,
    /// Who signed it: "principal (fingerprint)".
    pub signers: Vec<String>,
}

/// Merges stretches that touch or overlap.
pub fn merge(mut spans: Vec<Span>) -> Vec<Span> {
    spans.sort();
    let mut out: Vec<Span> = Vec::new();
    for (a, b) in spans {
        match out.last_mut() {
            Some(last) if a <= last.1 => last.1 = last.1.max(b),
            _ => out.push((a, b)),
        }
    }
    out
}

fn trail_event(v: serde_json::Value) -> TrailEvent {
    let time = v["eventTime"].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.to_utc());
    TrailEvent {
        event_id: v["eventID"].as_str().unwrap_or_default().into(),
        event_name: v["eventName"].as_str().unwrap_or_default().into(),
        event_time: time,
        username: None,
        event: v,
    }
}

/// Verifies the ledger in `dir` against `trust`, then reads it.
pub fn load(dir: &Path, trust: &Trust) -> Result<LedgerView, LedgerError> {
    let report = verify_ledger(dir, trust).map_err(|e| LedgerError::Invalid(e.0))?;
    if !report.holds() {
        let first = report.problems.first().cloned().unwrap_or_else(|| "no segment".into());
        return Err(LedgerError::Invalid(format!(
            "the ledger {} does not verify ({first}{}); it is not used",
            dir.display(),
            if report.problems.len() > 1 { format!(", and {} more", report.problems.len() - 1) } else { String::new() }
        )));
    }
    let mut view = LedgerView {
        segments: report.segments,
        head: report.head.unwrap_or_default(),
        signers: report.signers.iter().map(|(p, fp)| format!("{p} ({fp})")).collect(),
        ..LedgerView::default()
    };
    let mut spans: Spans = BTreeMap::new();
    for (_, folder) in segments(dir)? {
        let m = read_manifest(&folder)?;
        for w in &m.windows {
            spans.entry(w.source).or_default().push((w.covers_from, w.until));
            let bad = |e: serde_json::Error| {
                LedgerError::Invalid(format!("{}/{}: an event does not parse: {e}", folder.display(), w.file))
            };
            for v in read_events(&folder, w.source)? {
                match w.source {
                    Source::OktaSystemLog => view.okta.push(LogEvent::from_value(v).map_err(bad)?),
                    Source::EntraDirectoryAudit => view.audits.push(DirectoryAudit::from_value(v).map_err(bad)?),
                    Source::Cloudtrail => view.trail.push(trail_event(v)),
                }
            }
        }
    }
    view.spans = spans.into_iter().map(|(s, v)| (s, merge(v))).collect();
    Ok(view)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn touching_and_overlapping_stretches_merge_and_gaps_stay() {
        let t = |d: i64| DateTime::UNIX_EPOCH + chrono::Duration::days(d);
        let merged = merge(vec![(t(5), t(7)), (t(0), t(2)), (t(2), t(3)), (t(6), t(9))]);
        assert_eq!(merged, vec![(t(0), t(3)), (t(5), t(9))]);
    }
}
