//! The journal: one JSON line per intent and per result, flushed and synced before
//! the call it announces is made. After a crash or `kill -9`, `cleanup` reads it to
//! learn exactly which users this run may have created and must remove. The journal
//! never holds a password or token.

use std::fs::{File, OpenOptions};
use std::io::Write;
use std::path::{Path, PathBuf};

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Action {
    RunStarted,
    CreateUser,
    AddMember,
    RemoveMember,
    UpdateProfile,
    Deactivate,
    DeleteUser,
    RunFinished,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Stage {
    /// Written (and synced) before the call.
    Intent,
    /// The call succeeded.
    Done,
    /// The call failed; `note` says how.
    Failed,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Entry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub run_id: String,
    pub action: Action,
    pub stage: Stage,
    /// The subject's login (for RunStarted: the login prefix).
    pub login: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub okta_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub group_id: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

#[derive(Debug, thiserror::Error)]
pub enum JournalError {
    #[error("journal {path}: {source}")]
    Io { path: String, source: std::io::Error },
    #[error("journal {path}:{line}: not a journal entry ({reason})")]
    Corrupt { path: String, line: usize, reason: String },
    #[error("journal {path}: already exists (run ids are never reused)")]
    Exists { path: String },
}

/// An open journal of one run, appended to as the run goes.
pub struct Journal {
    file: File,
    path: PathBuf,
    run_id: String,
    seq: u64,
}

impl Journal {
    /// Creates `<dir>/<run_id>.jsonl` and writes the run's first entry.
    pub fn create(dir: &Path, run_id: &str, login_prefix: &str) -> Result<Journal, JournalError> {
        let path = dir.join(format!("{run_id}.jsonl"));
        let io = |source| JournalError::Io { path: path.display().to_string(), source };
        std::fs::create_dir_all(dir).map_err(io)?;
        let file = OpenOptions::new().append(true).create_new(true).open(&path).map_err(|e| {
            if e.kind() == std::io::ErrorKind::AlreadyExists {
                JournalError::Exists { path: path.display().to_string() }
            } else {
                io(e)
            }
        })?;
        let mut j = Journal { file, path, run_id: run_id.into(), seq: 0 };
        j.append(Action::RunStarted, Stage::Done, login_prefix, None, None, None)?;
        Ok(j)
    }

    /// Reopens an existing run's journal to append to it (cleanup after a crash).
    pub fn reopen(run: &RunJournal) -> Result<Journal, JournalError> {
        let io = |source| JournalError::Io { path: run.path.display().to_string(), source };
        let file = OpenOptions::new().append(true).open(&run.path).map_err(io)?;
        let seq = run.entries.iter().map(|e| e.seq).max().unwrap_or(0);
        Ok(Journal { file, path: run.path.clone(), run_id: run.run_id.clone(), seq })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Appends one entry and syncs it to disk before returning.
    pub fn append(
        &mut self,
        action: Action,
        stage: Stage,
        login: &str,
        okta_id: Option<&str>,
        group_id: Option<&str>,
        note: Option<&str>,
    ) -> Result<(), JournalError> {
        self.seq += 1;
        let entry = Entry {
            seq: self.seq,
            at: Utc::now(),
            run_id: self.run_id.clone(),
            action,
            stage,
            login: login.into(),
            okta_id: okta_id.map(str::to_string),
            group_id: group_id.map(str::to_string),
            note: note.map(str::to_string),
        };
        let io = |source| JournalError::Io { path: self.path.display().to_string(), source };
        let mut line = serde_json::to_string(&entry).map_err(|e| io(std::io::Error::other(e)))?;
        line.push('\n');
        self.file.write_all(line.as_bytes()).map_err(io)?;
        self.file.sync_data().map_err(io)
    }
}

/// What a journal says about one run.
#[derive(Debug, Clone, PartialEq)]
pub struct RunJournal {
    pub path: PathBuf,
    pub run_id: String,
    pub login_prefix: String,
    pub started: DateTime<Utc>,
    pub entries: Vec<Entry>,
    /// A last line cut short by a crash, ignored.
    pub torn_tail: bool,
}

/// A user the run created, or may have created (an intent with no result).
#[derive(Debug, Clone, PartialEq)]
pub struct Created {
    pub login: String,
    pub okta_id: Option<String>,
    /// When the intent was written: the user cannot have been created before.
    pub intent_at: DateTime<Utc>,
    pub confirmed: bool,
}

impl RunJournal {
    pub fn read(path: &Path) -> Result<RunJournal, JournalError> {
        let p = path.display().to_string();
        let raw = std::fs::read(path).map_err(|source| JournalError::Io { path: p.clone(), source })?;
        let ends_clean = raw.last() == Some(&b'\n');
        let text: Vec<String> = String::from_utf8_lossy(&raw).lines().map(str::to_string).collect();
        let mut entries = Vec::new();
        let mut torn_tail = false;
        for (i, line) in text.iter().enumerate() {
            if line.trim().is_empty() {
                continue;
            }
            match serde_json::from_str::<Entry>(line) {
                Ok(e) => entries.push(e),
                // Only the very last line, unterminated, may be torn by a crash mid-write.
                Err(_) if i + 1 == text.len() && !ends_clean => torn_tail = true,
                Err(e) => return Err(JournalError::Corrupt { path: p, line: i + 1, reason: e.to_string() }),
            }
        }
        let first = entries.first().filter(|e| e.action == Action::RunStarted).ok_or_else(|| {
            JournalError::Corrupt { path: p.clone(), line: 1, reason: "does not start with run_started".into() }
        })?;
        Ok(RunJournal {
            path: path.into(),
            run_id: first.run_id.clone(),
            login_prefix: first.login.clone(),
            started: first.at,
            entries: entries.clone(),
            torn_tail,
        })
    }

    /// Every journal in a directory, oldest run first.
    pub fn read_dir(dir: &Path) -> Result<Vec<RunJournal>, JournalError> {
        let rd = match std::fs::read_dir(dir) {
            Ok(rd) => rd,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(vec![]),
            Err(source) => return Err(JournalError::Io { path: dir.display().to_string(), source }),
        };
        let mut out = Vec::new();
        for entry in rd {
            let path = entry.map_err(|source| JournalError::Io { path: dir.display().to_string(), source })?.path();
            if path.extension().is_some_and(|e| e == "jsonl") {
                out.push(RunJournal::read(&path)?);
            }
        }
        out.sort_by(|a, b| (a.started, &a.run_id).cmp(&(b.started, &b.run_id)));
        Ok(out)
    }

    /// The users this run created or may have created, in order.
    pub fn created(&self) -> Vec<Created> {
        let mut out: Vec<Created> = Vec::new();
        for e in self.entries.iter().filter(|e| e.action == Action::CreateUser) {
            match e.stage {
                Stage::Intent => {
                    out.push(Created { login: e.login.clone(), okta_id: None, intent_at: e.at, confirmed: false })
                }
                Stage::Done => {
                    if let Some(c) = out.iter_mut().rev().find(|c| c.login == e.login) {
                        c.okta_id = e.okta_id.clone();
                        c.confirmed = true;
                    }
                }
                // A failed create may still have created the user (a lost response): keep it as unconfirmed.
                Stage::Failed => {}
            }
        }
        out
    }

    /// Whether the journal records a completed delete of this login.
    pub fn deleted(&self, login: &str) -> bool {
        self.entries.iter().any(|e| {
            e.action == Action::DeleteUser
                && e.stage == Stage::Done
                && e.login == login
                && e.note.as_deref() == Some("gone")
        })
    }

    pub fn finished(&self) -> bool {
        self.entries.iter().any(|e| e.action == Action::RunFinished)
    }

    /// Finished with nothing left behind: the last RunFinished says "clean".
    pub fn clean(&self) -> bool {
        self.entries
            .iter()
            .rev()
            .find(|e| e.action == Action::RunFinished)
            .is_some_and(|e| e.note.as_deref() == Some("clean"))
    }
}

/// The Okta ids `run` created, from every journal under `dir` (none when there is no
/// journal folder): `attest` and `reconcile` set these users apart as test residue.
pub fn created_ids(dir: &Path) -> std::collections::BTreeSet<String> {
    RunJournal::read_dir(dir).unwrap_or_default().iter().flat_map(|j| j.created()).filter_map(|c| c.okta_id).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dir(name: &str) -> PathBuf {
        let d = std::env::temp_dir().join(format!("jmlproof-journal-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&d);
        d
    }

    #[test]
    fn intents_results_and_what_was_created() {
        let d = dir("basic");
        let mut j = Journal::create(&d, "7f3c", "jmlproof-").unwrap();
        j.append(Action::CreateUser, Stage::Intent, "jmlproof-7f3c-01@x.example", None, None, None).unwrap();
        j.append(Action::CreateUser, Stage::Done, "jmlproof-7f3c-01@x.example", Some("00u1"), None, None).unwrap();
        j.append(Action::CreateUser, Stage::Intent, "jmlproof-7f3c-02@x.example", None, None, None).unwrap();
        let r = RunJournal::read(j.path()).unwrap();
        assert_eq!((r.run_id.as_str(), r.login_prefix.as_str(), r.torn_tail), ("7f3c", "jmlproof-", false));
        let c = r.created();
        assert_eq!(c.len(), 2);
        assert_eq!((c[0].okta_id.as_deref(), c[0].confirmed), (Some("00u1"), true));
        assert_eq!(
            (c[1].okta_id.as_deref(), c[1].confirmed),
            (None, false),
            "an intent without a result may have created the user"
        );
        assert!(!r.finished());
        assert!(matches!(Journal::create(&d, "7f3c", "jmlproof-"), Err(JournalError::Exists { .. })));
        let _ = std::fs::remove_dir_all(&d);
    }

    #[test]
    fn a_torn_last_line_is_tolerated_and_other_damage_is_not() {
        let d = dir("torn");
        let mut j = Journal::create(&d, "a1b2", "jmlproof-").unwrap();
        j.append(Action::CreateUser, Stage::Intent, "jmlproof-a1b2-01@x.example", None, None, None).unwrap();
        let path = j.path().to_path_buf();
        drop(j);
        let mut f = OpenOptions::new().append(true).open(&path).unwrap();
        f.write_all(br#"{"seq":3,"at":"2026-"#).unwrap();
        let r = RunJournal::read(&path).unwrap();
        assert!(r.torn_tail);
        assert_eq!(r.created().len(), 1);
        // The same damage in the middle is corruption, reported with the line.
        f.write_all(b"\n{\"seq\":4}\n").unwrap();
        let err = RunJournal::read(&path).unwrap_err().to_string();
        assert!(err.contains(":3: not a journal entry"), "{err}");
        assert_eq!(RunJournal::read_dir(&d.join("nope")).unwrap().len(), 0);
        let _ = std::fs::remove_dir_all(&d);
    }
}
