//! The sandbox's own clock. Tenant time can run faster than real time (`speed`) and
//! can be jumped forward (`advance`), so tests and benchmarks can cover days of
//! history in seconds. Every timestamp the sandbox writes comes from here.

use std::sync::Mutex;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

pub struct Clock {
    origin_real: Instant,
    origin_tenant: DateTime<Utc>,
    speed: f64,
    advanced: Mutex<chrono::Duration>,
}

impl Clock {
    pub fn new(origin_tenant: DateTime<Utc>, speed: f64) -> Self {
        let speed = if speed.is_finite() && speed > 0.0 { speed } else { 1.0 };
        Clock { origin_real: Instant::now(), origin_tenant, speed, advanced: Mutex::new(chrono::Duration::zero()) }
    }

    pub fn speed(&self) -> f64 {
        self.speed
    }

    /// Tenant time now.
    pub fn now(&self) -> DateTime<Utc> {
        let real = self.origin_real.elapsed().as_secs_f64() * self.speed;
        let advanced = *self.advanced.lock().unwrap_or_else(|e| e.into_inner());
        self.origin_tenant + chrono::Duration::microseconds((real * 1e6) as i64) + advanced
    }

    /// Whether tenant time runs away from real time (sped up or jumped forward): a
    /// client synced to it once falls behind it.
    pub fn runs_away(&self) -> bool {
        self.speed != 1.0 || *self.advanced.lock().unwrap_or_else(|e| e.into_inner()) > chrono::Duration::zero()
    }

    /// Tenant time at start.
    pub fn origin(&self) -> DateTime<Utc> {
        self.origin_tenant
    }

    /// Jumps tenant time forward (never backward: audit trails only move one way).
    pub fn advance(&self, by: Duration) {
        let by = chrono::Duration::from_std(by).unwrap_or(chrono::Duration::zero());
        let mut a = self.advanced.lock().unwrap_or_else(|e| e.into_inner());
        *a += by;
    }

    /// Real time that corresponds to a span of tenant time.
    pub fn real(&self, tenant: Duration) -> Duration {
        Duration::from_secs_f64(tenant.as_secs_f64() / self.speed)
    }

    /// Sleeps until tenant time reaches `t`. Re-checks after waking, because an
    /// `advance` may have moved the clock meanwhile.
    pub async fn sleep_until(&self, t: DateTime<Utc>) {
        loop {
            let left = t - self.now();
            if left <= chrono::Duration::zero() {
                return;
            }
            let left = left.to_std().unwrap_or(Duration::ZERO);
            tokio::time::sleep(self.real(left).min(Duration::from_secs(1))).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn advance_moves_forward_and_speed_scales() {
        let start = Utc::now();
        let c = Clock::new(start, 100.0);
        c.advance(Duration::from_secs(3600));
        assert!(c.now() - start >= chrono::Duration::seconds(3600));
        assert_eq!(c.real(Duration::from_secs(100)), Duration::from_secs(1));
    }
}
