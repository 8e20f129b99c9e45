//! `kill -9` at several points of a run, then `jmlproof cleanup`: the sandbox holds
//! no test user afterwards, and a user outside the journals is never touched.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};

mod common;
use common::cli::http_get;

/// Waits (bounded) until some journal in `dir` holds `needle`.
fn wait_for(dir: &Path, needle: &str) {
    for _ in 0..800 {
        let hit = std::fs::read_dir(dir)
            .ok()
            .into_iter()
            .flatten()
            .flatten()
            .any(|e| std::fs::read_to_string(e.path()).is_ok_and(|t| t.contains(needle)));
        if hit {
            return;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    panic!("no journal reached {needle} within 20 s");
}

#[test]
fn kill_9_at_several_points_then_cleanup_leaves_no_test_user() {
    let dir = std::env::temp_dir().join(format!("jmlproof-crash-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let config = dir.join("jmlproof.toml");
    let mut sandbox = Command::new(env!("CARGO_BIN_EXE_jmlproof"))
        .args(["sandbox", "--write-config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(sandbox.stdout.take().unwrap()).read_line(&mut line).unwrap();
    let endpoints: serde_json::Value = serde_json::from_str(&line).unwrap();
    let admin = endpoints["admin_url"].as_str().unwrap().to_string();
    let creds = dir.join(".jmlproof-sandbox/aws_credentials");
    let journal = dir.join(".jmlproof/journal");
    let run = || {
        Command::new(env!("CARGO_BIN_EXE_jmlproof"))
            .args(["run", "--config"])
            .arg(&config)
            .args(["--out", "evidence", "--quiet"])
            .current_dir(&dir)
            .env("AWS_SHARED_CREDENTIALS_FILE", &creds)
            .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap()
    };
    // Kill points: right after a create, at the mover's first change, at the leaver's.
    for needle in [
        r#""action":"create_user","stage":"done""#,
        r#""action":"update_profile","stage":"intent""#,
        r#""action":"deactivate","stage":"intent""#,
    ] {
        let _ = std::fs::remove_dir_all(&journal);
        let mut child = run();
        wait_for(&journal, needle);
        child.kill().unwrap();
        child.wait().unwrap();
        let before = http_get(&format!("{admin}/users?prefix=jmlproof-"));
        assert!(!before["okta"].as_array().unwrap().is_empty(), "the crash left test users ({needle})");
        let out = Command::new(env!("CARGO_BIN_EXE_jmlproof"))
            .args(["cleanup", "--all", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert_eq!(
            out.status.code(),
            Some(0),
            "{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(String::from_utf8_lossy(&out.stdout).contains("removed jmlproof-"));
        let after = http_get(&format!("{admin}/users?prefix=jmlproof-"));
        assert!(after["okta"].as_array().unwrap().is_empty(), "left after cleanup ({needle}): {after}");
        // A second cleanup finds nothing to do.
        let again = Command::new(env!("CARGO_BIN_EXE_jmlproof"))
            .args(["cleanup", "--all", "--config"])
            .arg(&config)
            .output()
            .unwrap();
        assert_eq!(again.status.code(), Some(0));
        assert!(!String::from_utf8_lossy(&again.stdout).contains("removed"));
    }
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    let _ = std::fs::remove_dir_all(&dir);
}
