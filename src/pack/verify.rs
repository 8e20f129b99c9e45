//! `jmlproof verify PACK`: every hash recomputed, every missing, extra or modified
//! file named on its own line, and the signature checked against the allowed signers
//! the auditor supplies. It holds only if all of that holds.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

use chrono::Utc;
use ssh_key::{HashAlg, SshSig};

use super::allowed;
use super::sign::NAMESPACE;
use super::sums;

/// A name from the pack as it may be shown: control characters (a newline that would
/// fake a line of this report, a terminal escape) are escaped.
pub fn clean(s: &str) -> String {
    if s.chars().any(char::is_control) { format!("{s:?}") } else { s.to_string() }
}

/// Why a pack cannot be checked at all (exit 2), as opposed to a pack that fails.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct Unreadable(pub String);

#[derive(Debug, Default)]
pub struct Report {
    /// One line per problem: `missing: raw/okta.ndjson`, `modified: run.json`, …
    pub problems: Vec<String>,
    /// Things that hold but deserve a word (e.g. trusting the pack's own signers).
    pub warnings: Vec<String>,
    pub files: usize,
    /// `principal` and fingerprint, when the signature is good.
    pub signed_by: Option<(String, String)>,
}

impl Report {
    pub fn holds(&self) -> bool {
        self.problems.is_empty() && self.signed_by.is_some()
    }
}

/// Every regular file under `dir`, as pack paths; symlinks and other non-files are
/// problems (a pack is written with plain files only).
fn walk(dir: &Path, prefix: &str, found: &mut BTreeSet<String>, problems: &mut Vec<String>) -> Result<(), Unreadable> {
    let entries = std::fs::read_dir(dir).map_err(|e| Unreadable(format!("{}: {e}", dir.display())))?;
    for entry in entries {
        let entry = entry.map_err(|e| Unreadable(format!("{}: {e}", dir.display())))?;
        let name = entry.file_name().to_string_lossy().to_string();
        let path = if prefix.is_empty() { name.clone() } else { format!("{prefix}/{name}") };
        let kind = entry.file_type().map_err(|e| Unreadable(format!("{path}: {e}")))?;
        if kind.is_dir() {
            walk(&entry.path(), &path, found, problems)?;
        } else if kind.is_file() {
            found.insert(path);
        } else {
            // Listed or not, a symlink or device is never part of a pack.
            problems.push(format!("not a regular file: {}", clean(&path)));
        }
    }
    Ok(())
}

pub struct Trust<'a> {
    /// The auditor's allowed_signers; None means the pack's own (warned about).
    pub allowed_signers: Option<&'a Path>,
    pub identity: Option<&'a str>,
}

pub fn verify(pack: &Path, trust: &Trust) -> Result<Report, Unreadable> {
    let mut r = Report::default();
    if !pack.is_dir() {
        return Err(Unreadable(format!("{}: not a pack folder", pack.display())));
    }
    let sums_path = pack.join("SHA256SUMS");
    let sums_bytes = std::fs::read(&sums_path).map_err(|e| Unreadable(format!("{}: {e}", sums_path.display())))?;
    let mut listed = BTreeSet::new();
    match std::str::from_utf8(&sums_bytes).map_err(|_| "SHA256SUMS is not UTF-8".to_string()).and_then(sums::parse) {
        Err(e) => r.problems.push(format!("malformed: {e}")),
        Ok(entries) => {
            for (_, hash, path) in entries {
                if !listed.insert(path.clone()) {
                    r.problems.push(format!("listed twice: {}", clean(&path)));
                    continue;
                }
                let file = pack.join(&path);
                match std::fs::symlink_metadata(&file) {
                    Ok(m) if m.is_file() => match std::fs::read(&file) {
                        Ok(bytes) if sums::hex_sha256(&bytes) == hash => r.files += 1,
                        Ok(_) => r.problems.push(format!("modified: {}", clean(&path))),
                        Err(e) => r.problems.push(format!("unreadable: {}: {e}", clean(&path))),
                    },
                    Ok(_) => r.problems.push(format!("not a regular file: {}", clean(&path))),
                    Err(_) => r.problems.push(format!("missing: {}", clean(&path))),
                }
            }
        }
    }
    let mut found = BTreeSet::new();
    walk(pack, "", &mut found, &mut r.problems)?;
    for path in found.difference(&listed) {
        if path != "SHA256SUMS" && path != "SHA256SUMS.sig" {
            r.problems.push(format!("extra: {}", clean(path)));
        }
    }
    events(pack, &mut r);
    signature(pack, &sums_bytes, trust, &mut r)?;
    // A listed symlink is met twice (as listed, and walking the folder): say it once.
    let mut seen = BTreeSet::new();
    r.problems.retain(|p| seen.insert(p.clone()));
    Ok(r)
}

/// Each event's hash in run.json against its body in raw/events.ndjson (line N for
/// events[N-1]): both files are listed in SHA256SUMS, so a mismatch means the pack was
/// made inconsistent before it was signed.
fn events(pack: &Path, r: &mut Report) {
    let (Ok(record), Ok(raw)) = (std::fs::read(pack.join("run.json")), std::fs::read(pack.join("raw/events.ndjson")))
    else {
        return;
    };
    let Ok(record) = serde_json::from_slice::<crate::evidence::record::Record>(&record) else {
        r.problems.push("run.json: not a jmlproof record".into());
        return;
    };
    let lines: Vec<&[u8]> = raw.strip_suffix(b"\n").unwrap_or(&raw).split(|b| *b == b'\n').collect();
    if lines.len() != record.events.len() {
        r.problems.push(format!(
            "raw/events.ndjson: {} lines for {} events in run.json",
            lines.len(),
            record.events.len()
        ));
    }
    for (i, (e, line)) in record.events.iter().zip(&lines).enumerate() {
        if sums::hex_sha256(line) != e.sha256 {
            r.problems.push(format!("raw/events.ndjson line {}: not the body of event {} in run.json", i + 1, e.id));
        }
    }
}

fn signature(pack: &Path, sums_bytes: &[u8], trust: &Trust, r: &mut Report) -> Result<(), Unreadable> {
    let sig_path = pack.join("SHA256SUMS.sig");
    let Ok(pem) = std::fs::read(&sig_path) else {
        r.problems.push("unsigned: SHA256SUMS.sig is missing".into());
        return Ok(());
    };
    let sig = match SshSig::from_pem(&pem) {
        Ok(s) => s,
        Err(e) => {
            r.problems.push(format!("signature: SHA256SUMS.sig is not an SSH signature ({e})"));
            return Ok(());
        }
    };
    let signers_path: PathBuf = match trust.allowed_signers {
        Some(p) => p.to_path_buf(),
        None => {
            r.warnings.push(
                "trusting the pack's own allowed_signers: this shows the pack is intact since signing, not who signed it; pass --allowed-signers with a file obtained out of band".into(),
            );
            pack.join("allowed_signers")
        }
    };
    let text =
        std::fs::read_to_string(&signers_path).map_err(|e| Unreadable(format!("{}: {e}", signers_path.display())))?;
    let shown_path = signers_path.display().to_string();
    let (entries, skipped) = allowed::parse(&text, &shown_path);
    r.warnings.extend(skipped);
    let now = Utc::now();
    let fingerprint = ssh_key::PublicKey::from(sig.public_key().clone()).fingerprint(HashAlg::Sha256).to_string();
    if sig.namespace() != NAMESPACE {
        r.problems.push(format!("signature: namespace {:?}, expected {NAMESPACE:?}", clean(sig.namespace())));
        return Ok(());
    }
    let candidates: Vec<&allowed::Entry> = entries
        .iter()
        .filter(|e| e.key.key_data() == sig.public_key())
        .filter(|e| trust.identity.is_none_or(|id| e.names(id)))
        .collect();
    let Some(first) = candidates.first() else {
        let who = trust.identity.map(|i| format!(" for {i}")).unwrap_or_default();
        r.problems.push(format!("signature: key {fingerprint} is not in {shown_path}{who}"));
        return Ok(());
    };
    if first.key.verify(NAMESPACE, sums_bytes, &sig).is_err() {
        r.problems.push("signature: does not match SHA256SUMS".into());
        return Ok(());
    }
    // As ssh-keygen: any line naming this key that allows the namespace now will do.
    let Some(entry) = candidates.iter().find(|e| e.allows_namespace(NAMESPACE) && e.valid_at(now)) else {
        let lines: Vec<String> = candidates.iter().map(|e| e.line.to_string()).collect();
        r.problems.push(format!(
            "signature: {shown_path} line(s) {} name the key but do not allow namespace {NAMESPACE} now",
            lines.join(", ")
        ));
        return Ok(());
    };
    let principal = match trust.identity {
        Some(id) => id.to_string(),
        None => {
            let p = entry.principals.join(",");
            if trust.allowed_signers.is_some() {
                r.warnings.push(format!(
                    "no --identity: the signer is taken to be {p}, whom {shown_path} gives this key; pass --identity to require one"
                ));
            }
            p
        }
    };
    r.signed_by = Some((principal, fingerprint));
    Ok(())
}
