//! `reconcile` against the sandbox's studio story: every planted orphan and lingering
//! account is found, with its link and days, and nothing else among the ~1,600
//! accounts; exceptions accept a finding until they expire.

use std::collections::BTreeSet;
use std::process::Command;

use chrono::Duration;
use jmlproof::evidence::record::{Finding, FindingClass, Leg, LinkKind, Record};
use jmlproof::http::Footprint;
use jmlproof::reconcile::{Sources, exceptions, reconcile};
use jmlproof::sandbox::Sandbox;
use jmlproof::scenario::cmd::sandbox_clients;

async fn reconciled(sb: &Sandbox, ex: &[exceptions::Exception]) -> Record {
    let fp = Footprint::new();
    let c = sandbox_clients(&sb.endpoints, &fp, None).await.unwrap();
    let e = &sb.endpoints;
    let s = Sources {
        okta: &c.okta,
        graph: &c.graph,
        aws: &c.aws,
        entra_app: &e.okta_entra_app_id,
        aws_app: &e.okta_aws_app_id,
    };
    let ids = BTreeSet::new();
    let residue = jmlproof::reconcile::Residue { login: None, ids: &ids };
    reconcile(&s, ex, &residue, "r1", "test", sb.shared.clock.now()).await.unwrap().0
}

fn ids(r: &Record, class: FindingClass, system: Leg) -> BTreeSet<String> {
    r.findings.iter().filter(|f| f.class == class && f.system == system).map(|f| f.account_id.clone()).collect()
}

#[tokio::test(flavor = "multi_thread")]
async fn the_planted_orphans_and_lingering_accounts_and_nothing_else() {
    let sb = common::start_studio(7, 1.0, None).await;
    let p = sb.shared.planted.clone().unwrap();
    let r = reconciled(&sb, &[]).await;

    // AWS orphans: the console-made users still enabled, and the break-glass account.
    let mut want: BTreeSet<String> =
        p.unmappable_aws_users.iter().filter(|u| u.status == "ENABLED").map(|u| u.user_id.clone()).collect();
    want.insert(p.break_glass.user_id.clone());
    assert_eq!(ids(&r, FindingClass::Orphan, Leg::Aws), want);
    // Lingering: the leaver whose AWS deactivation push failed, still enabled.
    let never = &p.never_revoked[0];
    let leaver = p.leavers.iter().find(|l| l.okta_id == never.okta_id).unwrap();
    let aws_id =
        leaver.legs.iter().find(|l| l.leg == jmlproof::sandbox::state::Leg::Aws).unwrap().downstream_id.clone();
    assert_eq!(ids(&r, FindingClass::Lingering, Leg::Aws), BTreeSet::from([aws_id]));
    assert!(ids(&r, FindingClass::Lingering, Leg::Entra).is_empty());
    // The contractor's guest: an orphan, tied to the person only by mail (weak), with the days.
    let guest: Vec<&Finding> =
        r.findings.iter().filter(|f| f.system == Leg::Entra && f.class == FindingClass::Orphan).collect();
    assert_eq!(guest.len(), 1, "{guest:#?}");
    assert_eq!(guest[0].account_id, p.contractor_guest.entra_id);
    let owner = guest[0].owner.as_ref().unwrap();
    assert_eq!((owner.okta_id.as_str(), owner.link), (p.contractor_guest.okta_id.as_str(), LinkKind::WeakMail));
    assert!(
        guest[0].detail.contains(&format!("for {} days", p.contractor_guest.days_since_deactivation)),
        "{:?}",
        guest[0]
    );
    // Disabled users that still hold an assignment directly (a warning).
    let disabled: BTreeSet<&str> =
        p.unmappable_aws_users.iter().filter(|u| u.status == "DISABLED").map(|u| u.user_id.as_str()).collect();
    let want: BTreeSet<String> = p
        .direct_assignments
        .iter()
        .filter(|a| disabled.contains(a.user_id.as_str()))
        .map(|a| a.user_id.clone())
        .collect();
    assert_eq!(ids(&r, FindingClass::DisabledWithAssignment, Leg::Aws), want);
    // No duplicate, no drift among the provisioned people.
    assert!(
        r.findings.iter().all(|f| !matches!(f.class, FindingClass::Duplicate | FindingClass::Drift)),
        "{:#?}",
        r.findings
            .iter()
            .filter(|f| matches!(f.class, FindingClass::Duplicate | FindingClass::Drift))
            .collect::<Vec<_>>()
    );
    assert_eq!(jmlproof::exit::of_record(&r), jmlproof::exit::Outcome::Findings);

    // Exceptions: break-glass accepted; an expired one counts again.
    let expired_user = p.unmappable_aws_users.iter().find(|u| u.status == "ENABLED").unwrap();
    let yesterday = (sb.shared.clock.now() - Duration::days(1)).format("%Y-%m-%d");
    let text = format!(
        "[[exception]]\nsystem = \"aws\"\naccount = \"ops-breakglass\"\nreason = \"break-glass\"\nowner = \"secops\"\napproved_by = \"ciso\"\nexpires = \"2099-12-31\"\n\n\
         [[exception]]\nsystem = \"aws\"\naccount = \"{}\"\nreason = \"render farm\"\nowner = \"it\"\napproved_by = \"cto\"\nexpires = \"{yesterday}\"\n",
        expired_user.user_name
    );
    let ex = exceptions::parse(&text, "ex.toml").unwrap();
    let r = reconciled(&sb, &ex).await;
    let bg = r.findings.iter().find(|f| f.account_id == p.break_glass.user_id).unwrap();
    assert!(bg.exception.as_ref().unwrap().live && !bg.blocks());
    let old = r.findings.iter().find(|f| f.account_id == expired_user.user_id).unwrap();
    assert!(!old.exception.as_ref().unwrap().live && old.blocks());
    assert!(r.notes.iter().any(|n| n.contains("expired exceptions") && n.contains(&expired_user.user_name)));
    sb.shutdown().await;
}

#[test]
fn the_cli_writes_a_reconcile_pack_with_findings_csv_and_exits_1() {
    use common::cli::{bin, scratch, shown};
    let dir = scratch("reconcile-cli");
    let o = bin().args(["reconcile", "--sandbox", "--out", "evidence"]).current_dir(&dir).output().unwrap();
    assert_eq!(o.status.code(), Some(1), "{}", shown(&o));
    let stdout = String::from_utf8_lossy(&o.stdout);
    assert!(stdout.contains("lingering") && stdout.contains("orphan"), "{stdout}");
    let pack = std::fs::read_dir(dir.join("evidence")).unwrap().next().unwrap().unwrap().path();
    assert!(pack.file_name().unwrap().to_string_lossy().starts_with("jmlproof-reconcile-"));
    let csv = std::fs::read_to_string(pack.join("findings.csv")).unwrap();
    assert!(csv.starts_with("run_id,class,system,account,"), "{csv}");
    assert!(csv.lines().count() > 100);
    let html = std::fs::read_to_string(pack.join("index.html")).unwrap();
    assert!(html.contains("id=\"findings\"") && html.contains("weak_mail"));
    let pdf = Command::new("pdftotext").arg(pack.join("report.pdf")).arg("-").output().unwrap();
    assert!(String::from_utf8_lossy(&pdf.stdout).contains("ops-breakglass"));
    std::fs::write(dir.join("ex.toml"), "[[exception]]\nsystem = \"aws\"\nacount = \"x\"\n").unwrap();
    let o = bin().args(["reconcile", "--sandbox", "--exceptions", "ex.toml"]).current_dir(&dir).output().unwrap();
    assert_eq!(o.status.code(), Some(2), "{}", shown(&o));
    assert!(String::from_utf8_lossy(&o.stderr).contains("ex.toml:3: unknown field `acount`"), "{}", shown(&o));
    let _ = std::fs::remove_dir_all(&dir);
}

mod common;
