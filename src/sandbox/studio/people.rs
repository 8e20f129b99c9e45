//! The studio's people: names (Unicode, as a European games studio's HR system holds
//! them), logins folded to ASCII, departments and titles, and the accounts Okta's
//! provisioning would have left for someone hired before the history window.

use std::collections::BTreeSet;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value, json};

use super::Department;
use crate::sandbox::ids::Rng;
use crate::sandbox::okta::store::{AppUser, OktaUser};
use crate::sandbox::provisioner;
use crate::sandbox::state::{Leg, Tenant};

pub const DOMAIN: &str = "studio.example";

/// First names, with the letters that break naive ASCII handling well represented.
#[rustfmt::skip]
pub const FIRST: &[&str] = &[
    "Zoë", "Łukasz", "Ñoño", "Søren", "Chloé", "Björn", "Siobhán", "Jürgen", "Małgorzata",
    "François", "Ólafur", "Çağla", "Şükrü", "José", "Inés", "Ana", "Mário", "João", "Aoife",
    "Niamh", "Oisín", "Eléonore", "Renée", "Anaïs", "Noémie", "Håkon", "Åsa", "Märta", "Jörg",
    "Dorothée", "Ýr", "Þóra", "Grzegorz", "Wojciech", "Zdeněk", "Tomáš", "Dušan", "Nikolaj", "Ida",
    "Emma", "Liam", "Noah", "Olivia", "Amelia", "Hiroshi", "Yuki", "Mei", "Priya", "Arjun",
    "Kwame", "Amara", "Tariq", "Leïla", "Karim", "Fatima", "Mateo", "Lucía", "Sofía", "Diego",
    "Camille", "Théo", "Hugo", "Maëlle", "Elif", "Emre", "Ewa", "Kasia", "Radek", "Miłosz",
    "Gustav", "Astrid", "Linnéa", "Sami", "Aino", "Jyri", "Paavo", "Zsófia", "Ádám",
];

#[rustfmt::skip]
pub const LAST: &[&str] = &[
    "Ångström", "Żółć", "Ibáñez", "Kierkegård", "Dubois", "Müller", "Ó Briain", "O'Connor",
    "Nowak", "Wiśniewski", "Kowalski", "Dvořák", "Novák", "Horváth", "Szabó", "Nagy", "Öztürk",
    "Yılmaz", "Şahin", "García", "Martínez", "Núñez", "Peña", "Gonçalves", "Conceição",
    "Fernández", "Lefèvre", "Bérubé", "Girard", "Faure", "Schäfer", "Groß", "Weiß", "Bäcker",
    "Jönsson", "Lindqvist", "Nyström", "Håland", "Sæther", "Østergaard", "Jóhannsdóttir",
    "Sigurðsson", "Virtanen", "Mäkinen", "Korhonen", "Tanaka", "Satō", "Watanabe", "Kim", "Nguyen",
    "Tran", "Patel", "Sharma", "Mensah", "Okafor", "Haddad", "Khalil", "Smith", "Jones", "Taylor",
    "Brown", "Wilson", "Evans", "Walsh", "Byrne", "MacLeod", "D'Amico", "Rossi", "Bianchi",
    "Ricci", "Esposito", "De Luca", "van der Berg", "de Vries", "Jansen",
];

/// ASCII for the letters above (no normalisation crate: the pool is fixed and tested).
fn fold(c: char) -> &'static str {
    match c {
        'à' | 'á' | 'â' | 'ã' | 'ä' | 'å' | 'ą' | 'Å' | 'Á' | 'Ä' => "a",
        'æ' => "ae",
        'ç' | 'ć' | 'č' | 'Ç' => "c",
        'ð' | 'đ' => "d",
        'è' | 'é' | 'ê' | 'ë' | 'ę' | 'ě' | 'É' => "e",
        'ì' | 'í' | 'î' | 'ï' | 'ı' => "i",
        'ł' | 'Ł' => "l",
        'ñ' | 'ń' | 'ň' | 'Ñ' => "n",
        'ò' | 'ó' | 'ô' | 'õ' | 'ö' | 'ø' | 'ő' | 'ō' | 'Ó' | 'Ö' | 'Ø' => "o",
        'ř' => "r",
        'ś' | 'š' | 'ş' | 'Ş' => "s",
        'ß' => "ss",
        'þ' | 'Þ' => "th",
        'ù' | 'ú' | 'û' | 'ü' | 'ů' | 'ű' | 'ū' => "u",
        'ý' | 'ÿ' | 'Ý' => "y",
        'ź' | 'ż' | 'ž' | 'Ż' | 'Ž' => "z",
        'ğ' => "g",
        _ => "",
    }
}

/// `Zoë Ångström` → `zoe`, `angstrom`; spaces and apostrophes vanish (`Ó Briain` → `obriain`).
pub fn ascii(name: &str) -> String {
    let mut out = String::new();
    for c in name.chars() {
        if c.is_ascii_alphanumeric() {
            out.push(c.to_ascii_lowercase());
        } else {
            out.push_str(fold(c));
        }
    }
    out
}

/// Departments: (Okta group suffix, profile department, weight in %, titles).
pub const DEPARTMENTS: &[(&str, &str, u64, &[&str])] = &[
    (
        "Engineering",
        "Engineering",
        40,
        &[
            "Software Engineer",
            "Senior Software Engineer",
            "Engine Programmer",
            "Tools Engineer",
            "Build Engineer",
            "Technical Director",
        ],
    ),
    (
        "Art",
        "Art",
        32,
        &["Concept Artist", "3D Artist", "Senior Environment Artist", "Animator", "Technical Artist", "Art Director"],
    ),
    (
        "Production",
        "Production",
        20,
        &["Producer", "Associate Producer", "Production Coordinator", "Game Designer", "QA Analyst"],
    ),
    ("Operations", "Studio Operations", 8, &["IT Administrator", "Office Manager", "Recruiter", "Finance Analyst"]),
];

/// One studio employee as HR knows them.
#[derive(Debug, Clone)]
pub struct Person {
    pub first: String,
    pub last: String,
    pub login: String,
    pub employee_number: String,
    /// Index into `DEPARTMENTS` (and the tenant's department groups).
    pub dept: usize,
    pub title: String,
}

impl Person {
    /// The Okta profile HR import writes.
    pub fn profile(&self) -> Map<String, Value> {
        let mut p = Map::new();
        p.insert("login".into(), json!(self.login));
        p.insert("email".into(), json!(self.login));
        p.insert("firstName".into(), json!(self.first));
        p.insert("lastName".into(), json!(self.last));
        p.insert("displayName".into(), json!(format!("{} {}", self.first, self.last)));
        p.insert("employeeNumber".into(), json!(self.employee_number));
        p.insert("department".into(), json!(DEPARTMENTS[self.dept].1));
        p.insert("title".into(), json!(self.title));
        p.insert("organization".into(), json!("Studio"));
        p.insert("userType".into(), json!("Employee"));
        p
    }
}

/// A random (first, last) name from the pools.
pub fn name(rng: &mut Rng) -> (&'static str, &'static str) {
    let first = FIRST[rng.below(FIRST.len() as u64) as usize];
    (first, LAST[rng.below(LAST.len() as u64) as usize])
}

/// Draws `n` people with unique logins (`first.last`, then `first.last2`, … as HR
/// systems dedupe) and unique employee numbers. The first few carry the hard names.
pub fn draw(rng: &mut Rng, n: usize, taken: &mut BTreeSet<String>) -> Vec<Person> {
    let fixed = [("Zoë", "Ångström"), ("Łukasz", "Żółć"), ("Ñoño", "Ibáñez")];
    let mut number = 10_000 + rng.below(5_000);
    let mut out = Vec::with_capacity(n);
    for i in 0..n {
        let (first, last) = match fixed.get(i) {
            Some(&fixed) => fixed,
            None => name(rng),
        };
        let (first, last) = (first.to_string(), last.to_string());
        let stem = format!("{}.{}", ascii(&first), ascii(&last));
        let login = unique(&stem, taken, |s, k| format!("{s}{k}@{DOMAIN}"));
        let roll = rng.below(100);
        let mut acc = 0;
        let dept = DEPARTMENTS
            .iter()
            .position(|d| {
                acc += d.2;
                roll < acc
            })
            .unwrap_or(0);
        let titles = DEPARTMENTS[dept].3;
        let title = titles[rng.below(titles.len() as u64) as usize].to_string();
        number += 1 + rng.below(6);
        out.push(Person { first, last, login, employee_number: format!("S{number:06}"), dept, title });
    }
    out
}

/// `stem` if free, else `stem` + 2, 3, …; `make(stem, suffix)` builds the candidate.
pub fn unique(stem: &str, taken: &mut BTreeSet<String>, make: impl Fn(&str, &str) -> String) -> String {
    let mut k = 1;
    loop {
        let suffix = if k == 1 { String::new() } else { k.to_string() };
        let candidate = make(stem, &suffix);
        if taken.insert(candidate.clone()) {
            return candidate;
        }
        k += 1;
    }
}

/// The downstream accounts of one provisioned person.
#[derive(Debug, Clone)]
pub struct Accounts {
    pub okta_id: String,
    pub entra_id: String,
    pub aws_id: String,
}

/// Builds an employee hired before the history window straight into the stores, as
/// Okta's provisioning left them: ACTIVE in Okta and in a department group, an app
/// user per leg (PROVISIONED, SYNCHRONIZED, externalId = the downstream id), the Entra
/// and Identity Center accounts with their pushed group memberships. No audit records:
/// they are older than every trail's retention.
pub fn provision(
    t: &mut Tenant,
    p: &Person,
    dept: &Department,
    created: DateTime<Utc>,
    pushed: DateTime<Utc>,
) -> Accounts {
    let okta_id = t.rng.okta_id("00u");
    t.okta.users.insert(
        okta_id.clone(),
        OktaUser {
            id: okta_id.clone(),
            status: "ACTIVE".into(),
            created,
            activated: Some(created),
            status_changed: Some(created),
            last_updated: created,
            password_changed: Some(created),
            profile: p.profile(),
        },
    );
    if let Some(g) = t.okta.groups.get_mut(&dept.okta_group_id) {
        g.members.insert(okta_id.clone());
    }
    let m = provisioner::mapped(t, &okta_id);
    let Tenant { okta, entra, aws, rng, .. } = t;
    let (entra_id, aws_id) = match &m {
        Some(m) => {
            let e = entra.create_user(rng, pushed, None, m);
            entra.set_member(rng, pushed, None, &dept.entra_group_id, &e, true);
            let a = aws.scim_create_user(rng, pushed, None, m, &okta_id);
            aws.scim_patch_group(rng, pushed, None, &dept.aws_group_id, &a, true);
            (e, a)
        }
        None => (String::new(), String::new()),
    };
    for app in &okta.apps {
        let ext = match app.leg {
            Some(Leg::Entra) => entra_id.clone(),
            Some(Leg::Aws) => aws_id.clone(),
            None => continue,
        };
        okta.app_users.insert(
            (app.id.clone(), okta_id.clone()),
            AppUser {
                app_id: app.id.clone(),
                user_id: okta_id.clone(),
                app_user_id: rng.okta_id("0ua"),
                external_id: Some(ext),
                status: "PROVISIONED".into(),
                sync_state: "SYNCHRONIZED".into(),
                scope: "GROUP".into(),
                user_name: p.login.clone(),
                created,
                last_updated: pushed,
                status_changed: pushed,
                last_sync: Some(pushed),
            },
        );
    }
    Accounts { okta_id, entra_id, aws_id }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_name_folds_to_ascii_letters() {
        for n in FIRST.iter().chain(LAST) {
            for c in n.chars().filter(|c| c.is_alphabetic()) {
                assert!(c.is_ascii_alphabetic() || !fold(c).is_empty(), "{c} in {n}");
            }
            assert!(ascii(n).chars().all(|c| c.is_ascii_lowercase()), "{n}");
        }
        assert_eq!(ascii("Zoë"), "zoe");
        assert_eq!(ascii("Żółć"), "zolc");
        assert_eq!(ascii("Ó Briain"), "obriain");
    }

    #[test]
    fn logins_are_unique_and_numbered() {
        let mut taken = BTreeSet::new();
        let people = draw(&mut Rng::new(1), 800, &mut taken);
        let logins: BTreeSet<&str> = people.iter().map(|p| p.login.as_str()).collect();
        assert_eq!(logins.len(), 800);
        let numbers: BTreeSet<&str> = people.iter().map(|p| p.employee_number.as_str()).collect();
        assert_eq!(numbers.len(), 800);
        assert_eq!(people[0].login, "zoe.angstrom@studio.example");
        assert!(people.iter().any(|p| p.login.contains("2@")), "a collision was numbered");
    }
}
