//! `jmlproof run --sandbox` as a user runs it: exit 0 on the healthy sandbox, one
//! evidence folder holding run.json (the record), and a clean journal.

use std::process::Command;

use jmlproof::evidence::record::Record;

#[test]
fn run_on_the_sandbox_writes_the_record_and_exits_0() {
    let dir = std::env::temp_dir().join(format!("jmlproof-cli-run-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_jmlproof"))
        .args(["run", "--sandbox", "--out", "evidence"])
        .current_dir(&dir)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "stdout: {stdout}\nstderr: {}", String::from_utf8_lossy(&out.stderr));
    assert!(stdout.contains("phase     leg     PASS"), "{stdout}");
    let folders: Vec<_> = std::fs::read_dir(dir.join("evidence")).unwrap().map(|e| e.unwrap().path()).collect();
    assert_eq!(folders.len(), 1, "one folder, no temporary left: {folders:?}");
    let record: Record = serde_json::from_str(&std::fs::read_to_string(folders[0].join("run.json")).unwrap()).unwrap();
    assert_eq!(record.schema_version, "1");
    assert_eq!(record.subjects.len(), 3);
    assert!(record.all_pass());
    assert!(!record.footprint.is_empty());
    let journal = std::fs::read_dir(dir.join(".jmlproof/journal")).unwrap().count();
    assert_eq!(journal, 1);
    let _ = std::fs::remove_dir_all(&dir);
}
