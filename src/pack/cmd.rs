//! The pack's commands (`verify`, `render`, `keygen`) and the signing options every
//! pack-writing command shares.

use std::path::{Path, PathBuf};

use anyhow::{Context, bail};

use super::verify::{Trust, verify};
use super::{Contents, Signer};
use crate::config::{EvidenceConfig, Format};
use crate::evidence::record::Record;
use crate::exit::Outcome;
use crate::secret::SecretRef;

/// Signing options of every command that writes a pack.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct SigningArgs {
    /// The Ed25519 OpenSSH private key that signs the pack, as a secret reference
    /// (env:NAME, file:PATH, cmd:COMMAND); a public key means "held by ssh-agent".
    /// Default: [evidence] signing_key, else the first Ed25519 key of ssh-agent.
    #[arg(long, value_name = "REF", value_parser = crate::secret::ClapParser)]
    pub signing_key: Option<SecretRef>,
    /// The key's passphrase, as a secret reference. Default: [evidence] signing_passphrase.
    #[arg(long, value_name = "REF", value_parser = crate::secret::ClapParser)]
    pub signing_passphrase: Option<SecretRef>,
    /// The principal written in allowed_signers. Default: [evidence] signer, else the key's comment.
    #[arg(long)]
    pub signer: Option<String>,
    /// Write the pack unsigned even if a key is available (it says so on its first page).
    #[arg(long, conflicts_with = "signing_key")]
    pub unsigned: bool,
}

/// A principal as allowed_signers and `ssh-keygen -I` take it: one word, no quotes or
/// commas (which would split it into several principals).
fn valid_principal(p: &str) -> bool {
    !p.is_empty() && !p.contains(|c: char| c.is_whitespace() || c.is_control() || matches!(c, '"' | ',' | '\''))
}

/// Resolves the signer before anything is run, so a bad key stops the command
/// before it touches a tenant. `Ok(None)`: no key anywhere (the pack says so).
pub fn signer(args: &SigningArgs, cfg: Option<&EvidenceConfig>) -> anyhow::Result<(Option<Signer>, String)> {
    let key = args.signing_key.as_ref().or(cfg.and_then(|c| c.signing_key.as_ref()));
    let pass = args.signing_passphrase.as_ref().or(cfg.and_then(|c| c.signing_passphrase.as_ref()));
    let signer = if args.unsigned {
        None
    } else {
        match key {
            Some(k) => Some(Signer::from_ref(k, pass)?),
            // Only a key that was asked for stops the command; a broken agent found by
            // looking means "no key", said out loud.
            None => Signer::from_agent().unwrap_or_else(|e| {
                eprintln!("jmlproof: warning: {e}; the pack will be unsigned");
                None
            }),
        }
    };
    let explicit = args
        .signer
        .clone()
        .map(|p| ("--signer", p))
        .or(cfg.and_then(|c| c.signer.clone()).map(|p| ("[evidence] signer", p)));
    let principal = match explicit {
        Some((what, p)) if !valid_principal(&p) => {
            bail!("{what}: {p:?} is not a principal (one word: no spaces, commas or quotes)")
        }
        Some((_, p)) => p,
        None => {
            signer.as_ref().map(Signer::comment).filter(|c| valid_principal(c)).unwrap_or_else(|| "jmlproof".into())
        }
    };
    if let Some(s) = &signer {
        // A test signature, checked: an agent that signs wrongly or not at all is found
        // now, not after the run.
        s.sign(b"jmlproof preflight")?;
    }
    Ok((signer, principal))
}

/// The closing lines every pack-writing command prints.
pub fn announce(written: &super::Written) {
    for w in &written.warnings {
        eprintln!("jmlproof: warning: {w}");
    }
    match &written.signed_by {
        Some(fp) => eprintln!("jmlproof: pack signed with ED25519 key {fp}"),
        None => eprintln!(
            "jmlproof: warning: the pack is UNSIGNED (no --signing-key, no [evidence] signing_key, no Ed25519 key in ssh-agent)"
        ),
    }
}

/// Where and how a command's pack is written.
pub struct Output<'a> {
    pub out: &'a Path,
    pub evidence: &'a EvidenceConfig,
    pub signer: Option<&'a Signer>,
    pub principal: String,
}

/// Writes a read-only command's pack (`attest`, `reconcile`) with its raw responses,
/// after its terminal summary (None with --quiet), says where, and maps the record to
/// the outcome.
pub fn write_record(
    record: &Record,
    raw: &crate::raw::RawLog,
    o: Output,
    summary: Option<String>,
) -> anyhow::Result<Outcome> {
    if let Some(text) = summary {
        print!("{text}");
    }
    let contents = Contents {
        raw: raw.pack_files(&record.events)?,
        formats: &o.evidence.formats,
        templates: o.evidence.templates.as_deref(),
        signer: o.signer,
        principal: o.principal,
    };
    let written = super::write(&o.out.join(crate::scenario::cmd::pack_name(record)), record, &contents)?;
    announce(&written);
    println!("evidence: {}", written.dir.display());
    Ok(crate::exit::of_record(record))
}

#[derive(Debug, clap::Args)]
pub struct VerifyArgs {
    /// The pack folder.
    #[arg(required_unless_present = "ledger", conflicts_with = "ledger")]
    pub pack: Option<PathBuf>,
    /// Check a ledger folder instead: every segment, the chain, and the gaps.
    #[arg(long)]
    pub ledger: Option<PathBuf>,
    /// Your allowed_signers file (the trust anchor, obtained out of band). Without it
    /// the pack's own copy is used, which only shows the pack is intact.
    #[arg(long)]
    pub allowed_signers: Option<PathBuf>,
    /// The principal the signature must belong to.
    #[arg(long)]
    pub identity: Option<String>,
}

pub fn verify_main(args: &VerifyArgs) -> anyhow::Result<Outcome> {
    let trust = Trust { allowed_signers: args.allowed_signers.as_deref(), identity: args.identity.as_deref() };
    let pack = match (&args.pack, &args.ledger) {
        (_, Some(ledger)) => return crate::ledger::cmd::verify_main(ledger, &trust),
        (Some(p), None) => p,
        (None, None) => anyhow::bail!("verify: name a pack folder, or a ledger with --ledger"),
    };
    let report = verify(pack, &trust)?;
    for w in &report.warnings {
        eprintln!("warning: {w}");
    }
    for p in &report.problems {
        println!("{p}");
    }
    if report.holds() {
        let (who, fp) = report.signed_by.clone().unwrap_or_default();
        println!("verify: OK: {} files as listed, signature good for {who} with ED25519 key {fp}", report.files);
        Ok(Outcome::Pass)
    } else {
        println!("verify: FAILED: {} problem(s)", report.problems.len().max(1));
        Ok(Outcome::Findings)
    }
}

#[derive(Debug, clap::Args)]
pub struct RenderArgs {
    /// The record (run.json). A raw/ folder beside it is carried into the new pack.
    pub record: PathBuf,
    /// The pack folder to write; it must not exist.
    #[arg(long)]
    pub out: PathBuf,
    /// Formats besides run.json and raw/ (comma-separated): html, pdf, csv, json, junit.
    #[arg(long, value_delimiter = ',', default_value = "html,pdf,csv,json")]
    pub formats: Vec<String>,
    /// A directory of templates (index.html, style.css) replacing the embedded ones.
    #[arg(long)]
    pub templates: Option<PathBuf>,
    #[command(flatten)]
    pub signing: SigningArgs,
}

pub fn parse_formats(list: &[String]) -> anyhow::Result<Vec<Format>> {
    list.iter()
        .map(|f| {
            Format::ALL.iter().copied().find(|k| k.as_str() == f).with_context(|| {
                let names: Vec<&str> = Format::ALL.iter().map(|k| k.as_str()).collect();
                format!("--formats: unknown format {f:?} (expected {})", names.join(", "))
            })
        })
        .collect()
}

/// The raw/ files of a pack folder, for carrying them into a re-rendered pack
/// (streamed from where they are when the pack is written, not read here).
pub fn read_raw(dir: &Path) -> anyhow::Result<Vec<super::RawFile>> {
    let mut out = Vec::new();
    if !dir.is_dir() {
        return Ok(out);
    }
    let mut names: Vec<_> = std::fs::read_dir(dir)
        .with_context(|| format!("cannot read {}", dir.display()))?
        .filter_map(Result::ok)
        .filter(|e| e.file_type().is_ok_and(|t| t.is_file()))
        .map(|e| e.file_name().to_string_lossy().to_string())
        .collect();
    names.sort();
    for n in names {
        let p = dir.join(&n);
        out.push(super::RawFile::Disk(n, p));
    }
    Ok(out)
}

pub fn render_main(args: &RenderArgs) -> anyhow::Result<Outcome> {
    let formats = parse_formats(&args.formats)?;
    let text =
        std::fs::read_to_string(&args.record).with_context(|| format!("cannot read {}", args.record.display()))?;
    let record: Record = serde_json::from_str(&text).map_err(|e| {
        anyhow::anyhow!("{}:{}:{}: not a jmlproof record: {e}", args.record.display(), e.line(), e.column())
    })?;
    if record.schema_version != crate::evidence::record::SCHEMA_VERSION {
        bail!(
            "{}: record schema {} is not one this jmlproof renders ({})",
            args.record.display(),
            record.schema_version,
            crate::evidence::record::SCHEMA_VERSION
        );
    }
    let (signer, principal) = signer(&args.signing, None)?;
    let raw = read_raw(&args.record.parent().unwrap_or(Path::new(".")).join("raw"))?;
    let contents =
        Contents { raw, formats: &formats, templates: args.templates.as_deref(), signer: signer.as_ref(), principal };
    let written = super::write(&args.out, &record, &contents)?;
    announce(&written);
    println!("pack: {}", written.dir.display());
    Ok(crate::exit::of_record(&record))
}

#[derive(Debug, clap::Args)]
pub struct KeygenArgs {
    /// Where to write the private key (the public key goes to PATH.pub).
    #[arg(long, default_value = "jmlproof_signing_key")]
    pub path: PathBuf,
    /// The key's comment, used as the allowed_signers principal (e.g. an email address).
    #[arg(long, default_value = "jmlproof")]
    pub comment: String,
    /// Protect the key with this passphrase (a secret reference).
    #[arg(long, value_name = "REF", value_parser = crate::secret::ClapParser)]
    pub passphrase: Option<SecretRef>,
}

pub fn keygen_main(args: &KeygenArgs) -> anyhow::Result<Outcome> {
    let public = super::sign::keygen(&args.path, &args.comment, args.passphrase.as_ref())?;
    let fp = public.fingerprint(ssh_key::HashAlg::Sha256);
    let line = public.to_openssh().map_err(|e| anyhow::anyhow!("{e}"))?;
    println!("private key: {} (mode 0600)", args.path.display());
    println!("fingerprint: {fp}");
    println!("give auditors this allowed_signers line, out of band:");
    let key = line.split_whitespace().take(2).collect::<Vec<_>>().join(" ");
    println!("{} namespaces=\"jmlproof\" {key}", args.comment);
    Ok(Outcome::Pass)
}
