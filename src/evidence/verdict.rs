//! Timed verdicts: did a change land within the SLA after T0? The rule
//! (shared/DESIGN.md): use the source's own time when it falls inside the observed
//! poll window (allowing for the measured clock offset, and taken into our clock);
//! otherwise the window's upper bound, the conservative choice, and say that the two
//! disagreed. An upper bound past the SLA is a FAIL only if a poll after T0 saw the
//! old state; first looked at late and already changed, it is UNKNOWN. Missing
//! evidence is UNKNOWN with the reason; a change never seen is FAIL only if we looked
//! after SLA + grace, UNKNOWN if we could not.

use chrono::{DateTime, Duration, Utc};

use super::record::{Provenance, Stamp, Status, Window};

/// What was learnt about one change (a downstream revoke, a push event, …).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Change {
    /// The poll window in which the new state was first seen.
    pub window: Option<Window>,
    /// The downstream's own time for the change, if its audit trail had one.
    pub source: Option<Stamp>,
    /// Measured offset of the source's clock from ours (source − ours).
    pub clock_offset: Option<Duration>,
}

/// Why the change was not seen, when it was not.
#[derive(Debug, Clone, PartialEq)]
pub enum Unseen {
    /// Polling worked until the deadline and never saw the change.
    NotChanged { last_checked: DateTime<Utc> },
    /// Polling itself failed: the state is unknown.
    CouldNotObserve(String),
    /// The deadline has not passed yet.
    Pending,
}

#[derive(Debug, Clone, PartialEq)]
pub struct Timed {
    pub status: Status,
    pub latency: Option<Duration>,
    pub time: Option<Stamp>,
    pub reason: String,
    /// A disagreement worth recording (source time outside the poll window).
    pub note: Option<String>,
}

/// Slack for comparing a source time with our poll window: the measured offset plus
/// the one-second resolution of HTTP `Date` headers.
fn tolerance(offset: Option<Duration>) -> Duration {
    offset.map(|o| o.abs()).unwrap_or_else(Duration::zero) + Duration::seconds(1)
}

fn secs(d: Duration) -> String {
    let ms = d.num_milliseconds();
    if ms.abs() < 10_000 {
        format!("{:.1}s", ms as f64 / 1000.0)
    } else {
        crate::duration::format(d.to_std().unwrap_or_default())
    }
}

/// A source time in our clock. Offsets within the one-second resolution of `Date`
/// headers are noise and left alone; a larger one (a skewed downstream clock) is
/// taken off, and the stamp says so.
fn in_our_clock(s: &Stamp, offset: Option<Duration>) -> Stamp {
    match offset.filter(|o| o.abs() > Duration::seconds(1)) {
        Some(o) => Stamp {
            at: s.at - o,
            provenance: s.provenance,
            detail: format!(
                "{} at {}, less the source clock's measured offset of {}",
                s.detail,
                s.at.to_rfc3339(),
                secs(o)
            ),
        },
        None => s.clone(),
    }
}

/// Picks the time a change happened at: the source's when the window confirms it.
pub fn change_time(change: &Change) -> Option<(Stamp, Option<String>)> {
    let window = change.window.as_ref();
    match (window, &change.source) {
        (None, None) => None,
        // Only the audit trail saw it (e.g. a deleted account whose state is gone): its time stands.
        (None, Some(s)) => Some((in_our_clock(s, change.clock_offset), None)),
        (Some(w), source) => {
            let upper = Stamp {
                at: w.first_seen,
                provenance: Provenance::Observed,
                detail: "first poll that saw the change".into(),
            };
            let Some(s) = source else { return Some((upper, None)) };
            // The source time is in our clock after removing its offset.
            let ours = s.at - change.clock_offset.unwrap_or_else(Duration::zero);
            let tol = tolerance(change.clock_offset);
            let lower_ok = w.last_not_seen.is_none_or(|l| ours >= l - tol);
            let upper_ok = ours <= w.first_seen + tol;
            if lower_ok && upper_ok {
                Some((in_our_clock(s, change.clock_offset), None))
            } else {
                let note = format!(
                    "{} at {} falls outside the poll window ({} … {}); the window's upper bound is used",
                    s.detail,
                    s.at.to_rfc3339(),
                    w.last_not_seen.map(|l| l.to_rfc3339()).unwrap_or_else(|| "start".into()),
                    w.first_seen.to_rfc3339()
                );
                Some((upper, Some(note)))
            }
        }
    }
}

/// The verdict for "this change happened within `sla` of `t0`".
pub fn timed(t0: Option<&Stamp>, change: Option<&Change>, unseen: Option<&Unseen>, sla: Duration) -> Timed {
    let unknown = |reason: String| Timed { status: Status::Unknown, latency: None, time: None, reason, note: None };
    let Some(t0) = t0 else { return unknown("no T0: the event that starts the clock was not found".into()) };
    let picked = change.and_then(change_time);
    let Some((at, note)) = picked else {
        return match unseen {
            // Not seen, but not looked at after the deadline either: it may have been on time.
            Some(Unseen::NotChanged { last_checked }) if *last_checked < t0.at + sla => unknown(format!(
                "not seen by the last check, {} after T0, before the SLA of {} ended: polling did not keep up",
                secs(*last_checked - t0.at),
                secs(sla)
            )),
            Some(Unseen::NotChanged { last_checked }) => Timed {
                status: Status::Fail,
                latency: None,
                time: None,
                reason: format!(
                    "not changed within the SLA of {} (last checked {}, {} after T0)",
                    secs(sla),
                    last_checked.to_rfc3339(),
                    secs(*last_checked - t0.at)
                ),
                note: None,
            },
            Some(Unseen::CouldNotObserve(why)) => unknown(format!("could not observe: {why}")),
            Some(Unseen::Pending) | None => unknown("no evidence of the change yet".into()),
        };
    };
    let latency = at.at - t0.at;
    if latency < -tolerance(change.and_then(|c| c.clock_offset)) {
        return Timed {
            status: Status::Unknown,
            latency: Some(latency),
            time: Some(at),
            reason: format!("the change is dated {} before T0: the clocks disagree", secs(-latency)),
            note,
        };
    }
    let latency = latency.max(Duration::zero());
    // An upper bound bounds a FAIL only when a poll after T0 saw the old state: first
    // looked at after the SLA and already changed, the change may have been on time.
    let unchanged_after_t0 =
        change.and_then(|c| c.window.as_ref()).and_then(|w| w.last_not_seen).is_some_and(|l| l >= t0.at);
    if latency > sla && at.provenance == Provenance::Observed && !unchanged_after_t0 {
        return Timed {
            status: Status::Unknown,
            latency: None,
            time: Some(at),
            reason: format!(
                "first looked at {} after T0, past the SLA of {}, and already changed; no poll saw it unchanged after T0, so on time or not is unknown",
                secs(latency),
                secs(sla)
            ),
            note,
        };
    }
    if latency <= sla {
        Timed { status: Status::Pass, latency: Some(latency), time: Some(at), reason: String::new(), note }
    } else {
        let how = match at.provenance {
            Provenance::Observed => " (observed; the poll window's upper bound)",
            _ => "",
        };
        Timed {
            status: Status::Fail,
            latency: Some(latency),
            time: Some(at),
            reason: format!("changed after {}{how}, over the SLA of {}", secs(latency), secs(sla)),
            note,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: i64) -> DateTime<Utc> {
        DateTime::from_timestamp(1_774_027_800 + s, 0).unwrap()
    }

    fn stamp(s: i64, p: Provenance) -> Stamp {
        Stamp { at: t(s), provenance: p, detail: "x".into() }
    }

    fn window(lo: Option<i64>, hi: i64) -> Option<Window> {
        Some(Window { last_not_seen: lo.map(t), first_seen: t(hi) })
    }

    const SLA: i64 = 60;

    #[test]
    fn source_time_inside_the_window_is_used() {
        let c =
            Change { window: window(Some(10), 20), source: Some(stamp(14, Provenance::Source)), clock_offset: None };
        let v = timed(Some(&stamp(0, Provenance::Source)), Some(&c), None, Duration::seconds(SLA));
        assert_eq!(v.status, Status::Pass);
        assert_eq!(v.latency, Some(Duration::seconds(14)));
        assert_eq!(v.time.unwrap().provenance, Provenance::Source);
        assert!(v.note.is_none());
    }

    #[test]
    fn source_time_outside_the_window_falls_back_to_the_upper_bound() {
        // The audit says t=5 but the poll at t=10 still saw the old state.
        let c = Change { window: window(Some(10), 70), source: Some(stamp(5, Provenance::Source)), clock_offset: None };
        let v = timed(Some(&stamp(0, Provenance::Source)), Some(&c), None, Duration::seconds(SLA));
        assert_eq!(v.status, Status::Fail, "70 s by the observed bound");
        assert_eq!(v.time.as_ref().unwrap().provenance, Provenance::Observed);
        assert!(v.note.unwrap().contains("outside the poll window"));
        assert!(v.reason.contains("upper bound"));
    }

    #[test]
    fn a_measured_clock_offset_is_allowed_for() {
        // The source clock runs 30 s ahead: its 44 is our 14, inside [10, 20].
        let c = Change {
            window: window(Some(10), 20),
            source: Some(stamp(44, Provenance::Source)),
            clock_offset: Some(Duration::seconds(30)),
        };
        let v = timed(Some(&stamp(0, Provenance::Source)), Some(&c), None, Duration::seconds(SLA));
        assert!(v.note.is_none());
        // The verdict is dated and timed in our clock: 14 s, not the source's 44.
        assert_eq!(v.latency, Some(Duration::seconds(14)));
        let time = v.time.unwrap();
        assert_eq!((time.provenance, time.at), (Provenance::Source, t(14)));
        assert!(time.detail.contains("offset of 30"), "{}", time.detail);
    }

    #[test]
    fn missing_evidence_is_never_a_pass() {
        let sla = Duration::seconds(SLA);
        assert_eq!(
            timed(None, Some(&Change { window: window(None, 1), ..Change::default() }), None, sla).status,
            Status::Unknown
        );
        let v =
            timed(Some(&stamp(0, Provenance::Source)), None, Some(&Unseen::CouldNotObserve("HTTP 403".into())), sla);
        assert_eq!(v.status, Status::Unknown);
        assert!(v.reason.contains("HTTP 403"));
        assert_eq!(timed(Some(&stamp(0, Provenance::Source)), None, None, sla).status, Status::Unknown);
        let v =
            timed(Some(&stamp(0, Provenance::Source)), None, Some(&Unseen::NotChanged { last_checked: t(600) }), sla);
        assert_eq!(v.status, Status::Fail);
        assert!(v.reason.starts_with("not changed within the SLA of 1m"), "{}", v.reason);
        // Last looked at before the SLA ended (polling fell behind): not a FAIL.
        let v =
            timed(Some(&stamp(0, Provenance::Source)), None, Some(&Unseen::NotChanged { last_checked: t(20) }), sla);
        assert_eq!(v.status, Status::Unknown);
        assert!(v.reason.contains("polling did not keep up"), "{}", v.reason);
    }

    #[test]
    fn late_and_impossible_changes() {
        let sla = Duration::seconds(SLA);
        let late =
            Change { window: window(Some(80), 90), source: Some(stamp(85, Provenance::Source)), clock_offset: None };
        let v = timed(Some(&stamp(0, Provenance::Source)), Some(&late), None, sla);
        assert_eq!((v.status, v.latency), (Status::Fail, Some(Duration::seconds(85))));
        // A change dated well before T0 (and no window to correct it) is a clock problem, not a pass.
        let before = Change { window: None, source: Some(stamp(-300, Provenance::Source)), clock_offset: None };
        assert_eq!(timed(Some(&stamp(0, Provenance::Source)), Some(&before), None, sla).status, Status::Unknown);
        // Exactly at the SLA passes; one second over fails.
        let edge = Change { window: window(None, SLA), ..Change::default() };
        assert_eq!(timed(Some(&stamp(0, Provenance::Source)), Some(&edge), None, sla).status, Status::Pass);
        let over = Change { window: window(Some(0), SLA + 1), ..Change::default() };
        assert_eq!(timed(Some(&stamp(0, Provenance::Source)), Some(&over), None, sla).status, Status::Fail);
        // First looked at past the SLA with nothing seen unchanged after T0: unknown, not late.
        for lower in [None, Some(-5)] {
            let late_look = Change { window: window(lower, SLA + 1), ..Change::default() };
            let v = timed(Some(&stamp(0, Provenance::Source)), Some(&late_look), None, sla);
            assert_eq!(v.status, Status::Unknown, "{lower:?}");
            assert!(v.reason.starts_with("first looked at 1m1s after T0"), "{}", v.reason);
        }
    }
}
