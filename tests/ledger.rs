//! `collect` and `verify --ledger` against the studio sandbox with time jumped forward:
//! segments chain, overlapping windows add nothing twice, a stretch past Entra's
//! retention is a recorded gap, a crash's partial segment is discarded, and every way
//! of tampering with the ledger is named.

use std::path::{Path, PathBuf};
use std::time::Duration as StdDuration;

use chrono::{DateTime, Duration, Utc};
use jmlproof::evidence::record::Source;
use jmlproof::http::Footprint;
use jmlproof::ledger::chain::{LedgerReport, verify_ledger};
use jmlproof::ledger::collect::Collected;
use jmlproof::pack::Signer;
use jmlproof::pack::verify::Trust;
use jmlproof::sandbox::Sandbox;
use jmlproof::sandbox::state::Leg;
use jmlproof::scenario::cmd::sandbox_clients;

mod common;
use common::cli::{bin, scratch, shown};

fn start() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-02T10:00:00Z").unwrap().to_utc()
}

fn signer(dir: &Path) -> (Signer, PathBuf) {
    let key = dir.join("key");
    let public = jmlproof::pack::sign::keygen(&key, "ledger@acme.example", None).unwrap();
    let trusted = dir.join("trusted_signers");
    let line = format!("ledger@acme.example namespaces=\"jmlproof\" {}\n", public.to_openssh().unwrap());
    std::fs::write(&trusted, line).unwrap();
    let reference = format!("file:{}", key.display()).parse().unwrap();
    (Signer::from_ref(&reference, None).unwrap(), trusted)
}

async fn collect_now(sb: &Sandbox, ledger: &Path, signer: &Signer) -> Collected {
    let c = sandbox_clients(&sb.endpoints, &Footprint::new(), None).await.unwrap();
    common::collect(sb, &c, ledger, signer, true).await
}

fn window(c: &Collected, source: Source) -> &jmlproof::ledger::Window {
    c.segment.windows.iter().find(|w| w.source == source).unwrap()
}

fn checked(ledger: &Path, trusted: &Path) -> LedgerReport {
    verify_ledger(ledger, &Trust { allowed_signers: Some(trusted), identity: Some("ledger@acme.example") }).unwrap()
}

/// Deactivates an employee who has accounts on both legs, and waits until the
/// sandbox's provisioner has disabled both.
async fn a_leaver(sb: &Sandbox, okta_id: &str) {
    let c = sandbox_clients(&sb.endpoints, &Footprint::new(), None).await.unwrap();
    c.okta.deactivate(okta_id).await.unwrap();
    for _ in 0..400 {
        let done = {
            let t = sb.shared.tenant();
            [Leg::Entra, Leg::Aws]
                .iter()
                .all(|leg| t.truth.iter().any(|r| r.okta_user_id == okta_id && r.leg == *leg && r.action == "disable"))
        };
        if done {
            return;
        }
        tokio::time::sleep(StdDuration::from_millis(25)).await;
    }
    panic!("{okta_id} was not disabled on both legs");
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap().map(Result::unwrap) {
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn daily_collects_chain_add_nothing_twice_and_every_tampering_is_named() {
    let sb = common::start_studio(3, 1.0, Some(start())).await;
    let planted = sb.shared.planted.clone().unwrap();
    let dir = scratch("ledger-chain");
    let ledger = dir.join("ledger");
    let (signer, trusted) = signer(&dir);

    // The first collect reaches as far back as the sources go: the studio's history.
    let first = collect_now(&sb, &ledger, &signer).await;
    assert_eq!(first.seq, 1);
    for source in [Source::OktaSystemLog, Source::EntraDirectoryAudit, Source::Cloudtrail] {
        let w = window(&first, source);
        assert!(w.kept > 0 && w.gap.is_none(), "{w:?}");
    }
    let okta_users = first.segment.snapshots.iter().find(|s| s.system == "okta").unwrap().users;
    assert!(okta_users >= planted.counts.okta_active, "{okta_users}");
    for s in &first.segment.snapshots {
        use std::io::Read;
        let mut text = String::new();
        let gz = std::fs::File::open(first.folder.join(&s.file)).unwrap();
        flate2::read::GzDecoder::new(gz).read_to_string(&mut text).unwrap();
        assert_eq!(text.lines().count(), s.users, "{}", s.file);
        assert!(text.lines().all(|l| serde_json::from_str::<serde_json::Value>(l).is_ok()));
    }

    // Twice the same day: the overlap returns what the ledger holds; nothing is added.
    let again = collect_now(&sb, &ledger, &signer).await;
    assert_eq!(again.seq, 2);
    for w in &again.segment.windows {
        assert_eq!(w.kept, 0, "{w:?}");
    }

    // A day later, a leaver: each trail's new events, once.
    sb.shared.clock.advance(StdDuration::from_secs(86_400));
    let leaver = &planted.joiners[0];
    a_leaver(&sb, &leaver.okta_id).await;
    let day = collect_now(&sb, &ledger, &signer).await;
    assert_eq!(day.seq, 3);
    let okta = std::fs::read_to_string(day.folder.join("okta.ndjson")).unwrap();
    assert!(
        okta.lines().any(|l| l.contains("user.lifecycle.deactivate") && l.contains(&leaver.okta_id)),
        "the deactivation is in the day's segment"
    );
    let graph = std::fs::read_to_string(day.folder.join("graph.ndjson")).unwrap();
    assert!(graph.contains(leaver.entra_id.as_deref().unwrap()), "the Entra revoke is in it");
    let trail = std::fs::read_to_string(day.folder.join("cloudtrail.ndjson")).unwrap();
    assert!(trail.contains(leaver.aws_id.as_deref().unwrap()), "the SCIM revoke is in it");
    assert_eq!(day.segment.previous.as_ref().unwrap().seq, 2);

    let r = checked(&ledger, &trusted);
    assert!(r.holds(), "{:?}", r.problems);
    assert_eq!(r.segments, 3);
    assert!(r.gaps.is_empty());
    assert_eq!(r.signers.len(), 1);
    let o = bin()
        .args(["verify", "--ledger"])
        .arg(&ledger)
        .arg("--allowed-signers")
        .arg(&trusted)
        .args(["--identity", "ledger@acme.example"])
        .output()
        .unwrap();
    assert!(o.status.success(), "{}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("verify: OK: 3 segments chained"), "{}", shown(&o));

    // Tampering, each on its own copy.
    let tampered = |name: &str, change: &dyn Fn(&Path)| -> LedgerReport {
        let copy = dir.join(name);
        copy_dir(&ledger, &copy);
        change(&copy);
        checked(&copy, &trusted)
    };
    let has = |r: &LedgerReport, needle: &str| {
        assert!(!r.holds() && r.problems.iter().any(|p| p.contains(needle)), "{needle:?} not in {:?}", r.problems)
    };
    let edited = tampered("edited", &|l| {
        let p = l.join("000003/okta.ndjson");
        let text = std::fs::read_to_string(&p).unwrap().replace("SUCCESS", "FAILURE");
        std::fs::write(p, text).unwrap();
    });
    has(&edited, "segment 000003: modified: okta.ndjson");
    // attest refuses it whole, naming why.
    let trust = Trust { allowed_signers: Some(&trusted), identity: None };
    let refused = jmlproof::ledger::read::load(&dir.join("edited"), &trust).unwrap_err().to_string();
    assert!(refused.contains("does not verify (segment 000003: modified: okta.ndjson"), "{refused}");
    assert!(jmlproof::ledger::read::load(&ledger, &trust).is_ok());
    let removed = tampered("removed", &|l| std::fs::remove_dir_all(l.join("000002")).unwrap());
    has(&removed, "segment 000003: expected segment 000002");
    has(&removed, "links to segment 000002, which does not precede it");
    let reordered = tampered("reordered", &|l| {
        std::fs::rename(l.join("000002"), l.join("tmp")).unwrap();
        std::fs::rename(l.join("000003"), l.join("000002")).unwrap();
        std::fs::rename(l.join("tmp"), l.join("000003")).unwrap();
    });
    has(&reordered, "segment 000002: its segment.json says it is segment 3");
    // Edited and re-hashed: the files agree with SHA256SUMS, the signature does not.
    let rehashed = tampered("rehashed", &|l| {
        let seg = l.join("000001");
        let p = seg.join("graph.ndjson");
        let text = std::fs::read_to_string(&p).unwrap();
        let fewer: String = text.lines().skip(1).map(|l| format!("{l}\n")).collect();
        std::fs::write(&p, fewer).unwrap();
        let sums = std::fs::read_to_string(seg.join("SHA256SUMS")).unwrap();
        let old = jmlproof::pack::sums::hex_sha256(text.as_bytes());
        let new = jmlproof::pack::sums::hex_sha256(std::fs::read(&p).unwrap().as_slice());
        std::fs::write(seg.join("SHA256SUMS"), sums.replace(&old, &new)).unwrap();
    });
    has(&rehashed, "segment 000001: signature: does not match SHA256SUMS");
    has(&rehashed, "segment 000002: the segment 000001 it links to is not the one in the ledger");
    let _ = std::fs::remove_dir_all(&dir);
    sb.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn a_stretch_past_entra_retention_is_a_recorded_gap_and_a_partial_segment_is_discarded() {
    let sb = common::start_studio(4, 1.0, Some(start())).await;
    let planted = sb.shared.planted.clone().unwrap();
    let dir = scratch("ledger-gap");
    let ledger = dir.join("ledger");
    let (signer, trusted) = signer(&dir);
    let first = collect_now(&sb, &ledger, &signer).await;

    // Forty days without a collect: Entra keeps 30, Okta and CloudTrail 90.
    sb.shared.clock.advance(StdDuration::from_secs(40 * 86_400));
    a_leaver(&sb, &planted.joiners[1].okta_id).await;
    // A collect killed while writing left its temporary folder behind.
    let partial = ledger.join(".000002.tmp-4242");
    std::fs::create_dir_all(&partial).unwrap();
    std::fs::write(partial.join("okta.ndjson"), "{\"half\":").unwrap();
    let warned = checked(&ledger, &trusted);
    assert!(warned.holds() && warned.warnings.iter().any(|w| w.contains("partial segment")), "{warned:?}");

    let later = collect_now(&sb, &ledger, &signer).await;
    assert_eq!((later.seq, later.discarded), (2, 1));
    assert!(!partial.exists());
    let entra = window(&later, Source::EntraDirectoryAudit);
    let gap = entra.gap.as_ref().expect("Entra no longer shows the stretch");
    assert_eq!(gap.from, window(&first, Source::EntraDirectoryAudit).until);
    assert!(gap.to > gap.from + Duration::days(9), "{gap:?}");
    assert!(window(&later, Source::OktaSystemLog).gap.is_none(), "Okta still reaches back");
    assert!(window(&later, Source::Cloudtrail).gap.is_none(), "CloudTrail still reaches back");

    let r = checked(&ledger, &trusted);
    assert!(r.holds(), "a recorded gap is not tampering: {:?}", r.problems);
    assert_eq!(r.gaps.len(), 1);
    assert_eq!(r.gaps[0].0, Source::EntraDirectoryAudit);
    let o = bin().args(["verify", "--ledger"]).arg(&ledger).arg("--allowed-signers").arg(&trusted).output().unwrap();
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(o.status.success() && out.contains("gap: EntraDirectoryAudit"), "{}", shown(&o));
    let _ = std::fs::remove_dir_all(&dir);
    sb.shutdown().await;
}

#[test]
fn the_cli_collects_twice_verifies_and_refuses_bad_input_in_one_line() {
    let dir = scratch("ledger-cli");
    let config = dir.join("jmlproof.toml");
    let (mut sandbox, _) = common::cli::spawn_sandbox(&["--seed-data", "studio"], &config);
    let key = dir.join("key");
    let o = bin().args(["keygen", "--path"]).arg(&key).args(["--comment", "ledger@acme.example"]).output().unwrap();
    assert!(o.status.success(), "{}", shown(&o));
    let trusted = dir.join("trusted_signers");
    std::fs::write(&trusted, String::from_utf8_lossy(&o.stdout).lines().last().unwrap()).unwrap();
    let ledger = dir.join("ledger");
    let collect = |extra: &[&str]| {
        bin()
            .args(["collect", "--ledger"])
            .arg(&ledger)
            .arg("--config")
            .arg(&config)
            .arg("--signing-key")
            .arg(format!("file:{}", key.display()))
            .args(["--signer", "ledger@acme.example"])
            .args(extra)
            .env("AWS_SHARED_CREDENTIALS_FILE", dir.join(".jmlproof-sandbox/aws_credentials"))
            .env("AWS_CONFIG_FILE", dir.join("no-aws-config"))
            .env("AWS_EC2_METADATA_DISABLED", "true")
            .output()
            .unwrap()
    };
    let since = (Utc::now() - Duration::days(100)).format("%Y-%m-%d").to_string();
    for (i, extra) in [vec!["--since", since.as_str()], vec!["--quiet"]].into_iter().enumerate() {
        let o = collect(&extra);
        assert!(o.status.success(), "{}", shown(&o));
        let out = String::from_utf8_lossy(&o.stdout);
        assert!(out.trim_end().ends_with(&format!("{:06}", i + 1)), "{out}");
    }
    let o = bin().args(["verify", "--ledger"]).arg(&ledger).arg("--allowed-signers").arg(&trusted).output().unwrap();
    assert!(o.status.success(), "{}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stdout).contains("verify: OK: 2 segments chained"), "{}", shown(&o));

    for (args, needle) in [(vec!["--overlap", "soon"], "--overlap"), (vec!["--since", "last tuesday"], "--since")] {
        let o = collect(&args);
        let err = String::from_utf8_lossy(&o.stderr);
        assert_eq!(o.status.code(), Some(2), "{}", shown(&o));
        assert!(err.lines().count() == 1 && err.contains(needle), "{err}");
    }
    let o = bin().args(["verify", "--ledger"]).arg(dir.join("nowhere")).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", shown(&o));

    // attest refuses a ledger that does not verify, before touching any tenant.
    std::fs::remove_dir_all(ledger.join("000001")).unwrap();
    let o = bin()
        .args(["attest", "--sandbox", "--since", &since, "--until", &since, "--ledger"])
        .arg(&ledger)
        .arg("--ledger-signers")
        .arg(&trusted)
        .output()
        .unwrap();
    let err = String::from_utf8_lossy(&o.stderr);
    assert_eq!(o.status.code(), Some(2), "{}", shown(&o));
    assert!(err.contains("does not verify (segment 000002: expected segment 000001"), "{err}");
    assert!(!err.contains("warning"), "--ledger-signers given: no warning: {err}");
    let _ = sandbox.kill();
    let _ = sandbox.wait();
    let _ = std::fs::remove_dir_all(&dir);
}

/// On Entra ID Free (7 days of audits), a missed week is already lost: the ledger
/// records the gap and attest, reading it, gives that week's leaver's Entra leg
/// UNKNOWN naming the gap, while CloudTrail (90 days) still shows the AWS revoke.
#[tokio::test(flavor = "multi_thread")]
async fn a_missed_week_on_entra_free_is_a_gap_and_its_leaver_unknown_in_attest() {
    use jmlproof::evidence::record::{Leg as RLeg, Period, Status};
    let mut faults = jmlproof::sandbox::faults::Faults::fast();
    faults.entra.audit_retention = jmlproof::duration::Human(StdDuration::from_secs(7 * 86_400));
    let sb = Sandbox::start(jmlproof::sandbox::Options {
        seed: 9,
        seed_data: jmlproof::sandbox::SeedData::Studio,
        faults,
        start: Some(start()),
        ..Default::default()
    })
    .await
    .unwrap();
    let planted = sb.shared.planted.clone().unwrap();
    let dir = scratch("ledger-week");
    let ledger = dir.join("ledger");
    let (signer, trusted) = signer(&dir);
    collect_now(&sb, &ledger, &signer).await;
    sb.shared.clock.advance(StdDuration::from_secs(2 * 86_400));
    let leaver = &planted.joiners[2];
    a_leaver(&sb, &leaver.okta_id).await;
    sb.shared.clock.advance(StdDuration::from_secs(8 * 86_400));
    let later = collect_now(&sb, &ledger, &signer).await;
    assert!(window(&later, Source::EntraDirectoryAudit).gap.is_some());

    let trust = Trust { allowed_signers: Some(&trusted), identity: None };
    let view = jmlproof::ledger::read::load(&ledger, &trust).unwrap();
    let c = sandbox_clients(&sb.endpoints, &Footprint::new(), None).await.unwrap();
    let now = sb.shared.clock.now();
    let settings = jmlproof::attest::Settings {
        run_id: "wk".into(),
        operator: "test".into(),
        period: Period { since: now - Duration::days(9), until: now },
        now,
        leaver_sla: Duration::hours(1),
        test_login: None,
        test_ids: Default::default(),
        sample: None,
        terminations: Vec::new(),
        termination_sla: Duration::hours(24),
        ledger: Some(view),
    };
    let e = &sb.endpoints;
    let sources = jmlproof::attest::gather::Sources {
        okta: &c.okta,
        graph: &c.graph,
        aws: &c.aws,
        entra_app: &e.okta_entra_app_id,
        aws_app: &e.okta_aws_app_id,
    };
    let r = jmlproof::attest::attest(&settings, &sources, None).await.unwrap();
    let key = &r.subjects.iter().find(|s| s.okta_id.as_deref() == Some(leaver.okta_id.as_str())).unwrap().key;
    let leg = |l| r.verdicts.iter().find(|v| &v.subject == key && v.leg == l && v.check == "revoked").unwrap();
    let entra = leg(RLeg::Entra);
    assert_eq!(entra.status, Status::Unknown, "{entra:?}");
    assert!(entra.reason.contains("a gap"), "{}", entra.reason);
    assert_eq!(leg(RLeg::Aws).status, Status::Pass);
    let _ = std::fs::remove_dir_all(&dir);
    sb.shutdown().await;
}
