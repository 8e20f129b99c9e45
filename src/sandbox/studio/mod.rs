//! `--seed-data studio`: the acquisition story. A games studio was bought about 200
//! days ago; its ~600 people were imported into Okta, which now masters them and
//! provisions them into Entra ID and IAM Identity Center through department groups.
//! The studio's AWS admins had made ~300 Identity Center users by hand that nobody can
//! map to a person. A contractor left two months ago but their Entra B2B guest account
//! still works. The last 120 days hold joiners and real leavers, a few revoked late,
//! one never revoked on AWS, one deactivated by mistake and reactivated.
//!
//! Everything is drawn from the seed's generator and laid out backwards from the
//! tenant's start time, and `Planted` says what is where so tests can prove it.

mod history;
mod legacy;
mod manifest;
mod people;
mod setup;

use std::collections::BTreeSet;

use chrono::{DateTime, Datelike, Duration, NaiveTime, Utc, Weekday};

use super::faults::Faults;
use super::ids::Rng;
use super::seed;
use super::state::{Identity, Leg, Tenant};
use history::{LegPlan, Sim, ix};
pub use manifest::*;
use people::{DEPARTMENTS, Person};

/// The tenant's initial domain, where guest UPNs live.
pub const ENTRA_DOMAIN: &str = "studioexample.onmicrosoft.com";
/// How far back the replayed history reaches (a quarter and a bit).
pub const WINDOW_DAYS: i64 = 120;
/// When Okta took over the studio's people.
const ACQUIRED_DAYS: i64 = 200;
/// What a failed deactivation push says (the research's observed pattern).
pub const BAD_GATEWAY: &str = "Bad Gateway. Errors reported by remote server: Invalid JSON: Unexpected character ('<' (code 60)): expected a valid value";

/// A working-hours instant (Mon–Fri, 08:00–18:00 UTC) `days_ago` days before `from`;
/// a weekend day moves back to the Friday before.
pub fn workday(rng: &mut Rng, from: DateTime<Utc>, days_ago: i64) -> DateTime<Utc> {
    let day = (from - Duration::days(days_ago)).date_naive();
    let day = match day.weekday() {
        Weekday::Sat => day - chrono::Days::new(1),
        Weekday::Sun => day - chrono::Days::new(2),
        _ => day,
    };
    let ms = 8 * 3_600_000 + rng.below(10 * 3_600_000) as i64;
    day.and_time(NaiveTime::MIN).and_utc() + Duration::milliseconds(ms)
}

/// A working-hours instant between `min` and `min + span - 1` days before `from`.
pub fn some_day(rng: &mut Rng, from: DateTime<Utc>, min: i64, span: u64) -> DateTime<Utc> {
    let days = min + rng.below(span) as i64;
    workday(rng, from, days)
}

/// How long a healthy push takes: mostly under two minutes, sometimes up to fifteen.
fn minutes(rng: &mut Rng) -> Duration {
    let ms = if rng.chance(0.8) { 15_000 + rng.below(105_000) } else { 120_000 + rng.below(780_000) };
    Duration::milliseconds(ms as i64)
}

/// How large a studio to build: `None` keeps the story's own size.
#[derive(Debug, Clone, Copy, Default)]
pub struct Size {
    /// Current employees (about 600 by default). Above the default, the period's
    /// joiners and leavers grow in proportion, as turnover does.
    pub people: Option<usize>,
    /// The System Log padded with sign-in events to this many events in all.
    pub log_events: Option<usize>,
}

/// Builds the studio tenant and what it planted. `faults` only shape the tenant's
/// configuration (session duration); the history itself ran on a healthy tenant.
pub fn build(
    rng: &mut Rng,
    id: &Identity,
    now: DateTime<Utc>,
    faults: &Faults,
    seed_value: u64,
    size: Size,
) -> (Tenant, Planted) {
    let session = &faults.aws.session_duration;
    let mut t = seed::empty(rng, id, now, session);
    let acquired = now - Duration::days(ACQUIRED_DAYS);
    // The studio's groups and permission sets existed a month before Okta arrived.
    let furnished = acquired - Duration::days(30);
    let depts: Vec<Department> =
        (0..DEPARTMENTS.len()).map(|i| setup::department(&mut t, id, i, furnished, session)).collect();
    let admin_ps = setup::permission_set(&mut t, id, "AdministratorAccess", "Administrator", "PT1H", furnished);

    // Drawn even when overridden, so the rest of the story is the same for a seed.
    let drawn = 585 + t.rng.below(31) as usize;
    let n_active = size.people.unwrap_or(drawn).max(60);
    // Turnover in proportion to headcount, never below the story's own.
    let grow = |n: usize| n.max(n * n_active / drawn);
    let n_leavers = grow(36 + t.rng.below(9) as usize);
    let n_joiners = grow(24 + t.rng.below(17) as usize);
    let n_legacy = 285 + t.rng.below(31) as usize;
    let mut taken = BTreeSet::new();
    let everyone = people::draw(&mut t.rng, n_active + n_leavers, &mut taken);
    let (active, leaving) = everyone.split_at(n_active);
    let (settled, joining) = active.split_at(n_active - n_joiners);

    // Imported at the acquisition (most) or hired before the window opened.
    let provisioned = |t: &mut Tenant, p: &Person| {
        let created = if t.rng.chance(0.85) {
            some_day(&mut t.rng, acquired, -2, 3)
        } else {
            let span = (ACQUIRED_DAYS - WINDOW_DAYS - 5) as u64;
            some_day(&mut t.rng, acquired, -(span as i64) - 3, span)
        };
        let pushed = created + minutes(&mut t.rng);
        people::provision(t, p, &depts[p.dept], created, pushed)
    };
    let settled_acc: Vec<_> = settled.iter().map(|p| provisioned(&mut t, p)).collect();
    let leaver_acc: Vec<_> = leaving.iter().map(|p| provisioned(&mut t, p)).collect();
    let (contractor_id, guest_id, _) = setup::contractor(&mut t, acquired);

    let mut sim = Sim::default();
    for p in joining {
        let when = some_day(&mut t.rng, now, 1, WINDOW_DAYS as u64 - 2);
        let legs = [minutes(&mut t.rng), minutes(&mut t.rng)];
        sim.join(when, p.profile(), &depts[p.dept].okta_group_id, legs);
    }
    let roles = leaver_roles(&mut t.rng, n_leavers);
    let mut deleted = Vec::new();
    for (i, acc) in leaver_acc.iter().enumerate() {
        let days = roles.days[i];
        let t0 = workday(&mut t.rng, now, days);
        let mut legs = [LegPlan::After(minutes(&mut t.rng)), LegPlan::After(minutes(&mut t.rng))];
        if roles.late.contains(&i) {
            let leg = if t.rng.chance(0.5) { Leg::Entra } else { Leg::Aws };
            let late = Duration::days(2) + Duration::seconds(t.rng.below(3 * 86_400) as i64);
            legs[ix(leg)] = LegPlan::After(late);
        }
        if roles.never == i {
            legs[ix(Leg::Aws)] = LegPlan::Fail(minutes(&mut t.rng), BAD_GATEWAY.into());
        }
        sim.deactivate(t0, &acc.okta_id, legs);
        if roles.deleted == i {
            let at = t0 + Duration::days(3 + t.rng.below(5) as i64) + Duration::hours(1);
            sim.delete(at, &acc.okta_id);
            deleted.push((acc.okta_id.clone(), at));
        }
    }
    // Deactivated by mistake, put back an hour later.
    let back = &settled_acc[3 + t.rng.below(settled_acc.len() as u64 - 3) as usize];
    let oops = some_day(&mut t.rng, now, 5, 75);
    let undo = oops + Duration::minutes(50 + t.rng.below(20) as i64);
    sim.deactivate(oops, &back.okta_id, [LegPlan::After(minutes(&mut t.rng)), LegPlan::After(minutes(&mut t.rng))]);
    sim.activate(undo, &back.okta_id, [minutes(&mut t.rng), minutes(&mut t.rng)]);
    // The contractor is in no provisioning app, so the legs have nothing to do.
    let gone = workday(&mut t.rng, now, 60);
    sim.deactivate(gone, &contractor_id, [LegPlan::After(Duration::zero()), LegPlan::After(Duration::zero())]);
    sim.run(&mut t, &Faults::default());
    if let Some(n) = size.log_events {
        let ids: Vec<String> = settled_acc.iter().map(|a| a.okta_id.clone()).collect();
        history::sign_ins(&mut t, &ids, n, now);
    }

    let old = legacy::plant(
        &mut t,
        n_legacy,
        acquired,
        &admin_ps,
        &depts.iter().map(|d| d.permission_set_arn.clone()).collect::<Vec<_>>(),
    );
    let input = manifest::Input {
        seed: seed_value,
        now,
        departments: depts,
        joiners: joining.iter().map(|p| p.login.clone()).collect(),
        leavers: leaving.iter().zip(&leaver_acc).map(|(p, a)| (p.clone(), a.clone())).collect(),
        deleted,
        reactivated: (back.clone(), oops, undo),
        contractor: (contractor_id, guest_id, gone),
        legacy: old,
    };
    let planted = manifest::assemble(&t, input);
    (t, planted)
}

/// Which leaver plays which part, and how many days before now each one left
/// (spread evenly over the window so every month has its leavers).
struct Roles {
    days: Vec<i64>,
    late: BTreeSet<usize>,
    never: usize,
    deleted: usize,
}

fn leaver_roles(rng: &mut Rng, n: usize) -> Roles {
    let days: Vec<i64> =
        (0..n).map(|i| 1 + ((WINDOW_DAYS - 2) as f64 * (i as f64 + rng.unit()) / n as f64) as i64).collect();
    // A seeded shuffle, then each role takes the first leaver that fits it: late ones
    // must have had time to be revoked (≥ 7 days ago); the never-revoked and deleted
    // ones fall inside the System Log's 90 days so their events can be read.
    let mut order: Vec<usize> = (0..n).collect();
    for i in (1..n).rev() {
        order.swap(i, rng.below(i as u64 + 1) as usize);
    }
    let mut used = BTreeSet::new();
    let mut pick = |ok: &dyn Fn(i64) -> bool| {
        let i = order.iter().copied().find(|i| !used.contains(i) && ok(days[*i])).unwrap_or(0);
        used.insert(i);
        i
    };
    let late = (0..3).map(|_| pick(&|d| d >= 7)).collect();
    let never = pick(&|d| (3..=80).contains(&d));
    let deleted = pick(&|d| (12..=80).contains(&d));
    Roles { days, late, never, deleted }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The roles are drawn per seed; every seed must still tell the whole story, and
    /// all of it must lie in the past.
    #[test]
    fn every_seed_plants_the_whole_story() {
        let now = DateTime::parse_from_rfc3339("2026-11-30T00:30:00Z").expect("literal").with_timezone(&Utc);
        for seed in 0..6 {
            let mut rng = Rng::new(seed);
            let id = seed::identity(&mut rng);
            let (t, p) = build(&mut rng, &id, now, &Faults::default(), seed, Size::default());
            assert_eq!(p.late.len(), 3, "seed {seed}");
            assert_eq!(p.never_revoked.len(), 1, "seed {seed}");
            let deleted = p.leavers.iter().filter(|l| l.deleted_at.is_some()).count();
            assert_eq!(deleted, 1, "seed {seed}");
            for l in &p.leavers {
                assert!(l.t0 > p.window_start && l.t0 < now, "seed {seed}");
                for g in l.legs.iter().filter_map(|g| g.revoked_at) {
                    assert!(g > l.t0 && g < now, "seed {seed}");
                }
            }
            assert!(p.joiners.iter().all(|j| j.entra_id.is_some() && j.aws_id.is_some()));
            let b = &p.reactivated.legs;
            assert!(b.iter().all(|b| b.disabled_at.is_some() && b.enabled_at.is_some()));
            assert!((59..=61).contains(&p.contractor_guest.days_since_deactivation));
            assert!(t.truth.iter().all(|r| r.at < now));
            let log = &t.okta.log;
            assert!(log.windows(2).all(|w| w[0].published <= w[1].published));
            assert!(log.windows(2).all(|w| w[0].seq + 1 == w[1].seq));
        }
    }
}
