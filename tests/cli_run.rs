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

#[test]
fn sigterm_mid_run_tears_down_writes_the_record_and_exits_130() {
    let dir = std::env::temp_dir().join(format!("jmlproof-cli-stop-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_jmlproof"))
        .args(["run", "--sandbox", "--out", "evidence", "--quiet"])
        .current_dir(&dir)
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Wait (bounded) for the run to start writing its journal, then stop it.
    let journal_dir = dir.join(".jmlproof/journal");
    let mut started = false;
    for _ in 0..400 {
        // Stop it once a subject exists, so the teardown has something to remove.
        let created = std::fs::read_dir(&journal_dir)
            .ok()
            .and_then(|mut d| d.next())
            .and_then(|e| std::fs::read_to_string(e.ok()?.path()).ok())
            .is_some_and(|text| text.contains(r#""action":"create_user","stage":"done""#));
        if created {
            started = true;
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(25));
    }
    assert!(started, "the run never wrote its journal");
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let out = child.wait_with_output().unwrap();
    assert_eq!(out.status.code(), Some(130), "stderr: {}", String::from_utf8_lossy(&out.stderr));
    let folders: Vec<_> = std::fs::read_dir(dir.join("evidence")).unwrap().map(|e| e.unwrap().path()).collect();
    let record: Record = serde_json::from_str(&std::fs::read_to_string(folders[0].join("run.json")).unwrap()).unwrap();
    assert!(record.notes.iter().any(|n| n.starts_with("interrupted")), "{:?}", record.notes);
    assert!(!record.all_pass(), "an interrupted run proves nothing in full");
    let journal = std::fs::read_dir(&journal_dir).unwrap().next().unwrap().unwrap().path();
    let j = jmlproof::scenario::journal::RunJournal::read(&journal).unwrap();
    assert!(j.finished(), "teardown ran and the journal says so");
    let created = j.created();
    assert!(!created.is_empty());
    assert!(created.iter().all(|c| j.deleted(&c.login) || !c.confirmed), "every confirmed user deleted");
    let _ = std::fs::remove_dir_all(&dir);
}
