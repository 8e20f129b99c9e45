//! `jmlproof sandbox` as a process: one JSON line with every endpoint and credential,
//! a config it writes that loads, a clean stop on SIGTERM, and bad input refused with
//! one line and exit 2.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

use serde_json::Value;

const KEYS: &[&str] = &[
    "okta_url",
    "okta_token",
    "graph_url",
    "login_url",
    "tenant_id",
    "client_id",
    "client_secret",
    "aws_endpoint",
    "aws_region",
    "aws_access_key_id",
    "aws_secret_access_key",
    "identity_store_id",
    "instance_arn",
    "admin_url",
];

fn scratch(name: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("jmlproof-cli-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

#[test]
fn prints_endpoints_writes_a_loadable_config_and_stops_on_sigterm() {
    let dir = scratch("serve");
    let config = dir.join("jmlproof.toml");
    let mut child = Command::new(env!("CARGO_BIN_EXE_jmlproof"))
        .args(["sandbox", "--write-config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let v: Value = serde_json::from_str(&line).expect("one JSON line");
    for k in KEYS {
        assert!(v[k].as_str().is_some_and(|s| !s.is_empty()), "key {k}");
    }
    for k in ["okta_url", "graph_url", "login_url", "aws_endpoint", "admin_url"] {
        assert!(v[k].as_str().unwrap().starts_with("http://127.0.0.1:"), "{k} is loopback");
    }

    // The written config loads, and holds references, not the secrets.
    let cfg = jmlproof::config::load(&config).expect("sandbox config loads");
    let text = std::fs::read_to_string(&config).unwrap();
    for secret in ["okta_token", "client_secret", "aws_secret_access_key"] {
        assert!(!text.contains(v[secret].as_str().unwrap()), "{secret} must not be in the config");
    }
    let dbg = format!("{cfg:?}");
    assert!(!dbg.contains(v["okta_token"].as_str().unwrap()));
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(dir.join(".jmlproof-sandbox/okta_token")).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "secret files are private");
    }

    // It answers, then stops cleanly on SIGTERM.
    let counts: Value =
        serde_json::from_str(&http_get(&format!("{}/counts", v["admin_url"].as_str().unwrap()))).unwrap();
    assert_eq!(counts["pending_jobs"], 0);
    let status = Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(0), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A bare HTTP/1.0 GET over a loopback socket (the test needs no async runtime).
fn http_get(url: &str) -> String {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    assert!(out.starts_with("HTTP/1.0 200") || out.starts_with("HTTP/1.1 200"), "{out}");
    out.split_once("\r\n\r\n").unwrap().1.to_string()
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_jmlproof")).args(args).output().unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn bad_input_is_one_line_and_exit_2() {
    let (code, out, err) = run(&["sandbox", "--seed-data", "nope"]);
    assert_eq!(code, 2);
    assert!(out.is_empty());
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("unknown seed data \"nope\""), "{err}");

    let dir = scratch("faults");
    let faults = dir.join("faults.toml");
    std::fs::write(&faults, "[aws]\n\ndeactivat = false\n").unwrap();
    let (code, _, err) = run(&["sandbox", "--faults", faults.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert_eq!(err.lines().count(), 1, "{err}");
    assert!(err.contains("faults.toml:3:") && err.contains("deactivat"), "{err}");

    let (code, _, err) = run(&["sandbox", "--faults", dir.join("missing.toml").to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(err.contains("missing.toml"), "{err}");
    let _ = std::fs::remove_dir_all(&dir);
}
