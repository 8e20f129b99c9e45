//! Raw API responses kept as evidence: what was asked (method, URL), what came back
//! (status, a fixed list of headers, the body) and when. Never a request header, so
//! never a credential; URLs of these APIs carry no secrets.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufWriter, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, PoisonError};

use chrono::{DateTime, Utc};
use reqwest::header::HeaderMap;
use serde::Serialize;

use crate::http::System;
use crate::pack::{PackError, RawFile};

/// Response headers worth keeping: ids that tie the response to the vendor's logs,
/// paging, rate limits and the server's clock.
const KEPT: &[&str] = &[
    "date",
    "link",
    "x-okta-request-id",
    "x-rate-limit-limit",
    "x-rate-limit-remaining",
    "x-rate-limit-reset",
    "request-id",
    "client-request-id",
    "retry-after",
    "x-amzn-requestid",
    "x-amzn-errortype",
];

/// Token responses are not meant to reach the raw log at all (the token clients never
/// pass it); should one arrive anyway, its token fields are withheld.
fn withhold_tokens(body: &str) -> String {
    const FIELDS: &[&str] = &["access_token", "refresh_token", "id_token", "client_secret", "client_assertion"];
    if !FIELDS.iter().any(|f| body.contains(f)) {
        return body.to_string();
    }
    match serde_json::from_str::<serde_json::Value>(body) {
        Ok(serde_json::Value::Object(mut m)) => {
            for f in FIELDS {
                if let Some(v) = m.get_mut(*f) {
                    *v = serde_json::Value::String("[withheld]".into());
                }
            }
            serde_json::Value::Object(m).to_string()
        }
        _ => "[withheld: a body that names a token field]".into(),
    }
}

#[derive(Debug, Clone, Serialize, serde::Deserialize)]
pub struct RawResponse {
    pub system: System,
    pub method: String,
    pub url: String,
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub retrieved_at: DateTime<Utc>,
    pub body: String,
}

/// Where the responses go as they arrive: one NDJSON file per system in a private
/// folder, so a large tenant's pages are on disk, not in memory, by the time the
/// pack is written. The folder is made on the first response and removed when the
/// log is dropped.
#[derive(Debug, Default)]
struct Spool {
    dir: Option<PathBuf>,
    files: BTreeMap<String, BufWriter<File>>,
    /// The first write that failed: the pack is refused rather than missing pages.
    failed: Option<String>,
}

static SPOOLS: AtomicU64 = AtomicU64::new(0);

impl Spool {
    fn append(&mut self, base: &Path, name: String, line: &[u8]) {
        if self.failed.is_some() {
            return;
        }
        if let Err(e) = self.try_append(base, name, line) {
            self.failed = Some(e);
        }
    }

    fn try_append(&mut self, base: &Path, name: String, line: &[u8]) -> Result<(), String> {
        let dir = match &self.dir {
            Some(d) => d.clone(),
            None => {
                let n = SPOOLS.fetch_add(1, Ordering::Relaxed);
                let d = base.join(format!("jmlproof-raw-{}-{n}", std::process::id()));
                let mut b = std::fs::DirBuilder::new();
                #[cfg(unix)]
                std::os::unix::fs::DirBuilderExt::mode(&mut b, 0o700);
                b.create(&d).map_err(|e| format!("{}: {e}", d.display()))?;
                self.dir = Some(d.clone());
                d
            }
        };
        let path = dir.join(&name);
        let out = match self.files.entry(name) {
            std::collections::btree_map::Entry::Occupied(o) => o.into_mut(),
            std::collections::btree_map::Entry::Vacant(v) => {
                let f = File::create(&path).map_err(|e| format!("{}: {e}", path.display()))?;
                v.insert(BufWriter::with_capacity(1 << 16, f))
            }
        };
        out.write_all(line).and_then(|_| out.write_all(b"\n")).map_err(|e| format!("{}: {e}", path.display()))
    }
}

/// An append-only log of raw responses, shared by the clients of one run.
#[derive(Debug)]
pub struct RawLog {
    /// The folder the spool folder is made in (the system's temporary folder).
    base: PathBuf,
    spool: Mutex<Spool>,
    /// Bodies of the audit events used as evidence, by the SHA-256 the record gives
    /// (only those the record cites, so bounded by the record).
    events: Mutex<BTreeMap<String, String>>,
}

impl Default for RawLog {
    fn default() -> RawLog {
        RawLog::in_dir(std::env::temp_dir())
    }
}

impl Drop for RawLog {
    fn drop(&mut self) {
        let spool = self.spool.get_mut().unwrap_or_else(PoisonError::into_inner);
        spool.files.clear();
        if let Some(d) = spool.dir.take() {
            let _ = std::fs::remove_dir_all(d);
        }
    }
}

impl RawLog {
    /// A log whose spool folder is made inside `base`.
    pub fn in_dir(base: PathBuf) -> RawLog {
        RawLog { base, spool: Mutex::default(), events: Mutex::default() }
    }

    fn push(&self, item: &RawResponse) {
        let line = match serde_json::to_vec(item) {
            Ok(l) => l,
            Err(e) => {
                let mut spool = self.spool.lock().unwrap_or_else(PoisonError::into_inner);
                spool.failed.get_or_insert(format!("a {} response could not be serialised: {e}", item.system));
                return;
            }
        };
        let name = format!("{}.ndjson", item.system);
        self.spool.lock().unwrap_or_else(PoisonError::into_inner).append(&self.base, name, &line);
    }

    pub fn record(
        &self,
        system: System,
        method: &str,
        url: &reqwest::Url,
        status: u16,
        headers: &HeaderMap,
        body: &str,
    ) {
        let headers = KEPT
            .iter()
            .flat_map(|name| {
                headers.get_all(*name).iter().filter_map(|v| v.to_str().ok()).map(|v| (name.to_string(), v.to_string()))
            })
            .collect();
        self.push(&RawResponse {
            system,
            method: method.into(),
            url: url.to_string(),
            status,
            headers,
            retrieved_at: Utc::now(),
            body: withhold_tokens(body),
        });
    }

    /// Records a response seen outside reqwest (the AWS SDK), from plain parts.
    pub fn record_parts(
        &self,
        system: System,
        method: &str,
        url: &str,
        status: u16,
        headers: &[(String, String)],
        body: &str,
    ) {
        let headers = headers
            .iter()
            .filter(|(k, _)| KEPT.contains(&k.to_ascii_lowercase().as_str()))
            .map(|(k, v)| (k.to_ascii_lowercase(), v.clone()))
            .collect();
        self.push(&RawResponse {
            system,
            method: method.into(),
            url: url.into(),
            status,
            headers,
            retrieved_at: Utc::now(),
            body: withhold_tokens(body),
        });
    }

    /// Every response kept so far, read back from the spool (system by system, in
    /// arrival order within each): for tests and diagnostics, not for the pack.
    pub fn snapshot(&self) -> Vec<RawResponse> {
        let mut spool = self.spool.lock().unwrap_or_else(PoisonError::into_inner);
        for w in spool.files.values_mut() {
            let _ = w.flush();
        }
        let Some(dir) = spool.dir.clone() else { return Vec::new() };
        let names: Vec<String> = spool.files.keys().cloned().collect();
        drop(spool);
        names
            .iter()
            .filter_map(|n| std::fs::read_to_string(dir.join(n)).ok())
            .flat_map(|text| text.lines().filter_map(|l| serde_json::from_str(l).ok()).collect::<Vec<_>>())
            .collect()
    }

    pub fn keep_event(&self, sha256: &str, body: String) {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).insert(sha256.to_string(), body);
    }

    pub fn event_body(&self, sha256: &str) -> Option<String> {
        self.events.lock().unwrap_or_else(PoisonError::into_inner).get(sha256).cloned()
    }

    /// The pack's raw/ files: one NDJSON file of responses per system (the spool's
    /// files, streamed into the pack from disk), and events.ndjson with the body of
    /// each event of `events`, line for line, so the record's hash of event N is the
    /// SHA-256 of line N without its newline. The spool files stay until the log is
    /// dropped; a spool write that failed refuses the pack rather than leave out pages.
    pub fn pack_files(&self, events: &[crate::evidence::record::SourceEvent]) -> Result<Vec<RawFile>, PackError> {
        let mut spool = self.spool.lock().unwrap_or_else(PoisonError::into_inner);
        for (name, w) in spool.files.iter_mut() {
            if let Err(e) = w.flush() {
                return Err(PackError::Io(format!("raw response spool {name}: {e}")));
            }
        }
        if let Some(e) = &spool.failed {
            return Err(PackError::Io(format!("raw responses could not be kept: {e}")));
        }
        let mut files: Vec<RawFile> = match &spool.dir {
            Some(dir) => spool.files.keys().map(|n| RawFile::Disk(n.clone(), dir.join(n))).collect(),
            None => Vec::new(),
        };
        drop(spool);
        if !events.is_empty() {
            let mut lines = Vec::new();
            for e in events {
                // A body missing here would break the line numbering: `null` keeps the
                // line, and its hash visibly differs from the record's.
                lines.extend(self.event_body(&e.sha256).unwrap_or_else(|| "null".into()).into_bytes());
                lines.push(b'\n');
            }
            files.push(RawFile::Mem("events.ndjson".into(), lines));
        }
        Ok(files)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn token_fields_are_withheld() {
        let log = RawLog::default();
        let url = reqwest::Url::parse("https://login.example/t").unwrap();
        log.record(
            System::Login,
            "POST",
            &url,
            200,
            &HeaderMap::new(),
            r#"{"access_token":"eyJ-secret","expires_in":3599}"#,
        );
        log.record_parts(System::Aws, "POST", "aws:x", 200, &[], "not json access_token=eyJ-secret");
        let mut dump = String::new();
        for f in log.pack_files(&[]).unwrap() {
            let RawFile::Disk(_, p) = f else { panic!("responses are spooled to disk") };
            dump.push_str(&std::fs::read_to_string(p).unwrap());
        }
        assert!(!dump.contains("eyJ-secret"), "{dump}");
        assert!(dump.contains("expires_in"));
    }

    #[test]
    fn responses_are_spooled_per_system_and_the_spool_goes_with_the_log() {
        let base = std::env::temp_dir().join(format!("jmlproof-rawtest-{}", std::process::id()));
        std::fs::create_dir_all(&base).unwrap();
        let log = RawLog::in_dir(base.clone());
        assert!(log.pack_files(&[]).unwrap().is_empty(), "nothing recorded, nothing spooled");
        for i in 0..3 {
            log.record_parts(System::Aws, "POST", "aws:ListUsers", 200, &[], &format!("{{\"page\":{i}}}"));
        }
        log.record_parts(System::Okta, "GET", "https://o/api/v1/users", 200, &[], "[]");
        let files = log.pack_files(&[]).unwrap();
        let names: Vec<&str> = files.iter().map(RawFile::name).collect();
        assert_eq!(names, ["aws.ndjson", "okta.ndjson"]);
        let RawFile::Disk(_, aws) = &files[0] else { panic!("on disk") };
        let text = std::fs::read_to_string(aws).unwrap();
        assert_eq!(text.lines().count(), 3);
        assert!(text.lines().nth(2).unwrap().contains(r#"\"page\":2"#));
        let dir = aws.parent().unwrap().to_path_buf();
        drop(log);
        assert!(!dir.exists(), "the spool is removed with the log");
        let _ = std::fs::remove_dir_all(&base);
    }
}
