//! The attestation period: `--since` and `--until` as a UTC date (whole days) or an
//! RFC 3339 timestamp. A date as `--until` includes that whole day, so
//! `--since 2026-07-01 --until 2026-09-30` is the third quarter.

use chrono::{DateTime, Duration, NaiveDate, Utc};

pub use crate::evidence::record::Period;

/// Which end of the period a value is for: a date means its start for `--since` and
/// the start of the next day for `--until`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum End {
    Since,
    Until,
}

pub fn parse_when(text: &str, end: End) -> Result<DateTime<Utc>, String> {
    let flag = if end == End::Since { "--since" } else { "--until" };
    if let Ok(d) = NaiveDate::parse_from_str(text, "%Y-%m-%d") {
        let start = d.and_hms_opt(0, 0, 0).map(|t| t.and_utc()).ok_or_else(|| format!("{flag}: {text:?}"))?;
        return Ok(if end == End::Until { start + Duration::days(1) } else { start });
    }
    DateTime::parse_from_rfc3339(text).map(|t| t.to_utc()).map_err(|_| {
        format!("{flag}: {text:?} is neither a UTC date (2026-07-01) nor an RFC 3339 timestamp (2026-07-01T00:00:00Z)")
    })
}

/// The period from the two flags; refused when empty or starting in the future.
pub fn parse(since: &str, until: &str, now: DateTime<Utc>) -> Result<Period, String> {
    {
        let p = Period { since: parse_when(since, End::Since)?, until: parse_when(until, End::Until)? };
        if p.since >= p.until {
            return Err(format!("--since {since} is not before --until {until}"));
        }
        if p.since > now {
            return Err(format!("--since {since} is in the future"));
        }
        Ok(p)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates_are_whole_days_and_timestamps_are_exact() {
        let now = DateTime::parse_from_rfc3339("2026-11-29T00:00:00Z").unwrap().to_utc();
        let q3 = parse("2026-07-01", "2026-09-30", now).unwrap();
        assert_eq!(q3.since.to_rfc3339(), "2026-07-01T00:00:00+00:00");
        assert_eq!(q3.until.to_rfc3339(), "2026-10-01T00:00:00+00:00");
        assert!(q3.contains(DateTime::parse_from_rfc3339("2026-09-30T23:59:59Z").unwrap().to_utc()));
        assert!(!q3.contains(q3.until));
        let exact = parse("2026-07-01T12:00:00+02:00", "2026-07-02T00:00:00Z", now).unwrap();
        assert_eq!(exact.since.to_rfc3339(), "2026-07-01T10:00:00+00:00");
        assert!(parse("2026-07-02", "2026-07-01", now).unwrap_err().contains("not before"));
        assert!(parse("July", "2026-07-01", now).unwrap_err().starts_with("--since: \"July\""));
        assert!(parse("2027-01-01", "2027-02-01", now).unwrap_err().contains("future"));
    }
}
