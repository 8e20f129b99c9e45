//! `collect`: one new segment holding what the three audit trails returned since the
//! ledger's last segment, de-duplicated against the segments it overlaps, with a
//! snapshot of the user lists. Run under a lock; a partial segment left by a crash is
//! discarded first; the new segment appears in one rename or not at all.

use std::collections::HashSet;
use std::path::Path;

use chrono::{DateTime, Duration, Utc};
use serde_json::Value;

use super::{Gap, LedgerError, Link, Segment, Snapshot, Window, file_of, folder_name};
use crate::aws::AwsClient;
use crate::entra::{AuditQuery, GraphClient};
use crate::evidence::record::Source;
use crate::okta::OktaClient;
use crate::okta::logs::LogQuery;
use crate::pack::Signer;
use crate::pack::sums;

/// The System Log events the ledger keeps: lifecycle, group and app membership, and
/// provisioning (what `attest` and `reconcile` read), by prefix.
const OKTA_PREFIXES: &[&str] = &[
    "user.lifecycle.",
    "user.account.",
    "group.user_membership.",
    "application.user_membership.",
    "application.provision.",
];

/// Entra audit categories about users and groups.
const ENTRA_CATEGORIES: &[&str] = &["UserManagement", "GroupManagement"];

/// Okta refuses a `since` 180 days back or more.
const OKTA_HORIZON_DAYS: i64 = 179;

pub struct Sources<'a> {
    pub okta: &'a OktaClient,
    pub graph: &'a GraphClient,
    pub aws: &'a AwsClient,
}

pub struct Options<'a> {
    /// The tenant's time now (the sandbox's clock in tests).
    pub now: DateTime<Utc>,
    /// A first collect's start (default: as far back as Okta may be asked, 179 days).
    pub since: Option<DateTime<Utc>>,
    /// How far each window reaches back before the previous segment's end, so events
    /// the sources publish late (Entra and CloudTrail deliver minutes to hours after
    /// the fact) are caught by the next collect; de-duplicated by event id.
    pub overlap: Duration,
    pub signer: Option<&'a Signer>,
    pub principal: String,
    pub operator: String,
    /// Snapshot the three user lists (`collect` always does; tests of the trails alone
    /// skip them, as a segment without snapshots says).
    pub snapshots: bool,
}

/// What one collect added.
#[derive(Debug)]
pub struct Collected {
    pub seq: u64,
    pub folder: std::path::PathBuf,
    pub segment: Segment,
    /// Partial segments of an earlier, interrupted collect that were discarded.
    pub discarded: usize,
}

/// An exclusive lock on the ledger for the life of the value (flock on `.lock`).
struct Lock(#[allow(dead_code)] std::fs::File);

fn lock(dir: &Path) -> Result<Lock, LedgerError> {
    let path = dir.join(".lock");
    let f = std::fs::OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&path)
        .map_err(|e| LedgerError::Io(format!("{}: {e}", path.display())))?;
    #[cfg(unix)]
    {
        use std::os::fd::AsRawFd;
        // SAFETY: a valid open descriptor; flock only reads it.
        if unsafe { libc::flock(f.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) } != 0 {
            return Err(LedgerError::Io(format!("{}: another collect holds the ledger", dir.display())));
        }
    }
    Ok(Lock(f))
}

/// Removes what an interrupted collect left: its temporary segment folders.
fn discard_partial(dir: &Path) -> Result<usize, LedgerError> {
    let mut n = 0;
    let entries = std::fs::read_dir(dir).map_err(|e| LedgerError::Io(format!("{}: {e}", dir.display())))?;
    for e in entries.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') && name.contains(".tmp-") {
            let gone =
                if e.path().is_dir() { std::fs::remove_dir_all(e.path()) } else { std::fs::remove_file(e.path()) };
            gone.map_err(|err| LedgerError::Io(format!("{name}: {err}")))?;
            n += 1;
        }
    }
    Ok(n)
}

/// Event ids already in the segments whose window for `source` ends after `since`
/// (the ones a new window overlaps).
fn known_ids(
    segments: &[(u64, std::path::PathBuf)],
    source: Source,
    since: DateTime<Utc>,
) -> Result<HashSet<String>, LedgerError> {
    let mut ids = HashSet::new();
    for (_, folder) in segments.iter().rev() {
        let m = super::read_manifest(folder)?;
        let Some(w) = m.windows.iter().find(|w| w.source == source) else { continue };
        // Windows end later segment by segment: once one ends before `since`, all
        // earlier ones do too.
        if w.until < since {
            break;
        }
        for e in super::read_events(folder, source)? {
            if let Some(id) = super::event_id(source, &e) {
                ids.insert(id.to_string());
            }
        }
    }
    Ok(ids)
}

/// When an event happened, in its source's own field.
pub fn event_time(source: Source, e: &Value) -> Option<DateTime<Utc>> {
    let field = match source {
        Source::OktaSystemLog => "published",
        Source::EntraDirectoryAudit => "activityDateTime",
        Source::Cloudtrail => "eventTime",
    };
    e[field].as_str().and_then(|s| DateTime::parse_from_rfc3339(s).ok()).map(|t| t.to_utc())
}

/// A window's events, and whether the source still returns anything at or before its
/// start (proof that its retention reaches that far).
struct Fetched {
    events: Vec<Value>,
    reaches: bool,
}

async fn fetch(
    s: &Sources<'_>,
    source: Source,
    since: DateTime<Utc>,
    until: DateTime<Utc>,
    now: DateTime<Utc>,
) -> Result<Fetched, LedgerError> {
    let horizon = now - Duration::days(OKTA_HORIZON_DAYS);
    Ok(match source {
        Source::OktaSystemLog => {
            let filter = OKTA_PREFIXES.iter().map(|p| format!("eventType sw \"{p}\"")).collect::<Vec<_>>().join(" or ");
            let q = LogQuery::bounded(since.max(horizon), until).filter(filter);
            let mut pager = s.okta.logs(&q)?;
            let mut events = Vec::new();
            while let Some(page) = pager.next_page().await? {
                // Okta's `until` is inclusive; the window is too (overlaps are de-duplicated).
                events.extend(page.into_iter().map(|e| e.raw));
            }
            let reaches = since > horizon && {
                let probe = LogQuery { limit: Some(1), ..LogQuery::bounded(horizon, since) };
                s.okta.logs(&probe)?.next_page().await?.is_some_and(|p| !p.is_empty())
            };
            Fetched { events, reaches }
        }
        Source::EntraDirectoryAudit => {
            let q = AuditQuery { since: Some(since), until: Some(until), activity: None, target_id: None };
            let (rows, _) = s
                .graph
                .directory_audits_where(&q, |r| {
                    r.raw["category"].as_str().is_some_and(|c| ENTRA_CATEGORIES.contains(&c))
                })
                .await?;
            let events = rows.into_iter().map(|r| r.raw).collect();
            Fetched { events, reaches: s.graph.audit_at_or_before(since).await? }
        }
        Source::Cloudtrail => {
            let events = s.aws.scim_events(since, until).await?.into_iter().map(|e| e.event).collect();
            Fetched { events, reaches: s.aws.scim_event_at_or_before(since).await? }
        }
    })
}

fn ndjson<'a>(lines: impl IntoIterator<Item = &'a Value>) -> Vec<u8> {
    let mut out = Vec::new();
    for v in lines {
        out.extend(v.to_string().into_bytes());
        out.push(b'\n');
    }
    out
}

/// NDJSON, gzip-compressed (deterministically: no name, no time in the header).
fn gz_lines<T: serde::Serialize>(items: &[T]) -> Result<Vec<u8>, LedgerError> {
    use std::io::Write;
    let mut gz = flate2::GzBuilder::new().mtime(0).write(Vec::new(), flate2::Compression::default());
    for i in items {
        let line = serde_json::to_vec(i).map_err(|e| LedgerError::Invalid(format!("snapshot: {e}")))?;
        gz.write_all(&line).and_then(|_| gz.write_all(b"\n")).map_err(|e| LedgerError::Io(format!("snapshot: {e}")))?;
    }
    gz.finish().map_err(|e| LedgerError::Io(format!("snapshot: {e}")))
}

/// The user lists as they stand, for "since when" questions: added to `files`.
async fn snapshot(s: &Sources<'_>, files: &mut Vec<(String, Vec<u8>)>) -> Result<Vec<Snapshot>, LedgerError> {
    let okta_users = s
        .okta
        .search_users_where(crate::reconcile::ALL_STATUSES, |u| {
            u.slim();
            true
        })
        .await?;
    let entra_users = s.graph.all_users().await?;
    let aws_users = s.aws.list_users().await?;
    let lists = [
        ("okta", okta_users.len(), gz_lines(&okta_users)?),
        ("entra", entra_users.len(), gz_lines(&entra_users)?),
        ("aws", aws_users.len(), gz_lines(&aws_users)?),
    ];
    let mut out = Vec::new();
    for (system, users, bytes) in lists {
        let file = format!("snapshot/{system}-users.ndjson.gz");
        files.push((file.clone(), bytes));
        out.push(Snapshot { system: system.into(), file, users });
    }
    Ok(out)
}

/// Appends one segment to the ledger in `dir` (made if missing).
pub async fn collect(dir: &Path, s: &Sources<'_>, o: &Options<'_>) -> Result<Collected, LedgerError> {
    std::fs::create_dir_all(dir).map_err(|e| LedgerError::Io(format!("{}: {e}", dir.display())))?;
    let _lock = lock(dir)?;
    let discarded = discard_partial(dir)?;
    let segments = super::segments(dir)?;
    let head = match segments.last() {
        Some((seq, folder)) => {
            // Never chain onto a head that does not hold: the new link would vouch for it.
            if let Some(problem) = super::chain::head_problem(dir, folder)? {
                return Err(LedgerError::Invalid(format!(
                    "ledger segment {} does not verify ({problem}); run `jmlproof verify --ledger {}`",
                    folder_name(*seq),
                    dir.display()
                )));
            }
            let sums = std::fs::read(folder.join("SHA256SUMS"))
                .map_err(|e| LedgerError::Io(format!("{}: {e}", folder.display())))?;
            Some((Link { seq: *seq, sums_sha256: sums::hex_sha256(&sums) }, super::read_manifest(folder)?))
        }
        None => None,
    };
    let seq = head.as_ref().map_or(1, |(l, _)| l.seq + 1);
    let until = o.now;
    let first_since = o.since.unwrap_or(o.now - Duration::days(OKTA_HORIZON_DAYS));

    let mut files: Vec<(String, Vec<u8>)> = Vec::new();
    let mut windows = Vec::new();
    for source in [Source::OktaSystemLog, Source::EntraDirectoryAudit, Source::Cloudtrail] {
        let previous = head.as_ref().and_then(|(_, m)| m.windows.iter().find(|w| w.source == source));
        let since = match previous {
            Some(p) => (p.until - o.overlap).min(until),
            None => first_since,
        };
        let known = known_ids(&segments, source, since)?;
        let fetched = fetch(s, source, since, until, o.now).await?;
        let returned = fetched.events.len();
        let mut seen = HashSet::new();
        let kept: Vec<&Value> = fetched
            .events
            .iter()
            .filter(|e| match super::event_id(source, e) {
                Some(id) => !known.contains(id) && seen.insert(id.to_string()),
                None => true,
            })
            .collect();
        let oldest = fetched.events.iter().filter_map(|e| event_time(source, e)).min();
        let covers_from = if fetched.reaches { since } else { oldest.unwrap_or(until).max(since) };
        let gap = previous.filter(|p| covers_from > p.until).map(|p| Gap {
            from: p.until,
            to: covers_from,
            why: format!(
                "the source returned nothing at or before {}: anything it held from {} to {} is no longer shown (past its retention), if there was anything",
                crate::report::fmt::time(&since),
                crate::report::fmt::time(&p.until),
                crate::report::fmt::time(&covers_from)
            ),
        });
        windows.push(Window {
            source,
            file: file_of(source).into(),
            since,
            until,
            covers_from,
            returned,
            kept: kept.len(),
            duplicates: returned - kept.len(),
            gap,
        });
        files.push((file_of(source).into(), ndjson(kept)));
    }

    let snapshots = if o.snapshots { snapshot(s, &mut files).await? } else { Vec::new() };

    let segment = Segment {
        schema: super::SCHEMA,
        seq,
        created: o.now,
        tool_version: env!("CARGO_PKG_VERSION").into(),
        operator: o.operator.clone(),
        previous: head.map(|(l, _)| l),
        windows,
        snapshots,
    };
    let mut manifest =
        serde_json::to_vec_pretty(&segment).map_err(|e| LedgerError::Invalid(format!("segment.json: {e}")))?;
    manifest.push(b'\n');
    files.push((super::MANIFEST.into(), manifest));
    let sums_text = sums::render(files.iter().map(|(p, b)| (p.as_str(), b.as_slice())));
    if let Some(signer) = o.signer {
        files.push(("SHA256SUMS.sig".into(), signer.sign(sums_text.as_bytes())?.into_bytes()));
        write_allowed_signers(dir, signer, &o.principal)?;
    }
    files.push(("SHA256SUMS".into(), sums_text.into_bytes()));
    let folder = dir.join(folder_name(seq));
    crate::pack::write_folder(&folder, files)?;
    Ok(Collected { seq, folder, segment, discarded })
}

/// The ledger's own allowed_signers (written once, atomically): a convenience for
/// checking integrity; an auditor verifies with a copy obtained out of band.
fn write_allowed_signers(dir: &Path, signer: &Signer, principal: &str) -> Result<(), LedgerError> {
    let path = dir.join("allowed_signers");
    let line = signer.allowed_signers_line(principal)?;
    let text = std::fs::read_to_string(&path).unwrap_or_default();
    if text.contains(line.trim()) {
        return Ok(());
    }
    // A new key is added, never swapped in: older segments stay checkable.
    let tmp = dir.join(format!(".allowed_signers.tmp-{}", std::process::id()));
    std::fs::write(&tmp, format!("{text}{line}")).map_err(|e| LedgerError::Io(format!("{}: {e}", tmp.display())))?;
    std::fs::rename(&tmp, &path).map_err(|e| LedgerError::Io(format!("{}: {e}", path.display())))?;
    Ok(())
}
