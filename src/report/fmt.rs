//! Number and time formats shared by every view, so the HTML, the PDF and the CSV
//! show the same figure for the same measurement.

use chrono::{DateTime, SecondsFormat, Utc};

/// A latency with millisecond precision and no spaces (so text extraction keeps it
/// whole): `4.372s`, `2m05.213s`, `1h02m05.000s`, `-0.480s`.
pub fn latency(ms: i64) -> String {
    let sign = if ms < 0 { "-" } else { "" };
    let ms = ms.unsigned_abs();
    let (h, m, s, frac) = (ms / 3_600_000, ms / 60_000 % 60, ms / 1000 % 60, ms % 1000);
    if h > 0 {
        format!("{sign}{h}h{m:02}m{s:02}.{frac:03}s")
    } else if m > 0 {
        format!("{sign}{m}m{s:02}.{frac:03}s")
    } else {
        format!("{sign}{s}.{frac:03}s")
    }
}

/// The inverse of [`latency`], for tests and for readers of extracted text.
pub fn parse_latency(text: &str) -> Option<i64> {
    let (neg, t) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let t = t.strip_suffix('s')?;
    let (rest, secs) = match t.rfind(['h', 'm']) {
        Some(i) => (&t[..=i], &t[i + 1..]),
        None => ("", t),
    };
    let (whole, frac) = secs.split_once('.')?;
    let mut ms = whole.parse::<i64>().ok()? * 1000 + frac.parse::<i64>().ok()?;
    let (h, m) = match rest.split_once('h') {
        Some((h, m)) => (h.parse::<i64>().ok()?, m.strip_suffix('m').map(|m| m.parse::<i64>()).transpose().ok()?),
        None => (0, rest.strip_suffix('m').map(|m| m.parse::<i64>()).transpose().ok()?),
    };
    ms += h * 3_600_000 + m.unwrap_or(0) * 60_000;
    Some(if neg { -ms } else { ms })
}

/// An SLA in whole units, as configured: `20s`, `1h`, `24h`, `90m`.
pub fn sla(ms: i64) -> String {
    let s = ms / 1000;
    if s > 0 && s % 3600 == 0 {
        format!("{}h", s / 3600)
    } else if s > 0 && s % 60 == 0 {
        format!("{}m", s / 60)
    } else if ms % 1000 == 0 {
        format!("{s}s")
    } else {
        latency(ms)
    }
}

/// UTC with milliseconds: every time in a pack is shown the same way.
pub fn time(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latencies_round_trip() {
        for (ms, text) in [
            (4372, "4.372s"),
            (0, "0.000s"),
            (125_213, "2m05.213s"),
            (3_725_000, "1h02m05.000s"),
            (-480, "-0.480s"),
            (86_400_000, "24h00m00.000s"),
        ] {
            assert_eq!(latency(ms), text);
            assert_eq!(parse_latency(text), Some(ms), "{text}");
        }
        assert_eq!(parse_latency("4.3"), None);
        assert_eq!(sla(20_000), "20s");
        assert_eq!(sla(3_600_000), "1h");
        assert_eq!(sla(5_400_000), "90m");
    }
}
