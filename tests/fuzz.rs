//! A seeded mutation fuzzer over the parsers that read what others wrote: SHA256SUMS
//! and allowed_signers (`verify`), Okta's Link header, the System Log page and Graph's
//! directory-audit page, Graph's nextLink and $filter, the awsJson answers the AWS SDK
//! parses and CloudTrail's embedded events, secret references, the config, and a
//! ledger's segment.json.
//! Each target takes real inputs (the fixtures), mutates them (bytes flipped, inserted,
//! cut, chunks doubled, hostile tokens spliced in) and must never panic. CI runs a
//! few thousand cases per target; `JMLPROOF_FUZZ_ITERS=500000` runs longer. A case
//! that panics is written to target/fuzz-crash-TARGET.bin and shown in hex, to be
//! kept below as a regression input.

use std::panic::{AssertUnwindSafe, catch_unwind};

/// xorshift64*: the same cases on every machine.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

const TOKENS: &[&str] = &[
    "\n",
    "\r\n",
    "\"",
    "\\",
    "<",
    ">",
    ";",
    ",",
    "=",
    " ",
    "\t",
    "\0",
    "../",
    "/",
    "*",
    "rel=\"next\"",
    "namespaces=\"",
    "valid-before=\"",
    "cert-authority",
    "\u{202e}",
    "\u{feff}",
    "🙂",
    "null",
    "[]",
    "{}",
    "\"\"",
    "1e999",
    "-0",
    "9999999999999999999999",
    "eventType",
    "target",
    "published",
    "value",
    "@odata.nextLink",
    "env:",
    "file:",
    "cmd:",
    "[okta]",
    "[[exception]]",
    "ssh-ed25519 ",
    "AAAAC3NzaC1lZDI1NTE5AAAAI",
];

fn mutate(rng: &mut Rng, input: &[u8]) -> Vec<u8> {
    let mut v = input.to_vec();
    for _ in 0..1 + rng.below(4) {
        let at = rng.below(v.len() + 1);
        match rng.below(6) {
            0 if !v.is_empty() => {
                let i = rng.below(v.len());
                v[i] = rng.next() as u8;
            }
            1 => v.insert(at, rng.next() as u8),
            2 if !v.is_empty() => {
                let end = (at + 1 + rng.below(16)).min(v.len());
                v.drain(at.min(end)..end);
            }
            3 if !v.is_empty() => {
                let from = rng.below(v.len());
                let end = (from + 1 + rng.below(64)).min(v.len());
                let chunk = v[from..end].to_vec();
                v.splice(at..at, chunk);
            }
            4 => {
                let t = TOKENS[rng.below(TOKENS.len())].as_bytes();
                v.splice(at..at, t.iter().copied());
            }
            _ => v.truncate(at),
        }
    }
    v
}

fn iterations() -> usize {
    std::env::var("JMLPROOF_FUZZ_ITERS").ok().and_then(|s| s.parse().ok()).unwrap_or(3_000)
}

/// Runs `check` on mutations of `seeds`; a panic fails with the input kept on disk.
fn fuzz(name: &str, seed: u64, seeds: &[Vec<u8>], check: impl Fn(&[u8])) {
    let mut rng = Rng(seed | 1);
    // Mutations of mutations too: a small pool that grows with what was tried.
    let mut pool: Vec<Vec<u8>> = seeds.to_vec();
    for i in 0..iterations() {
        // Half from the real inputs, half from earlier cases (which cuts would shrink).
        let base =
            if rng.below(2) == 0 { &seeds[rng.below(seeds.len())] } else { &pool[rng.below(pool.len())] }.clone();
        let case = mutate(&mut rng, &base);
        if catch_unwind(AssertUnwindSafe(|| check(&case))).is_err() {
            let path = std::path::Path::new(env!("CARGO_TARGET_TMPDIR")).join(format!("fuzz-crash-{name}.bin"));
            let _ = std::fs::write(&path, &case);
            panic!("{name}: case {i} panicked (kept at {}): {}", path.display(), hex(&case));
        }
        if pool.len() < 256 {
            pool.push(case);
        } else {
            let slot = rng.below(pool.len());
            pool[slot] = case;
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

fn fixture(path: &str) -> Vec<u8> {
    std::fs::read(format!("{}/tests/fixtures/{path}", env!("CARGO_MANIFEST_DIR"))).unwrap()
}

/// The harness itself can fail: a planted panic is found and reported.
#[test]
fn the_harness_finds_a_planted_panic() {
    let seeds = [b"name=value; other".to_vec()];
    let found = catch_unwind(|| {
        fuzz("planted", 9, &seeds, |b| assert!(!text(b).contains("../"), "planted"));
    });
    assert!(found.is_err(), "a mutation splicing ../ must be found within the iterations");
}

#[test]
fn sha256sums_and_allowed_signers() {
    let sums = format!(
        "{}  run.json\n{}  raw/okta.ndjson\n{} *report.pdf\n",
        jmlproof::pack::sums::hex_sha256(b"a"),
        jmlproof::pack::sums::hex_sha256(b"b"),
        jmlproof::pack::sums::hex_sha256(b"c")
    );
    fuzz("sha256sums", 1, &[sums.into_bytes()], |b| {
        if let Ok(entries) = jmlproof::pack::sums::parse(&text(b)) {
            // Whatever parses names a path inside the pack.
            assert!(entries.iter().all(|(_, _, p)| jmlproof::pack::sums::safe_path(p)));
        }
    });
    let signers = "audit@acme.example namespaces=\"jmlproof\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl\n\
                   # comment\n\
                   *@acme.example,!x@acme.example valid-after=\"20260101\",valid-before=\"20270101Z\" ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl comment\n";
    fuzz("allowed_signers", 2, &[signers.as_bytes().to_vec()], |b| {
        let (entries, _) = jmlproof::pack::allowed::parse(&text(b), "allowed_signers");
        for e in entries {
            let _ = (e.names("audit@acme.example"), e.allows_namespace("jmlproof"), e.valid_at(chrono::Utc::now()));
        }
    });
}

#[test]
fn okta_link_header_and_system_log_page() {
    let link = "<https://acme.okta.com/api/v1/logs?since=2026-01-01T00%3A00%3A00Z&after=1_2>; rel=\"next\", <https://acme.okta.com/api/v1/logs>; rel=\"self\"";
    fuzz("link", 3, &[link.as_bytes().to_vec()], |b| {
        let t = text(b);
        let _ = jmlproof::okta::link::parse(&t);
        let _ = jmlproof::okta::link::find([t.as_str()], "next");
    });
    let pages = [fixture("okta/systemlog-page-joiner-leaver.json"), fixture("okta/systemlog-provisioning-failed.json")];
    fuzz("systemlog", 4, &pages, |b| {
        if let Ok(serde_json::Value::Array(events)) = serde_json::from_slice(b) {
            for e in events {
                if let Ok(e) = jmlproof::okta::types::LogEvent::from_value(e) {
                    let _ = (e.target_of("User"), e.target_of("AppInstance"));
                }
            }
        }
    });
}

#[test]
fn graph_directory_audit_page() {
    let pages = [fixture("graph/directoryaudits-okta-jml-page.json")];
    fuzz("directoryaudits", 5, &pages, |b| {
        if let Ok(page) = serde_json::from_slice::<serde_json::Value>(b) {
            for row in page["value"].as_array().into_iter().flatten() {
                if let Ok(a) = jmlproof::entra::types::DirectoryAudit::from_value(row.clone()) {
                    let id = a.target_resources.first().and_then(|t| t.id.clone()).unwrap_or_default();
                    let _ = (a.disables(&id), a.actor(), a.property(&id, "AccountEnabled").map(|p| p.after()));
                }
            }
        }
    });
}

#[test]
fn secret_references_config_and_ledger_manifest() {
    let refs: Vec<Vec<u8>> = ["env:OKTA_TOKEN", "file:/run/secrets/okta", "cmd:op read 'op://vault/okta token'"]
        .iter()
        .map(|s| s.as_bytes().to_vec())
        .collect();
    fuzz("secret_ref", 6, &refs, |b| {
        // Parsing only: a `cmd:` reference is never run here.
        let _ = text(b).parse::<jmlproof::secret::SecretRef>();
    });
    let config = jmlproof::init::STARTER.as_bytes().to_vec();
    fuzz("config", 7, &[config], |b| {
        let _ = jmlproof::config::parse(&text(b), std::path::Path::new("jmlproof.toml"));
    });
    let manifest = br#"{"schema":1,"seq":2,"created":"2026-11-30T00:00:00Z","tool_version":"0.1.0","operator":"x",
        "previous":{"seq":1,"sums_sha256":"00"},"windows":[{"source":"okta_system_log","file":"okta.ndjson",
        "since":"2026-11-29T00:00:00Z","until":"2026-11-30T00:00:00Z","covers_from":"2026-11-29T00:00:00Z",
        "returned":1,"kept":1,"duplicates":0,"gap":null}],"snapshots":[]}"#;
    fuzz("segment", 8, &[manifest.to_vec()], |b| {
        let _ = serde_json::from_slice::<jmlproof::ledger::Segment>(b);
    });
}

#[test]
fn graph_next_link_and_audit_filter() {
    let base = url::Url::parse("https://graph.microsoft.com/v1.0/").unwrap();
    let pages = [fixture("graph/users-page1-nextlink.json")];
    fuzz("graph-nextlink", 7, &pages, |b| {
        if let Ok(page) = serde_json::from_slice::<serde_json::Value>(b)
            && let Ok(Some(next)) = jmlproof::entra::next_link_of(&base, "/users", &page)
        {
            // A link that survived must stay on Graph, and following it twice is refused.
            assert_eq!(next.origin(), base.origin());
            let mut seen = jmlproof::api::Seen::default();
            let _ = seen.follow(jmlproof::http::System::Graph, "GET /users", &next, Some(next.clone())).unwrap_err();
        }
    });
    // The $filter carries user-supplied ids and names: quotes are doubled, nothing breaks out.
    let ids = [b"6b1f9d52-2c4a-4f6e-9a0b-1c2d3e4f5a6b".to_vec(), b"o'brien@acme.example".to_vec()];
    fuzz("graph-filter", 8, &ids, |b| {
        let id = text(b);
        let q = jmlproof::entra::AuditQuery { target_id: Some(id.clone()), activity: Some(id), ..Default::default() };
        let f = q.filter().unwrap();
        // Outside the literals, only the filter's own words remain.
        let outside: String = f.split('\'').step_by(2).collect();
        assert!(!outside.contains(" or "), "{f}");
    });
}

/// The awsJson answers as the SDK parses them, served by a loopback stand-in that
/// answers every call with the case's bytes; and CloudTrail's embedded event JSON.
#[test]
fn aws_json_responses_and_cloudtrail_events() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let body = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let served = body.clone();
    let client = rt.block_on(async move {
        let app = axum::Router::new().fallback(move || {
            let b = served.lock().unwrap().clone();
            async move { ([("content-type", "application/x-amz-json-1.1")], b) }
        });
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        // One attempt: a case that does not parse is an error to return, not to retry.
        let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
            .region(aws_config::Region::new("us-east-1"))
            .endpoint_url(format!("http://{addr}"))
            .credentials_provider(aws_sdk_identitystore::config::Credentials::new("AKIDFUZZ", "fuzz", None, None, "f"))
            .retry_config(aws_config::retry::RetryConfig::disabled())
            .load()
            .await;
        let fp = jmlproof::http::Footprint::new();
        jmlproof::aws::AwsClient::new(&sdk, "d-1234567890", "arn:aws:sso:::instance/ssoins-1", fp, None)
    });
    let seeds = [
        fixture("aws/identitystore/describe-user.disabled.response.json"),
        fixture("aws/identitystore/list-users.page1.response.json"),
    ];
    // Each case is a round trip through the SDK: fewer of them.
    let rounds = (iterations() / 6).max(50);
    let mut rng = Rng(9);
    for i in 0..rounds {
        let case = mutate(&mut rng, &seeds[i % seeds.len()]);
        *body.lock().unwrap() = case.clone();
        let run = AssertUnwindSafe(|| {
            rt.block_on(async {
                let _ = client.describe_user("94482488-3041-7026-18f3-be45837cd0e4").await;
                let _ = client.list_users().await;
            })
        });
        if catch_unwind(run).is_err() {
            panic!("aws-json: case {i} panicked: {}", hex(&case));
        }
    }
    let events = [fixture("aws/cloudtrail/scim-events.decoded.json")];
    fuzz("cloudtrail-event", 10, &events, |b| {
        if let Ok(serde_json::Value::Array(all)) = serde_json::from_slice(b) {
            for event in all {
                let e = jmlproof::aws::types::TrailEvent {
                    event_id: String::new(),
                    event_name: event["eventName"].as_str().unwrap_or("").into(),
                    event_time: None,
                    username: None,
                    event,
                };
                let _ = (e.target_id(), e.patch_paths(), e.active_after(), e.actor(), e.error_code());
            }
        }
    });
}
