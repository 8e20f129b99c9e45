//! What the studio's AWS admins left behind before the acquisition: Identity Center
//! users made by hand in the console (no ExternalIds, usernames from the old studio
//! directory), a few holding access directly rather than through a group, and the
//! break-glass account. Nothing in Okta points at any of them.

use std::collections::BTreeSet;

use chrono::{DateTime, Duration, Utc};

use super::people::{DOMAIN, ascii, name, unique};
use super::{BreakGlass, DirectAssignment, Unmappable, some_day, workday};
use crate::sandbox::aws::store::{Assignment, IsUser};
use crate::sandbox::state::Tenant;

/// Service and shared accounts an old studio directory typically holds.
const SERVICE: &[&str] = &[
    "render-farm-svc",
    "build-bot",
    "perforce-svc",
    "jenkins-ci",
    "shotgrid-sync",
    "backup-svc",
    "deadline-render",
    "license-server",
    "crash-reporter",
    "art-pipeline",
    "qa-automation",
    "marketing-shared",
    "studio-kiosk",
    "vpn-test",
    "unity-build-agent",
    "p4-replica",
    "steam-publish",
    "localization-vendor",
    "audio-contractor",
    "temp-intern",
];

pub struct Legacy {
    pub unmappable: Vec<Unmappable>,
    pub direct: Vec<DirectAssignment>,
    pub break_glass: BreakGlass,
}

/// A person-like username in one of the old directory's styles (`jdoe`, `m.kowalski.old`, …).
fn person_name(t: &mut Tenant) -> (String, String, String) {
    let (first, last) = name(&mut t.rng);
    let (f, l) = (ascii(first), ascii(last));
    let f0: String = f.chars().take(1).collect();
    let l0: String = l.chars().take(1).collect();
    let stem = match t.rng.below(5) {
        0 => format!("{f0}{l}"),
        1 => format!("{f0}.{l}.old"),
        2 => format!("{f0}.{l}"),
        3 => format!("{f}{l0}"),
        _ => format!("{f0}{l}{}", 10 + t.rng.below(90)),
    };
    (stem, first.to_string(), last.to_string())
}

/// Plants `n` console-made users, the direct assignments and `ops-breakglass`.
/// `acquired` bounds their history: all of it predates Okta's arrival.
pub fn plant(t: &mut Tenant, n: usize, acquired: DateTime<Utc>, admin_ps: &str, other_ps: &[String]) -> Legacy {
    let role = format!("AWSReservedSSO_AdministratorAccess_{}", &t.rng.request_id()[..16]);
    let console = format!("arn:aws:sts::{}:assumed-role/{role}/admin@{DOMAIN}", t.aws.account_id);
    let mut taken: BTreeSet<String> =
        ["jdoe", "m.kowalski.old", "ops-breakglass"].into_iter().map(String::from).collect();
    let mut names: Vec<(String, String, String)> = vec![
        ("jdoe".into(), "John".into(), "Doe".into()),
        ("m.kowalski.old".into(), "Marek".into(), "Kowalski".into()),
    ];
    for s in SERVICE {
        if names.len() < n && taken.insert(s.to_string()) {
            names.push((s.to_string(), s.to_string(), "service".into()));
        }
    }
    while names.len() < n {
        let (stem, first, last) = person_name(t);
        let user = unique(&stem, &mut taken, |s, k| format!("{s}{k}"));
        names.push((user, first, last));
    }
    let mut unmappable = Vec::with_capacity(n);
    for (user, given, family) in names {
        let created = some_day(&mut t.rng, acquired, 30, 1_400);
        let enabled = t.rng.chance(0.6);
        let updated = if enabled {
            created
        } else {
            // Switched off by hand some time later, still before the acquisition.
            (created + Duration::days(10 + t.rng.below(400) as i64)).min(acquired)
        };
        let id = t.rng.identity_center_id();
        let display = if family == "service" { user.clone() } else { format!("{given} {family}") };
        t.aws.users.insert(
            id.clone(),
            IsUser {
                id: id.clone(),
                user_name: user.clone(),
                display_name: display,
                given_name: given,
                family_name: family,
                email: Some(format!("{user}@{DOMAIN}")),
                title: None,
                external_id: None,
                enabled,
                created_at: created,
                updated_at: updated,
                created_by: console.clone(),
                updated_by: console.clone(),
                revision: if enabled { 1 } else { 2 },
            },
        );
        unmappable.push(Unmappable {
            user_id: id,
            user_name: user,
            status: if enabled { "ENABLED" } else { "DISABLED" }.into(),
        });
    }
    // A handful kept access granted to them directly, outside any group.
    let mut direct = Vec::new();
    let k = 4 + t.rng.below(4) as usize;
    let mut chosen = BTreeSet::new();
    while chosen.len() < k.min(unmappable.len()) {
        chosen.insert(t.rng.below(unmappable.len() as u64) as usize);
    }
    let mut sets: Vec<&str> = other_ps.iter().map(String::as_str).collect();
    sets.push(admin_ps);
    for i in chosen {
        let ps = sets[t.rng.below(sets.len() as u64) as usize].to_string();
        direct.push(assign(t, &unmappable[i].user_id, &unmappable[i].user_name, &ps));
    }
    let id = t.rng.identity_center_id();
    let created = workday(&mut t.rng, acquired, 700);
    t.aws.users.insert(
        id.clone(),
        IsUser {
            id: id.clone(),
            user_name: "ops-breakglass".into(),
            display_name: "Break-glass Operator".into(),
            given_name: "Break-glass".into(),
            family_name: "Operator".into(),
            email: Some(format!("ops-breakglass@{DOMAIN}")),
            title: None,
            external_id: None,
            enabled: true,
            created_at: created,
            updated_at: created,
            created_by: console.clone(),
            updated_by: console,
            revision: 1,
        },
    );
    direct.push(assign(t, &id, "ops-breakglass", admin_ps));
    Legacy {
        unmappable,
        direct,
        break_glass: BreakGlass {
            user_id: id,
            user_name: "ops-breakglass".into(),
            permission_set_arn: admin_ps.to_string(),
        },
    }
}

fn assign(t: &mut Tenant, user_id: &str, user_name: &str, ps: &str) -> DirectAssignment {
    let account_id = t.aws.account_id.clone();
    t.aws.assignments.push(Assignment {
        account_id: account_id.clone(),
        permission_set_arn: ps.to_string(),
        principal_type: "USER".into(),
        principal_id: user_id.to_string(),
    });
    DirectAssignment {
        user_id: user_id.to_string(),
        user_name: user_name.to_string(),
        permission_set_arn: ps.to_string(),
        account_id,
    }
}
