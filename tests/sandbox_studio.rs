//! `--seed-data studio` over real HTTP: the population pages to the planted counts,
//! every planted leaver is where the manifest says in all three audit trails, the
//! planted exceptions are true of the tenant, and the same seed plants the same story.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use chrono::{DateTime, Duration, Utc};
use common::{Graph, Okta, admin, aws_config, next_link, start_studio};
use jmlproof::sandbox::Sandbox;
use serde_json::Value;

fn ts(v: &Value) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(v.as_str().expect("timestamp")).expect("RFC 3339").with_timezone(&Utc)
}

async fn tenant_now(sb: &Sandbox) -> DateTime<Utc> {
    ts(&admin(sb, "/clock").await["now"])
}

/// Every item of an Okta list, following `Link rel="next"` to the end.
async fn okta_pages(o: &Okta<'_>, first: String) -> Vec<Value> {
    let mut out = Vec::new();
    let mut url = Some(first);
    while let Some(u) = url {
        let r =
            o.c.get(&u)
                .header("authorization", format!("SSWS {}", o.sb.endpoints.okta_token))
                .send()
                .await
                .expect("okta");
        assert_eq!(r.status(), 200, "{u}");
        url = next_link(r.headers());
        out.extend(r.json::<Vec<Value>>().await.expect("json"));
    }
    out
}

/// A bounded System Log query over the whole 90 days the log keeps.
async fn okta_log(o: &Okta<'_>, now: DateTime<Utc>, filter: &str) -> Vec<Value> {
    let secs = |t: DateTime<Utc>| t.to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let q = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("since", &secs(now - Duration::days(90)))
        .append_pair("until", &secs(now + Duration::minutes(1)))
        .append_pair("filter", filter)
        .append_pair("limit", "1000")
        .finish();
    okta_pages(o, o.url(&format!("/api/v1/logs?{q}"))).await
}

/// Every item of a Graph collection, following `@odata.nextLink` to the end.
async fn graph_pages(g: &Graph<'_>, path_and_query: &str) -> Vec<Value> {
    let mut out = Vec::new();
    let mut page = g.json(path_and_query).await;
    loop {
        out.extend(page["value"].as_array().cloned().unwrap_or_default());
        let Some(next) = page["@odata.nextLink"].as_str().map(str::to_string) else {
            return out;
        };
        let r = g.c.get(&next).bearer_auth(&g.token).send().await.unwrap();
        assert_eq!(r.status(), 200, "{next}");
        page = r.json().await.unwrap();
    }
}

async fn aws_users(sb: &Sandbox) -> Vec<aws_sdk_identitystore::types::User> {
    let conf = aws_config(sb, &sb.endpoints.aws_secret_access_key).await;
    aws_sdk_identitystore::Client::new(&conf)
        .list_users()
        .identity_store_id(&sb.endpoints.identity_store_id)
        .into_paginator()
        .items()
        .send()
        .collect::<Result<Vec<_>, _>>()
        .await
        .expect("ListUsers pages")
}

fn leg<'a>(leaver: &'a Value, name: &str) -> &'a Value {
    leaver["legs"].as_array().and_then(|a| a.iter().find(|g| g["leg"] == name)).expect("leg")
}

fn arr(v: &Value) -> &Vec<Value> {
    v.as_array().expect("array")
}

#[tokio::test]
async fn population_pages_to_the_planted_counts() {
    let sb = start_studio(42, 1.0, None).await;
    let planted = admin(&sb, "/planted").await;
    let counts = &planted["counts"];
    let o = Okta::new(&sb);

    let users = okta_pages(&o, o.url("/api/v1/users?limit=200")).await;
    assert_eq!(users.len() as u64, counts["okta_active"].as_u64().unwrap());
    assert!((560..=640).contains(&users.len()), "about 600: {}", users.len());
    assert!(users.iter().all(|u| u["status"] == "ACTIVE"));
    let logins: BTreeSet<&str> = users.iter().map(|u| u["profile"]["login"].as_str().unwrap()).collect();
    assert_eq!(logins.len(), users.len(), "logins are unique");
    let numbers: BTreeSet<&str> = users.iter().filter_map(|u| u["profile"]["employeeNumber"].as_str()).collect();
    assert_eq!(numbers.len(), users.len(), "employee numbers are unique");
    for (login, first, last) in [
        ("zoe.angstrom@studio.example", "Zoë", "Ångström"),
        ("lukasz.zolc@studio.example", "Łukasz", "Żółć"),
        ("nono.ibanez@studio.example", "Ñoño", "Ibáñez"),
    ] {
        let u = users.iter().find(|u| u["profile"]["login"] == login).expect(login);
        assert_eq!(u["profile"]["firstName"], first);
        assert_eq!(u["profile"]["lastName"], last);
    }

    // Entra: every active studio employee has its account, linked by the Okta id.
    let g = Graph::new(&sb).await;
    let entra =
        graph_pages(&g, "/users?$top=999&$select=id,userType,accountEnabled,onPremisesImmutableId,employeeId").await;
    assert_eq!(entra.len() as u64, counts["entra_users"].as_u64().unwrap());
    let by_okta: BTreeMap<&str, &Value> =
        entra.iter().filter_map(|u| Some((u["onPremisesImmutableId"].as_str()?, u))).collect();
    for u in &users {
        let e = by_okta[u["id"].as_str().unwrap()];
        assert_eq!(e["employeeId"], u["profile"]["employeeNumber"]);
        assert_eq!(e["accountEnabled"], true);
        assert_eq!(e["userType"], "Member");
    }

    // Identity Center: the SDK's paginator reaches every user.
    let aws = aws_users(&sb).await;
    assert_eq!(aws.len() as u64, counts["aws_users"].as_u64().unwrap());
    let linked: BTreeSet<&str> = aws.iter().flat_map(|u| u.external_ids().iter().map(|x| x.id())).collect();
    assert!(users.iter().all(|u| linked.contains(u["id"].as_str().unwrap())));
}

#[tokio::test]
async fn leavers_agree_with_the_three_trails() {
    // Fast tenant time: CloudTrail allows 2 lookups per tenant second.
    let sb = start_studio(42, 600.0, None).await;
    let planted = admin(&sb, "/planted").await;
    let leavers = arr(&planted["leavers"]);
    assert!((36..=44).contains(&leavers.len()), "{}", leavers.len());
    let now = tenant_now(&sb).await;
    // Leave a day's margin at each retention edge (the clock keeps moving).
    let okta_edge = now - Duration::days(89);
    let entra_edge = now - Duration::days(29);

    let o = Okta::new(&sb);
    let events = okta_log(&o, now, "eventType eq \"user.lifecycle.deactivate\"").await;
    let deactivated: BTreeMap<&str, &str> =
        events.iter().map(|e| (e["target"][0]["id"].as_str().unwrap(), e["published"].as_str().unwrap())).collect();
    for e in &events {
        // The admin's console actions, not calls of the tool under test.
        assert_eq!(e["transaction"]["type"], "WEB");
        assert_eq!(e["actor"]["type"], "User");
        assert_ne!(e["client"]["userAgent"]["rawUserAgent"], "jmlproof");
    }
    let mut expected: BTreeSet<&str> = leavers.iter().map(|l| l["okta_id"].as_str().unwrap()).collect();
    expected.insert(planted["reactivated"]["okta_id"].as_str().unwrap());
    expected.insert(planted["contractor_guest"]["okta_id"].as_str().unwrap());
    assert!(deactivated.keys().all(|id| expected.contains(id)));
    let mut inside = 0;
    for l in leavers {
        let t0 = ts(&l["t0"]);
        assert!(t0 > ts(&planted["window_start"]) && t0 < ts(&planted["now"]));
        if t0 > okta_edge {
            inside += 1;
            assert_eq!(deactivated.get(l["okta_id"].as_str().unwrap()).copied(), l["t0"].as_str());
        }
        for g in arr(&l["legs"]) {
            if let Some(r) = g["revoked_at"].as_str() {
                let lat = (ts(&g["revoked_at"]) - t0).num_milliseconds() as f64 / 1000.0;
                assert_eq!(g["latency_seconds"].as_f64(), Some(lat), "{r}");
            }
        }
    }
    assert!(inside >= 20, "most leavers fall inside 90 days: {inside}");

    // Persistence order is time order: a poller (ordered by seq) sees the history
    // as it happened, and live events will come after it.
    let since = (now - Duration::days(90)).to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let r = o.get(&format!("/api/v1/logs?since={since}&sortOrder=ASCENDING&limit=1000")).await;
    let polled: Vec<Value> = r.json().await.unwrap();
    assert!(polled.len() > 200, "{}", polled.len());
    assert!(polled.windows(2).all(|w| w[0]["published"].as_str() <= w[1]["published"].as_str()));

    // Entra: the "Disable account" row of each leaver inside the audit retention.
    let g = Graph::new(&sb).await;
    let rows =
        graph_pages(&g, "/auditLogs/directoryAudits?$filter=activityDisplayName%20eq%20'Disable%20account'&$top=1000")
            .await;
    let disabled: BTreeMap<&str, &str> = rows
        .iter()
        .map(|r| (r["targetResources"][0]["id"].as_str().unwrap(), r["activityDateTime"].as_str().unwrap()))
        .collect();
    let mut seen = 0;
    for l in leavers {
        let e = leg(l, "entra");
        match e["revoked_at"].as_str() {
            Some(at) if ts(&e["revoked_at"]) > entra_edge => {
                seen += 1;
                let row = disabled[e["downstream_id"].as_str().unwrap()];
                assert_eq!(&row[..19], &at[..19], "to the second");
            }
            _ => {}
        }
    }
    assert!(seen >= 5, "some leavers are inside 30 days: {seen}");

    // AWS: the PatchUser that disabled each leaver's Identity Center user.
    let conf = aws_config(&sb, &sb.endpoints.aws_secret_access_key).await;
    let ct = aws_sdk_cloudtrail::Client::new(&conf);
    let mut patches: BTreeMap<String, Vec<(i64, bool)>> = BTreeMap::new();
    let mut token = None;
    loop {
        let out = ct
            .lookup_events()
            .lookup_attributes(
                aws_sdk_cloudtrail::types::LookupAttribute::builder()
                    .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::EventName)
                    .attribute_value("PatchUser")
                    .build()
                    .unwrap(),
            )
            .set_next_token(token)
            .send()
            .await
            .expect("LookupEvents");
        for e in out.events() {
            let raw: Value = serde_json::from_str(e.cloud_trail_event().unwrap()).unwrap();
            let id = raw["requestParameters"]["id"].as_str().unwrap().to_string();
            let active = raw["responseElements"]["active"].as_bool().unwrap();
            let at = e.event_time().unwrap().secs();
            patches.entry(id).or_default().push((at, active));
        }
        token = out.next_token().map(str::to_string);
        if token.is_none() {
            break;
        }
    }
    let mut seen = 0;
    for l in leavers {
        let a = leg(l, "aws");
        if let Some(at) = a["revoked_at"].as_str().map(|_| ts(&a["revoked_at"]))
            && at > okta_edge
        {
            seen += 1;
            let p = &patches[a["downstream_id"].as_str().unwrap()];
            assert!(p.contains(&(at.timestamp(), false)), "{p:?} vs {at}");
        }
    }
    assert!(seen >= 20, "most leavers fall inside 90 days: {seen}");
}

#[tokio::test]
async fn planted_exceptions_are_true_of_the_tenant() {
    let sb = start_studio(7, 1.0, None).await;
    let planted = admin(&sb, "/planted").await;
    let e = sb.endpoints.clone();
    let o = Okta::new(&sb);
    let now = tenant_now(&sb).await;
    let leaver =
        |id: &str| arr(&planted["leavers"]).iter().find(|l| l["okta_id"] == id).cloned().expect("a planted leaver");
    let conf = aws_config(&sb, &e.aws_secret_access_key).await;
    let is = aws_sdk_identitystore::Client::new(&conf);

    // Never revoked on AWS: still ENABLED, a FAILURE push event, the app user in ERROR.
    let never = arr(&planted["never_revoked"]);
    assert_eq!(never.len(), 1);
    assert_eq!(never[0]["leg"], "aws");
    let id = never[0]["okta_id"].as_str().unwrap();
    let l = leaver(id);
    assert!(leg(&l, "aws")["revoked_at"].is_null());
    let du = is
        .describe_user()
        .identity_store_id(&e.identity_store_id)
        .user_id(leg(&l, "aws")["downstream_id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(du.user_status().map(|s| s.as_str()), Some("ENABLED"));
    let failed =
        okta_log(&o, now, "eventType eq \"application.provision.user.deactivate\" and outcome.result eq \"FAILURE\"")
            .await;
    let mine: Vec<&Value> = failed.iter().filter(|ev| arr(&ev["target"]).iter().any(|t| t["id"] == id)).collect();
    assert_eq!(mine.len(), 1);
    assert!(mine[0]["outcome"]["reason"].as_str().unwrap().starts_with("Bad Gateway. "));
    let au = o.json(&format!("/api/v1/apps/{}/users/{id}", e.okta_aws_app_id)).await;
    assert_eq!(au["syncState"], "ERROR");

    // Late: three legs revoked two to five days after T0.
    let late = arr(&planted["late"]);
    assert_eq!(late.len(), 3);
    for r in late {
        let l = leaver(r["okta_id"].as_str().unwrap());
        let secs = leg(&l, r["leg"].as_str().unwrap())["latency_seconds"].as_f64().unwrap();
        assert!((2.0 * 86_400.0..=5.0 * 86_400.0).contains(&secs), "{secs}");
    }

    // Deleted from Okta after deactivation: gone from the API, both events logged.
    let gone: Vec<&Value> = arr(&planted["leavers"]).iter().filter(|l| !l["deleted_at"].is_null()).collect();
    assert_eq!(gone.len(), 1);
    let gid = gone[0]["okta_id"].as_str().unwrap();
    assert_eq!(o.get(&format!("/api/v1/users/{gid}")).await.status(), 404);
    let deletes =
        okta_log(&o, now, &format!("target.id eq \"{gid}\" and eventType sw \"user.lifecycle.delete\"")).await;
    assert_eq!(deletes.len(), 2);
    assert_eq!(deletes[0]["published"], gone[0]["deleted_at"]);

    // The contractor: DEPROVISIONED in Okta two months ago, the guest still enabled.
    let c = &planted["contractor_guest"];
    let ou = o.json(&format!("/api/v1/users/{}", c["okta_id"].as_str().unwrap())).await;
    assert_eq!(ou["status"], "DEPROVISIONED");
    assert!((58..=61).contains(&c["days_since_deactivation"].as_i64().unwrap()));
    let g = Graph::new(&sb).await;
    let gu = g
        .json(&format!(
            "/users/{}?$select=id,userType,accountEnabled,externalUserState,onPremisesImmutableId,mail,userPrincipalName",
            c["entra_id"].as_str().unwrap()
        ))
        .await;
    assert_eq!(gu["userType"], "Guest");
    assert_eq!(gu["accountEnabled"], true);
    assert_eq!(gu["externalUserState"], "Accepted");
    assert!(gu["onPremisesImmutableId"].is_null());
    assert_eq!(gu["mail"], ou["profile"]["email"]);
    assert!(gu["userPrincipalName"].as_str().unwrap().contains("#EXT#@"));

    // The reactivated user: ACTIVE again, both accounts back on.
    let r = &planted["reactivated"];
    let ru = o.json(&format!("/api/v1/users/{}", r["okta_id"].as_str().unwrap())).await;
    assert_eq!(ru["status"], "ACTIVE");
    for b in arr(&r["legs"]) {
        assert!(ts(&b["disabled_at"]) < ts(&b["enabled_at"]));
    }
    let eu =
        g.json(&format!("/users/{}?$select=accountEnabled", leg(r, "entra")["downstream_id"].as_str().unwrap())).await;
    assert_eq!(eu["accountEnabled"], true);

    // Unmappable Identity Center users: console-made, no ExternalIds; some still on.
    let users: BTreeMap<String, aws_sdk_identitystore::types::User> =
        aws_users(&sb).await.into_iter().map(|u| (u.user_id().to_string(), u)).collect();
    let unmappable = arr(&planted["unmappable_aws_users"]);
    assert!((280..=320).contains(&unmappable.len()));
    let mut statuses = BTreeSet::new();
    for u in unmappable {
        let au = &users[u["user_id"].as_str().unwrap()];
        assert!(au.external_ids().is_empty());
        assert!(au.created_by().unwrap().contains(":assumed-role/AWSReservedSSO_AdministratorAccess_"));
        let status = au.user_status().map(|s| s.as_str().to_string()).unwrap();
        assert_eq!(u["status"], status.as_str());
        statuses.insert(status);
    }
    assert_eq!(statuses.len(), 2, "some ENABLED, some DISABLED");
    let bg = &planted["break_glass"];
    let bu = &users[bg["user_id"].as_str().unwrap()];
    assert_eq!(bu.user_name(), Some("ops-breakglass"));
    assert!(bu.external_ids().is_empty());

    // Direct USER assignments, exactly as planted (the break-glass one among them).
    let sso = aws_sdk_ssoadmin::Client::new(&conf);
    let planted_direct: BTreeSet<(String, String)> = arr(&planted["direct_assignments"])
        .iter()
        .map(|d| (d["permission_set_arn"].as_str().unwrap().to_string(), d["user_id"].as_str().unwrap().to_string()))
        .collect();
    assert!(planted_direct.contains(&(
        bg["permission_set_arn"].as_str().unwrap().to_string(),
        bg["user_id"].as_str().unwrap().to_string()
    )));
    let mut found = BTreeSet::new();
    for ps in planted_direct.iter().map(|d| d.0.clone()).collect::<BTreeSet<_>>() {
        let out = sso
            .list_account_assignments()
            .instance_arn(&e.instance_arn)
            .account_id(&e.aws_account_id)
            .permission_set_arn(&ps)
            .send()
            .await
            .unwrap();
        for a in out.account_assignments() {
            if a.principal_type().map(|p| p.as_str()) == Some("USER") {
                found.insert((ps.clone(), a.principal_id().unwrap().to_string()));
            }
        }
    }
    assert_eq!(found, planted_direct);
}

#[tokio::test]
async fn same_seed_same_story() {
    let start = Some(Utc::now() - Duration::days(3));
    let a = start_studio(42, 1.0, start).await;
    let b = start_studio(42, 1.0, start).await;
    let c = start_studio(7, 1.0, start).await;
    let (pa, pb, pc) = (admin(&a, "/planted").await, admin(&b, "/planted").await, admin(&c, "/planted").await);
    assert_eq!(pa, pb);
    let ids = |p: &Value| -> BTreeSet<String> {
        let leavers = arr(&p["leavers"]).iter().map(|l| l["okta_id"].as_str().unwrap().to_string());
        let legacy = arr(&p["unmappable_aws_users"]).iter().map(|u| u["user_id"].as_str().unwrap().to_string());
        leavers.chain(legacy).collect()
    };
    assert!(ids(&pa).is_disjoint(&ids(&pc)));
    assert_ne!(pa["counts"], pc["counts"]);
}

#[tokio::test]
async fn reactivating_a_leaver_turns_the_same_accounts_back_on() {
    let sb = start_studio(42, 1.0, None).await;
    let planted = admin(&sb, "/planted").await;
    let l = arr(&planted["leavers"])
        .iter()
        .find(|l| l["deleted_at"].is_null() && arr(&l["legs"]).iter().all(|g| !g["revoked_at"].is_null()))
        .expect("a revoked leaver")
        .clone();
    let id = l["okta_id"].as_str().unwrap();
    let before = admin(&sb, "/counts").await;
    let o = Okta::new(&sb);
    let r = o.req(reqwest::Method::POST, &format!("/api/v1/users/{id}/lifecycle/activate")).send().await.unwrap();
    assert_eq!(r.status(), 200);
    sb.settled().await;

    let g = Graph::new(&sb).await;
    let eu = g.by_immutable_id(id).await.expect("entra user");
    assert_eq!(eu["id"], leg(&l, "entra")["downstream_id"]);
    assert_eq!(eu["accountEnabled"], true);
    let conf = aws_config(&sb, &sb.endpoints.aws_secret_access_key).await;
    let du = aws_sdk_identitystore::Client::new(&conf)
        .describe_user()
        .identity_store_id(&sb.endpoints.identity_store_id)
        .user_id(leg(&l, "aws")["downstream_id"].as_str().unwrap())
        .send()
        .await
        .unwrap();
    assert_eq!(du.user_status().map(|s| s.as_str()), Some("ENABLED"));
    let after = admin(&sb, "/counts").await;
    assert_eq!(after["entra"]["users"], before["entra"]["users"], "no duplicate account");
    assert_eq!(after["aws"]["users"], before["aws"]["users"], "no duplicate account");
    let now = tenant_now(&sb).await;
    let pushes =
        okta_log(&o, now, &format!("eventType eq \"application.provision.user.reactivate\" and target.id eq \"{id}\""))
            .await;
    assert_eq!(pushes.len(), 2, "one per app");
    assert!(pushes.iter().all(|p| p["outcome"]["result"] == "SUCCESS"));
}
