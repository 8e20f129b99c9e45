//! The ledger: a folder of append-only segments, one per `jmlproof collect`, each
//! holding the audit events fetched since the previous one (whole, as the APIs
//! returned them; keys re-serialised in sorted order), a snapshot of the three user lists, the windows asked and what each source
//! covered, and a link to the previous segment. A segment is a small pack: its
//! SHA256SUMS lists every file and is SSH-signed, and its `segment.json` names the
//! previous segment's SHA256SUMS by hash, so the segments form a chain that
//! `jmlproof verify --ledger` checks end to end. (shared/DESIGN.md, "The ledger".)
//!
//! ```text
//! ledger/
//!   allowed_signers      the collecting key (a convenience; auditors use their own)
//!   .lock                held while a collect runs
//!   000001/ 000002/ …    segments, numbered from 1 without holes
//!     segment.json  okta.ndjson  graph.ndjson  cloudtrail.ndjson
//!     snapshot/okta-users.ndjson.gz  snapshot/entra-users.ndjson.gz  snapshot/aws-users.ndjson.gz
//!     SHA256SUMS  SHA256SUMS.sig
//! ```

pub mod chain;
pub mod cmd;
pub mod collect;
pub mod read;

use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::evidence::record::Source;

pub const SCHEMA: u32 = 1;
pub const MANIFEST: &str = "segment.json";

#[derive(Debug, thiserror::Error)]
pub enum LedgerError {
    #[error("{0}")]
    Io(String),
    #[error("{0}")]
    Invalid(String),
    #[error(transparent)]
    Api(#[from] crate::api::ApiError),
    #[error(transparent)]
    Pack(#[from] crate::pack::PackError),
}

/// `segment.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Segment {
    pub schema: u32,
    pub seq: u64,
    pub created: DateTime<Utc>,
    pub tool_version: String,
    pub operator: String,
    /// The previous segment, by the SHA-256 of its SHA256SUMS; None for the first.
    pub previous: Option<Link>,
    pub windows: Vec<Window>,
    pub snapshots: Vec<Snapshot>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Link {
    pub seq: u64,
    pub sums_sha256: String,
}

/// What one source was asked, and what it covered.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Window {
    pub source: Source,
    /// The events' file in the segment.
    pub file: String,
    /// The query's bounds. `since` reaches back before the previous segment's `until`
    /// by the overlap, so events that arrive late are caught by the next collect.
    pub since: DateTime<Utc>,
    pub until: DateTime<Utc>,
    /// From when the source is shown to have returned everything up to `until`: `since`
    /// when it returned an entry at or before `since` (so it still reached that far),
    /// else the oldest entry it returned (or `until` when it returned none).
    pub covers_from: DateTime<Utc>,
    /// Events the query returned, events kept, and those already in the ledger.
    pub returned: usize,
    pub kept: usize,
    pub duplicates: usize,
    /// Time after the previous segment's `until` that this source no longer showed.
    pub gap: Option<Gap>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Gap {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
    pub why: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Snapshot {
    pub system: String,
    pub file: String,
    pub users: usize,
}

/// Each source's events file in a segment.
pub fn file_of(source: Source) -> &'static str {
    match source {
        Source::OktaSystemLog => "okta.ndjson",
        Source::EntraDirectoryAudit => "graph.ndjson",
        Source::Cloudtrail => "cloudtrail.ndjson",
    }
}

/// An event's id in its source's own terms (the key that de-duplicates overlapping windows).
pub fn event_id(source: Source, event: &serde_json::Value) -> Option<&str> {
    match source {
        Source::OktaSystemLog => event["uuid"].as_str(),
        Source::EntraDirectoryAudit => event["id"].as_str(),
        Source::Cloudtrail => event["eventID"].as_str(),
    }
}

/// A segment's folder name: its number, zero-padded so names sort as numbers.
pub fn folder_name(seq: u64) -> String {
    format!("{seq:06}")
}

/// The ledger's segments in order, as (number, folder). Folders that are not a
/// number (a partial segment's temporary folder, `.lock`) are not segments.
pub fn segments(dir: &Path) -> Result<Vec<(u64, PathBuf)>, LedgerError> {
    let entries = std::fs::read_dir(dir).map_err(|e| LedgerError::Io(format!("{}: {e}", dir.display())))?;
    let mut out = Vec::new();
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().to_string();
        if name.len() == 6
            && name.bytes().all(|b| b.is_ascii_digit())
            && let Ok(n) = name.parse::<u64>()
        {
            out.push((n, e.path()));
        }
    }
    out.sort();
    Ok(out)
}

pub fn read_manifest(folder: &Path) -> Result<Segment, LedgerError> {
    let path = folder.join(MANIFEST);
    let text = std::fs::read_to_string(&path).map_err(|e| LedgerError::Io(format!("{}: {e}", path.display())))?;
    serde_json::from_str(&text)
        .map_err(|e| LedgerError::Invalid(format!("{}:{}:{}: {e}", path.display(), e.line(), e.column())))
}

/// The events of one source in one segment, parsed, in file order.
pub fn read_events(folder: &Path, source: Source) -> Result<Vec<serde_json::Value>, LedgerError> {
    let path = folder.join(file_of(source));
    let text = match std::fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(LedgerError::Io(format!("{}: {e}", path.display()))),
    };
    text.lines()
        .enumerate()
        .filter(|(_, l)| !l.is_empty())
        .map(|(i, l)| {
            serde_json::from_str(l)
                .map_err(|e| LedgerError::Invalid(format!("{}:{}: not a JSON event: {e}", path.display(), i + 1)))
        })
        .collect()
}
