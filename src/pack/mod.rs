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

/// A file under raw/, already in its final form: in memory, or on disk (the raw
/// log's spool, the raw/ of a pack being re-rendered) and then streamed, never read
/// whole, so a large tenant's responses need not fit in memory.
#[derive(Debug, Clone)]
pub enum RawFile {
    Mem(String, Vec<u8>),
    Disk(String, PathBuf),
}

impl RawFile {
    /// The path inside raw/.
    pub fn name(&self) -> &str {
        match self {
            RawFile::Mem(n, _) | RawFile::Disk(n, _) => n,
        }
    }
}

/// What goes into a pack besides the record.
pub struct Contents<'a> {
    /// Files under raw/.
    pub raw: Vec<RawFile>,
    pub formats: &'a [Format],
    pub templates: Option<&'a Path>,
    pub signer: Option<&'a Signer>,
    /// The allowed_signers principal.
    pub principal: String,
}

pub struct Written {
    pub dir: PathBuf,
    /// The signing key's fingerprint; None for an unsigned pack.
    pub signed_by: Option<String>,
    pub warnings: Vec<String>,
}

/// The record as the pack stores it: pretty JSON with a final newline.
pub fn record_bytes(record: &Record) -> Result<Vec<u8>, PackError> {
    let mut bytes = serde_json::to_vec_pretty(record).map_err(|e| PackError::Io(format!("run.json: {e}")))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// SHA256SUMS over the pack's own files and the raw/ files' hashes (`raw/<name>`, hex).
fn sums_of(files: &Files, raw: &[(String, String)]) -> String {
    sums::render_hashed(
        files
            .iter()
            .map(|(p, b)| (p.clone(), sums::hex_sha256(b)))
            .chain(raw.iter().map(|(p, h)| (p.clone(), h.clone()))),
    )
}

/// The raw/ files' hashes, read from where they are (in memory, or streamed from disk).
fn raw_hashes(raw: &[RawFile]) -> Result<Vec<(String, String)>, PackError> {
    raw.iter()
        .map(|f| {
            let hash = match f {
                RawFile::Mem(_, b) => sums::hex_sha256(b),
                RawFile::Disk(_, p) => {
                    let file = std::fs::File::open(p).map_err(|e| PackError::Io(format!("{}: {e}", p.display())))?;
                    sums::hash_reader(file, std::io::sink())
                        .map_err(|e| PackError::Io(format!("{}: {e}", p.display())))?
                }
            };
            Ok((format!("raw/{}", f.name()), hash))
        })
        .collect()
}

/// Every file of the pack but raw/ (which `Contents` holds), in memory, by path; the
/// same inputs give the same bytes.
pub fn build(record: &Record, c: &Contents) -> Result<(Files, Vec<String>), PackError> {
    build_with(record, c, &raw_hashes(&c.raw)?)
}

/// `build`, with the raw/ files' hashes already known (taken as they were written).
fn build_with(record: &Record, c: &Contents, raw_sums: &[(String, String)]) -> Result<(Files, Vec<String>), PackError> {
    let run_json = record_bytes(record)?;
    let record_sha = sums::hex_sha256(&run_json);
    let signing = match c.signer {
        Some(s) => Signing { signed: true, principal: c.principal.clone(), fingerprint: s.fingerprint() },
        None => Signing { signed: false, principal: c.principal.clone(), fingerprint: String::new() },
    };
    let raw_events = c.raw.iter().any(|f| f.name() == "events.ndjson");
    let options = report::Options { formats: c.formats, templates: c.templates, signing: signing.clone(), raw_events };
    let rendered = report::render(record, &record_sha, &options)?;
    let mut files = vec![("run.json".to_string(), run_json)];
    files.extend(rendered.files);
    if let Some(s) = c.signer {
        files.push(("allowed_signers".into(), s.allowed_signers_line(&c.principal)?.into_bytes()));
    }
    files.push(("VERIFY.md".into(), verify_md(record, &signing, &record_sha).into_bytes()));
    let sums_text = sums_of(&files, raw_sums);
    if let Some(s) = c.signer {
        files.push(("SHA256SUMS.sig".into(), s.sign(sums_text.as_bytes())?.into_bytes()));
    }
    files.push(("SHA256SUMS".into(), sums_text.into_bytes()));
    Ok((files, rendered.warnings))
}

/// Renders an empty record with the formats and templates a command will use, so a
/// broken template override fails before a tenant is touched, not after.
pub fn preflight(formats: &[Format], templates: Option<&Path>) -> Result<(), PackError> {
    let record = Record::new("run", "preflight", "preflight", chrono::DateTime::UNIX_EPOCH);
    let options = report::Options { formats, templates, signing: Signing::default(), raw_events: false };
    report::render(&record, "", &options)?;
    Ok(())
}

/// The last resort when the pack cannot be written after a run: the record and the
/// raw responses alone, with their SHA256SUMS, so the evidence of a run that touched a
/// tenant is never lost. `jmlproof render` makes the pack from it later.
pub fn write_bare(dest: &Path, record: &Record, raw: &[RawFile]) -> Result<Written, PackError> {
    let run_json = record_bytes(record)?;
    place(dest, raw, |raw_sums| {
        let mut files = vec![("run.json".to_string(), run_json)];
        let sums_text = sums_of(&files, raw_sums);
        files.push(("SHA256SUMS".into(), sums_text.into_bytes()));
        Ok((files, Vec::new()))
    })?;
    Ok(Written { dir: dest.to_path_buf(), signed_by: None, warnings: Vec::new() })
}

/// Writes a new folder `dest` holding `files` (a ledger segment), the same way as a
/// pack: a temporary sibling, every file synced, one rename that never replaces.
pub fn write_folder(dest: &Path, files: Files) -> Result<(), PackError> {
    place(dest, &[], |_| Ok((files, Vec::new())))?;
    Ok(())
}

/// Writes the pack as `dest`, which must not exist: into a temporary sibling first,
/// every file synced, then one rename.
pub fn write(dest: &Path, record: &Record, c: &Contents) -> Result<Written, PackError> {
    let warnings = place(dest, &c.raw, |raw_sums| build_with(record, c, raw_sums))?;
    Ok(Written { dir: dest.to_path_buf(), signed_by: c.signer.map(Signer::fingerprint), warnings })
}

/// Makes a new folder `dest` through a temporary sibling and one rename: the raw/
/// files are copied in first, hashed as they are written (so SHA256SUMS holds the
/// hash of exactly what is in the pack), then `files` (given those hashes) makes the
/// rest.
fn place(
    dest: &Path,
    raw: &[RawFile],
    files: impl FnOnce(&[(String, String)]) -> Result<(Files, Vec<String>), PackError>,
) -> Result<Vec<String>, PackError> {
    if dest.exists() {
        return Err(PackError::Io(format!("{}: already exists; a pack is never overwritten", dest.display())));
    }
    let parent = dest.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let io = |p: &Path, e: std::io::Error| PackError::Io(format!("{}: {e}", p.display()));
    std::fs::create_dir_all(parent).map_err(|e| io(parent, e))?;
    let name = dest.file_name().map(|n| n.to_string_lossy().to_string()).unwrap_or_else(|| "pack".into());
    let tmp = parent.join(format!(".{name}.tmp-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&tmp);
    let result = (|| -> Result<Vec<String>, PackError> {
        std::fs::create_dir(&tmp).map_err(|e| io(&tmp, e))?;
        let create = |path: &str| -> Result<(PathBuf, std::fs::File), PackError> {
            let p = tmp.join(path);
            if let Some(d) = p.parent() {
                std::fs::create_dir_all(d).map_err(|e| io(d, e))?;
            }
            let f = std::fs::File::create(&p).map_err(|e| io(&p, e))?;
            Ok((p, f))
        };
        let mut raw_sums = Vec::new();
        for r in raw {
            let path = format!("raw/{}", r.name());
            let (p, mut f) = create(&path)?;
            let hash = match r {
                RawFile::Mem(_, bytes) => {
                    std::io::Write::write_all(&mut f, bytes).map_err(|e| io(&p, e))?;
                    sums::hex_sha256(bytes)
                }
                RawFile::Disk(_, from) => {
                    let src = std::fs::File::open(from).map_err(|e| io(from, e))?;
                    sums::hash_reader(src, &mut f).map_err(|e| io(&p, e))?
                }
            };
            f.sync_all().map_err(|e| io(&p, e))?;
            raw_sums.push((path, hash));
        }
        let (files, warnings) = files(&raw_sums)?;
        for (path, bytes) in &files {
            let (p, mut f) = create(path)?;
            std::io::Write::write_all(&mut f, bytes).map_err(|e| io(&p, e))?;
            f.sync_all().map_err(|e| io(&p, e))?;
        }
        for d in [tmp.join("raw"), tmp.clone()] {
            if let Ok(f) = std::fs::File::open(&d) {
                let _ = f.sync_all();
            }
        }
        rename_new(&tmp, dest).map_err(|e| io(dest, e))?;
        // The rename is durable once the parent directory is synced.
        if let Ok(d) = std::fs::File::open(parent) {
            let _ = d.sync_all();
        }
        Ok(warnings)
    })();
    if result.is_err() {
        let _ = std::fs::remove_dir_all(&tmp);
    }
    result
}

/// Renames a folder into place, refusing to replace anything already there (plain
/// rename would silently replace an empty folder that appeared since the check).
#[cfg(target_os = "linux")]
fn rename_new(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::InvalidInput, "a NUL in the path"))
    };
    let (a, b) = (c(from)?, c(to)?);
    // SAFETY: both are valid NUL-terminated paths that outlive the call.
    let rc = unsafe { libc::renameat2(libc::AT_FDCWD, a.as_ptr(), libc::AT_FDCWD, b.as_ptr(), libc::RENAME_NOREPLACE) };
    if rc == 0 {
        return Ok(());
    }
    let e = std::io::Error::last_os_error();
    match e.raw_os_error() {
        // Filesystems (or kernels) without RENAME_NOREPLACE: the check-then-rename.
        Some(libc::EINVAL) | Some(libc::ENOSYS) => rename_checked(from, to),
        _ => Err(e),
    }
}

#[cfg(not(target_os = "linux"))]
fn rename_new(from: &Path, to: &Path) -> std::io::Result<()> {
    rename_checked(from, to)
}

fn rename_checked(from: &Path, to: &Path) -> std::io::Result<()> {
    if to.exists() {
        return Err(std::io::Error::new(std::io::ErrorKind::AlreadyExists, "already exists"));
    }
    std::fs::rename(from, to)
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
