//! A synthetic record of any size, for the pack's tests and its benchmark: the shape
//! of a real run (three legs, four phases, events per subject, some FAIL and
//! UNKNOWN), deterministic from its seed, with names a report must render exactly.

use chrono::{DateTime, Duration};
use jmlproof::evidence::record::*;

const NAMES: &[&str] = &[
    "Zoë Ångström",
    "Łukasz Żółć",
    "Ñoño Muñoz",
    "Siobhán O'Brien",
    "Jürgen Müller",
    "Øyvind Nørgaard",
    "Dorotéa Dvořák",
    "Νίκος Παπαδόπουλος",
    "Çağla Yılmaz",
    "Анна Каренина",
];

/// xorshift: no rand dependency, same sequence everywhere.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

pub fn record(subjects: usize, seed: u64) -> Record {
    let mut rng = Rng(seed.max(1));
    let t0 = DateTime::parse_from_rfc3339("2026-11-02T09:00:00Z").unwrap().to_utc();
    let mut r = Record::new("run", "5e1f", "audit@acme.example", t0);
    r.finished = Some(t0 + Duration::minutes(40));
    r.sla = Sla {
        joiner_secs: 3600,
        mover_secs: 3600,
        leaver_secs: 3600,
        residual_secs: 86400,
        grace_secs: 600,
        audit_wait_secs: 300,
        termination_secs: 0,
    };
    r.targets = Targets {
        okta_org: "https://acme.okta.com".into(),
        entra_tenant: "72f988bf-86f1-41af-91ab-2d7cd011db47".into(),
        aws_identity_store: "d-9067642ac7".into(),
        aws_region: "eu-west-1".into(),
        okta_entra_app: "0oa1entra".into(),
        okta_aws_app: "0oa1aws".into(),
    };
    let checks: &[(Phase, Leg, &str, bool)] = &[
        (Phase::Joiner, Leg::Okta, "okta application.provision.user.push to Entra", false),
        (Phase::Joiner, Leg::Entra, "account created", true),
        (Phase::Joiner, Leg::Entra, "attributes mapped", false),
        (Phase::Joiner, Leg::Aws, "account created", true),
        (Phase::Joiner, Leg::Aws, "access", true),
        (Phase::Mover, Leg::Entra, "renamed in place", true),
        (Phase::Mover, Leg::Aws, "membership moved", true),
        (Phase::Leaver, Leg::Okta, "okta application.provision.user.deactivate to AWS", false),
        (Phase::Leaver, Leg::Entra, "revoked", true),
        (Phase::Leaver, Leg::Aws, "revoked", true),
        (Phase::Residual, Leg::Aws, "worst-case session end", true),
    ];
    for i in 1..=subjects {
        let key = format!("s{i:02}");
        r.subjects.push(Subject {
            key: key.clone(),
            login: format!("jmlproof-5e1f-{i:02}@acme.example"),
            name: NAMES[(i - 1) % NAMES.len()].into(),
            okta_id: Some(format!("00u{:017x}", rng.next() >> 4)),
            employee_number: format!("JMLP-5e1f-{i:03}"),
            entra_id: Some(format!("{:08x}-0000-4000-8000-{:012x}", rng.next() as u32, rng.next() >> 16)),
            aws_id: Some(format!("{:08x}-aws", rng.next() as u32)),
        });
        for (n, (phase, leg, check, timed)) in checks.iter().enumerate() {
            // Subject 1 always has a late AWS joiner and subject 2 an unobservable Entra
            // leaver, so every record of two or more subjects has findings.
            let roll = match (i, n) {
                (1, 3) => 0,
                (2, 8) => 1,
                _ => rng.below(100),
            };
            let sla_ms = if *phase == Phase::Residual { 86_400_000 } else { 3_600_000 };
            let latency = timed.then(|| {
                if *phase == Phase::Residual {
                    14_400_000 + rng.below(60_000) as i64
                } else {
                    rng.below(600_000) as i64 + 800
                }
            });
            let (status, latency, reason) = match roll {
                0 if *timed => (
                    Status::Fail,
                    Some(sla_ms + 1_000 + rng.below(900_000) as i64),
                    "changed after the SLA".to_string(),
                ),
                1 => (
                    Status::Unknown,
                    None,
                    "could not observe: Microsoft Graph GET /v1.0/users/{id}: HTTP 503".to_string(),
                ),
                _ => (Status::Pass, latency, String::new()),
            };
            let at = t0 + Duration::seconds(n as i64 * 60) + Duration::milliseconds(latency.unwrap_or(0));
            r.verdicts.push(Verdict {
                subject: key.clone(),
                leg: *leg,
                phase: *phase,
                check: check.to_string(),
                status,
                latency_ms: latency,
                sla_ms: timed.then_some(sla_ms),
                time: latency.map(|_| Stamp {
                    at,
                    provenance: if rng.below(4) == 0 { Provenance::Observed } else { Provenance::Source },
                    detail: "synthetic".into(),
                }),
                reason,
            });
        }
        for (k, kind) in
            ["user.lifecycle.create", "application.provision.user.push", "user.lifecycle.deactivate"].iter().enumerate()
        {
            r.events.push(SourceEvent {
                source: Source::OktaSystemLog,
                id: format!("evt{i:05}{k}"),
                time: t0 + Duration::seconds(k as i64 * 600 + i as i64),
                kind: kind.to_string(),
                outcome: Some("SUCCESS".into()),
                subject: Some(key.clone()),
                leg: None,
                actor: Some("User ops@acme.example".into()),
                sha256: format!("{:016x}{:016x}{:016x}{:016x}", rng.next(), rng.next(), rng.next(), rng.next()),
            });
        }
    }
    r.footprint = Vec::new();
    r.notes.push("synthetic record for tests and benchmarks".into());
    r.sort();
    r
}
