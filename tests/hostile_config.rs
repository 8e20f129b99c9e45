//! Every malformed config shape, through the binary as a user meets it: one line on
//! stderr naming what and where, exit 2, nothing written. Secrets that cannot be had
//! (a `cmd:` that hangs, a `file:` that is a folder) fail the same way, before any
//! tenant is touched.

mod common;
use common::cli::{bin, scratch, shown};

/// `jmlproof check-config --config FILE` on `text`: (exit code, stderr).
fn check(dir: &std::path::Path, name: &str, text: &[u8]) -> (Option<i32>, String) {
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    let o = bin().args(["check-config", "--config"]).arg(&path).output().unwrap();
    (o.status.code(), String::from_utf8_lossy(&o.stderr).into_owned())
}

#[test]
fn malformed_configs_are_one_line_and_exit_2() {
    let dir = scratch("hostile-config");
    let good = jmlproof::init::STARTER;
    let big = format!("{good}\n{}", "# filler to pass the size limit\n".repeat(40_000));
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("empty.toml", Vec::new(), "empty.toml: the file is empty"),
        ("types.toml", b"[okta]\norg_url = 5\n".to_vec(), "types.toml:2: [okta] org_url: expected a string"),
        ("duplicate.toml", b"[okta]\norg_url = \"https://a\"\norg_url = \"https://b\"\n".to_vec(), "duplicate.toml:3"),
        ("unknown.toml", b"[oktaa]\nx = 1\n".to_vec(), "unknown.toml:1: unknown section \"oktaa\""),
        ("syntax.toml", b"[okta\n".to_vec(), "syntax.toml:1"),
        ("binary.toml", b"\xff\xfe[okta]\n".to_vec(), "binary.toml: is not UTF-8 text"),
        ("big.toml", big.into_bytes(), "big.toml: "),
    ];
    for (name, text, expect) in cases {
        let (code, err) = check(&dir, name, &text);
        assert_eq!(code, Some(2), "{name}: {err}");
        assert_eq!(err.lines().count(), 1, "{name}: one line: {err}");
        assert!(err.contains(expect), "{name}: {expect:?} in {err}");
    }
    let folder = dir.join("folder.toml");
    std::fs::create_dir_all(&folder).unwrap();
    let o = bin().args(["check-config", "--config"]).arg(&folder).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("is a directory"), "{}", shown(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

/// A config whose Okta token is a `cmd:` that never answers, or a `file:` that is a
/// folder: `run` stops on it with one line naming the secret, exit 2, no pack.
#[test]
fn secrets_that_cannot_be_had_stop_the_run_in_one_line() {
    let dir = scratch("hostile-secrets");
    let folder = dir.join("token-folder");
    std::fs::create_dir_all(&folder).unwrap();
    for (name, reference, expect) in [
        ("hangs", "cmd:sleep 600".to_string(), "[okta] token: cmd: \"sleep\" timed out after 30s and was killed"),
        ("folder", format!("file:{}", folder.display()), "token-folder: is a directory, not a file"),
    ] {
        let config = jmlproof::init::STARTER.replacen("env:OKTA_API_TOKEN", &reference, 1);
        assert_ne!(config, jmlproof::init::STARTER, "the starter names the Okta token by env:OKTA_API_TOKEN");
        let path = dir.join(format!("{name}.toml"));
        std::fs::write(&path, config).unwrap();
        let o = bin()
            .args(["run", "--config"])
            .arg(&path)
            .args(["--out", "evidence", "--unsigned"])
            .current_dir(&dir)
            .output()
            .unwrap();
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{name}: {}", shown(&o));
        assert!(err.trim_end().lines().count() == 1 && err.contains(expect), "{name}: {err}");
        assert!(!dir.join("evidence").exists(), "{name}: nothing written");
    }
    let _ = std::fs::remove_dir_all(&dir);
}
