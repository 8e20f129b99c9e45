//! Fault switches, per system, from a TOML file (`--faults FILE`) or the admin
//! endpoint at run time. Tables are named after the systems: `[okta]`, `[entra]`,
//! `[aws]`. The defaults describe a healthy tenant with lifelike delays.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::duration::Human;

#[derive(Debug, Clone, Default, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Faults {
    pub okta: OktaFaults,
    pub entra: EntraFaults,
    pub aws: AwsFaults,
}

/// Faults on a system's API itself (what the tool's clients meet).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ApiFaults {
    /// Fraction of API calls answered 429 (a "429 storm" is e.g. 0.5).
    pub rate_429: f64,
    /// Fraction of API calls answered 5xx (500/502/503 rotating).
    pub rate_5xx: f64,
    /// Latency added to every API call.
    pub latency: Human,
    /// Fraction of API calls whose connection is dropped before an answer.
    pub rate_reset: f64,
    /// Fraction of API calls answered only after `slow` (past a client's timeout).
    pub rate_slow: f64,
    pub slow: Human,
    /// Fraction of API calls answered with the JSON body cut short, after the call took effect.
    pub rate_malformed: f64,
    /// Every answer's page and its items carry a field no client knows.
    pub extra_field: bool,
    /// How far the system's clock is off: its `Date` headers and its audit times.
    pub clock_skew: Skew,
}

/// A signed duration: `"-5m"` is a clock five minutes behind, `"90s"` one ahead.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Skew(pub chrono::Duration);

impl<'de> Deserialize<'de> for Skew {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        let (sign, rest) = match s.trim().strip_prefix('-') {
            Some(rest) => (-1, rest),
            None => (1, s.trim().trim_start_matches('+')),
        };
        let d = crate::duration::parse(rest).map_err(serde::de::Error::custom)?;
        let d = chrono::Duration::from_std(d).map_err(serde::de::Error::custom)?;
        Ok(Skew(d * sign))
    }
}

impl Serialize for Skew {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let abs = self.0.abs().to_std().unwrap_or_default();
        let sign = if self.0 < chrono::Duration::zero() { "-" } else { "" };
        s.serialize_str(&format!("{sign}{}", crate::duration::format(abs)))
    }
}

fn slow_default() -> Human {
    Human(Duration::from_secs(60))
}

/// The API faults of a faults table (the keys every table shares).
macro_rules! api_faults {
    ($t:expr, $skew:expr) => {
        ApiFaults {
            rate_429: $t.rate_429,
            rate_5xx: $t.rate_5xx,
            latency: $t.latency,
            rate_reset: $t.rate_reset,
            rate_slow: $t.rate_slow,
            slow: $t.slow,
            rate_malformed: $t.rate_malformed,
            extra_field: $t.extra_field,
            clock_skew: $skew,
        }
    };
}

impl OktaFaults {
    /// Okta's clock is the one every T0 is read from: it is never skewed.
    pub fn api(&self) -> ApiFaults {
        api_faults!(self, Skew::default())
    }
}

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct OktaFaults {
    pub rate_429: f64,
    pub rate_5xx: f64,
    pub latency: Human,
    pub rate_reset: f64,
    pub rate_slow: f64,
    pub slow: Human,
    pub rate_malformed: f64,
    pub extra_field: bool,
    /// Every System Log page's `next` link points back at the same page, forever.
    pub log_next_repeats: bool,
    /// Requests per rate-limit window for management endpoints (users, groups, apps).
    pub rate_limit: u32,
    /// Requests per window for /api/v1/logs (Okta's published Workforce figure: 120/min).
    pub logs_rate_limit: u32,
    /// Length of a rate-limit window (Okta: about 60 s).
    pub rate_window: Human,
    /// Whether the OAuth service app requires DPoP (new "API Services" apps do by default).
    pub dpop: bool,
}

impl Default for OktaFaults {
    fn default() -> Self {
        OktaFaults {
            rate_429: 0.0,
            rate_5xx: 0.0,
            latency: Human(Duration::ZERO),
            rate_reset: 0.0,
            rate_slow: 0.0,
            slow: slow_default(),
            rate_malformed: 0.0,
            extra_field: false,
            log_next_repeats: false,
            rate_limit: 600,
            logs_rate_limit: 120,
            rate_window: Human(Duration::from_secs(60)),
            dpop: true,
        }
    }
}

/// How a leg takes access away.
#[derive(Debug, Clone, Copy, Serialize, Deserialize, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Revoke {
    Disable,
    Delete,
}

/// Switches of one provisioning leg (Okta app → downstream), shared by `[entra]` and `[aws]`.
#[derive(Debug, Clone, PartialEq)]
pub struct LegFaults {
    /// Okta's "Create Users" provisioning switch for this app.
    pub create: bool,
    /// "Update User Attributes".
    pub update: bool,
    /// "Deactivate Users". Off: a leaver keeps the downstream account.
    pub deactivate: bool,
    /// Time from the Okta change to the downstream change.
    pub delay: Duration,
    /// Uniform extra delay in [0, jitter).
    pub jitter: Duration,
    pub revoke: Revoke,
    /// Number of failed attempts (Okta FAILURE events) before a push succeeds.
    pub push_failures: u32,
    /// A push that never succeeds (every attempt fails).
    pub push_never_succeeds: bool,
    /// Time between a failed attempt and the retry.
    pub retry_after: Duration,
    /// Whether the downstream writes its own audit record (Entra directory audit / CloudTrail).
    pub audit: bool,
    /// How long after the change the audit record becomes readable.
    pub audit_delay: Duration,
}

// serde's `flatten` cannot be combined with `deny_unknown_fields`, and an unknown key in a
// faults file must be an error (a typo would silently test the healthy path). So the two
// leg tables are spelled out by one macro: shared keys once, each table's own keys after.
macro_rules! leg_table {
    ($name:ident { $($(#[$m:meta])* $extra:ident : $ty:ty = $default:expr),* $(,)? }) => {
        #[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
        #[serde(deny_unknown_fields, default)]
        pub struct $name {
            /// Fraction of API calls answered 429 (a "429 storm" is e.g. 0.5).
            pub rate_429: f64,
            /// Fraction of API calls answered 5xx.
            pub rate_5xx: f64,
            /// Latency added to every API call.
            pub latency: Human,
            pub rate_reset: f64,
            pub rate_slow: f64,
            pub slow: Human,
            pub rate_malformed: f64,
            pub extra_field: bool,
            /// The downstream's clock is off by this much (`"-5m"`): `Date` and audit times.
            pub clock_skew: Skew,
            pub create: bool,
            pub update: bool,
            pub deactivate: bool,
            pub delay: Human,
            pub jitter: Human,
            pub revoke: Revoke,
            pub push_failures: u32,
            pub push_never_succeeds: bool,
            pub retry_after: Human,
            pub audit: bool,
            pub audit_delay: Human,
            $($(#[$m])* pub $extra: $ty,)*
        }

        impl Default for $name {
            fn default() -> Self {
                $name {
                    rate_429: 0.0,
                    rate_5xx: 0.0,
                    latency: Human(Duration::ZERO),
                    rate_reset: 0.0,
                    rate_slow: 0.0,
                    slow: slow_default(),
                    rate_malformed: 0.0,
                    extra_field: false,
                    clock_skew: Skew::default(),
                    create: true,
                    update: true,
                    deactivate: true,
                    delay: Human(Duration::from_secs(3)),
                    jitter: Human(Duration::from_secs(2)),
                    revoke: Revoke::Disable,
                    push_failures: 0,
                    push_never_succeeds: false,
                    retry_after: Human(Duration::from_secs(5)),
                    audit: true,
                    audit_delay: Human(Duration::ZERO),
                    $($extra: $default,)*
                }
            }
        }

        impl $name {
            pub fn api(&self) -> ApiFaults {
                api_faults!(self, self.clock_skew)
            }

            pub fn leg(&self) -> LegFaults {
                LegFaults {
                    create: self.create,
                    update: self.update,
                    deactivate: self.deactivate,
                    delay: self.delay.0,
                    jitter: self.jitter.0,
                    revoke: self.revoke,
                    push_failures: self.push_failures,
                    push_never_succeeds: self.push_never_succeeds,
                    retry_after: self.retry_after.0,
                    audit: self.audit,
                    audit_delay: self.audit_delay.0,
                }
            }

            fn set_fast(&mut self) {
                self.delay = Human(Duration::from_millis(30));
                self.jitter = Human(Duration::from_millis(20));
                self.retry_after = Human(Duration::from_millis(30));
            }
        }
    };
}

leg_table!(EntraFaults {
    /// Whether deactivation also revokes sign-in sessions (signInSessionsValidFromDateTime).
    revoke_sessions: bool = true,
    /// Directory-audit retention (7 days on Entra ID Free, 30 on P1/P2).
    audit_retention: Human = Human(Duration::from_secs(30 * 86_400)),
    /// Directory-audit requests allowed per 10 seconds (the real limit is 5).
    audit_rate_limit: u32 = 5,
});

leg_table!(AwsFaults {
    /// Session duration of the sandbox's permission sets (ISO 8601, as AWS returns it).
    session_duration: String = "PT4H".into(),
    /// What Okta pushes as the SCIM externalId: `okta_id` or `employee_number`.
    external_id: String = "okta_id".into(),
});

impl Faults {
    /// Parses a faults file; errors name the file and line.
    pub fn parse(text: &str, origin: &str) -> Result<Faults, String> {
        toml::from_str::<Faults>(text).map_err(|e| {
            let line = e.span().map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
            let msg = e.message().replace('\n', " ");
            match line {
                Some(l) => format!("{origin}:{l}: {msg}"),
                None => format!("{origin}: {msg}"),
            }
        })
    }

    pub fn leg(&self, leg: super::state::Leg) -> LegFaults {
        match leg {
            super::state::Leg::Entra => self.entra.leg(),
            super::state::Leg::Aws => self.aws.leg(),
        }
    }

    pub fn api(&self, system: super::state::System) -> ApiFaults {
        match system {
            super::state::System::Okta => self.okta.api(),
            super::state::System::Entra => self.entra.api(),
            super::state::System::Aws => self.aws.api(),
        }
    }

    /// These faults with the keys of `text` (a faults file fragment) laid over them.
    pub fn merged(&self, text: &str) -> Result<Faults, String> {
        let patch: toml::Table = text.parse().map_err(|e: toml::de::Error| format!("faults: {}", e.message()))?;
        let mut base = toml::Table::try_from(self).map_err(|e| e.to_string())?;
        for (section, value) in patch {
            match (base.get_mut(&section), value) {
                (Some(toml::Value::Table(b)), toml::Value::Table(p)) => b.extend(p),
                (_, v) => {
                    base.insert(section, v);
                }
            }
        }
        Faults::parse(&toml::to_string(&base).map_err(|e| e.to_string())?, "faults")
    }

    /// Settings for tests: millisecond delays, no jitter, everything healthy.
    pub fn fast() -> Faults {
        let mut f = Faults::default();
        f.entra.set_fast();
        f.aws.set_fast();
        f
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn issue_keys_mean_what_they_say() {
        let f = Faults::parse("[entra]\ndeactivate = false\n[aws]\ndelay = \"2s\"\n", "faults.toml").unwrap();
        assert!(!f.entra.deactivate);
        assert!(f.aws.deactivate);
        assert_eq!(f.aws.delay.0, Duration::from_secs(2));
    }

    #[test]
    fn merge_keeps_what_it_does_not_name() {
        let f = Faults::fast().merged("[aws]\ndeactivate = false\n").unwrap();
        assert!(!f.aws.deactivate);
        assert_eq!(f.entra.delay, Faults::fast().entra.delay);
        assert!(Faults::fast().merged("[aws]\nnope = 1\n").unwrap_err().contains("nope"));
    }

    #[test]
    fn unknown_key_names_line() {
        let err = Faults::parse("[aws]\n\ndeactivat = false\n", "f.toml").unwrap_err();
        assert!(err.starts_with("f.toml:3:"), "{err}");
        assert!(err.contains("deactivat"), "{err}");
    }

    #[test]
    fn clock_skew_is_signed_and_round_trips() {
        let f = Faults::parse("[aws]\nclock_skew = \"-5m\"\n[entra]\nclock_skew = \"90s\"\n", "f").unwrap();
        assert_eq!(f.aws.clock_skew.0, chrono::Duration::minutes(-5));
        assert_eq!(f.entra.clock_skew.0, chrono::Duration::seconds(90));
        assert_eq!(Faults::default().merged(&toml::to_string(&f).unwrap()).unwrap(), f);
        assert!(Faults::parse("[aws]\nclock_skew = \"-5\"\n", "f").is_err());
    }
}
