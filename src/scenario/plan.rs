//! The disposable subjects of a run: logins from the prefix and run id on the
//! configured domain, a unique employeeNumber, Unicode names (so every view is
//! tested on them), and a random password that is never stored.

use serde::{Deserialize, Serialize};

use crate::secret::Secret;

/// Names every run uses in turn: the characters a report must render exactly.
const GIVEN: &[&str] = &["Zoë", "Łukasz", "Ñoño", "Siobhán", "Jürgen", "Ängel", "Dorotéa", "Øyvind", "Çağla", "Νίκος"];
const FAMILY: &[&str] =
    &["Ångström", "Żółć", "Muñoz", "O'Brien", "Müller", "Nørgaard", "Dvořák", "Þórsdóttir", "Yılmaz", "Παπαδόπουλος"];
/// The surname a mover takes (the marriage case).
const MARRIED: &[&str] = &[
    "Kowalczyk-Ångström",
    "Nowak",
    "García",
    "Byrne",
    "Schäfer",
    "Lindqvist",
    "Novotná",
    "Jónsdóttir",
    "Şahin",
    "Γεωργίου",
];

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Planned {
    pub key: String,
    pub login: String,
    pub given: String,
    pub family: String,
    pub married: String,
    pub employee_number: String,
}

/// A run id: 4 hex characters from the system RNG (with the prefix and the journal's
/// create-new, collisions are refused rather than merged).
pub fn run_id() -> String {
    let mut b = [0u8; 2];
    let _ = aws_lc_rs::rand::fill(&mut b);
    hex::encode(b)
}

/// `prefix + run id + index` on the domain, e.g. `jmlproof-7f3c-01@yourorg.com`.
pub fn subjects(prefix: &str, run_id: &str, domain: &str, n: u32) -> Vec<Planned> {
    (1..=n)
        .map(|i| {
            let k = (i as usize - 1) % GIVEN.len();
            Planned {
                key: format!("s{i:02}"),
                login: format!("{prefix}{run_id}-{i:02}@{domain}"),
                given: GIVEN[k].into(),
                family: FAMILY[k].into(),
                married: MARRIED[k].into(),
                employee_number: format!("JMLP-{run_id}-{i:03}"),
            }
        })
        .collect()
}

/// A 24-character password with every character class Okta policies ask for, from
/// the system RNG. It exists only in memory for the create call.
pub fn password() -> Secret {
    const SETS: [&[u8]; 4] = [b"ABCDEFGHJKLMNPQRSTUVWXYZ", b"abcdefghijkmnopqrstuvwxyz", b"23456789", b"!#%*+-=?@^_"];
    let mut bytes = [0u8; 24];
    let _ = aws_lc_rs::rand::fill(&mut bytes);
    let s: String = bytes
        .iter()
        .enumerate()
        .map(|(i, b)| {
            let set = SETS[i % SETS.len()];
            set[*b as usize % set.len()] as char
        })
        .collect();
    Secret::new(s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn subjects_are_named_from_prefix_run_and_domain() {
        let s = subjects("jmlproof-", "7f3c", "yourorg.com", 12);
        assert_eq!(s[0].login, "jmlproof-7f3c-01@yourorg.com");
        assert_eq!(s[11].key, "s12");
        assert_eq!(s[0].given, "Zoë");
        let mut numbers: Vec<&str> = s.iter().map(|p| p.employee_number.as_str()).collect();
        numbers.dedup();
        assert_eq!(numbers.len(), 12);
        assert!(s.iter().all(|p| p.family != p.married));
    }

    #[test]
    fn passwords_are_random_and_never_shown() {
        let (a, b) = (password(), password());
        assert_ne!(a.expose(), b.expose());
        assert_eq!(a.expose().len(), 24);
        assert!(a.expose().chars().any(|c| c.is_ascii_digit()) && a.expose().chars().any(|c| c.is_ascii_uppercase()));
        assert!(!format!("{a:?} {a}").contains(a.expose()));
        assert_eq!(run_id().len(), 4);
    }
}
