//! Benchmark (not a test): 100 subjects through the full joiner, mover and leaver
//! cycle against the sandbox with no provisioning delay. Prints the wall time, API
//! calls per subject, and the p95 width of the observed revoke windows.
//!
//! Run with `scripts/bench.sh` (or `cargo run --release --example bench_cycle`).

use std::sync::Arc;
use std::time::{Duration, Instant};

use jmlproof::aws::AwsClient;
use jmlproof::config::{ExternalId, LinkAttribute};
use jmlproof::entra::GraphClient;
use jmlproof::entra::token::{Credential, TokenSource};
use jmlproof::evidence::record::{Phase, Targets};
use jmlproof::http::{Footprint, HttpClient, Policy, System};
use jmlproof::okta::OktaClient;
use jmlproof::okta::auth::Auth;
use jmlproof::sandbox::faults::Faults;
use jmlproof::sandbox::{Options, Sandbox};
use jmlproof::scenario::runner::{Clients, Settings, Slas, run};
use jmlproof::scenario::stop::Stop;
use jmlproof::scenario::summary::percentile;
use jmlproof::secret::Secret;

const SUBJECTS: u32 = 100;

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let mut faults = Faults::fast();
    for leg in [&mut faults.entra.delay, &mut faults.aws.delay, &mut faults.entra.jitter, &mut faults.aws.jitter] {
        *leg = jmlproof::duration::Human(Duration::ZERO);
    }
    // The benchmark measures the tool, not Okta's rate limits.
    faults.okta.rate_limit = 100_000;
    faults.okta.logs_rate_limit = 100_000;
    let sb = Sandbox::start(Options { faults, ..Options::default() }).await?;
    let e = sb.endpoints.clone();
    let fp = Footprint::new();
    let okta = OktaClient::new(
        &url::Url::parse(&e.okta_url)?,
        Auth::Ssws(Secret::new(e.okta_token.clone())),
        HttpClient::new(System::Okta, Policy::default(), fp.clone())?,
        None,
    )?;
    let token = TokenSource::new(
        &url::Url::parse(&e.login_url)?,
        &e.tenant_id,
        &e.client_id,
        Credential::Secret(Secret::new(e.client_secret.clone())),
        HttpClient::new(System::Login, Policy::default(), fp.clone())?,
    )?;
    let graph = GraphClient::new(
        &url::Url::parse(&e.graph_url)?,
        token,
        HttpClient::new(System::Graph, Policy::default(), fp.clone())?,
        None,
    )?;
    let creds = aws_sdk_identitystore::config::Credentials::new(
        e.aws_access_key_id.clone(),
        e.aws_secret_access_key.clone(),
        None,
        None,
        "bench",
    );
    let sdk = aws_config::defaults(aws_config::BehaviorVersion::latest())
        .region(aws_config::Region::new(e.aws_region.clone()))
        .endpoint_url(&e.aws_endpoint)
        .credentials_provider(creds)
        .load()
        .await;
    let aws = AwsClient::new(&sdk, &e.identity_store_id, &e.instance_arn, fp.clone(), None);
    let journal = std::env::temp_dir().join(format!("jmlproof-bench-{}", std::process::id()));
    let settings = Settings {
        run_id: jmlproof::scenario::plan::run_id(),
        operator: "bench".into(),
        prefix: "jmlproof-".into(),
        domain: e.domain.clone(),
        subjects: SUBJECTS,
        max_users: SUBJECTS,
        group: e.test_group.clone(),
        mover_group: e.mover_group.clone(),
        entra_app: e.okta_entra_app_id.clone(),
        aws_app: e.okta_aws_app_id.clone(),
        account_id: e.aws_account_id.clone(),
        permission_set_arn: e.permission_set_arn.clone(),
        mover_permission_set_arn: e.mover_permission_set_arn.clone(),
        link: LinkAttribute::OnPremisesImmutableId,
        external_id: ExternalId::OktaId,
        okta_sp_id: Some(e.okta_service_principal_id.clone()),
        sla: Slas {
            joiner: Duration::from_secs(120),
            mover: Duration::from_secs(120),
            leaver: Duration::from_secs(120),
            residual: Duration::from_secs(86_400),
        },
        grace: Duration::from_secs(10),
        poll_start: Duration::from_millis(50),
        poll_max: Duration::from_secs(1),
        audit_wait: Duration::ZERO,
        mover: true,
        leaver: true,
        journal_dir: journal.clone(),
        targets: Targets::default(),
    };
    let started = Instant::now();
    let stop = Stop::default();
    let record = run(
        &settings,
        &Clients {
            stop: &stop,
            progress: &jmlproof::scenario::progress::Progress::quiet(),
            okta: &okta,
            graph: &graph,
            aws: &aws,
        },
        &Arc::clone(&fp),
    )
    .await?;
    let wall = started.elapsed();
    let calls: u64 = record.footprint.iter().map(|f| f.calls).sum();
    // Width: first poll that saw the revoke minus the last that did not, or minus our
    // deactivate request when the very first poll already saw it.
    let asked = |subject: &str| {
        record.steps.iter().find(|s| s.subject == subject && s.action == "deactivate").map(|s| s.requested_at)
    };
    let mut widths: Vec<i64> = record
        .observations
        .iter()
        .filter(|o| o.phase == Phase::Leaver && o.check == "revoked")
        .filter_map(|o| {
            let w = o.window?;
            let lower = w.last_not_seen.or_else(|| asked(&o.subject))?;
            Some((w.first_seen - lower).num_milliseconds())
        })
        .collect();
    widths.sort_unstable();
    let failing = record.verdicts.iter().filter(|v| v.status != jmlproof::evidence::record::Status::Pass).count();
    println!("subjects                      {SUBJECTS}");
    println!("wall time                     {:.1} s", wall.as_secs_f64());
    println!("API calls                     {calls} ({:.1} per subject)", calls as f64 / f64::from(SUBJECTS));
    println!("revoke windows observed       {}", widths.len());
    println!("p95 revoke window width       {} ms", percentile(&widths, 95.0).unwrap_or(-1));
    println!("verdicts not PASS             {failing} of {}", record.verdicts.len());
    for f in &record.footprint {
        println!(
            "  {:<6} {:<55} {:>6} calls {:>4} retries {:>4} throttled",
            f.system.as_str(),
            f.endpoint,
            f.calls,
            f.retries,
            f.throttled
        );
    }
    sb.shutdown().await;
    let _ = std::fs::remove_dir_all(&journal);
    Ok(())
}
