//! `jmlproof sandbox`: serve the emulated tenant until Ctrl-C or SIGTERM.

use std::io::Write;
use std::path::Path;

use anyhow::Context;

use super::{Endpoints, Options, Sandbox, SeedData};
use crate::cli::SandboxArgs;
use crate::exit::Outcome;

pub fn run(args: SandboxArgs) -> anyhow::Result<Outcome> {
    let faults = match &args.faults {
        Some(path) => {
            let text =
                std::fs::read_to_string(path).with_context(|| format!("cannot read faults file {}", path.display()))?;
            super::faults::Faults::parse(&text, &path.display().to_string()).map_err(anyhow::Error::msg)?
        }
        None => super::faults::Faults::default(),
    };
    let seed_data: SeedData = args.seed_data.parse()?;
    if !(args.speed.is_finite() && args.speed > 0.0) {
        anyhow::bail!("--speed must be a positive number, got {}", args.speed);
    }
    let rt =
        tokio::runtime::Builder::new_multi_thread().enable_all().build().context("cannot start the async runtime")?;
    rt.block_on(async move {
        let sandbox = Sandbox::start(Options {
            seed: args.seed,
            seed_data,
            faults,
            speed: args.speed,
            port: args.port,
            start: None,
            people: args.people,
            log_events: args.log_events,
        })
        .await?;
        if let Some(path) = &args.write_config {
            write_config(path, &sandbox.endpoints)?;
        }
        let stop = crate::signals::stop_signal();
        let line = serde_json::to_string(&sandbox.endpoints)?;
        let mut out = std::io::stdout().lock();
        writeln!(out, "{line}")?;
        out.flush()?;
        drop(out);
        stop.await;
        sandbox.shutdown().await;
        Ok(Outcome::Pass)
    })
}

/// Writes a jmlproof.toml pointing at the sandbox. Secrets go to files beside it
/// (mode 0600) and the config holds `file:` references to them, never the values.
pub fn write_config(path: &Path, e: &Endpoints) -> anyhow::Result<()> {
    let dir = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    let secrets = dir.join(".jmlproof-sandbox");
    std::fs::create_dir_all(&secrets).with_context(|| format!("cannot create {}", secrets.display()))?;
    let secrets = std::fs::canonicalize(&secrets).unwrap_or(secrets);
    let put = |name: &str, value: &str| -> anyhow::Result<String> {
        let p = secrets.join(name);
        write_private(&p, value)?;
        Ok(std::fs::canonicalize(&p).unwrap_or(p).display().to_string())
    };
    let okta_token = put("okta_token", &e.okta_token)?;
    let client_secret = put("entra_client_secret", &e.client_secret)?;
    let aws_credentials = put(
        "aws_credentials",
        &format!(
            "[jmlproof-sandbox]\naws_access_key_id = {}\naws_secret_access_key = {}\n",
            e.aws_access_key_id, e.aws_secret_access_key
        ),
    )?;
    let text = format!(
        r#"# Written by `jmlproof sandbox --write-config`: points at the sandbox on loopback.
# Secrets are in {secrets_dir} and referenced with file:, never written here.

[okta]
org_url = "{okta_url}"
token = "file:{okta_token}"
# Or the OAuth service app (private_key_jwt + DPoP): remove `token` and use
# [okta.oauth]
# client_id = "{oauth_client}"
# private_key = "file:{secrets_dir}/okta_service_app.pem"

[entra]
tenant_id = "{tenant_id}"
client_id = "{client_id}"
client_secret = "file:{client_secret}"
# Or certificate credentials instead of the secret:
# certificate = "file:{secrets_dir}/entra_certificate.pem"
graph_url = "{graph_url}"
login_url = "{login_url}"
okta_app_id = "{entra_app}"
revoke = "either"
link_attribute = "onPremisesImmutableId"
okta_service_principal_id = "{sp}"

[aws]
region = "{region}"
identity_store_id = "{store}"
instance_arn = "{instance}"
account_id = "{account}"
permission_set_arn = "{ps}"
mover_permission_set_arn = "{mover_ps}"
okta_app_id = "{aws_app}"
external_id = "okta_id"
endpoint_url = "{aws_url}"
profile = "jmlproof-sandbox"
# The SDK's standard chain reads the profile; point it at the sandbox's file with
# AWS_SHARED_CREDENTIALS_FILE={aws_credentials}

[test]
domain = "{domain}"
login_prefix = "jmlproof-"
subjects = 3
group = "{group}"
mover_group = "{mover_group}"
max_users = 10
"#,
        secrets_dir = secrets.display(),
        okta_url = e.okta_url,
        oauth_client = e.okta_oauth_client_id,
        tenant_id = e.tenant_id,
        client_id = e.client_id,
        graph_url = e.graph_url,
        login_url = e.login_url,
        entra_app = e.okta_entra_app_id,
        sp = e.okta_service_principal_id,
        region = e.aws_region,
        store = e.identity_store_id,
        instance = e.instance_arn,
        account = e.aws_account_id,
        ps = e.permission_set_arn,
        mover_ps = e.mover_permission_set_arn,
        aws_app = e.okta_aws_app_id,
        aws_url = e.aws_endpoint,
        domain = e.domain,
        group = e.test_group,
        mover_group = e.mover_group,
    );
    let tmp = path.with_extension("toml.tmp");
    std::fs::write(&tmp, text).with_context(|| format!("cannot write {}", tmp.display()))?;
    std::fs::rename(&tmp, path).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}

fn write_private(path: &Path, value: &str) -> anyhow::Result<()> {
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create(true).truncate(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        opts.mode(0o600);
    }
    let mut f = opts.open(path).with_context(|| format!("cannot write {}", path.display()))?;
    f.write_all(value.as_bytes()).with_context(|| format!("cannot write {}", path.display()))?;
    Ok(())
}
