//! Every secret of a real run (the sandbox's Okta token, Entra client secret and AWS
//! secret key, and the signing key's passphrase) is a canary: none may appear in
//! stdout, stderr (JSON progress, the most verbose there is), the journal, any file of
//! the pack, or the process's argv and environment while it runs.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

mod common;
use common::cli::{bin, scratch, shown, spawn_sandbox};

/// Every file under `dir`, as (path, bytes).
fn every_file(dir: &Path, out: &mut Vec<(String, Vec<u8>)>) {
    let Ok(entries) = std::fs::read_dir(dir) else { return };
    for e in entries.map(Result::unwrap) {
        let p = e.path();
        if p.is_dir() {
            every_file(&p, out);
        } else {
            out.push((p.display().to_string(), std::fs::read(&p).unwrap()));
        }
    }
}

fn contains(hay: &[u8], needle: &str) -> bool {
    hay.windows(needle.len()).any(|w| w == needle.as_bytes())
}

#[test]
fn no_secret_reaches_output_journal_pack_argv_or_environment() {
    let dir = scratch("secret-hygiene");
    let config = dir.join("jmlproof.toml");
    let (mut sandbox, endpoints) = spawn_sandbox(&[], &config);
    // [test] is the config's last table: a short watch after each change.
    let mut text = std::fs::read_to_string(&config).unwrap();
    assert!(text.trim_end().ends_with("max_users = 10"), "{text}");
    text.push_str("grace = \"20s\"\naudit_wait = \"5s\"\n");
    std::fs::write(&config, text).unwrap();
    let passphrase = "canary-passphrase-7c41a9";
    std::fs::write(dir.join("passphrase"), passphrase).unwrap();
    let key = dir.join("signing_key");
    let o = bin()
        .args(["keygen", "--path"])
        .arg(&key)
        .args(["--passphrase", &format!("file:{}", dir.join("passphrase").display())])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", shown(&o));
    let secrets: Vec<(&str, String)> = vec![
        ("okta token", endpoints["okta_token"].as_str().unwrap().to_string()),
        ("entra client secret", endpoints["client_secret"].as_str().unwrap().to_string()),
        ("aws secret key", endpoints["aws_secret_access_key"].as_str().unwrap().to_string()),
        ("signing passphrase", passphrase.to_string()),
    ];
    assert!(secrets.iter().all(|(_, s)| s.len() >= 16), "distinctive values");

    let child = bin()
        .args(["run", "--config"])
        .arg(&config)
        .args(["--out", "evidence", "--log-format", "json", "--signing-key"])
        .arg(format!("file:{}", key.display()))
        .arg("--signing-passphrase")
        .arg(format!("file:{}", dir.join("passphrase").display()))
        .env("AWS_SHARED_CREDENTIALS_FILE", dir.join(".jmlproof-sandbox/aws_credentials"))
        .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .current_dir(&dir)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // While it runs: its argv and environment, as any local user or a crash dump sees them.
    let proc_dir = std::path::PathBuf::from(format!("/proc/{}", child.id()));
    let mut seen_live = Vec::new();
    for _ in 0..20 {
        for f in ["cmdline", "environ"] {
            if let Ok(b) = std::fs::read(proc_dir.join(f)) {
                seen_live.push((format!("/proc/…/{f}"), b));
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    let out = child.wait_with_output().unwrap();
    assert!(out.status.code() == Some(0), "{}", shown(&out));
    assert!(!seen_live.is_empty(), "the process was observed while it ran");

    let mut places: Vec<(String, Vec<u8>)> =
        vec![("stdout".into(), out.stdout.clone()), ("stderr".into(), out.stderr.clone())];
    places.extend(seen_live);
    every_file(&dir.join("evidence"), &mut places);
    every_file(&dir.join(".jmlproof/journal"), &mut places);
    assert!(places.iter().any(|(p, _)| p.ends_with("raw/okta.ndjson")), "the pack's raw responses were searched");
    assert!(places.iter().any(|(p, _)| p.contains("journal")), "the journal was searched");
    for (what, value) in &secrets {
        for (place, bytes) in &places {
            assert!(!contains(bytes, value), "the {what} appears in {place}");
        }
    }
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
