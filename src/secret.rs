//! Secret references: `env:NAME`, `file:PATH`, `cmd:COMMAND`.
//!
//! The config holds only references, never values, so it can be printed, logged
//! and embedded in the evidence record. A reference is resolved into a [`Secret`]
//! just before use. Error texts name the reference (variable, path, program) but
//! never a value: a mistyped reference may well be a pasted secret.

use std::fmt;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

/// How long a `cmd:` reference may run before it is killed.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Secrets are tokens, keys and small PEM bundles; anything bigger is a mistake
/// (a wrong path or a chatty command), and reading it whole would be wasteful.
const MAX_SECRET_BYTES: u64 = 1024 * 1024;

/// Where a secret comes from. Displays as it was written (`env:OKTA_TOKEN`).
#[derive(Clone, PartialEq, Eq)]
pub enum SecretRef {
    Env(String),
    File(PathBuf),
    /// The command as written, and its words (split without a shell).
    Cmd {
        command: String,
        argv: Vec<String>,
    },
}

/// A resolved secret. Prints as `[redacted]`, is not `Serialize` nor `Clone`,
/// and overwrites its bytes when dropped.
pub struct Secret(String);

#[derive(Debug, thiserror::Error)]
pub enum SecretError {
    /// The reference itself is malformed. The text is deliberately not included.
    #[error("{0}")]
    Invalid(&'static str),
    #[error("env:{name}: environment variable {name} is not set")]
    EnvMissing { name: String },
    #[error("env:{name}: environment variable {name} is empty")]
    EnvEmpty { name: String },
    #[error("env:{name}: environment variable {name} is not valid UTF-8")]
    EnvNotUnicode { name: String },
    #[error("file:{}: {reason}", path.display())]
    File { path: PathBuf, reason: String },
    #[error("cmd: cannot run {program:?}: {reason}")]
    CmdSpawn { program: String, reason: String },
    #[error("cmd: {program:?} timed out after {} and was killed", crate::duration::format(*timeout))]
    CmdTimeout { program: String, timeout: Duration },
    #[error("cmd: {program:?} failed ({status}){}", stderr_suffix(stderr))]
    CmdFailed {
        program: String,
        status: String,
        /// First line of stderr, at most 200 characters. Never stdout.
        stderr: String,
    },
    #[error("cmd: {program:?} {reason}")]
    CmdOutput { program: String, reason: String },
}

fn stderr_suffix(stderr: &str) -> String {
    if stderr.is_empty() { String::new() } else { format!(": {stderr}") }
}

const FORMS: &str = "expected a secret reference: env:NAME, file:PATH or cmd:COMMAND \
                     (the value is not shown, in case it is a secret)";

impl std::str::FromStr for SecretRef {
    type Err = SecretError;

    fn from_str(text: &str) -> Result<Self, SecretError> {
        if let Some(name) = text.strip_prefix("env:") {
            let valid = name.chars().next().is_some_and(|c| !c.is_ascii_digit())
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(SecretError::Invalid(
                    "env: needs a variable name of letters, digits and _ (e.g. env:OKTA_TOKEN)",
                ));
            }
            secret_variables().lock().unwrap_or_else(std::sync::PoisonError::into_inner).insert(name.to_string());
            Ok(SecretRef::Env(name.to_string()))
        } else if let Some(path) = text.strip_prefix("file:") {
            if path.trim().is_empty() {
                return Err(SecretError::Invalid("file: needs a path (e.g. file:/run/secrets/okta)"));
            }
            Ok(SecretRef::File(PathBuf::from(path)))
        } else if let Some(command) = text.strip_prefix("cmd:") {
            let argv = split_words(command)?;
            if argv.is_empty() {
                return Err(SecretError::Invalid("cmd: needs a command (e.g. cmd:op read op://vault/okta/token)"));
            }
            Ok(SecretRef::Cmd { command: command.to_string(), argv })
        } else {
            Err(SecretError::Invalid(FORMS))
        }
    }
}

/// Splits a command line into words the way a POSIX shell would for the simple
/// cases, without running one: whitespace separates words, `'…'` is literal,
/// `"…"` allows `\"` and `\\`, and a backslash outside quotes escapes the next
/// character. No globbing, variables or pipes: those need a script.
pub fn split_words(line: &str) -> Result<Vec<String>, SecretError> {
    let mut words = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = line.chars();
    while let Some(c) = chars.next() {
        match c {
            c if c.is_whitespace() => {
                if in_word {
                    words.push(std::mem::take(&mut word));
                    in_word = false;
                }
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err(SecretError::Invalid("cmd: unbalanced single quote")),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => {
                                return Err(SecretError::Invalid("cmd: unbalanced double quote"));
                            }
                        },
                        Some(c) => word.push(c),
                        None => return Err(SecretError::Invalid("cmd: unbalanced double quote")),
                    }
                }
            }
            '\\' => {
                in_word = true;
                match chars.next() {
                    Some(c) => word.push(c),
                    None => return Err(SecretError::Invalid("cmd: trailing backslash")),
                }
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        words.push(word);
    }
    Ok(words)
}

impl fmt::Display for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SecretRef::Env(name) => write!(f, "env:{name}"),
            SecretRef::File(path) => write!(f, "file:{}", path.display()),
            SecretRef::Cmd { command, .. } => write!(f, "cmd:{command}"),
        }
    }
}

// A reference is not a secret, so Debug shows it; that keeps config dumps useful.
impl fmt::Debug for SecretRef {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SecretRef({self})")
    }
}

impl serde::Serialize for SecretRef {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> serde::Deserialize<'de> for SecretRef {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        d.deserialize_any(RefVisitor)
    }
}

/// Every non-string input gets the same message: serde's default would echo the
/// value (`invalid type: integer 1234…`), and that value may be a secret.
struct RefVisitor;

impl RefVisitor {
    fn refuse<E: serde::de::Error>() -> Result<SecretRef, E> {
        Err(E::custom(FORMS))
    }
}

impl<'de> serde::de::Visitor<'de> for RefVisitor {
    type Value = SecretRef;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a secret reference (env:NAME, file:PATH or cmd:COMMAND)")
    }
    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SecretRef, E> {
        v.parse().map_err(|e: SecretError| E::custom(e))
    }
    fn visit_bool<E: serde::de::Error>(self, _: bool) -> Result<SecretRef, E> {
        Self::refuse()
    }
    fn visit_i64<E: serde::de::Error>(self, _: i64) -> Result<SecretRef, E> {
        Self::refuse()
    }
    fn visit_u64<E: serde::de::Error>(self, _: u64) -> Result<SecretRef, E> {
        Self::refuse()
    }
    fn visit_f64<E: serde::de::Error>(self, _: f64) -> Result<SecretRef, E> {
        Self::refuse()
    }
    fn visit_seq<A: serde::de::SeqAccess<'de>>(self, _: A) -> Result<SecretRef, A::Error> {
        Self::refuse()
    }
    fn visit_map<A: serde::de::MapAccess<'de>>(self, _: A) -> Result<SecretRef, A::Error> {
        Self::refuse()
    }
}

/// clap's parser for secret references on the command line. clap's own message would
/// echo the value (`invalid value 'hunter2'`), and a mistyped reference may be the
/// secret itself: this one names the flag and the forms, never the value.
#[derive(Debug, Clone, Copy)]
pub struct ClapParser;

impl clap::builder::TypedValueParser for ClapParser {
    type Value = SecretRef;

    fn parse_ref(
        &self,
        cmd: &clap::Command,
        arg: Option<&clap::Arg>,
        value: &std::ffi::OsStr,
    ) -> Result<SecretRef, clap::Error> {
        let flag = arg.map(|a| a.to_string()).unwrap_or_else(|| "value".into());
        let parsed = value.to_str().map(str::parse::<SecretRef>);
        match parsed {
            Some(Ok(r)) => Ok(r),
            Some(Err(e)) => {
                Err(clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{flag}: {e}\n")).with_cmd(cmd))
            }
            None => {
                Err(clap::Error::raw(clap::error::ErrorKind::ValueValidation, format!("{flag}: {FORMS}\n"))
                    .with_cmd(cmd))
            }
        }
    }
}

impl SecretRef {
    /// A relative `file:` path is taken relative to `base` (the config file's
    /// directory), like every other path in the config. Other forms are unchanged.
    pub fn relative_to(self, base: &Path) -> SecretRef {
        match self {
            SecretRef::File(path) if path.is_relative() => SecretRef::File(base.join(path)),
            other => other,
        }
    }

    /// Resolves with the default 30 s limit for `cmd:`.
    pub fn resolve(&self) -> Result<Secret, SecretError> {
        self.resolve_with_timeout(DEFAULT_TIMEOUT)
    }

    pub fn resolve_with_timeout(&self, timeout: Duration) -> Result<Secret, SecretError> {
        match self {
            SecretRef::Env(name) => resolve_env(name),
            SecretRef::File(path) => resolve_file(path),
            SecretRef::Cmd { argv, .. } => resolve_cmd(argv, timeout),
        }
    }
}

fn resolve_env(name: &str) -> Result<Secret, SecretError> {
    let value = std::env::var_os(name).ok_or_else(|| SecretError::EnvMissing { name: name.into() })?;
    let value = value.into_string().map_err(|_| SecretError::EnvNotUnicode { name: name.into() })?;
    if value.is_empty() {
        return Err(SecretError::EnvEmpty { name: name.into() });
    }
    Ok(Secret::new(value))
}

fn resolve_file(path: &Path) -> Result<Secret, SecretError> {
    let fail = |reason: String| SecretError::File { path: path.to_path_buf(), reason };
    let meta = std::fs::metadata(path).map_err(|e| fail(io_reason(&e)))?;
    if meta.is_dir() {
        return Err(fail("is a directory, not a file".into()));
    }
    let mut file = std::fs::File::open(path).map_err(|e| fail(io_reason(&e)))?;
    let mut bytes = Vec::with_capacity(usize::try_from(meta.len().min(MAX_SECRET_BYTES)).unwrap_or(0));
    // take() bounds the read even when metadata lies (pipes, /proc files).
    let read = (&mut file).take(MAX_SECRET_BYTES + 1).read_to_end(&mut bytes);
    if let Err(e) = read {
        wipe(bytes);
        return Err(fail(io_reason(&e)));
    }
    if bytes.len() as u64 > MAX_SECRET_BYTES {
        wipe(bytes);
        return Err(fail("is larger than 1 MiB; that is not a secret".into()));
    }
    let secret = Secret::from_bytes(bytes).ok_or_else(|| fail("is not UTF-8 text".into()))?;
    let secret = secret.trimmed_end();
    if secret.0.is_empty() {
        return Err(fail("is empty".into()));
    }
    Ok(secret)
}

fn io_reason(e: &std::io::Error) -> String {
    match e.kind() {
        std::io::ErrorKind::NotFound => "no such file".into(),
        std::io::ErrorKind::PermissionDenied => "permission denied".into(),
        _ => e.to_string(),
    }
}

/// The environment variables any `env:` reference of this process names: a `cmd:`
/// child never inherits them, so one secret's helper never sees another secret.
fn secret_variables() -> &'static std::sync::Mutex<std::collections::BTreeSet<String>> {
    static NAMES: std::sync::OnceLock<std::sync::Mutex<std::collections::BTreeSet<String>>> =
        std::sync::OnceLock::new();
    NAMES.get_or_init(Default::default)
}

fn resolve_cmd(argv: &[String], timeout: Duration) -> Result<Secret, SecretError> {
    let Some((program, args)) = argv.split_first() else {
        return Err(SecretError::Invalid("cmd: needs a command"));
    };
    let mut command = Command::new(program);
    for name in secret_variables().lock().unwrap_or_else(std::sync::PoisonError::into_inner).iter() {
        command.env_remove(name);
    }
    let mut child = command
        .args(args)
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map_err(|e| SecretError::CmdSpawn { program: program.clone(), reason: io_reason(&e) })?;

    // Read both pipes on their own threads so a chatty child cannot fill one pipe
    // and block while we wait for it to exit.
    let (out_tx, out_rx) = mpsc::channel();
    if let Some(mut stdout) = child.stdout.take() {
        std::thread::spawn(move || {
            let mut buf = Vec::with_capacity(4096);
            let result = (&mut stdout).take(MAX_SECRET_BYTES + 1).read_to_end(&mut buf);
            let _ = out_tx.send(result.map(|_| buf));
        });
    }
    let (err_tx, err_rx) = mpsc::channel();
    if let Some(mut stderr) = child.stderr.take() {
        std::thread::spawn(move || {
            let mut buf = Vec::new();
            let _ = (&mut stderr).take(64 * 1024).read_to_end(&mut buf);
            let _ = err_tx.send(buf);
        });
    }

    let deadline = Instant::now() + timeout;
    let timed_out = || SecretError::CmdTimeout { program: program.clone(), timeout };
    let status = loop {
        match child.try_wait() {
            Ok(Some(status)) => break status,
            Ok(None) => {}
            Err(e) => {
                let _ = child.kill();
                let _ = child.wait();
                return Err(SecretError::CmdSpawn { program: program.clone(), reason: e.to_string() });
            }
        }
        let now = Instant::now();
        if now >= deadline {
            // Kill and reap, so no zombie is left behind. A grandchild that
            // detached keeps running; that is the command's business.
            let _ = child.kill();
            let _ = child.wait();
            return Err(timed_out());
        }
        std::thread::sleep((deadline - now).min(Duration::from_millis(10)));
    };

    // The pipes close when the child exits, unless it left a background process
    // holding them: that counts against the same deadline.
    let remaining = deadline.saturating_duration_since(Instant::now());
    if !status.success() {
        let stderr = err_rx.recv_timeout(remaining).unwrap_or_default();
        if let Ok(Ok(out)) = out_rx.recv_timeout(Duration::ZERO) {
            wipe(out);
        }
        let status = match status.code() {
            Some(code) => format!("exit status {code}"),
            None => "killed by a signal".into(),
        };
        return Err(SecretError::CmdFailed { program: program.clone(), status, stderr: first_line(&stderr, 200) });
    }
    let out = match out_rx.recv_timeout(remaining) {
        Ok(Ok(out)) => out,
        Ok(Err(e)) => {
            return Err(SecretError::CmdOutput { program: program.clone(), reason: format!("stdout: {e}") });
        }
        Err(_) => return Err(timed_out()),
    };
    let output_error = |reason: &str| SecretError::CmdOutput { program: program.clone(), reason: reason.into() };
    if out.len() as u64 > MAX_SECRET_BYTES {
        wipe(out);
        return Err(output_error("printed more than 1 MiB; that is not a secret"));
    }
    let secret = Secret::from_bytes(out).ok_or_else(|| output_error("printed something that is not UTF-8 text"))?;
    let secret = secret.trimmed();
    if secret.0.is_empty() {
        return Err(output_error("printed nothing on stdout"));
    }
    Ok(secret)
}

/// The first line of `bytes`, lossily decoded and cut to `max` characters.
fn first_line(bytes: &[u8], max: usize) -> String {
    let text = String::from_utf8_lossy(bytes);
    let line = text.lines().map(str::trim).find(|l| !l.is_empty()).unwrap_or("");
    let mut out: String = line.chars().take(max).collect();
    if line.chars().count() > max {
        out.push('…');
    }
    out
}

/// Best-effort overwrite of a buffer that held secret bytes. `black_box` keeps
/// the compiler from removing the writes to memory that is about to be freed.
fn wipe(mut bytes: Vec<u8>) {
    bytes.fill(0);
    std::hint::black_box(&bytes);
}

impl Secret {
    pub fn new(value: String) -> Secret {
        Secret(value)
    }

    /// Takes ownership without copying; wipes the bytes if they are not UTF-8.
    fn from_bytes(bytes: Vec<u8>) -> Option<Secret> {
        match String::from_utf8(bytes) {
            Ok(s) => Some(Secret(s)),
            Err(e) => {
                wipe(e.into_bytes());
                None
            }
        }
    }

    /// Trims trailing newlines in place (no untrimmed copy is left behind).
    fn trimmed_end(mut self) -> Secret {
        let len = self.0.trim_end_matches(['\n', '\r']).len();
        self.0.truncate(len);
        self
    }

    /// Trims surrounding whitespace in place: `drain` shifts the bytes within
    /// the same allocation, and what falls off the end is whitespace.
    fn trimmed(mut self) -> Secret {
        let len = self.0.trim_end().len();
        self.0.truncate(len);
        let lead = self.0.len() - self.0.trim_start().len();
        self.0.drain(..lead);
        self
    }

    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl Drop for Secret {
    fn drop(&mut self) {
        wipe(std::mem::take(&mut self.0).into_bytes());
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[redacted]")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "CANARY-5f1e9c2b7d4a";

    fn r(text: &str) -> SecretRef {
        text.parse().unwrap()
    }

    /// A scratch directory unique to one test, removed at the end.
    struct Scratch(PathBuf);
    impl Scratch {
        fn new(name: &str) -> Scratch {
            let dir = std::env::temp_dir().join(format!("jmlproof-secret-{name}-{}", std::process::id()));
            let _ = std::fs::remove_dir_all(&dir);
            std::fs::create_dir_all(&dir).unwrap();
            Scratch(dir)
        }
    }
    impl Drop for Scratch {
        fn drop(&mut self) {
            let _ = std::fs::remove_dir_all(&self.0);
        }
    }

    fn set_env(name: &str, value: &str) {
        // SAFETY: each test uses its own variable name, and nothing in this test
        // binary reads the environment from C code concurrently.
        unsafe { std::env::set_var(name, value) }
    }

    #[test]
    fn parses_the_three_forms_and_displays_them_back() {
        assert_eq!(r("env:OKTA_TOKEN"), SecretRef::Env("OKTA_TOKEN".into()));
        assert_eq!(r("file:/run/secrets/k"), SecretRef::File("/run/secrets/k".into()));
        for text in ["env:OKTA_TOKEN", "file:/run/secrets/k", "cmd:op read 'op://v/i/f'"] {
            assert_eq!(r(text).to_string(), text);
        }
        match r("cmd:op read 'op://v/my item/f' --x=\"a b\"") {
            SecretRef::Cmd { argv, .. } => {
                assert_eq!(argv, ["op", "read", "op://v/my item/f", "--x=a b"])
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn malformed_references_never_echo_the_text() {
        let inputs = [
            CANARY.to_string(),
            format!("env:{CANARY}"),
            format!("Env:{CANARY}"),
            format!("cmd:echo '{CANARY}"),
            format!("cmd:echo {CANARY}\\"),
            "env:".into(),
            "env:1X".into(),
            "file:".into(),
            "file:  ".into(),
            "cmd:   ".into(),
        ];
        for input in inputs {
            let err = input.parse::<SecretRef>().unwrap_err().to_string();
            assert!(!err.contains(CANARY), "{err}");
            assert!(!err.contains('\n'), "{err}");
        }
        let err = CANARY.parse::<SecretRef>().unwrap_err().to_string();
        assert!(err.contains("env:NAME, file:PATH or cmd:COMMAND"), "{err}");
    }

    #[test]
    fn splits_words_like_a_simple_shell() {
        assert_eq!(split_words("  a  b\tc ").unwrap(), ["a", "b", "c"]);
        assert_eq!(split_words("a\\ b 'c d' \"e\\\\f\" ''").unwrap(), ["a b", "c d", "e\\f", ""]);
        assert_eq!(split_words("x\"y z\"w").unwrap(), ["xy zw"]);
        assert!(split_words("'open").is_err());
        assert!(split_words("\"open").is_err());
        assert!(split_words("end\\").is_err());
        assert!(split_words("").unwrap().is_empty());
    }

    #[test]
    fn deserializes_only_strings_and_never_echoes_other_types() {
        #[derive(serde::Deserialize, Debug)]
        struct T {
            #[allow(dead_code)]
            s: SecretRef,
        }
        assert!(toml::from_str::<T>("s = \"env:X\"").is_ok());
        for text in ["s = 987654321", "s = true", "s = [\"a\"]", "s = { v = \"CANARY\" }", "s = 1.5"] {
            let err = toml::from_str::<T>(text).unwrap_err();
            assert!(err.message().contains("env:NAME"), "{}", err.message());
            assert!(!err.message().contains("987654321") && !err.message().contains("CANARY"));
        }
    }

    #[test]
    fn relative_file_paths_follow_the_config_directory() {
        let base = Path::new("/etc/jmlproof");
        assert_eq!(r("file:k.pem").relative_to(base), SecretRef::File("/etc/jmlproof/k.pem".into()));
        assert_eq!(r("file:/abs/k").relative_to(base), r("file:/abs/k"));
        assert_eq!(r("env:X").relative_to(base), r("env:X"));
    }

    #[test]
    fn env_errors_name_the_variable() {
        let err = r("env:JMLPROOF_TEST_SURELY_UNSET").resolve().unwrap_err().to_string();
        assert!(err.contains("JMLPROOF_TEST_SURELY_UNSET is not set"), "{err}");
        set_env("JMLPROOF_TEST_EMPTY", "");
        let err = r("env:JMLPROOF_TEST_EMPTY").resolve().unwrap_err().to_string();
        assert!(err.contains("JMLPROOF_TEST_EMPTY is empty"), "{err}");
    }

    #[test]
    fn file_errors_name_the_path() {
        let dir = Scratch::new("errors");
        let missing = dir.0.join("missing");
        let err = SecretRef::File(missing.clone()).resolve().unwrap_err().to_string();
        assert!(err.contains(&missing.display().to_string()) && err.contains("no such file"), "{err}");
        let err = SecretRef::File(dir.0.clone()).resolve().unwrap_err().to_string();
        assert!(err.contains("is a directory"), "{err}");
        let empty = dir.0.join("empty");
        std::fs::write(&empty, "\n").unwrap();
        let err = SecretRef::File(empty).resolve().unwrap_err().to_string();
        assert!(err.ends_with("is empty"), "{err}");
        let binary = dir.0.join("binary");
        std::fs::write(&binary, [0xff, 0xfe, 0x00]).unwrap();
        let err = SecretRef::File(binary).resolve().unwrap_err().to_string();
        assert!(err.contains("not UTF-8"), "{err}");
    }

    #[test]
    fn file_value_keeps_inner_whitespace_and_drops_the_trailing_newline() {
        let dir = Scratch::new("trim");
        let path = dir.0.join("pem");
        std::fs::write(&path, "-----BEGIN-----\nabc\n-----END-----\r\n\n").unwrap();
        let secret = SecretRef::File(path).resolve().unwrap();
        assert_eq!(secret.expose(), "-----BEGIN-----\nabc\n-----END-----");
    }

    #[cfg(unix)]
    #[test]
    fn cmd_captures_trimmed_stdout_without_a_shell() {
        let secret = r("cmd:printf '  s3cr3t $HOME\\n'").resolve().unwrap();
        // No shell: $HOME stays literal.
        assert_eq!(secret.expose(), "s3cr3t $HOME");
    }

    /// A `cmd:` helper's environment holds no variable an `env:` reference names: one
    /// secret's helper never sees another secret. Other variables pass through.
    #[cfg(unix)]
    #[test]
    fn cmd_children_never_inherit_the_env_secrets() {
        set_env("JMLPROOF_TEST_ENV_CANARY", "canary-5d1e0f");
        set_env("JMLPROOF_TEST_PLAIN", "plain-value");
        assert_eq!(r("env:JMLPROOF_TEST_ENV_CANARY").resolve().unwrap().expose(), "canary-5d1e0f");
        let seen = r("cmd:env").resolve().unwrap();
        assert!(!seen.expose().contains("canary-5d1e0f"), "the helper saw the env: secret");
        assert!(seen.expose().contains("JMLPROOF_TEST_PLAIN=plain-value"), "other variables pass through");
    }

    #[cfg(unix)]
    #[test]
    fn cmd_errors_give_status_and_first_stderr_line_but_never_stdout() {
        let script = format!("cmd:sh -c 'echo {CANARY}; echo \"first problem\" >&2; echo second >&2; exit 3'");
        let err = r(&script).resolve().unwrap_err().to_string();
        assert!(err.contains("exit status 3") && err.contains("first problem"), "{err}");
        assert!(!err.contains(CANARY) && !err.contains("second"), "{err}");

        let long = "cmd:sh -c 'printf \"%0300d\" 0 >&2; exit 1'";
        let err = r(long).resolve().unwrap_err().to_string();
        assert!(err.len() < 300, "{err}");

        let err = r("cmd:jmlproof-no-such-program-x").resolve().unwrap_err().to_string();
        assert!(err.contains("cannot run \"jmlproof-no-such-program-x\"") && err.contains("no such file"), "{err}");

        let err = r("cmd:true").resolve().unwrap_err().to_string();
        assert!(err.contains("printed nothing"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn cmd_is_killed_after_the_timeout() {
        let started = Instant::now();
        let err = r("cmd:sleep 20").resolve_with_timeout(Duration::from_millis(200)).unwrap_err();
        assert!(started.elapsed() < Duration::from_secs(5), "{:?}", started.elapsed());
        assert!(err.to_string().contains("timed out after 200ms"), "{err}");
        let err = SecretError::CmdTimeout { program: "x".into(), timeout: DEFAULT_TIMEOUT };
        assert!(err.to_string().contains("timed out after 30s"), "{err}");
    }

    #[cfg(unix)]
    #[test]
    fn cmd_with_a_background_holder_of_stdout_does_not_hang() {
        // The child exits at once, but its background sleep keeps stdout open.
        let started = Instant::now();
        let result = r("cmd:sh -c 'sleep 20 & echo x'").resolve_with_timeout(Duration::from_millis(300));
        assert!(started.elapsed() < Duration::from_secs(5));
        assert!(result.unwrap_err().to_string().contains("timed out"));
    }

    #[test]
    fn canary_never_shows_in_debug_display_or_errors() {
        let dir = Scratch::new("canary");
        let path = dir.0.join("token");
        std::fs::write(&path, format!("{CANARY}\n")).unwrap();
        set_env("JMLPROOF_TEST_CANARY", CANARY);
        let mut refs = vec![SecretRef::Env("JMLPROOF_TEST_CANARY".into()), SecretRef::File(path)];
        if cfg!(unix) {
            refs.push(r(&format!("cmd:printf {CANARY}")));
        }
        for reference in refs {
            let secret = reference.resolve().unwrap();
            assert_eq!(secret.expose(), CANARY);
            for text in [format!("{secret:?}"), secret.to_string(), format!("{reference:?}")] {
                assert!(!text.contains(CANARY) || text.starts_with("SecretRef(cmd:"), "{text}");
            }
            assert_eq!(format!("{secret:?}"), "[redacted]");
            assert_eq!(secret.to_string(), "[redacted]");
        }
    }
}
