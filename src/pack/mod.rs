//! The evidence pack: the record, its views, the raw responses, SHA256SUMS and its
//! SSH signature, written atomically (a temporary folder renamed into place), so an
//! interrupted write leaves no half pack. Layout in shared/DESIGN.md, "The pack".

pub mod agent;
pub mod allowed;
pub mod cmd;
pub mod sign;
pub mod sums;
pub mod verify;

use std::path::{Path, PathBuf};

use crate::config::Format;
use crate::evidence::record::Record;
use crate::report::{self, view::Signing};
pub use sign::Signer;

#[derive(Debug, thiserror::Error)]
pub enum PackError {
    #[error("{0}")]
    Key(String),
    #[error("signing: {0}")]
    Sign(String),
    #[error("{0}")]
    Io(String),
    #[error(transparent)]
    Report(#[from] report::ReportError),
}

/// Files by path inside the pack.
pub type Files = Vec<(String, Vec<u8>)>;

/// What goes into a pack besides the record.
pub struct Contents<'a> {
    /// Files under raw/ (path inside raw/, bytes), already in their final form.
    pub raw: Files,
    pub formats: &'a [Format],
    pub templates: Option<&'a Path>,
    pub signer: Option<&'a Signer>,
    /// The allowed_signers principal.
    pub principal: String,
}

pub struct Written {
    pub dir: PathBuf,
    pub signed: bool,
    pub warnings: Vec<String>,
}

/// The record as the pack stores it: pretty JSON with a final newline.
pub fn record_bytes(record: &Record) -> Vec<u8> {
    let mut bytes = serde_json::to_vec_pretty(record).unwrap_or_default();
    bytes.push(b'\n');
    bytes
}

/// Every file of the pack, in memory, by path; the same inputs give the same bytes.
pub fn build(record: &Record, c: &Contents) -> Result<(Files, Vec<String>), PackError> {
    let run_json = record_bytes(record);
    let record_sha = sums::hex_sha256(&run_json);
    let signing = match c.signer {
        Some(s) => Signing { signed: true, principal: c.principal.clone(), fingerprint: s.fingerprint() },
        None => Signing { signed: false, principal: c.principal.clone(), fingerprint: String::new() },
    };
    let raw_events = c.raw.iter().any(|(p, _)| p == "events.ndjson");
    let options = report::Options { formats: c.formats, templates: c.templates, signing: signing.clone(), raw_events };
    let rendered = report::render(record, &record_sha, &options)?;
    let mut files = vec![("run.json".to_string(), run_json)];
    files.extend(rendered.files);
    files.extend(c.raw.iter().map(|(p, b)| (format!("raw/{p}"), b.clone())));
    if let Some(s) = c.signer {
        files.push(("allowed_signers".into(), s.allowed_signers_line(&c.principal)?.into_bytes()));
    }
    files.push(("VERIFY.md".into(), verify_md(record, &signing, &record_sha).into_bytes()));
    let sums_text = sums::render(&files);
    if let Some(s) = c.signer {
        files.push(("SHA256SUMS.sig".into(), s.sign(sums_text.as_bytes())?.into_bytes()));
    }
    files.push(("SHA256SUMS".into(), sums_text.into_bytes()));
    Ok((files, rendered.warnings))
}

/// Writes the pack as `dest`, which must not exist: into a temporary sibling first,
/// every file synced, then one rename.
pub fn write(dest: &Path, record: &Record, c: &Contents) -> Result<Written, PackError> {
    if dest.exists() {
        return Err(PackError::Io(format!("{}: already exists; a pack is never overwritten", dest.display())));
    }
    let (files, warnings) = build(record, c)?;
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let io = |p: &Path, e: std::io::Error| PackError::Io(format!("{}: {e}", p.display()));
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let name = dest.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "pack".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = (|| -> Result<(), PackError> {
        std::fs::create_dir(&tmp).map_err(|e| io(&tmp, e))?;
        for (path, bytes) in &files {
            let p = tmp.join(path);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| io(d, e))?;
            }
            let mut f = std::fs::File::create(&p).map_err(|e| io(&p, e))?;
            std::io::Write::write_all(&mut f, bytes).map_err(|e| io(&p, e))?;
            f.sync_all().map_err(|e| io(&p, e))?;
        }
        std::fs::rename(&tmp, dest).map_err(|e| io(dest, e))?;
        // The rename is durable once the parent directory is synced.
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
        Ok(())
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result?;
    Ok(Written { dir: dest.to_path_buf(), signed: c.signer.is_some(), warnings })
}

fn verify_md(record: &Record, signing: &Signing, record_sha: &str) -> String {
    let who = if signing.signed {
        format!(
            "This pack was signed by **{}** with the Ed25519 key\n\n    {}\n\n\
             Check that fingerprint against one you obtained out of band (from the signer, \
             your key registry, or a previous pack you already trust). The `allowed_signers` \
             file in this pack holds the same key: it shows the pack is intact since it was \
             signed, but a key shipped inside the pack proves nothing about who signed it. \
             Put the key you trust in your own allowed_signers file and use that.\n",
            signing.principal, signing.fingerprint
        )
    } else {
        "**This pack is not signed.** No signing key was available when it was written, so \
         SHA256SUMS shows only whether files changed after that; nothing shows who wrote \
         them. Treat it as unsigned evidence.\n"
            .to_string()
    };
    format!(
        "# Verifying jmlproof {kind} {run}\n\n\
         Run these in this folder. Both must succeed.\n\n\
         1. Every file is as written (prints `OK` per file; any `FAILED` means a changed file):\n\n\
         \x20   sha256sum -c SHA256SUMS\n\n\
         \x20  `sha256sum -c` does not notice files added to the folder. This (bash) prints \
         nothing when the folder holds exactly the listed files, SHA256SUMS and its signature:\n\n\
         \x20   diff <(cut -c67- SHA256SUMS | sort) <(find . -type f ! -name SHA256SUMS ! -name SHA256SUMS.sig | sed 's|^\\./||' | sort)\n\n\
         \x20  `jmlproof verify` (below) reports missing, extra and modified files by name.\n\n\
         2. SHA256SUMS was signed by the key you trust (prints `Good \"jmlproof\" signature`):\n\n\
         \x20   ssh-keygen -Y verify -f /path/to/your/allowed_signers -I {principal} -n jmlproof -s SHA256SUMS.sig < SHA256SUMS\n\n\
         \x20  Your allowed_signers file has one line per trusted key:\n\n\
         \x20   {principal} namespaces=\"jmlproof\" ssh-ed25519 AAAA…\n\n\
         {who}\n\
         With jmlproof installed, one command does both and names every problem:\n\n\
         \x20   jmlproof verify . --allowed-signers /path/to/your/allowed_signers --identity {principal}\n\n\
         The record (run.json) has SHA-256 `{record_sha}`; report.pdf and index.html cite it, \
         since no file can contain its own digest.\n\n\
         Each event's raw body is one line of raw/events.ndjson; its SHA-256 in run.json is of \
         that line without the newline:\n\n\
         \x20   sed -n '5p' raw/events.ndjson | tr -d '\\n' | sha256sum\n",
        kind = record.kind,
        run = record.run_id,
        principal = signing.principal,
    )
}
