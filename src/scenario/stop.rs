//! Ctrl-C and SIGTERM during a run: the run stops polling, tears down what it made,
//! writes what it gathered and exits 130. The flag is checked between steps, and
//! every wait of the run wakes as soon as it is raised.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::sync::Notify;

#[derive(Debug, Default)]
pub struct Stop {
    raised: AtomicBool,
    wake: Notify,
}

impl Stop {
    pub fn raise(&self) {
        self.raised.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    pub fn raised(&self) -> bool {
        self.raised.load(Ordering::SeqCst)
    }

    /// Sleeps for `d`, or less if the stop is raised meanwhile.
    pub async fn sleep(&self, d: Duration) {
        if self.raised() {
            return;
        }
        tokio::select! {
            _ = tokio::time::sleep(d) => {}
            _ = self.wake.notified() => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_raised_stop_cuts_a_sleep_short() {
        let stop = std::sync::Arc::new(Stop::default());
        let s2 = stop.clone();
        let started = tokio::time::Instant::now();
        let sleeper = tokio::spawn(async move { s2.sleep(Duration::from_secs(3600)).await });
        tokio::task::yield_now().await;
        stop.raise();
        sleeper.await.unwrap();
        assert!(started.elapsed() < Duration::from_secs(1));
        assert!(stop.raised());
    }
}
