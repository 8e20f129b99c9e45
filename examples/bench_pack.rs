//! Benchmark (not a test): render and sign the pack of a 1,000-subject record (the
//! synthetic record of the tests: 11 checks and 3 events per subject). Prints the
//! time of each view, of hashing and signing, of the atomic write, and the sizes.
//!
//! Run with `scripts/bench.sh pack` (or `cargo run --release --example bench_pack`).

use std::time::Instant;

use jmlproof::config::Format;
use jmlproof::pack::{self, Contents, Signer};
use jmlproof::report::{self, view::Signing};

#[path = "../tests/common/synthetic.rs"]
mod synthetic;

const SUBJECTS: usize = 1000;

fn main() -> anyhow::Result<()> {
    let record = synthetic::record(SUBJECTS, 1);
    let key = ssh_key::PrivateKey::random(&mut ssh_key::rand_core::OsRng, ssh_key::Algorithm::Ed25519)?;
    let signer = Signer::Key(Box::new(key));
    let formats = [Format::Html, Format::Pdf, Format::Csv, Format::Json, Format::Junit];
    let sha = pack::sums::hex_sha256(&pack::record_bytes(&record)?);
    let signing = Signing { signed: true, principal: "bench".into(), fingerprint: signer.fingerprint() };
    println!("record: {SUBJECTS} subjects, {} checks, {} events", record.verdicts.len(), record.events.len());
    for (name, format) in [("html", Format::Html), ("pdf", Format::Pdf), ("csv", Format::Csv), ("junit", Format::Junit)]
    {
        let t = Instant::now();
        let options =
            report::Options { formats: &[format], templates: None, signing: signing.clone(), raw_events: false };
        let out = report::render(&record, &sha, &options)?;
        let bytes: usize = out.files.iter().map(|(_, b)| b.len()).sum();
        println!("{name:>6}: {:>7.0} ms  {:>10} bytes", t.elapsed().as_secs_f64() * 1000.0, bytes);
    }
    let dir = std::env::temp_dir().join(format!("jmlproof-bench-pack-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let contents = Contents {
        raw: Vec::new(),
        formats: &formats,
        templates: None,
        signer: Some(&signer),
        principal: "bench".into(),
    };
    let t = Instant::now();
    let written = pack::write(&dir, &record, &contents)?;
    let whole = t.elapsed();
    let size = |n: &str| std::fs::metadata(written.dir.join(n)).map(|m| m.len()).unwrap_or(0);
    println!(
        "whole pack (render all, hash, sign, write atomically): {:.0} ms; report.pdf {} bytes ({} pages), index.html {} bytes, run.json {} bytes",
        whole.as_secs_f64() * 1000.0,
        size("report.pdf"),
        std::fs::read(written.dir.join("report.pdf"))
            .map(|b| count(&b, b"/Type/Page") - count(&b, b"/Type/Pages"))
            .unwrap_or(0),
        size("index.html"),
        size("run.json"),
    );
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn count(hay: &[u8], needle: &[u8]) -> usize {
    hay.windows(needle.len()).filter(|w| *w == needle).count()
}
