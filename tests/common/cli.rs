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
