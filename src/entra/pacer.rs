//! Client-side pacing for APIs that send no budget headers: at most `max` calls in
//! any `window` (Graph's identity-and-access reports allow 5 per 10 seconds per app
//! and tenant; going over only earns 429s).

use std::collections::VecDeque;
use std::time::Duration;

// tokio's Instant is the real clock in production and the paused clock in tests.
use tokio::time::Instant;

pub struct Pacer {
    max: usize,
    window: Duration,
    calls: tokio::sync::Mutex<VecDeque<Instant>>,
}

impl Pacer {
    pub fn new(max: usize, window: Duration) -> Pacer {
        Pacer { max: max.max(1), window, calls: tokio::sync::Mutex::new(VecDeque::new()) }
    }

    /// Waits until a call fits in the window, then counts it. Returns the time waited.
    pub async fn admit(&self) -> Duration {
        let mut calls = self.calls.lock().await;
        let start = Instant::now();
        loop {
            let now = Instant::now();
            while calls.front().is_some_and(|t| now.duration_since(*t) >= self.window) {
                calls.pop_front();
            }
            if calls.len() < self.max {
                calls.push_back(now);
                return now.duration_since(start);
            }
            let oldest = calls.front().copied().unwrap_or(now);
            tokio::time::sleep(self.window.saturating_sub(now.duration_since(oldest))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn the_sixth_call_waits_for_the_window() {
        let p = Pacer::new(5, Duration::from_secs(10));
        for _ in 0..5 {
            assert_eq!(p.admit().await, Duration::ZERO);
        }
        let waited = p.admit().await;
        assert!(waited >= Duration::from_secs(10) && waited < Duration::from_secs(11), "{waited:?}");
    }
}
