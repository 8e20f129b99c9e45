//! allowed_signers, as `ssh-keygen -Y verify` reads it (ssh-keygen(1), "ALLOWED
//! SIGNERS"): `principals [options] keytype base64 [comment]`. ssh-key has no parser
//! for it. Options understood: `namespaces`, `valid-after`, `valid-before`;
//! `cert-authority` lines are refused (packs are signed with plain keys).

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use ssh_key::PublicKey;

#[derive(Debug, Clone)]
pub struct Entry {
    pub line: usize,
    pub principals: Vec<String>,
    pub namespaces: Option<Vec<String>>,
    pub valid_after: Option<DateTime<Utc>>,
    pub valid_before: Option<DateTime<Utc>>,
    pub key: PublicKey,
}

/// Splits on spaces outside double quotes.
fn tokens(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in line.chars() {
        match c {
            '"' => {
                quoted = !quoted;
                cur.push(c);
            }
            c if c.is_whitespace() && !quoted => {
                if !cur.is_empty() {
                    out.push(std::mem::take(&mut cur));
                }
            }
            c => cur.push(c),
        }
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

fn is_key_type(t: &str) -> bool {
    t.starts_with("ssh-") || t.starts_with("ecdsa-") || t.starts_with("sk-")
}

/// `YYYYMMDD[Z]` or `YYYYMMDDHHMM[SS][Z]`; without `Z` ssh-keygen takes local time,
/// which a pack checked elsewhere cannot know, so it is read as UTC and said so in the docs.
fn time(v: &str) -> Option<DateTime<Utc>> {
    let v = v.trim_matches('"').trim_end_matches(['Z', 'z']);
    match v.len() {
        8 => NaiveDate::parse_from_str(v, "%Y%m%d").ok().and_then(|d| d.and_hms_opt(0, 0, 0)).map(|t| t.and_utc()),
        12 => NaiveDateTime::parse_from_str(v, "%Y%m%d%H%M").ok().map(|t| t.and_utc()),
        14 => NaiveDateTime::parse_from_str(v, "%Y%m%d%H%M%S").ok().map(|t| t.and_utc()),
        _ => None,
    }
}

/// Splits options on commas outside quotes.
fn options(t: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    for c in t.chars() {
        match c {
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            c => cur.push(c),
        }
    }
    out.push(cur);
    out
}

/// The usable lines, and one warning per line that is skipped (as ssh-keygen skips a
/// line it cannot use rather than refusing the file).
pub fn parse(text: &str, name: &str) -> (Vec<Entry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut skipped = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        match line(raw, i + 1, name) {
            Ok(Some(e)) => entries.push(e),
            Ok(None) => {}
            Err(e) => skipped.push(format!("{e}; line skipped")),
        }
    }
    (entries, skipped)
}

fn line(raw: &str, n: usize, name: &str) -> Result<Option<Entry>, String> {
    {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            return Ok(None);
        }
        let at = |m: String| format!("{name}:{n}: {m}");
        let t = tokens(line);
        let principals: Vec<String> =
            t[0].trim_matches('"').split(',').map(str::to_string).filter(|p| !p.is_empty()).collect();
        let mut rest = &t[1..];
        let mut entry_opts = Vec::new();
        if let Some(first) = rest.first()
            && !is_key_type(first)
        {
            entry_opts = options(first);
            rest = &rest[1..];
        }
        let (Some(kind), Some(b64)) = (rest.first(), rest.get(1)) else {
            return Err(at("expected `principals [options] keytype base64`".into()));
        };
        let key = PublicKey::from_openssh(&format!("{kind} {b64}")).map_err(|e| at(format!("key: {e}")))?;
        let mut entry = Entry { line: n, principals, namespaces: None, valid_after: None, valid_before: None, key };
        for o in entry_opts {
            let (k, v) = o.split_once('=').unwrap_or((o.as_str(), ""));
            match k.to_ascii_lowercase().as_str() {
                "namespaces" => entry.namespaces = Some(v.split(',').map(str::to_string).collect()),
                "valid-after" => entry.valid_after = Some(time(v).ok_or_else(|| at(format!("valid-after {v:?}")))?),
                "valid-before" => entry.valid_before = Some(time(v).ok_or_else(|| at(format!("valid-before {v:?}")))?),
                "cert-authority" => return Err(at("cert-authority lines are not supported".into())),
                other => return Err(at(format!("unknown option {other:?}"))),
            }
        }
        Ok(Some(entry))
    }
}

/// ssh's pattern match: `*` and `?` wildcards.
fn glob(pattern: &str, s: &str) -> bool {
    let (p, s): (Vec<char>, Vec<char>) = (pattern.chars().collect(), s.chars().collect());
    fn go(p: &[char], s: &[char]) -> bool {
        match (p.first(), s.first()) {
            (None, None) => true,
            (Some('*'), _) => go(&p[1..], s) || (!s.is_empty() && go(p, &s[1..])),
            (Some('?'), Some(_)) => go(&p[1..], &s[1..]),
            (Some(a), Some(b)) if a == b => go(&p[1..], &s[1..]),
            _ => false,
        }
    }
    go(&p, &s)
}

impl Entry {
    /// Whether `identity` is among the principals (a `!pattern` match excludes).
    pub fn names(&self, identity: &str) -> bool {
        if self.principals.iter().any(|p| p.strip_prefix('!').is_some_and(|n| glob(n, identity))) {
            return false;
        }
        self.principals.iter().any(|p| !p.starts_with('!') && glob(p, identity))
    }

    /// As ssh's pattern lists: a matching `!pattern` denies, else any match allows.
    pub fn allows_namespace(&self, ns: &str) -> bool {
        self.namespaces.as_ref().is_none_or(|list| {
            !list.iter().any(|p| p.strip_prefix('!').is_some_and(|n| glob(n, ns)))
                && list.iter().any(|p| !p.starts_with('!') && glob(p, ns))
        })
    }

    /// ssh-keygen refuses a key only once `now` is past valid-before.
    pub fn valid_at(&self, t: DateTime<Utc>) -> bool {
        self.valid_after.is_none_or(|a| t >= a) && self.valid_before.is_none_or(|b| t <= b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lines_with_options_parse() {
        let key = ssh_key::PrivateKey::random(&mut ssh_key::rand_core::OsRng, ssh_key::Algorithm::Ed25519).unwrap();
        let key = key.public_key().to_openssh().unwrap();
        let text = format!(
            "# comment\naudit@acme.example,*@ops.example namespaces=\"jmlproof,git\" {key} note\n\"a b@x\" valid-before=\"20270101\" {key}\n"
        );
        let (e, skipped) = parse(&text, "allowed_signers");
        assert_eq!((e.len(), skipped.len()), (2, 0));
        assert!(e[0].names("audit@acme.example") && e[0].names("eve@ops.example") && !e[0].names("x@y"));
        assert!(e[0].allows_namespace("jmlproof") && !e[0].allows_namespace("file"));
        assert!(e[1].valid_at(DateTime::parse_from_rfc3339("2026-11-29T00:00:00Z").unwrap().to_utc()));
        assert!(!e[1].valid_at(DateTime::parse_from_rfc3339("2027-01-01T00:00:01Z").unwrap().to_utc()));
        let (none, skipped) = parse("x cert-authority ssh-ed25519 AAAA\nonly-a-principal\n", "f");
        assert!(none.is_empty());
        assert!(skipped[0].starts_with("f:1:") && skipped[1].starts_with("f:2:"), "{skipped:?}");
        let (neg, _) = parse(&format!("a namespaces=\"!jmlproof,*\" {key}\n"), "f");
        assert!(!neg[0].allows_namespace("jmlproof") && neg[0].allows_namespace("git"));
    }
}
