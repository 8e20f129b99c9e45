//! Polling with windows: each watched change records the last poll that did not see
//! it and the first that did, so a latency is bounded by our own observations. The
//! interval starts short and backs off while nothing changes.

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::evidence::record::Window;
use crate::evidence::verdict::Unseen;

/// One change being watched.
#[derive(Debug, Clone, Default)]
pub struct Watch {
    pub last_not_seen: Option<DateTime<Utc>>,
    pub first_seen: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub last_checked: Option<DateTime<Utc>>,
}

impl Watch {
    pub fn seen(&self) -> bool {
        self.first_seen.is_some()
    }

    /// Records one poll: `asked` is when the request went out, `answered` when it came back.
    pub fn record(&mut self, asked: DateTime<Utc>, answered: DateTime<Utc>, outcome: Result<bool, String>) {
        self.last_checked = Some(answered);
        match outcome {
            // The state may have changed any time after the last negative poll was asked.
            Ok(false) => {
                self.last_not_seen = Some(asked);
                self.last_error = None;
            }
            // It had changed by the time the positive answer came back.
            Ok(true) => self.first_seen = Some(answered),
            Err(e) => self.last_error = Some(e),
        }
    }

    pub fn window(&self) -> Option<Window> {
        self.first_seen.map(|first_seen| Window { last_not_seen: self.last_not_seen, first_seen })
    }

    /// Why the change was not seen, for the verdict.
    pub fn unseen(&self) -> Unseen {
        match (&self.last_error, self.last_checked) {
            (Some(e), _) => Unseen::CouldNotObserve(e.clone()),
            (None, Some(at)) => Unseen::NotChanged { last_checked: at },
            (None, None) => Unseen::CouldNotObserve("never checked".into()),
        }
    }
}

/// The adaptive interval: doubles while nothing changes, back to the start on a change.
#[derive(Debug, Clone)]
pub struct Backoff {
    start: Duration,
    max: Duration,
    current: Duration,
}

impl Backoff {
    pub fn new(start: Duration, max: Duration) -> Backoff {
        Backoff { start, max: max.max(start), current: start }
    }

    pub fn next(&mut self, changed: bool) -> Duration {
        self.current = if changed { self.start } else { (self.current * 2).min(self.max) };
        self.current
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn window_bounds_and_reasons() {
        let t = |s: i64| DateTime::from_timestamp(1_800_000_000 + s, 0).unwrap();
        let mut w = Watch::default();
        w.record(t(0), t(1), Ok(false));
        w.record(t(2), t(3), Err("HTTP 503".into()));
        assert!(matches!(w.unseen(), Unseen::CouldNotObserve(e) if e == "HTTP 503"));
        w.record(t(4), t(5), Ok(false));
        assert!(matches!(w.unseen(), Unseen::NotChanged { .. }));
        w.record(t(6), t(7), Ok(true));
        let win = w.window().unwrap();
        assert_eq!((win.last_not_seen, win.first_seen), (Some(t(4)), t(7)));
        let mut b = Backoff::new(Duration::from_millis(100), Duration::from_millis(350));
        assert_eq!(b.next(false), Duration::from_millis(200));
        assert_eq!(b.next(false), Duration::from_millis(350));
        assert_eq!(b.next(true), Duration::from_millis(100));
    }
}
