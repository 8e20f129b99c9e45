//! Running the binary as a user does, in a scratch folder of its own.

use std::path::PathBuf;
use std::process::{Command, Output};

/// The jmlproof binary, without the developer's ssh-agent (which must not sign test packs).
pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_jmlproof"));
    c.env_remove("SSH_AUTH_SOCK");
    c
}

/// A fresh, empty folder for one test.
pub fn scratch(name: &str) -> PathBuf {
    let d = std::env::temp_dir().join(format!("jmlproof-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    std::fs::create_dir_all(&d).unwrap();
    d
}

/// Exit status and both streams, for assertion messages.
pub fn shown(o: &Output) -> String {
    format!(
        "status {:?}\nstdout: {}\nstderr: {}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `jmlproof sandbox ARGS --write-config CONFIG` as its own process: the child and the
/// endpoints line it prints once it listens.
pub fn spawn_sandbox(args: &[&str], config: &std::path::Path) -> (std::process::Child, serde_json::Value) {
    use std::io::{BufRead, BufReader};
    let mut child = bin()
        .arg("sandbox")
        .args(args)
        .arg("--write-config")
        .arg(config)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let mut line = String::new();
    BufReader::new(child.stdout.take().unwrap()).read_line(&mut line).unwrap();
    (child, serde_json::from_str(&line).expect("one JSON line"))
}

/// A plain HTTP/1.0 GET of a loopback JSON endpoint (the sandbox's admin API).
pub fn http_get(url: &str) -> serde_json::Value {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://").unwrap();
    let (host, path) = rest.split_once('/').unwrap();
    let mut s = std::net::TcpStream::connect(host).unwrap();
    write!(s, "GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    serde_json::from_str(out.split_once("\r\n\r\n").unwrap().1).unwrap()
}
