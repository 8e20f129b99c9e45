//! `jmlproof init`: writes a commented starter jmlproof.toml.

use std::io::Write;
use std::path::Path;

use anyhow::{Context, bail};

use crate::cli::InitArgs;
use crate::exit::Outcome;

/// Every key, with what it is for. Optional keys and the alternative
/// credentials are commented out (`# key = …`); the rest are placeholders.
pub const STARTER: &str = r#"# jmlproof.toml: where jmlproof finds Okta, Microsoft Entra ID and AWS IAM Identity
# Center, and what it proves. Secrets are never written here: every credential is a
# reference, env:NAME (an environment variable), file:PATH (a file; relative paths
# are taken from this file's folder) or cmd:COMMAND (a program that prints the
# secret on stdout, run without a shell). Check this file with:
#   jmlproof check-config --config jmlproof.toml

[okta]
# Your Okta org, the URL users sign in to (not the -admin console URL).
org_url = "https://yourorg.okta.com"
# An SSWS API token. Either this, or the [okta.oauth] table below; not both.
token = "env:OKTA_API_TOKEN"

# OAuth 2.0 service app with private_key_jwt (what Okta recommends). To use it,
# remove `token` above and uncomment the table.
# [okta.oauth]
# client_id = "0oa1234567890abcdefg"
# # PEM private key registered with the service app.
# private_key = "file:okta-service-app.pem"
# # The key's JWK `kid`, when the app has more than one key.
# key_id = "yourKeyId"
# # Scopes to request; each must be granted to the app.
# scopes = ["okta.users.manage", "okta.groups.manage", "okta.apps.read", "okta.logs.read"]

[entra]
# Directory (tenant) id, or a verified domain such as yourorg.onmicrosoft.com.
tenant_id = "00000000-0000-0000-0000-000000000000"
# Application (client) id of the app registration jmlproof signs in as.
client_id = "00000000-0000-0000-0000-000000000000"
# Its client secret; or instead `certificate`, a PEM bundle holding the private
# key and its certificate. One of the two.
client_secret = "env:ENTRA_CLIENT_SECRET"
# certificate = "file:entra-app.pem"
# Microsoft Graph service root (jmlproof adds /v1.0). Change only for a national cloud.
graph_url = "https://graph.microsoft.com"
# Token endpoint host.
login_url = "https://login.microsoftonline.com"
# Id of the Okta app (Microsoft Office 365) that provisions into Entra ID.
okta_app_id = "0oaENTRAAPPID0000000"
# What counts as a revoked leaver: disable (accountEnabled=false), delete, or either.
revoke = "either"
# Entra attribute holding the Okta identity: onPremisesImmutableId or employeeId.
link_attribute = "onPremisesImmutableId"
# Object id of Okta's service principal in Entra, to tell its audit events apart.
# okta_service_principal_id = "00000000-0000-0000-0000-000000000000"

[aws]
# Region of the IAM Identity Center instance.
region = "us-east-1"
# Identity store of that instance (Settings > Identity source).
identity_store_id = "d-0000000000"
instance_arn = "arn:aws:sso:::instance/ssoins-0000000000000000"
# Account on which the test group gets its permission set.
account_id = "123456789012"
# Permission set the joiner group is assigned on that account.
permission_set_arn = "arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-0000000000000000"
# Permission set of the group a mover moves to.
mover_permission_set_arn = "arn:aws:sso:::permissionSet/ssoins-0000000000000000/ps-1111111111111111"
# Id of the Okta app (AWS IAM Identity Center) that provisions over SCIM.
okta_app_id = "0oaAWSAPPID000000000"
# What Okta sends as the SCIM externalId: okta_id or employee_number.
external_id = "okta_id"
# Another endpoint than AWS's, e.g. a local moto_server (plain http only to loopback).
# endpoint_url = "http://127.0.0.1:5000"
# Named profile from ~/.aws/config; otherwise the default credential chain.
# profile = "jmlproof-audit"

# Disposable users for `jmlproof run`. jmlproof only ever changes users it created,
# whose login starts with login_prefix.
[test]
# Mail domain of the test users (a domain verified in Okta and Entra ID).
domain = "yourorg.example.com"
# Prefix of every test login: lowercase letters, digits, '.', '_' or '-'.
login_prefix = "jmlproof-"
# Test users per run.
subjects = 3
# Okta group assigned to both apps, which joiners are added to.
group = "jmlproof-test"
# A second such group, which movers move to.
mover_group = "jmlproof-test-mover"
# Cap on users created in one run.
max_users = 10
# How long past the SLA a leg is still watched, so a late change is measured.
# grace = "5m"
# How long to keep collecting Entra and CloudTrail audit entries after a change
# is seen (they can lag minutes behind it).
# audit_wait = "5m"

# How fast each change must reach Entra ID and AWS: d, h, m, s (e.g. 1h30m).
[sla]
joiner = "4h"
mover = "4h"
leaver = "1h"
# From Okta deactivation until the user is revoked everywhere.
termination = "24h"
# How long access may remain after revocation (sessions, AWS session duration).
residual = "24h"

[reconcile]
# Accepted exceptions for `jmlproof reconcile` (accounts with no Okta owner on purpose).
# exceptions = "exceptions.toml"

[evidence]
# Folder the evidence packs are written to.
out_dir = "evidence"
# Ed25519 OpenSSH private key that signs each pack's SHA256SUMS (create one with
# `jmlproof keygen`). A public key here means "held by ssh-agent". Without any key,
# the first Ed25519 key of a running ssh-agent signs; with none, packs are unsigned
# and say so on their first page.
# signing_key = "file:jmlproof_signing_key"
# Passphrase of a protected key, as a secret reference.
# signing_passphrase = "env:JMLPROOF_SIGNING_PASSPHRASE"
# Who signs (the principal in allowed_signers), e.g. an email address.
# signer = "audit@yourorg.example.com"
# Formats in each pack: html, pdf, csv, json, junit.
formats = ["html", "pdf", "csv", "json"]
# Folder whose index.html / style.css override the built-in templates.
# templates = "templates"
"#;

pub fn run(args: &InitArgs) -> anyhow::Result<Outcome> {
    write_new(&args.path, STARTER, args.force)?;
    println!("wrote {}: fill in the placeholders, then run `jmlproof check-config --config {0}`", args.path.display());
    Ok(Outcome::Pass)
}

/// Writes `text` to `path` atomically: a temporary file in the same folder, then
/// a rename, so a reader never sees half a file. Without `force`, an existing
/// file is never replaced, even one created while we were writing.
fn write_new(path: &Path, text: &str, force: bool) -> anyhow::Result<()> {
    if !force && path.exists() {
        bail!("{} already exists (use --force to overwrite it)", path.display());
    }
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => Path::new("."),
    };
    let name = path.file_name().with_context(|| format!("{}: not a file name", path.display()))?;
    let tmp = dir.join(format!(".{}.tmp-{}", name.to_string_lossy(), std::process::id()));
    let written = (|| {
        let mut file = std::fs::OpenOptions::new().write(true).create_new(true).open(&tmp)?;
        file.write_all(text.as_bytes())?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = std::fs::remove_file(&tmp);
        return Err(e).with_context(|| format!("cannot write {}", tmp.display()));
    }
    let placed = if force {
        std::fs::rename(&tmp, path)
    } else {
        // A hard link fails if the target exists: no check-then-replace race.
        std::fs::hard_link(&tmp, path).and_then(|()| std::fs::remove_file(&tmp))
    };
    if let Err(e) = placed {
        let _ = std::fs::remove_file(&tmp);
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            bail!("{} already exists (use --force to overwrite it)", path.display());
        }
        return Err(e).with_context(|| format!("cannot write {}", path.display()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::{self, EntraCredential, OktaAuth};
    use std::path::PathBuf;

    #[test]
    fn starter_parses() {
        let c = config::parse(STARTER, Path::new("jmlproof.toml")).unwrap_or_else(|e| panic!("{e}"));
        assert!(matches!(c.okta.auth, OktaAuth::Token(_)));
        assert_eq!(c.test.unwrap().max_users, 10);
    }

    /// Uncommenting every optional key (and switching to the alternative
    /// credentials) must also give a valid config: the commented names are right.
    #[test]
    fn starter_with_every_option_uncommented_parses() {
        let text: String = STARTER
            .lines()
            .filter(|l| !l.starts_with("token =") && !l.starts_with("client_secret ="))
            .map(|l| match l.strip_prefix("# ") {
                Some(rest) if rest.starts_with("[okta.oauth]") || is_setting(rest) => rest,
                _ => l,
            })
            .map(|l| l.strip_prefix("# ").filter(|r| r.starts_with('#')).unwrap_or(l))
            .collect::<Vec<_>>()
            .join("\n");
        let c = config::parse(&text, Path::new("jmlproof.toml")).unwrap_or_else(|e| panic!("{e}\n{text}"));
        let OktaAuth::OAuth(oauth) = &c.okta.auth else { panic!("oauth") };
        assert!(oauth.key_id.is_some());
        assert!(matches!(c.entra.credential, EntraCredential::Certificate(_)));
        assert!(c.entra.okta_service_principal_id.is_some());
        assert!(c.aws.endpoint_url.is_some() && c.aws.profile.is_some());
        assert!(c.reconcile.exceptions.is_some() && c.evidence.templates.is_some());
        assert!(c.evidence.signing_key.is_some() && c.evidence.signer.is_some());
    }

    /// `key = value`, as opposed to prose.
    fn is_setting(line: &str) -> bool {
        line.split_once(" = ").is_some_and(|(k, _)| k.chars().all(|c| c.is_ascii_lowercase() || c == '_'))
    }

    fn scratch(name: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("jmlproof-init-{name}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        dir
    }

    #[test]
    fn writes_once_and_refuses_to_overwrite_without_force() {
        let dir = scratch("write");
        let path = dir.join("jmlproof.toml");
        let args = InitArgs { path: path.clone(), force: false };
        assert_eq!(run(&args).unwrap(), Outcome::Pass);
        assert_eq!(std::fs::read_to_string(&path).unwrap(), STARTER);

        std::fs::write(&path, "mine").unwrap();
        let e = run(&args).unwrap_err().to_string();
        assert!(e.ends_with("jmlproof.toml already exists (use --force to overwrite it)"), "{e}");
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "mine");

        run(&InitArgs { path: path.clone(), force: true }).unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), STARTER);
        // No temporary file is left behind.
        assert_eq!(std::fs::read_dir(&dir).unwrap().count(), 1);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_folder_is_an_error() {
        let dir = scratch("nofolder");
        let e = run(&InitArgs { path: dir.join("absent/jmlproof.toml"), force: false }).unwrap_err();
        assert!(format!("{e:#}").contains("cannot write"), "{e:#}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
