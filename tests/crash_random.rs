//! `kill -9` at seeded random moments of 20 runs (four groups of five, each against
//! its own studio sandbox), each followed by `jmlproof cleanup --all`: afterwards no
//! test user is left in Okta, every downstream test account is disabled once Okta's
//! deprovisioning lands (jmlproof never writes downstream: Okta does), no studio
//! employee was touched, and every pack in the evidence folder is whole (each file as
//! its SHA256SUMS says) or absent.

use std::path::Path;
use std::process::{Command, Stdio};

use std::time::{Duration, Instant};

mod common;
use common::cli::{bin, http_get, scratch, shown, spawn_sandbox};

/// Every account of the three systems that is not a test user, as the admin API shows it.
fn bystanders(admin: &str) -> serde_json::Value {
    let mut all = http_get(&format!("{admin}/users"));
    for system in ["okta", "entra", "aws"] {
        all[system].as_array_mut().unwrap().retain(|u| {
            let name = u["login"].as_str().or(u["upn"].as_str()).or(u["userName"].as_str()).unwrap_or("");
            !name.to_lowercase().starts_with("jmlproof-")
        });
    }
    all
}

/// A small seeded generator (the kill moments must be the same on every machine).
fn next(state: &mut u64) -> u64 {
    *state = state.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
    *state >> 33
}

/// Each pack folder is whole: `sha256sum -c` passes and nothing is unlisted.
fn packs_are_whole(evidence: &Path) {
    let Ok(entries) = std::fs::read_dir(evidence) else { return };
    for e in entries.map(Result::unwrap) {
        let name = e.file_name().to_string_lossy().to_string();
        if name.starts_with('.') {
            // A temporary folder of a pack being written when the kill came: never a pack.
            assert!(name.contains(".tmp-"), "unexpected hidden entry {name}");
            continue;
        }
        let o = Command::new("sha256sum").args(["-c", "--quiet", "SHA256SUMS"]).current_dir(e.path()).output().unwrap();
        assert!(o.status.success(), "pack {name} is not whole: {}", shown(&o));
    }
}

fn kill_at_random(seed: u64, runs: usize) {
    let dir = scratch(&format!("crash-random-{seed}"));
    let config = dir.join("jmlproof.toml");
    // Pushes land within a quarter second, so cleanup's wait for them is short.
    let faults = dir.join("faults.toml");
    std::fs::write(
        &faults,
        "[entra]\ndelay = \"150ms\"\njitter = \"100ms\"\n[aws]\ndelay = \"150ms\"\njitter = \"100ms\"\n",
    )
    .unwrap();
    let seed_text = seed.to_string();
    let faults_text = faults.display().to_string();
    let (mut sandbox, endpoints) =
        spawn_sandbox(&["--seed-data", "studio", "--faults", &faults_text, "--seed", &seed_text], &config);
    let admin = endpoints["admin_url"].as_str().unwrap().to_string();
    let before = bystanders(&admin);
    assert!(before["okta"].as_array().unwrap().len() > 100, "the studio's people are there");
    let env = |c: &mut Command| {
        c.env("AWS_SHARED_CREDENTIALS_FILE", dir.join(".jmlproof-sandbox/aws_credentials"))
            .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .current_dir(&dir);
    };
    let mut state = seed;
    for i in 0..runs {
        let delay = Duration::from_millis(next(&mut state) % 9_000);
        let mut run = bin();
        run.args(["run", "--config"]).arg(&config).args(["--out", "evidence", "--quiet", "--unsigned"]);
        env(&mut run);
        let mut child = run.stdout(Stdio::null()).stderr(Stdio::null()).spawn().unwrap();
        let started = Instant::now();
        // The kill moment is the point: wait for it (or for the run to end first).
        while started.elapsed() < delay && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(10));
        }
        let _ = child.kill();
        child.wait().unwrap();
        let mut cleanup = bin();
        cleanup.args(["cleanup", "--all", "--config"]).arg(&config);
        env(&mut cleanup);
        let o = cleanup.output().unwrap();
        assert_eq!(o.status.code(), Some(0), "run {i} (killed after {delay:?}): {}", shown(&o));
        let left = http_get(&format!("{admin}/users?prefix=jmlproof-"));
        assert!(left["okta"].as_array().unwrap().is_empty(), "run {i} (killed after {delay:?}) left {left}");
        // Okta pushes the deactivations after the sandbox's leg delay (3 s ± 2 s).
        let enabled = |v: &serde_json::Value| {
            v["entra"].as_array().unwrap().iter().filter(|u| u["accountEnabled"] == true).count()
                + v["aws"].as_array().unwrap().iter().filter(|u| u["enabled"] == true).count()
        };
        let waiting = Instant::now();
        while enabled(&http_get(&format!("{admin}/users?prefix=jmlproof-"))) > 0 {
            assert!(
                waiting.elapsed() < Duration::from_secs(30),
                "run {i} (killed after {delay:?}): downstream test accounts still enabled: {}",
                http_get(&format!("{admin}/users?prefix=jmlproof-"))
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        packs_are_whole(&dir.join("evidence"));
    }
    assert_eq!(bystanders(&admin), before, "no studio employee was touched");
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn kill_9_at_random_moments_of_runs_1_to_5() {
    kill_at_random(101, 5);
}

#[test]
fn kill_9_at_random_moments_of_runs_6_to_10() {
    kill_at_random(202, 5);
}

#[test]
fn kill_9_at_random_moments_of_runs_11_to_15() {
    kill_at_random(303, 5);
}

#[test]
fn kill_9_at_random_moments_of_runs_16_to_20() {
    kill_at_random(404, 5);
}
