//! jmlproof.toml: the schema, its defaults, and errors that point at the line.
//!
//! Key names are a contract (scripts and the sandbox write these files). Every
//! table refuses unknown keys, so a typo is an error and not a silent default.
//! The config holds secret *references* only (see `secret`); nothing here ever
//! resolves one, so a `Config` can be printed and embedded in the evidence record.

use std::io::Read;
use std::path::{Path, PathBuf};

use serde::de::Error as _;
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use toml::Spanned;
use url::Url;

use crate::duration::Human;
use crate::secret::SecretRef;

/// Refused before parsing: a config is a page of text, not a data file.
pub const MAX_CONFIG_BYTES: u64 = 1024 * 1024;

#[derive(Debug, Clone, Serialize)]
pub struct Config {
    pub okta: OktaConfig,
    pub entra: EntraConfig,
    pub aws: AwsConfig,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub test: Option<TestConfig>,
    pub sla: SlaConfig,
    pub reconcile: ReconcileConfig,
    pub evidence: EvidenceConfig,
}

#[derive(Debug, Clone, Serialize)]
pub struct OktaConfig {
    #[serde(serialize_with = "ser_url")]
    pub org_url: Url,
    /// Serialized as `token = …` or an `oauth` table, as written.
    #[serde(flatten)]
    pub auth: OktaAuth,
}

#[derive(Debug, Clone, Serialize)]
pub enum OktaAuth {
    /// SSWS API token.
    #[serde(rename = "token")]
    Token(SecretRef),
    /// OAuth 2.0 service app, private_key_jwt.
    #[serde(rename = "oauth")]
    OAuth(OktaOAuth),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OktaOAuth {
    #[serde(deserialize_with = "id")]
    pub client_id: String,
    /// PEM private key registered with the service app.
    pub private_key: SecretRef,
    /// The JWK `kid`, when the app has more than one key.
    #[serde(default, deserialize_with = "opt_id", skip_serializing_if = "Option::is_none")]
    pub key_id: Option<String>,
    #[serde(default = "default_scopes", deserialize_with = "scopes")]
    pub scopes: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EntraConfig {
    pub tenant_id: String,
    pub client_id: String,
    #[serde(flatten)]
    pub credential: EntraCredential,
    /// Service root; clients add `/v1.0`.
    #[serde(serialize_with = "ser_url")]
    pub graph_url: Url,
    #[serde(serialize_with = "ser_url")]
    pub login_url: Url,
    /// The Okta app instance (`0oa…`) that provisions into Entra.
    pub okta_app_id: String,
    pub revoke: Revoke,
    pub link_attribute: LinkAttribute,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub okta_service_principal_id: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub enum EntraCredential {
    #[serde(rename = "client_secret")]
    ClientSecret(SecretRef),
    /// PEM bundle: the private key and its certificate.
    #[serde(rename = "certificate")]
    Certificate(SecretRef),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AwsConfig {
    #[serde(deserialize_with = "region")]
    pub region: String,
    #[serde(deserialize_with = "identity_store_id")]
    pub identity_store_id: String,
    #[serde(deserialize_with = "arn")]
    pub instance_arn: String,
    #[serde(deserialize_with = "account_id")]
    pub account_id: String,
    #[serde(deserialize_with = "arn")]
    pub permission_set_arn: String,
    #[serde(deserialize_with = "arn")]
    pub mover_permission_set_arn: String,
    /// The Okta app instance that provisions into IAM Identity Center (SCIM).
    #[serde(deserialize_with = "id")]
    pub okta_app_id: String,
    #[serde(default)]
    pub external_id: ExternalId,
    /// Another endpoint than AWS's (moto_server, the sandbox).
    #[serde(
        default,
        deserialize_with = "opt_base_url",
        serialize_with = "ser_opt_url",
        skip_serializing_if = "Option::is_none"
    )]
    pub endpoint_url: Option<Url>,
    /// A named profile from the AWS config files.
    #[serde(default, deserialize_with = "opt_id", skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct TestConfig {
    /// Mail domain of the disposable users.
    pub domain: String,
    /// Every disposable login starts with this; the tool touches no other user.
    pub login_prefix: String,
    pub subjects: u32,
    pub group: String,
    pub mover_group: String,
    /// Safety cap on users created per run.
    pub max_users: u32,
    /// How long past the SLA a leg is still watched, so a late change is measured
    /// (FAIL with its latency) rather than unobserved (UNKNOWN).
    pub grace: Human,
    /// How long to keep collecting downstream audit entries (Entra directory audits,
    /// CloudTrail) after a change is observed: they can lag minutes behind it.
    pub audit_wait: Human,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SlaConfig {
    #[serde(default = "hours::<4>", deserialize_with = "positive")]
    pub joiner: Human,
    #[serde(default = "hours::<4>", deserialize_with = "positive")]
    pub mover: Human,
    #[serde(default = "hours::<1>", deserialize_with = "positive")]
    pub leaver: Human,
    #[serde(default = "hours::<24>", deserialize_with = "positive")]
    pub termination: Human,
    #[serde(default = "hours::<24>", deserialize_with = "positive")]
    pub residual: Human,
}

#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReconcileConfig {
    /// TOML file of accepted exceptions.
    #[serde(default, deserialize_with = "opt_path", skip_serializing_if = "Option::is_none")]
    pub exceptions: Option<PathBuf>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EvidenceConfig {
    #[serde(default = "default_out_dir", deserialize_with = "path")]
    pub out_dir: PathBuf,
    /// Ed25519 OpenSSH private key that signs SHA256SUMS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_key: Option<SecretRef>,
    /// Passphrase of a protected signing key, as a secret reference.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signing_passphrase: Option<SecretRef>,
    /// Principal written in allowed_signers (e.g. an email address).
    #[serde(default, deserialize_with = "opt_non_empty", skip_serializing_if = "Option::is_none")]
    pub signer: Option<String>,
    #[serde(default = "default_formats", deserialize_with = "formats")]
    pub formats: Vec<Format>,
    /// Directory of templates overriding the embedded ones.
    #[serde(default, deserialize_with = "opt_path", skip_serializing_if = "Option::is_none")]
    pub templates: Option<PathBuf>,
}

/// String enums: the text is the TOML value, and a wrong value lists the choices.
macro_rules! choice {
    ($(#[$meta:meta])* $name:ident, default $default:ident, { $($variant:ident = $text:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum $name { $($variant),+ }

        impl $name {
            pub const ALL: &[$name] = &[$($name::$variant),+];
            pub fn as_str(self) -> &'static str {
                match self { $($name::$variant => $text),+ }
            }
        }
        impl Default for $name {
            fn default() -> Self { $name::$default }
        }
        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(self.as_str())
            }
        }
        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let text = String::deserialize(d)?;
                $name::ALL.iter().copied().find(|v| v.as_str() == text).ok_or_else(|| {
                    let names: Vec<&str> = $name::ALL.iter().map(|v| v.as_str()).collect();
                    D::Error::custom(format!("expected one of {}, got {}", names.join(", "), shown(&text)))
                })
            }
        }
    };
}

choice!(
    /// What counts as revoked in Entra for a leaver.
    Revoke, default Either, { Disable = "disable", Delete = "delete", Either = "either" }
);
choice!(
    /// The Entra attribute holding the Okta identity, to find the downstream account.
    LinkAttribute, default OnPremisesImmutableId,
    { OnPremisesImmutableId = "onPremisesImmutableId", EmployeeId = "employeeId" }
);
choice!(
    /// What Okta sends as the SCIM externalId to IAM Identity Center.
    ExternalId, default OktaId, { OktaId = "okta_id", EmployeeNumber = "employee_number" }
);
choice!(
    /// Evidence pack formats.
    Format, default Html, { Html = "html", Pdf = "pdf", Csv = "csv", Json = "json", Junit = "junit" }
);

/// One line: `file:line: [section] key: what is wrong`.
#[derive(Debug, thiserror::Error)]
#[error("{path}{}: {message}", line.map(|l| format!(":{l}")).unwrap_or_default())]
pub struct ConfigError {
    /// The config path as given.
    pub path: String,
    /// 1-based; absent when no line is at fault (missing file or section).
    pub line: Option<usize>,
    pub message: String,
}

/// Reads and parses a config file. Refuses files over 1 MiB before reading them.
pub fn load(path: &Path) -> Result<Config, ConfigError> {
    let fail = |message: String| ConfigError { path: path.display().to_string(), line: None, message };
    let io = |e: std::io::Error| match e.kind() {
        std::io::ErrorKind::NotFound => fail("no such file (`jmlproof init` writes a starter)".into()),
        _ => fail(format!("cannot read: {e}")),
    };
    let meta = std::fs::metadata(path).map_err(io)?;
    if meta.is_dir() {
        return Err(fail("is a directory, not a config file".into()));
    }
    if meta.len() > MAX_CONFIG_BYTES {
        return Err(fail(format!("{} bytes is over the 1 MiB limit for a config file", meta.len())));
    }
    let mut bytes = Vec::new();
    let file = std::fs::File::open(path).map_err(io)?;
    // Bounded again: metadata of a pipe or /proc file says nothing.
    file.take(MAX_CONFIG_BYTES + 1).read_to_end(&mut bytes).map_err(io)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(fail("over the 1 MiB limit for a config file".into()));
    }
    let text = String::from_utf8(bytes).map_err(|_| fail("is not UTF-8 text".into()))?;
    parse(&text, path)
}

/// Parses config text. `path` names the file in errors, and its directory is
/// the base for relative paths (`file:` secrets included).
pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
    let at = |line: Option<usize>, message: String| ConfigError { path: path.display().to_string(), line, message };
    if text.lines().all(|l| l.trim().is_empty() || l.trim_start().starts_with('#')) {
        return Err(at(
            None,
            "the file is empty (it needs [okta], [entra] and [aws]; `jmlproof init` writes a starter)".into(),
        ));
    }
    let raw: RawConfig = toml::from_str(text).map_err(|e| {
        let (line, message) = describe(text, &e);
        at(line, message)
    })?;
    let base = path.parent().unwrap_or(Path::new(""));
    raw.validate(base).map_err(|(offset, message)| at(Some(line_of(text, offset)), message))
}

/// `jmlproof check-config`: loads the file and prints a one-line summary.
pub fn check(path: &Path) -> anyhow::Result<crate::exit::Outcome> {
    let c = load(path)?;
    println!(
        "ok: {}: okta {}, entra tenant {}, aws {} {}",
        path.display(),
        c.okta.org_url.as_str().trim_end_matches('/'),
        c.entra.tenant_id,
        c.aws.region,
        c.aws.identity_store_id
    );
    Ok(crate::exit::Outcome::Pass)
}

// ---- the raw shape, for the few rules that span several keys ----

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawConfig {
    okta: Spanned<RawOkta>,
    entra: Spanned<RawEntra>,
    aws: AwsConfig,
    #[serde(default)]
    test: Option<RawTest>,
    #[serde(default)]
    sla: SlaConfig,
    #[serde(default)]
    reconcile: ReconcileConfig,
    #[serde(default)]
    evidence: EvidenceConfig,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOkta {
    #[serde(deserialize_with = "okta_org_url")]
    org_url: Url,
    #[serde(default)]
    token: Option<SecretRef>,
    #[serde(default)]
    oauth: Option<OktaOAuth>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawEntra {
    #[serde(deserialize_with = "id")]
    tenant_id: String,
    #[serde(deserialize_with = "id")]
    client_id: String,
    #[serde(default)]
    client_secret: Option<SecretRef>,
    #[serde(default)]
    certificate: Option<SecretRef>,
    #[serde(default = "default_graph_url", deserialize_with = "graph_url")]
    graph_url: Url,
    #[serde(default = "default_login_url", deserialize_with = "base_url")]
    login_url: Url,
    #[serde(deserialize_with = "id")]
    okta_app_id: String,
    #[serde(default)]
    revoke: Revoke,
    #[serde(default)]
    link_attribute: LinkAttribute,
    #[serde(default, deserialize_with = "opt_id")]
    okta_service_principal_id: Option<String>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawTest {
    #[serde(deserialize_with = "domain")]
    domain: String,
    #[serde(default = "default_login_prefix", deserialize_with = "login_prefix")]
    login_prefix: String,
    #[serde(default)]
    subjects: Option<Spanned<u32>>,
    #[serde(deserialize_with = "non_empty")]
    group: String,
    mover_group: Spanned<String>,
    #[serde(default)]
    max_users: Option<Spanned<u32>>,
    #[serde(default = "minutes::<5>")]
    grace: Human,
    #[serde(default = "minutes::<5>")]
    audit_wait: Human,
}

/// A rule broken across keys: the byte offset to point at, and the message.
type Broken = (usize, String);

impl RawConfig {
    fn validate(self, base: &Path) -> Result<Config, Broken> {
        let okta_at = self.okta.span().start;
        let okta = self.okta.into_inner();
        let auth = match (okta.token, okta.oauth) {
            (Some(token), None) => OktaAuth::Token(token.relative_to(base)),
            (None, Some(mut oauth)) => {
                oauth.private_key = oauth.private_key.relative_to(base);
                OktaAuth::OAuth(oauth)
            }
            (Some(_), Some(_)) => {
                return Err((okta_at, "[okta] set token or [okta.oauth], not both".into()));
            }
            (None, None) => {
                return Err((okta_at, "[okta] missing required key \"token\" (or an [okta.oauth] table)".into()));
            }
        };

        let entra_at = self.entra.span().start;
        let e = self.entra.into_inner();
        let credential = match (e.client_secret, e.certificate) {
            (Some(secret), None) => EntraCredential::ClientSecret(secret.relative_to(base)),
            (None, Some(cert)) => EntraCredential::Certificate(cert.relative_to(base)),
            (Some(_), Some(_)) => {
                return Err((entra_at, "[entra] set client_secret or certificate, not both".into()));
            }
            (None, None) => {
                return Err((entra_at, "[entra] missing required key \"client_secret\" (or \"certificate\")".into()));
            }
        };

        let test = self.test.map(RawTest::validate).transpose()?;
        let mut evidence = self.evidence;
        evidence.out_dir = base.join(&evidence.out_dir);
        evidence.templates = evidence.templates.map(|p| base.join(p));
        evidence.signing_key = evidence.signing_key.map(|k| k.relative_to(base));
        evidence.signing_passphrase = evidence.signing_passphrase.map(|k| k.relative_to(base));
        let reconcile = ReconcileConfig { exceptions: self.reconcile.exceptions.map(|p| base.join(p)) };

        Ok(Config {
            okta: OktaConfig { org_url: okta.org_url, auth },
            entra: EntraConfig {
                tenant_id: e.tenant_id,
                client_id: e.client_id,
                credential,
                graph_url: e.graph_url,
                login_url: e.login_url,
                okta_app_id: e.okta_app_id,
                revoke: e.revoke,
                link_attribute: e.link_attribute,
                okta_service_principal_id: e.okta_service_principal_id,
            },
            aws: self.aws,
            test,
            sla: self.sla,
            reconcile,
            evidence,
        })
    }
}

impl RawTest {
    fn validate(self) -> Result<TestConfig, Broken> {
        // (value, offset of the value when it was written)
        let count = |v: Option<Spanned<u32>>, default: u32, key: &str| match v {
            Some(v) if *v.get_ref() == 0 => Err((v.span().start, format!("[test] {key}: must be at least 1"))),
            Some(v) => Ok((*v.get_ref(), Some(v.span().start))),
            None => Ok((default, None)),
        };
        let (subjects, subjects_at) = count(self.subjects, 3, "subjects")?;
        let (max_users, max_users_at) = count(self.max_users, 10, "max_users")?;
        if subjects > max_users {
            // Point at what was written: subjects, or max_users when subjects is the default.
            let at = subjects_at.or(max_users_at).unwrap_or(0);
            return Err((at, format!("[test] subjects: {subjects} is more than max_users ({max_users})")));
        }
        let mover_at = self.mover_group.span().start;
        let mover_group = self.mover_group.into_inner();
        if mover_group.trim().is_empty() {
            return Err((mover_at, "[test] mover_group: must not be empty".into()));
        }
        if mover_group == self.group {
            return Err((mover_at, "[test] mover_group: must differ from group (a move needs two groups)".into()));
        }
        Ok(TestConfig {
            domain: self.domain,
            login_prefix: self.login_prefix,
            subjects,
            group: self.group,
            mover_group,
            max_users,
            grace: self.grace,
            audit_wait: self.audit_wait,
        })
    }
}

// ---- defaults ----

fn minutes<const N: u64>() -> Human {
    Human(std::time::Duration::from_secs(N * 60))
}

fn hours<const N: u64>() -> Human {
    Human(std::time::Duration::from_secs(N * 3600))
}

impl Default for SlaConfig {
    fn default() -> Self {
        SlaConfig {
            joiner: hours::<4>(),
            mover: hours::<4>(),
            leaver: hours::<1>(),
            termination: hours::<24>(),
            residual: hours::<24>(),
        }
    }
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            out_dir: default_out_dir(),
            signing_key: None,
            signing_passphrase: None,
            signer: None,
            formats: default_formats(),
            templates: None,
        }
    }
}

pub const DEFAULT_SCOPES: &[&str] = &["okta.users.manage", "okta.groups.manage", "okta.apps.read", "okta.logs.read"];

fn default_scopes() -> Vec<String> {
    DEFAULT_SCOPES.iter().map(|s| s.to_string()).collect()
}
fn default_out_dir() -> PathBuf {
    PathBuf::from("evidence")
}
fn default_formats() -> Vec<Format> {
    vec![Format::Html, Format::Pdf, Format::Csv, Format::Json]
}
fn default_login_prefix() -> String {
    "jmlproof-".into()
}
fn default_graph_url() -> Url {
    Url::parse("https://graph.microsoft.com").expect("constant URL")
}
fn default_login_url() -> Url {
    Url::parse("https://login.microsoftonline.com").expect("constant URL")
}

// ---- field validators: their errors carry the value's span, hence its line ----

/// A value quoted back in an error, cut short. Only used for non-secret keys.
fn shown(text: &str) -> String {
    let cut: String = text.chars().take(60).collect();
    if cut.len() < text.len() { format!("{:?}…", cut) } else { format!("{text:?}") }
}

fn non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.trim().is_empty() {
        return Err(D::Error::custom("must not be empty"));
    }
    Ok(s)
}

fn opt_non_empty<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    non_empty(d).map(Some)
}

/// An identifier: non-empty, no whitespace or slashes (catches pasted URLs and names).
fn id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = non_empty(d)?;
    if s.chars().any(|c| c.is_whitespace() || c == '/') {
        return Err(D::Error::custom(format!("expected an identifier without spaces or slashes, got {}", shown(&s))));
    }
    Ok(s)
}

fn opt_id<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    id(d).map(Some)
}

fn path<'de, D: Deserializer<'de>>(d: D) -> Result<PathBuf, D::Error> {
    non_empty(d).map(PathBuf::from)
}

fn opt_path<'de, D: Deserializer<'de>>(d: D) -> Result<Option<PathBuf>, D::Error> {
    path(d).map(Some)
}

fn positive<'de, D: Deserializer<'de>>(d: D) -> Result<Human, D::Error> {
    let h = Human::deserialize(d)?;
    if h.0.is_zero() {
        return Err(D::Error::custom("must be more than 0s"));
    }
    Ok(h)
}

/// A base URL: https (or http to loopback), no credentials, path, query or fragment.
/// The value is never quoted back: a URL may carry credentials.
fn parse_base_url(text: &str) -> Result<Url, String> {
    let url = Url::parse(text.trim()).map_err(|e| format!("invalid URL: {e} (write e.g. https://host.example.com)"))?;
    crate::http::check_parsed(&url)?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err("a URL must not carry credentials; use a secret reference".into());
    }
    if url.path() != "/" || url.query().is_some() || url.fragment().is_some() {
        return Err(format!("expected a base URL with no path, query or fragment (got path {:?})", url.path()));
    }
    Ok(url)
}

fn base_url<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    parse_base_url(&String::deserialize(d)?).map_err(D::Error::custom)
}

fn opt_base_url<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Url>, D::Error> {
    base_url(d).map(Some)
}

fn graph_url<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let text = String::deserialize(d)?;
    let root = text.trim().trim_end_matches('/');
    if root.ends_with("/v1.0") || root.ends_with("/beta") {
        return Err(D::Error::custom("expected the service root: leave out the version, the client adds /v1.0"));
    }
    parse_base_url(&text).map_err(D::Error::custom)
}

fn okta_org_url<'de, D: Deserializer<'de>>(d: D) -> Result<Url, D::Error> {
    let url = base_url(d)?;
    let host = url.host_str().unwrap_or_default();
    let first = host.split('.').next().unwrap_or_default();
    if first.ends_with("-admin") && (host.contains(".okta") || host.contains(".oktapreview")) {
        return Err(D::Error::custom("this is the admin console URL; use the org URL (without -admin)"));
    }
    Ok(url)
}

fn scopes<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<String>, D::Error> {
    let scopes = Vec::<String>::deserialize(d)?;
    if scopes.is_empty() {
        return Err(D::Error::custom("needs at least one scope"));
    }
    if let Some(bad) = scopes.iter().find(|s| s.is_empty() || s.contains(char::is_whitespace)) {
        return Err(D::Error::custom(format!("each scope is one word, got {}", shown(bad))));
    }
    Ok(scopes)
}

fn formats<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<Format>, D::Error> {
    let formats = Vec::<Format>::deserialize(d)?;
    if formats.is_empty() {
        return Err(D::Error::custom("needs at least one format"));
    }
    for (i, f) in formats.iter().enumerate() {
        if formats[..i].contains(f) {
            return Err(D::Error::custom(format!("{:?} is listed twice", f.as_str())));
        }
    }
    Ok(formats)
}

fn login_prefix<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let ok = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-');
    if s.is_empty() || !s.chars().all(ok) {
        return Err(D::Error::custom(format!(
            "expected lowercase letters, digits, '.', '_' or '-', got {}",
            shown(&s)
        )));
    }
    Ok(s)
}

fn domain<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let label_ok = |l: &str| {
        !l.is_empty()
            && !l.starts_with('-')
            && !l.ends_with('-')
            && l.chars().all(|c| c.is_ascii_alphanumeric() || c == '-')
    };
    if !s.contains('.') || !s.split('.').all(label_ok) {
        return Err(D::Error::custom(format!("expected a mail domain such as example.com, got {}", shown(&s))));
    }
    Ok(s.to_ascii_lowercase())
}

fn region<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    let ok = s.contains('-') && s.chars().all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-');
    if !ok {
        return Err(D::Error::custom(format!("expected an AWS region such as us-east-1, got {}", shown(&s))));
    }
    Ok(s)
}

fn identity_store_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if s.is_empty() || s.len() > 36 || !s.chars().all(|c| c.is_ascii_alphanumeric() || c == '-') {
        return Err(D::Error::custom(format!("expected an identity store id such as d-1234567890, got {}", shown(&s))));
    }
    Ok(s)
}

fn arn<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    let s = String::deserialize(d)?;
    if !s.starts_with("arn:") || s.split(':').count() < 6 || s.contains(char::is_whitespace) {
        return Err(D::Error::custom(format!("expected an ARN (arn:aws:sso:::…), got {}", shown(&s))));
    }
    Ok(s)
}

fn account_id<'de, D: Deserializer<'de>>(d: D) -> Result<String, D::Error> {
    // Accepts an integer only to explain: account ids may start with 0.
    match toml::Value::deserialize(d)? {
        toml::Value::String(s) if s.len() == 12 && s.bytes().all(|b| b.is_ascii_digit()) => Ok(s),
        toml::Value::Integer(_) => Err(D::Error::custom("write the 12-digit account id as a string, in quotes")),
        _ => Err(D::Error::custom("expected a 12-digit AWS account id, as a string")),
    }
}

fn ser_url<S: Serializer>(url: &Url, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(url.as_str().trim_end_matches('/'))
}

fn ser_opt_url<S: Serializer>(url: &Option<Url>, s: S) -> Result<S::Ok, S::Error> {
    match url {
        Some(url) => ser_url(url, s),
        None => s.serialize_none(),
    }
}

// ---- turning toml errors into one line ----

fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end].iter().filter(|b| **b == b'\n').count() + 1
}

/// Line and message for a toml error. Only `message()` and `span()` are used:
/// toml's Display quotes the source line, which may hold a secret.
fn describe(text: &str, err: &toml::de::Error) -> (Option<usize>, String) {
    let span = err.span().unwrap_or(0..0);
    let message = err.message().replace('\n', " ");
    let Some(path) = key_path(text, &span) else {
        // Not even valid TOML: no key path; name the section by the header above.
        let section = section_above(text, span.start).map(|s| format!("[{s}] ")).unwrap_or_default();
        let key = text.get(span.clone()).filter(|k| is_bare_key(k));
        let message = match key {
            Some(key) if message == "duplicate key" => format!("duplicate key \"{key}\""),
            _ => format!("invalid TOML: {message}"),
        };
        return (Some(line_of(text, span.start)), format!("{section}{message}"));
    };
    let table = |p: &[String]| {
        if p.is_empty() { String::new() } else { format!("[{}] ", p.join(".")) }
    };

    if let Some(rest) = message.strip_prefix("missing field `") {
        let key = rest.trim_end_matches('`');
        if path.is_empty() {
            return (None, format!("missing required section [{key}]"));
        }
        return (Some(line_of(text, span.start)), format!("{}missing required key \"{key}\"", table(&path)));
    }
    let (section, key) = path.split_at(path.len().saturating_sub(1));
    if let Some(rest) = message.strip_prefix("unknown field `") {
        let (name, expected) = rest.split_once('`').unwrap_or((rest, ""));
        let choices =
            expected.trim_start_matches(", expected ").replace(" or ", ", ").replace("one of ", "").replace('`', "");
        let what = if section.is_empty() { "section" } else { "key" };
        return (
            Some(line_of(text, span.start)),
            format!("{}unknown {what} \"{name}\" (expected one of: {choices})", table(section)),
        );
    }
    let key = key.first().map(|k| format!("{k}: ")).unwrap_or_default();
    (Some(line_of(text, span.start)), format!("{}{key}{}", table(section), plain_type_error(&message)))
}

/// serde's `invalid type: integer `5`, expected a string` reads better as
/// `expected a string, got integer 5`.
fn plain_type_error(message: &str) -> String {
    let Some(rest) = message.strip_prefix("invalid type: ").or_else(|| message.strip_prefix("invalid value: ")) else {
        return message.to_string();
    };
    let Some((got, expected)) = rest.rsplit_once(", expected ") else {
        return message.to_string();
    };
    let expected = match expected {
        "u32" | "u64" | "usize" | "i64" => "a whole number",
        "a sequence" => "an array",
        e if e.starts_with("struct ") || e == "a map" || e.contains("spanned") => "a table",
        e => e,
    };
    format!("expected {expected}, got {}", got.replace('`', ""))
}

/// The key path at `span`: the deepest key whose key or value span holds it.
/// `None` when the text is not valid TOML. An empty span (a root-level error)
/// belongs to no key.
fn key_path(text: &str, span: &std::ops::Range<usize>) -> Option<Vec<String>> {
    let root = toml::de::DeTable::parse(text).ok()?;
    let mut best = Vec::new();
    if !span.is_empty() {
        let mut path = Vec::new();
        deepest(root.get_ref(), span, &mut path, &mut best);
    }
    Some(best)
}

fn deepest(
    table: &toml::de::DeTable<'_>,
    span: &std::ops::Range<usize>,
    path: &mut Vec<String>,
    best: &mut Vec<String>,
) {
    let holds = |s: std::ops::Range<usize>| s.start <= span.start && span.end <= s.end;
    for (key, value) in table.iter() {
        path.push(key.get_ref().to_string());
        if (holds(key.span()) || holds(value.span())) && path.len() > best.len() {
            *best = path.clone();
        }
        if let Some(inner) = value.get_ref().as_table() {
            deepest(inner, span, path, best);
        }
        path.pop();
    }
}

/// The nearest `[table]` or `[[array]]` header above `offset`.
fn section_above(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset)?;
    before.lines().rev().find_map(|line| {
        let line = line.trim();
        let inner = line
            .strip_prefix("[[")
            .and_then(|l| l.split_once("]]"))
            .or_else(|| line.strip_prefix('[').and_then(|l| l.split_once(']')));
        let (name, rest) = inner?;
        let rest = rest.trim();
        let name: String = name.split('.').map(str::trim).collect::<Vec<_>>().join(".");
        (is_bare_key(&name.replace('.', "")) && (rest.is_empty() || rest.starts_with('#'))).then_some(name)
    })
}

fn is_bare_key(s: &str) -> bool {
    !s.is_empty() && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "CANARY-5f1e9c2b7d4a";

    /// Every key set, one per line, so a test can replace one line.
    const FULL: &str = r#"# a comment
[okta]
org_url = "https://acme.okta.com"

[okta.oauth]
client_id = "0oa1clientid"
private_key = "file:keys/okta.pem"
key_id = "kid-1"
scopes = ["okta.users.read", "okta.logs.read"]

[entra]
tenant_id = "11111111-2222-3333-4444-555555555555"
client_id = "66666666-7777-8888-9999-000000000000"
certificate = "file:/etc/jmlproof/entra.pem"
graph_url = "http://127.0.0.1:8081"
login_url = "http://localhost:8082/"
okta_app_id = "0oaentraapp"
revoke = "disable"
link_attribute = "employeeId"
okta_service_principal_id = "sp-1"

[aws]
region = "eu-west-1"
identity_store_id = "d-1234567890"
instance_arn = "arn:aws:sso:::instance/ssoins-1234567890abcdef"
account_id = "012345678901"
permission_set_arn = "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-1"
mover_permission_set_arn = "arn:aws:sso:::permissionSet/ssoins-1234567890abcdef/ps-2"
okta_app_id = "0oaawsapp"
external_id = "employee_number"
endpoint_url = "http://127.0.0.1:5000"
profile = "audit"

[test]
domain = "Test.Example.com"
login_prefix = "jml.t-"
subjects = 2
group = "JML Test"
mover_group = "JML Test Mover"
max_users = 4
grace = "2m"
audit_wait = "0s"

[sla]
joiner = "1h30m"
mover = "2h"
leaver = "15m"
termination = "8h"
residual = "12h"

[reconcile]
exceptions = "exceptions.toml"

[evidence]
out_dir = "/var/evidence"
signing_key = "env:JMLPROOF_SIGNING_KEY"
signing_passphrase = "file:keys/pass"
signer = "audit@example.com"
formats = ["json", "junit"]
templates = "templates"
"#;

    const MINIMAL: &str = r#"[okta]
org_url = "https://acme.okta.com"
token = "env:OKTA_TOKEN"

[entra]
tenant_id = "contoso.onmicrosoft.com"
client_id = "66666666-7777-8888-9999-000000000000"
client_secret = "env:ENTRA_SECRET"
okta_app_id = "0oaentraapp"

[aws]
region = "us-east-1"
identity_store_id = "d-9067000000"
instance_arn = "arn:aws:sso:::instance/ssoins-1"
account_id = "123456789012"
permission_set_arn = "arn:aws:sso:::permissionSet/ssoins-1/ps-1"
mover_permission_set_arn = "arn:aws:sso:::permissionSet/ssoins-1/ps-2"
okta_app_id = "0oaawsapp"
"#;

    fn ok(text: &str) -> Config {
        parse(text, Path::new("conf/jmlproof.toml")).unwrap_or_else(|e| panic!("{e}"))
    }

    fn err(text: &str) -> String {
        let e = parse(text, Path::new("jmlproof.toml")).unwrap_err().to_string();
        assert!(!e.contains('\n'), "one line: {e}");
        e
    }

    /// 1-based line of the first line of `text` that starts with `needle`.
    fn line(text: &str, needle: &str) -> usize {
        text.lines().position(|l| l.starts_with(needle)).unwrap() + 1
    }

    /// `text` with the line starting with `start` replaced by `with` (or removed if empty).
    fn edit(text: &str, start: &str, with: &str) -> String {
        assert!(text.lines().any(|l| l.starts_with(start)), "{start}");
        let lines: Vec<&str> = text.lines().map(|l| if l.starts_with(start) { with } else { l }).collect();
        lines.join("\n") + "\n"
    }

    #[test]
    fn full_config_parses_with_every_key() {
        let c = ok(FULL);
        assert_eq!(c.okta.org_url.as_str(), "https://acme.okta.com/");
        let OktaAuth::OAuth(oauth) = &c.okta.auth else { panic!("oauth") };
        assert_eq!(oauth.private_key, SecretRef::File("conf/keys/okta.pem".into()));
        assert_eq!((oauth.key_id.as_deref(), oauth.scopes.len()), (Some("kid-1"), 2));
        assert!(
            matches!(&c.entra.credential, EntraCredential::Certificate(SecretRef::File(p)) if p.starts_with("/etc"))
        );
        assert_eq!((c.entra.revoke, c.entra.link_attribute), (Revoke::Disable, LinkAttribute::EmployeeId));
        assert_eq!(c.entra.graph_url.as_str(), "http://127.0.0.1:8081/");
        assert_eq!(c.aws.external_id, ExternalId::EmployeeNumber);
        assert_eq!(c.aws.account_id, "012345678901");
        assert_eq!(c.aws.profile.as_deref(), Some("audit"));
        let t = c.test.as_ref().unwrap();
        assert_eq!(
            (t.domain.as_str(), t.login_prefix.as_str(), t.subjects, t.max_users),
            ("test.example.com", "jml.t-", 2, 4)
        );
        assert_eq!((t.grace.0.as_secs(), t.audit_wait.0.as_secs()), (120, 0));
        assert_eq!(c.sla.joiner.0.as_secs(), 5400);
        assert_eq!(c.reconcile.exceptions, Some(PathBuf::from("conf/exceptions.toml")));
        assert_eq!(c.evidence.signing_passphrase, Some(SecretRef::File("conf/keys/pass".into())));
        assert_eq!(c.evidence.out_dir, PathBuf::from("/var/evidence"));
        assert_eq!(c.evidence.templates, Some(PathBuf::from("conf/templates")));
        assert_eq!(c.evidence.formats, [Format::Json, Format::Junit]);
        assert_eq!(c.evidence.signer.as_deref(), Some("audit@example.com"));
    }

    #[test]
    fn minimal_config_gets_the_defaults() {
        let c = ok(MINIMAL);
        assert!(matches!(c.okta.auth, OktaAuth::Token(SecretRef::Env(ref n)) if n == "OKTA_TOKEN"));
        assert_eq!(c.entra.graph_url.as_str(), "https://graph.microsoft.com/");
        assert_eq!(c.entra.login_url.as_str(), "https://login.microsoftonline.com/");
        assert_eq!((c.entra.revoke, c.entra.link_attribute), (Revoke::Either, LinkAttribute::OnPremisesImmutableId));
        assert_eq!(c.aws.external_id, ExternalId::OktaId);
        assert!(c.test.is_none() && c.aws.endpoint_url.is_none());
        let sla = [c.sla.joiner, c.sla.mover, c.sla.leaver, c.sla.termination, c.sla.residual].map(|h| h.to_string());
        assert_eq!(sla, ["4h", "4h", "1h", "1d", "1d"]);
        assert_eq!(c.evidence.out_dir, PathBuf::from("conf/evidence"));
        assert_eq!(c.evidence.formats, [Format::Html, Format::Pdf, Format::Csv, Format::Json]);

        let with_test = format!("{MINIMAL}\n[test]\ndomain = \"example.com\"\ngroup = \"a\"\nmover_group = \"b\"\n");
        let t = ok(&with_test).test.unwrap();
        assert_eq!((t.login_prefix.as_str(), t.subjects, t.max_users), ("jmlproof-", 3, 10));
        assert_eq!((t.grace.to_string().as_str(), t.audit_wait.to_string().as_str()), ("5m", "5m"));

        let oauth = edit(MINIMAL, "token =", "oauth = { client_id = \"0oa1\", private_key = \"env:K\" }");
        let OktaAuth::OAuth(o) = ok(&oauth).okta.auth else { panic!() };
        assert_eq!(o.scopes, DEFAULT_SCOPES);
    }

    #[test]
    fn empty_file() {
        for text in ["", "\n  \n", "# only\n  # comments\n"] {
            assert_eq!(
                err(text),
                "jmlproof.toml: the file is empty (it needs [okta], [entra] and [aws]; `jmlproof init` writes a starter)"
            );
        }
    }

    #[test]
    fn unknown_keys_are_refused_in_every_table() {
        let tables = ["[okta]", "[okta.oauth]", "[entra]", "[aws]", "[test]", "[sla]", "[reconcile]", "[evidence]"];
        for header in tables {
            let text = FULL.replace(&format!("{header}\n"), &format!("{header}\ntokn = 1\n"));
            let e = err(&text);
            let expected =
                format!("jmlproof.toml:{}: {header} unknown key \"tokn\" (expected one of: ", line(FULL, header) + 1);
            assert!(e.starts_with(&expected), "{e}");
        }
        let text = edit(MINIMAL, "token =", "tokn = \"env:OKTA_TOKEN\"");
        assert_eq!(err(&text), "jmlproof.toml:3: [okta] unknown key \"tokn\" (expected one of: org_url, token, oauth)");
        let e = err(&format!("{MINIMAL}[oops]\n"));
        assert!(
            e.starts_with("jmlproof.toml:19: unknown section \"oops\" (expected one of: okta, entra, aws, test"),
            "{e}"
        );
        // Inline tables and dotted keys are located the same way.
        let inline = edit(MINIMAL, "token =", "oauth = { client_id = \"x\", private_key = \"env:K\", kid = \"1\" }");
        let e = err(&inline);
        assert!(e.starts_with("jmlproof.toml:3: [okta.oauth] unknown key \"kid\" (expected one of: client_id"), "{e}");
    }

    #[test]
    fn wrong_types_name_the_key() {
        let text = edit(FULL, "subjects =", "subjects = \"three\"");
        assert_eq!(
            err(&text),
            format!(
                "jmlproof.toml:{}: [test] subjects: expected a whole number, got string \"three\"",
                line(FULL, "subjects")
            )
        );
        let text = edit(FULL, "scopes =", "scopes = [1]");
        assert_eq!(err(&text), "jmlproof.toml:9: [okta.oauth] scopes: expected a string, got integer 1");
        let text = edit(FULL, "formats =", "formats = \"json\"");
        assert!(err(&text).ends_with("[evidence] formats: expected an array, got string \"json\""), "{}", err(&text));
        let e = err(&format!("aws = 5\n{}", MINIMAL.split("[aws]").next().unwrap()));
        assert_eq!(e, "jmlproof.toml:1: aws: expected a table, got integer 5");
        let e = err(&format!("okta = 5\n{}", MINIMAL.replace("[okta]", "[x]")));
        assert_eq!(e, "jmlproof.toml:1: okta: expected a table, got integer 5");
        let e = err(&edit(FULL, "account_id =", "account_id = 123456789012"));
        assert!(e.ends_with("[aws] account_id: write the 12-digit account id as a string, in quotes"), "{e}");
    }

    #[test]
    fn duplicate_key_is_a_parse_error_with_its_line() {
        let text = MINIMAL.replace("token = \"env:OKTA_TOKEN\"\n", "token = \"env:OKTA_TOKEN\"\ntoken = \"env:X\"\n");
        assert_eq!(err(&text), "jmlproof.toml:4: [okta] duplicate key \"token\"");
        let text = edit(MINIMAL, "client_secret", "client_secret = env:X");
        let e = err(&text);
        assert!(e.starts_with("jmlproof.toml:8: [entra] invalid TOML: string values must be quoted"), "{e}");
    }

    #[test]
    fn invalid_choices_list_the_valid_ones() {
        let text = edit(FULL, "revoke =", "revoke = \"nuke\"");
        assert_eq!(
            err(&text),
            format!(
                "jmlproof.toml:{}: [entra] revoke: expected one of disable, delete, either, got \"nuke\"",
                line(FULL, "revoke")
            )
        );
        let e = err(&edit(FULL, "link_attribute =", "link_attribute = \"upn\""));
        assert!(e.ends_with("link_attribute: expected one of onPremisesImmutableId, employeeId, got \"upn\""), "{e}");
        let e = err(&edit(FULL, "external_id =", "external_id = 7"));
        assert!(e.ends_with("[aws] external_id: expected a string, got integer 7"), "{e}");
        let e = err(&edit(FULL, "formats =", "formats = [\"html\", \"docx\"]"));
        assert!(e.ends_with("[evidence] formats: expected one of html, pdf, csv, json, junit, got \"docx\""), "{e}");
        let e = err(&edit(FULL, "formats =", "formats = [\"html\", \"html\"]"));
        assert!(e.ends_with("[evidence] formats: \"html\" is listed twice"), "{e}");
    }

    #[test]
    fn bad_durations() {
        let l = line(FULL, "leaver");
        assert_eq!(
            err(&edit(FULL, "leaver =", "leaver = \"fast\"")),
            format!("jmlproof.toml:{l}: [sla] leaver: invalid duration \"fast\": expected a number at \"fast\"")
        );
        let e = err(&edit(FULL, "leaver =", "leaver = \"30\""));
        assert!(
            e.starts_with(&format!("jmlproof.toml:{l}: [sla] leaver: invalid duration \"30\": missing unit")),
            "{e}"
        );
        let e = err(&edit(FULL, "leaver =", "leaver = \"0s\""));
        assert!(e.ends_with("[sla] leaver: must be more than 0s"), "{e}");
        let g = line(FULL, "grace");
        assert_eq!(
            err(&edit(FULL, "grace =", "grace = \"soon\"")),
            format!("jmlproof.toml:{g}: [test] grace: invalid duration \"soon\": expected a number at \"soon\"")
        );
    }

    #[test]
    fn urls_must_be_https_or_loopback_http_base_urls() {
        let e = err(&edit(MINIMAL, "org_url", "org_url = \"http://acme.okta.com\""));
        assert_eq!(
            e,
            "jmlproof.toml:2: [okta] org_url: plain http is refused for non-loopback host acme.okta.com (use https)"
        );
        ok(&edit(MINIMAL, "org_url", "org_url = \"http://127.0.0.1:9000\""));
        ok(&edit(MINIMAL, "org_url", "org_url = \"http://[::1]:9000/\""));
        let e = err(&edit(MINIMAL, "org_url", "org_url = \"acme.okta.com\""));
        assert!(e.starts_with("jmlproof.toml:2: [okta] org_url: invalid URL: relative URL without a base"), "{e}");
        let e = err(&edit(MINIMAL, "org_url", "org_url = \"https://acme-admin.okta.com\""));
        assert!(e.contains("admin console URL"), "{e}");
        let e = err(&edit(MINIMAL, "org_url", "org_url = \"https://acme.okta.com/oauth2/default\""));
        assert!(
            e.ends_with("expected a base URL with no path, query or fragment (got path \"/oauth2/default\")"),
            "{e}"
        );
        let e = err(&edit(MINIMAL, "org_url", &format!("org_url = \"https://u:{CANARY}@acme.okta.com\"")));
        assert!(e.contains("must not carry credentials") && !e.contains(CANARY), "{e}");
        let e = err(&edit(FULL, "graph_url", "graph_url = \"https://graph.microsoft.com/v1.0\""));
        assert!(e.contains("[entra] graph_url: expected the service root"), "{e}");
        let e = err(&edit(FULL, "endpoint_url", "endpoint_url = \"http://moto:5000\""));
        assert!(e.contains("[aws] endpoint_url: plain http is refused for non-loopback host moto"), "{e}");
    }

    #[test]
    fn secrets_must_be_references_and_are_never_echoed() {
        for (start, key) in [("token", "[okta] token"), ("client_secret", "[entra] client_secret")] {
            let e = err(&edit(MINIMAL, start, &format!("{start} = \"{CANARY}\"")));
            assert!(
                e.contains(&format!("{key}: expected a secret reference: env:NAME, file:PATH or cmd:COMMAND")),
                "{e}"
            );
            assert!(!e.contains(CANARY), "{e}");
            let e = err(&edit(MINIMAL, start, &format!("{start} = 31415926535")));
            assert!(!e.contains("31415926535"), "{e}");
        }
        let e = err(&edit(FULL, "signing_key", &format!("signing_key = \"-----BEGIN {CANARY}\"")));
        assert!(e.contains("[evidence] signing_key: expected a secret reference") && !e.contains(CANARY), "{e}");
        let e = err(&edit(FULL, "signing_passphrase", &format!("signing_passphrase = \"{CANARY}\"")));
        assert!(e.contains("[evidence] signing_passphrase: expected a secret reference") && !e.contains(CANARY), "{e}");
    }

    #[test]
    fn missing_keys_point_at_the_section_header() {
        let e = err(&edit(MINIMAL, "org_url", ""));
        assert_eq!(e, "jmlproof.toml:1: [okta] missing required key \"org_url\"");
        let e = err(&edit(MINIMAL, "identity_store_id", ""));
        assert_eq!(e, "jmlproof.toml:11: [aws] missing required key \"identity_store_id\"");
        let e = err(&edit(FULL, "client_id = \"0oa1", ""));
        assert_eq!(e, "jmlproof.toml:5: [okta.oauth] missing required key \"client_id\"");
        let e = err(&edit(FULL, "mover_group", ""));
        assert_eq!(e, format!("jmlproof.toml:{}: [test] missing required key \"mover_group\"", line(FULL, "[test]")));
        let no_aws = MINIMAL.split("[aws]").next().unwrap();
        assert_eq!(err(no_aws), "jmlproof.toml: missing required section [aws]");
    }

    #[test]
    fn exactly_one_credential() {
        let e = err(&edit(MINIMAL, "token", ""));
        assert_eq!(e, "jmlproof.toml:1: [okta] missing required key \"token\" (or an [okta.oauth] table)");
        let both = edit(FULL, "org_url", "org_url = \"https://acme.okta.com\"\ntoken = \"env:T\"");
        assert_eq!(err(&both), "jmlproof.toml:2: [okta] set token or [okta.oauth], not both");
        let e = err(&edit(MINIMAL, "client_secret", ""));
        assert_eq!(e, "jmlproof.toml:5: [entra] missing required key \"client_secret\" (or \"certificate\")");
        let both = edit(FULL, "certificate", "certificate = \"env:C\"\nclient_secret = \"env:S\"");
        assert_eq!(
            err(&both),
            format!("jmlproof.toml:{}: [entra] set client_secret or certificate, not both", line(FULL, "[entra]"))
        );
    }

    #[test]
    fn test_section_rules() {
        let e = err(&edit(FULL, "subjects", "subjects = 5"));
        assert_eq!(
            e,
            format!("jmlproof.toml:{}: [test] subjects: 5 is more than max_users (4)", line(FULL, "subjects"))
        );
        let e = err(&edit(&edit(FULL, "subjects", ""), "max_users", "max_users = 2"));
        assert!(
            e.ends_with("[test] subjects: 3 is more than max_users (2)")
                && e.contains(&format!(":{}:", line(FULL, "max_users"))),
            "{e}"
        );
        assert!(err(&edit(FULL, "subjects", "subjects = 0")).ends_with("[test] subjects: must be at least 1"));
        assert!(
            err(&edit(FULL, "subjects", "subjects = -1"))
                .contains("[test] subjects: expected a whole number, got integer -1")
        );
        for bad in ["", "JML-", "jml proof", "jml/"] {
            let e = err(&edit(FULL, "login_prefix", &format!("login_prefix = \"{bad}\"")));
            assert!(e.contains("[test] login_prefix: expected lowercase letters, digits"), "{e}");
        }
        let e = err(&edit(FULL, "mover_group", "mover_group = \"JML Test\""));
        assert!(e.ends_with("[test] mover_group: must differ from group (a move needs two groups)"), "{e}");
        assert!(err(&edit(FULL, "domain", "domain = \"localhost\"")).contains("[test] domain: expected a mail domain"));
    }

    #[test]
    fn aws_identifiers_are_checked() {
        for (start, value, says) in [
            ("region", "US East", "expected an AWS region"),
            ("identity_store_id", "arn:aws:identitystore::1:identitystore/d-1", "expected an identity store id"),
            ("instance_arn", "ssoins-1", "expected an ARN"),
            ("account_id", "12345", "expected a 12-digit AWS account id"),
            ("okta_app_id", "", "must not be empty"),
        ] {
            let e = err(&edit(MINIMAL, start, &format!("{start} = \"{value}\"")));
            assert!(e.contains(&format!("[aws] {start}: {says}")), "{e}");
        }
    }

    #[test]
    fn load_refuses_big_files_before_parsing() {
        let dir = std::env::temp_dir().join(format!("jmlproof-config-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let big = dir.join("big.toml");
        std::fs::write(&big, vec![b'['; (MAX_CONFIG_BYTES + 1) as usize]).unwrap();
        let e = load(&big).unwrap_err().to_string();
        assert!(e.ends_with("1048577 bytes is over the 1 MiB limit for a config file"), "{e}");
        let e = load(&dir.join("absent.toml")).unwrap_err().to_string();
        assert!(e.ends_with("absent.toml: no such file (`jmlproof init` writes a starter)"), "{e}");
        let good = dir.join("jmlproof.toml");
        std::fs::write(&good, MINIMAL).unwrap();
        let c = load(&good).unwrap();
        assert_eq!(c.evidence.out_dir, dir.join("evidence"));
        assert_eq!(check(&good).unwrap(), crate::exit::Outcome::Pass);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn serializes_references_in_the_shape_of_the_file() {
        let json = serde_json::to_value(ok(FULL)).unwrap();
        assert_eq!(json["okta"]["org_url"], "https://acme.okta.com");
        assert_eq!(json["okta"]["oauth"]["private_key"], "file:conf/keys/okta.pem");
        assert_eq!(json["entra"]["certificate"], "file:/etc/jmlproof/entra.pem");
        assert_eq!(json["entra"]["link_attribute"], "employeeId");
        assert_eq!(json["sla"]["joiner"], "1h30m");
        assert_eq!(json["evidence"]["formats"], serde_json::json!(["json", "junit"]));
        let json = serde_json::to_value(ok(MINIMAL)).unwrap();
        assert_eq!(json["okta"]["token"], "env:OKTA_TOKEN");
        assert_eq!(json["entra"]["client_secret"], "env:ENTRA_SECRET");
        assert!(json.get("test").is_none());
    }

    /// The serialized config is a valid config again (the sandbox writes them,
    /// and the evidence record embeds one).
    #[test]
    fn serialized_toml_parses_back_to_the_same_config() {
        for text in [FULL, MINIMAL] {
            let first = parse(text, Path::new("jmlproof.toml")).unwrap();
            let written = toml::to_string(&first).unwrap();
            let again = parse(&written, Path::new("jmlproof.toml")).unwrap_or_else(|e| panic!("{e}\n{written}"));
            assert_eq!(serde_json::to_value(&first).unwrap(), serde_json::to_value(&again).unwrap());
        }
    }

    #[test]
    fn canary_resolved_through_every_form_stays_out_of_config_output() {
        let dir = std::env::temp_dir().join(format!("jmlproof-config-canary-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("okta.token"), format!("{CANARY}\n")).unwrap();
        // SAFETY: a variable only this test uses; nothing reads the environment from C concurrently.
        unsafe { std::env::set_var("JMLPROOF_CONFIG_CANARY", CANARY) };
        let text = edit(
            &edit(MINIMAL, "token", "token = \"file:okta.token\""),
            "client_secret",
            "client_secret = \"env:JMLPROOF_CONFIG_CANARY\"",
        ) + &format!("\n[evidence]\nsigning_key = \"cmd:printf {CANARY}\"\n");
        let c = parse(&text, &dir.join("jmlproof.toml")).unwrap();
        let OktaAuth::Token(token) = &c.okta.auth else { panic!() };
        let EntraCredential::ClientSecret(secret) = &c.entra.credential else { panic!() };
        let mut refs = vec![token, secret];
        if cfg!(unix) {
            refs.push(c.evidence.signing_key.as_ref().unwrap());
        }
        for reference in refs {
            let value = reference.resolve().unwrap();
            assert_eq!(value.expose(), CANARY);
            assert!(!format!("{value:?} {value}").contains(CANARY));
        }
        // The cmd: reference text itself holds the canary here, so drop it before looking.
        let mut c = c;
        c.evidence.signing_key = None;
        let debug = format!("{c:?}");
        let json = serde_json::to_string(&c).unwrap();
        assert!(!debug.contains(CANARY) && !json.contains(CANARY), "{debug}");
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
