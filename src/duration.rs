//! Human durations as written in jmlproof.toml and the sandbox faults file:
//! `15m`, `1h30m`, `2s`, `250ms`, `1d`. A bare number is refused, because
//! "30" could mean seconds or minutes and an SLA must not be guessed.

use std::fmt;
use std::time::Duration;

/// Parses `1h30m`, `90s`, `250ms`, `2d`, `1.5s`. Units: d, h, m, s, ms.
pub fn parse(text: &str) -> Result<Duration, String> {
    let s = text.trim();
    if s.is_empty() {
        return Err("empty duration (write e.g. \"15m\" or \"1h30m\")".into());
    }
    let mut total = 0f64;
    let mut rest = s;
    while !rest.is_empty() {
        let num_len = rest.find(|c: char| !(c.is_ascii_digit() || c == '.')).unwrap_or(rest.len());
        if num_len == 0 {
            return Err(format!("invalid duration {text:?}: expected a number at {rest:?}"));
        }
        let value: f64 = rest[..num_len]
            .parse()
            .map_err(|_| format!("invalid duration {text:?}: bad number {:?}", &rest[..num_len]))?;
        rest = &rest[num_len..];
        let unit_len = rest.find(|c: char| c.is_ascii_digit() || c == '.').unwrap_or(rest.len());
        let unit = rest[..unit_len].trim();
        rest = rest[unit_len..].trim_start();
        let secs = match unit {
            "d" => 86_400.0,
            "h" => 3_600.0,
            "m" | "min" => 60.0,
            "s" => 1.0,
            "ms" => 0.001,
            "" => {
                return Err(format!(
                    "invalid duration {text:?}: missing unit (use d, h, m, s or ms, e.g. \"{value}s\")"
                ));
            }
            other => {
                return Err(format!("invalid duration {text:?}: unknown unit {other:?} (use d, h, m, s or ms)"));
            }
        };
        total += value * secs;
    }
    if !total.is_finite() || total > 10.0 * 365.0 * 86_400.0 {
        return Err(format!("invalid duration {text:?}: too large"));
    }
    Ok(Duration::from_secs_f64(total))
}

/// Formats a duration the way it is parsed: `1h30m`, `2s`, `250ms`, `0s`.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if ms == 0 {
        return "0s".into();
    }
    if ms % 1000 != 0 && ms < 60_000 {
        return format!("{ms}ms");
    }
    let mut secs = d.as_secs();
    let mut out = String::new();
    for (unit, size) in [("d", 86_400), ("h", 3_600), ("m", 60), ("s", 1)] {
        if secs >= size {
            out.push_str(&format!("{}{unit}", secs / size));
            secs %= size;
        }
    }
    out
}

/// A duration that deserializes from a human string (`"15m"`) and serializes back to one.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Default, Hash)]
pub struct Human(pub Duration);

impl fmt::Debug for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(self.0))
    }
}

impl fmt::Display for Human {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&format(self.0))
    }
}

impl<'de> serde::Deserialize<'de> for Human {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        parse(&s).map(Human).map_err(serde::de::Error::custom)
    }
}

impl serde::Serialize for Human {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&format(self.0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_compound_and_fractional() {
        assert_eq!(parse("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse("250ms").unwrap(), Duration::from_millis(250));
        assert_eq!(parse("1.5s").unwrap(), Duration::from_millis(1500));
        assert_eq!(parse("2d").unwrap(), Duration::from_secs(172_800));
        assert_eq!(parse("1m 30s").unwrap(), Duration::from_secs(90));
    }

    #[test]
    fn refuses_bare_numbers_and_unknown_units() {
        assert!(parse("30").unwrap_err().contains("missing unit"));
        assert!(parse("3w").unwrap_err().contains("unknown unit"));
        assert!(parse("").is_err());
        assert!(parse("h").is_err());
    }

    #[test]
    fn formats_round_trip() {
        for s in ["1h30m", "2s", "250ms", "1d", "0s", "15m"] {
            assert_eq!(format(parse(s).unwrap()), s);
        }
    }
}
