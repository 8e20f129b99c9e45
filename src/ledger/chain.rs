//! `jmlproof verify --ledger DIR`: every segment is checked as a pack is (each file
//! against its SHA256SUMS, no file missing or extra, the signature against the
//! auditor's allowed_signers), then the chain: segments numbered from 1 without a
//! hole, each naming its predecessor's SHA256SUMS by hash, windows that move forward,
//! no event twice, and every gap recorded where the windows show one.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::path::Path;

use chrono::{DateTime, Utc};

use super::{Gap, LedgerError, folder_name, read_events, read_manifest, segments};
use crate::evidence::record::Source;
use crate::pack::sums;
use crate::pack::verify::{Trust, Unreadable, clean, verify};

#[derive(Debug, Default)]
pub struct LedgerReport {
    pub segments: usize,
    pub events: BTreeMap<Source, usize>,
    pub problems: Vec<String>,
    pub warnings: Vec<String>,
    pub gaps: Vec<(Source, Gap)>,
    /// (principal, key fingerprint) of every signature that held.
    pub signers: BTreeSet<(String, String)>,
    /// The SHA-256 of the last segment's SHA256SUMS: record it to detect later
    /// truncation, which a chain alone cannot show.
    pub head: Option<String>,
    /// Per source: the first `covers_from` and the last `until`.
    pub span: BTreeMap<Source, (DateTime<Utc>, DateTime<Utc>)>,
}

impl LedgerReport {
    pub fn holds(&self) -> bool {
        self.problems.is_empty() && self.segments > 0
    }
}

fn unreadable(e: LedgerError) -> Unreadable {
    Unreadable(e.to_string())
}

/// Checks the whole ledger.
pub fn verify_ledger(dir: &Path, trust: &Trust) -> Result<LedgerReport, Unreadable> {
    let mut r = LedgerReport::default();
    if !dir.is_dir() {
        return Err(Unreadable(format!("{}: not a ledger folder", dir.display())));
    }
    let own = dir.join("allowed_signers");
    let signers = match trust.allowed_signers {
        Some(p) => p.to_path_buf(),
        None => {
            r.warnings.push(
                "trusting the ledger's own allowed_signers: this shows the segments are intact since signing, not who signed them; pass --allowed-signers with a file obtained out of band".into(),
            );
            own
        }
    };
    let list = segments(dir).map_err(unreadable)?;
    let names: BTreeSet<String> = list.iter().map(|(n, _)| folder_name(*n)).collect();
    for e in std::fs::read_dir(dir).map_err(|e| Unreadable(format!("{}: {e}", dir.display())))?.filter_map(Result::ok) {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') && name.contains(".tmp-") {
            r.warnings.push(format!(
                "{}: a partial segment of an interrupted collect; the next collect discards it",
                clean(&name)
            ));
        } else if !(names.contains(&name) || name == "allowed_signers" || name == ".lock") {
            r.problems.push(format!("extra: {} is not part of the ledger", clean(&name)));
        }
    }
    if list.is_empty() {
        r.problems.push("empty: the ledger has no segment".into());
        return Ok(r);
    }
    let mut seen: HashMap<Source, HashMap<String, u64>> = HashMap::new();
    let mut previous: Option<(u64, String, super::Segment)> = None;
    for (i, (seq, folder)) in list.iter().enumerate() {
        let at = format!("segment {}", folder_name(*seq));
        if *seq != i as u64 + 1 {
            r.problems.push(format!("{at}: expected segment {}; a segment is missing", folder_name(i as u64 + 1)));
        }
        let t = Trust { allowed_signers: Some(&signers), identity: trust.identity };
        let pack = verify(folder, &t)?;
        r.problems.extend(pack.problems.iter().map(|p| format!("{at}: {p}")));
        for w in pack.warnings {
            if !r.warnings.contains(&w) {
                r.warnings.push(w);
            }
        }
        r.signers.extend(pack.signed_by);
        let sums_sha = std::fs::read(folder.join("SHA256SUMS")).map(|b| sums::hex_sha256(&b)).unwrap_or_default();
        let m = match read_manifest(folder) {
            Ok(m) => m,
            Err(e) => {
                r.problems.push(format!("{at}: {e}"));
                previous = None;
                continue;
            }
        };
        if m.seq != *seq {
            r.problems.push(format!(
                "{at}: its segment.json says it is segment {} (segments were renamed or reordered)",
                m.seq
            ));
        }
        if m.schema != super::SCHEMA {
            r.problems.push(format!(
                "{at}: ledger schema {} is not one this jmlproof reads ({})",
                m.schema,
                super::SCHEMA
            ));
        }
        match (&previous, &m.previous) {
            (None, None) if *seq == 1 => {}
            (Some((pseq, psha, _)), Some(link)) if link.seq == *pseq && &link.sums_sha256 == psha => {}
            (Some((pseq, _, _)), Some(link)) if link.seq == *pseq => r.problems.push(format!(
                "{at}: the segment {} it links to is not the one in the ledger (changed or replaced after it was chained)",
                folder_name(*pseq)
            )),
            (_, Some(link)) => r.problems.push(format!(
                "{at}: links to segment {}, which does not precede it (a segment was removed or the chain reordered)",
                folder_name(link.seq)
            )),
            (_, None) => r.problems.push(format!("{at}: links to no earlier segment, but is not the first")),
        }
        check_windows(&at, *seq, folder, &m, previous.as_ref().map(|p| &p.2), &mut seen, &mut r);
        r.segments += 1;
        r.head = Some(sums_sha.clone());
        previous = Some((*seq, sums_sha, m));
    }
    Ok(r)
}

fn check_windows(
    at: &str,
    seq: u64,
    folder: &Path,
    m: &super::Segment,
    prev: Option<&super::Segment>,
    seen: &mut HashMap<Source, HashMap<String, u64>>,
    r: &mut LedgerReport,
) {
    if let Some(p) = prev
        && m.created < p.created
    {
        r.problems.push(format!("{at}: created before the segment it follows"));
    }
    for w in &m.windows {
        if w.since > w.until || w.covers_from < w.since || w.covers_from > w.until {
            r.problems.push(format!("{at}: the {:?} window's bounds do not hold together", w.source));
        }
        match read_events(folder, w.source) {
            Ok(events) => {
                if events.len() != w.kept {
                    r.problems.push(format!(
                        "{at}: {} holds {} events, segment.json says {}",
                        w.file,
                        events.len(),
                        w.kept
                    ));
                }
                *r.events.entry(w.source).or_default() += events.len();
                let ids = seen.entry(w.source).or_default();
                for e in &events {
                    if let Some(id) = super::event_id(w.source, e)
                        && let Some(first) = ids.insert(id.to_string(), seq)
                    {
                        r.problems.push(format!("{at}: event {} is also in segment {}", clean(id), folder_name(first)));
                    }
                }
            }
            Err(e) => r.problems.push(format!("{at}: {e}")),
        }
        let before = prev.and_then(|p| p.windows.iter().find(|x| x.source == w.source));
        if let Some(b) = before {
            if w.until < b.until {
                r.problems.push(format!("{at}: the {:?} window ends before the previous one's", w.source));
            }
            if w.covers_from > b.until && w.gap.is_none() {
                r.problems.push(format!("{at}: the {:?} window leaves a gap it does not record", w.source));
            }
        }
        if let Some(g) = &w.gap {
            r.gaps.push((w.source, g.clone()));
        }
        let span = r.span.entry(w.source).or_insert((w.covers_from, w.until));
        span.1 = span.1.max(w.until);
    }
}

/// Whether the ledger's last segment holds on its own (files, signature if it has
/// one, against the ledger's allowed_signers): `collect` never chains onto one that
/// does not. None when it holds.
pub fn head_problem(dir: &Path, folder: &Path) -> Result<Option<String>, LedgerError> {
    let signers = dir.join("allowed_signers");
    let t = Trust { allowed_signers: Some(&signers), identity: None };
    let report = verify(folder, &t).map_err(|e| LedgerError::Invalid(e.0))?;
    Ok(report.problems.into_iter().find(|p| !p.starts_with("unsigned:")))
}
