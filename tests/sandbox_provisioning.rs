//! The provisioner: Okta changes reach Entra and Identity Center after the leg's
//! delay, with the System Log push events, the downstream audit records and the
//! ground truth, and the fault switches change exactly what they say.

mod common;

use common::{Graph, Okta, admin, aws_config, set_faults, start_fast};
use serde_json::{Value, json};

async fn joiner(o: &Okta<'_>, login: &str) -> String {
    let g = o.group_id("jmlproof-test").await;
    let u = o.create(login, "Zoë", "Ångström", &[g]).await;
    u["id"].as_str().unwrap().to_string()
}

fn events_of<'a>(events: &'a [Value], event_type: &str, app: &str) -> Vec<&'a Value> {
    events
        .iter()
        .filter(|e| {
            e["eventType"] == event_type
                && e["target"].as_array().unwrap().iter().any(|t| t["type"] == "AppInstance" && t["id"] == app)
        })
        .collect()
}

#[tokio::test]
async fn joiner_mover_leaver_reach_both_legs() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    let e = sb.endpoints.clone();
    let uid = joiner(&o, "jmlproof-j-01@sandbox.example").await;
    sb.settled().await;

    // Entra: the mapped attributes, linked by onPremisesImmutableId = the Okta id.
    let g = Graph::new(&sb).await;
    let eu = g.by_immutable_id(&uid).await.expect("entra user");
    assert_eq!(eu["userPrincipalName"], "jmlproof-j-01@sandbox.example");
    assert_eq!(eu["givenName"], "Zoë");
    assert_eq!(eu["surname"], "Ångström");
    assert_eq!(eu["accountEnabled"], true);
    let entra_id = eu["id"].as_str().unwrap().to_string();
    let groups = g.json(&format!("/users/{entra_id}/memberOf")).await;
    assert_eq!(groups["value"][0]["displayName"], "jmlproof-test");

    // AWS: the user, its ExternalIds = the Okta id, membership and the group's assignment.
    let conf = aws_config(&sb, &e.aws_secret_access_key).await;
    let is = aws_sdk_identitystore::Client::new(&conf);
    let user_id = is
        .get_user_id()
        .identity_store_id(&e.identity_store_id)
        .alternate_identifier(aws_sdk_identitystore::types::AlternateIdentifier::UniqueAttribute(
            aws_sdk_identitystore::types::UniqueAttribute::builder()
                .attribute_path("userName")
                .attribute_value(aws_smithy_types::Document::String("jmlproof-j-01@sandbox.example".into()))
                .build()
                .unwrap(),
        ))
        .send()
        .await
        .unwrap()
        .user_id
        .clone();
    let du = is.describe_user().identity_store_id(&e.identity_store_id).user_id(&user_id).send().await.unwrap();
    assert_eq!(du.external_ids()[0].id(), uid);
    assert_eq!(du.user_status().map(|s| s.as_str()), Some("ENABLED"));
    assert_eq!(du.name().and_then(|n| n.family_name()), Some("Ångström"));

    // Okta recorded the push: SUCCESS per app, and the app user carries the downstream id.
    let events = o.events().await;
    assert_eq!(
        events_of(&events, "application.provision.user.push", &e.okta_entra_app_id)[0]["outcome"]["result"],
        "SUCCESS"
    );
    assert_eq!(events_of(&events, "application.provision.user.push", &e.okta_aws_app_id).len(), 1);
    let au = o.json(&format!("/api/v1/apps/{}/users/{uid}", e.okta_aws_app_id)).await;
    assert_eq!(au["externalId"], user_id.as_str());
    assert_eq!(au["status"], "PROVISIONED");
    assert_eq!(au["syncState"], "SYNCHRONIZED");

    // Mover: surname change and a move to the mover group; same downstream accounts.
    let mover = o.group_id("jmlproof-mover").await;
    let test = o.group_id("jmlproof-test").await;
    o.post(&format!("/api/v1/users/{uid}"), json!({"profile": {"lastName": "Nowak"}})).await;
    assert_eq!(o.put(&format!("/api/v1/groups/{mover}/users/{uid}")).await.status(), 204);
    assert_eq!(o.delete(&format!("/api/v1/groups/{test}/users/{uid}")).await.status(), 204);
    sb.settled().await;
    let eu2 = g.by_immutable_id(&uid).await.unwrap();
    assert_eq!(eu2["id"], entra_id.as_str());
    assert_eq!(eu2["surname"], "Nowak");
    assert_eq!(eu2["accountEnabled"], true, "a move between assigned groups is not a leaver");
    let groups = g.json(&format!("/users/{entra_id}/memberOf")).await;
    assert_eq!(groups["value"].as_array().unwrap().len(), 1);
    assert_eq!(groups["value"][0]["displayName"], "jmlproof-mover");
    let all = is.list_users().identity_store_id(&e.identity_store_id).send().await.unwrap();
    assert_eq!(all.users().len(), 1, "no duplicate after the rename");
    let du = is.describe_user().identity_store_id(&e.identity_store_id).user_id(&user_id).send().await.unwrap();
    assert_eq!(du.name().and_then(|n| n.family_name()), Some("Nowak"));

    // Leaver: deactivate. Entra disabled and sessions revoked; AWS DISABLED, memberships kept.
    let r = o.post(&format!("/api/v1/users/{uid}/lifecycle/deactivate"), json!({})).await;
    assert_eq!(r.status(), 200);
    sb.settled().await;
    let eu3 = g.by_immutable_id(&uid).await.unwrap();
    assert_eq!(eu3["accountEnabled"], false);
    let du = is.describe_user().identity_store_id(&e.identity_store_id).user_id(&user_id).send().await.unwrap();
    assert_eq!(du.user_status().map(|s| s.as_str()), Some("DISABLED"));
    let groups = is
        .list_group_memberships_for_member()
        .identity_store_id(&e.identity_store_id)
        .member_id(aws_sdk_identitystore::types::MemberId::UserId(user_id.clone()))
        .send()
        .await
        .unwrap();
    assert_eq!(groups.group_memberships().len(), 1, "a disabled Identity Center user keeps its memberships");

    let events = o.events().await;
    let t0 = events.iter().find(|e| e["eventType"] == "user.lifecycle.deactivate").unwrap()["published"]
        .as_str()
        .unwrap()
        .to_string();
    for app in [&e.okta_entra_app_id, &e.okta_aws_app_id] {
        let d = events_of(&events, "application.provision.user.deactivate", app);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0]["outcome"]["result"], "SUCCESS");
        assert!(d[0]["published"].as_str().unwrap() > t0.as_str());
    }

    // The downstream audit trails.
    let audits =
        g.json(&format!("/auditLogs/directoryAudits?$filter=targetResources/any(t:t/id%20eq%20'{entra_id}')")).await;
    let names: Vec<&str> =
        audits["value"].as_array().unwrap().iter().map(|a| a["activityDisplayName"].as_str().unwrap()).collect();
    for want in [
        "Add user",
        "Add member to group",
        "Update user",
        "Remove member from group",
        "Disable account",
        "Update StsRefreshTokenValidFrom Timestamp",
    ] {
        assert!(names.contains(&want), "{want} in {names:?}");
    }
    let ct = aws_sdk_cloudtrail::Client::new(&conf);
    let out = ct
        .lookup_events()
        .lookup_attributes(
            aws_sdk_cloudtrail::types::LookupAttribute::builder()
                .attribute_key(aws_sdk_cloudtrail::types::LookupAttributeKey::EventSource)
                .attribute_value("identitystore-scim.amazonaws.com")
                .build()
                .unwrap(),
        )
        .send()
        .await
        .unwrap();
    let names: Vec<&str> = out.events().iter().filter_map(|e| e.event_name()).collect();
    assert_eq!(names.first(), Some(&"PatchUser"), "newest first: {names:?}");
    assert!(names.contains(&"CreateUser") && names.contains(&"PutUser") && names.contains(&"PatchGroup"));
    let patch: Value = serde_json::from_str(out.events()[0].cloud_trail_event().unwrap()).unwrap();
    assert_eq!(patch["requestParameters"]["id"], user_id.as_str());
    assert_eq!(patch["responseElements"]["active"], false);
    assert_eq!(patch["responseElements"]["userName"], "HIDDEN_DUE_TO_SECURITY_REASONS");

    // Ground truth: each leg's disable after T0.
    let truth = admin(&sb, &format!("/truth?okta_user_id={uid}")).await;
    let disables: Vec<&Value> =
        truth["truth"].as_array().unwrap().iter().filter(|t| t["action"] == "disable").collect();
    assert_eq!(disables.len(), 2);
}

#[tokio::test]
async fn deactivate_switched_off_leaves_the_aws_account_enabled() {
    let sb = start_fast().await;
    set_faults(
        &sb,
        "[entra]\ndelay = \"10ms\"\njitter = \"0s\"\n[aws]\ndelay = \"10ms\"\njitter = \"0s\"\ndeactivate = false\n",
    )
    .await;
    let o = Okta::new(&sb);
    let uid = joiner(&o, "jmlproof-d-01@sandbox.example").await;
    sb.settled().await;
    o.post(&format!("/api/v1/users/{uid}/lifecycle/deactivate"), json!({})).await;
    sb.settled().await;
    let users = admin(&sb, "/users?prefix=jmlproof-d-01").await;
    assert_eq!(users["aws"][0]["enabled"], true);
    assert_eq!(users["entra"][0]["accountEnabled"], false);
    let events = o.events().await;
    assert!(events_of(&events, "application.provision.user.deactivate", &sb.endpoints.okta_aws_app_id).is_empty());
    assert_eq!(events_of(&events, "application.provision.user.deactivate", &sb.endpoints.okta_entra_app_id).len(), 1);
}

#[tokio::test]
async fn revoke_by_delete_on_entra_and_aws() {
    let sb = start_fast().await;
    set_faults(&sb, "[entra]\ndelay = \"10ms\"\nrevoke = \"delete\"\n[aws]\ndelay = \"10ms\"\nrevoke = \"delete\"\n")
        .await;
    let o = Okta::new(&sb);
    let uid = joiner(&o, "jmlproof-x-01@sandbox.example").await;
    sb.settled().await;
    let g = Graph::new(&sb).await;
    let entra_id = g.by_immutable_id(&uid).await.unwrap()["id"].as_str().unwrap().to_string();
    o.post(&format!("/api/v1/users/{uid}/lifecycle/deactivate"), json!({})).await;
    sb.settled().await;
    // Graph: 404 on /users, but found in deleted items with the rewritten UPN.
    let r = g.get(&format!("/users/{entra_id}")).await;
    assert_eq!(r.status(), 404);
    assert_eq!(r.json::<Value>().await.unwrap()["error"]["code"], "Request_ResourceNotFound");
    let d = g.json(&format!("/directory/deletedItems/{entra_id}")).await;
    assert_eq!(d["@odata.type"], "#microsoft.graph.user");
    assert!(d["userPrincipalName"].as_str().unwrap().starts_with(&entra_id.replace('-', "")));
    assert!(d["deletedDateTime"].is_string());
    // AWS: ResourceNotFoundException for the deleted user.
    let conf = aws_config(&sb, &sb.endpoints.aws_secret_access_key).await;
    let is = aws_sdk_identitystore::Client::new(&conf);
    let users = is.list_users().identity_store_id(&sb.endpoints.identity_store_id).send().await.unwrap();
    assert!(users.users().is_empty());
    let truth = admin(&sb, "/truth").await;
    assert_eq!(truth["truth"].as_array().unwrap().iter().filter(|t| t["action"] == "delete").count(), 2);
}

#[tokio::test]
async fn a_push_that_fails_twice_then_succeeds() {
    let sb = start_fast().await;
    set_faults(&sb, "[aws]\ndelay = \"10ms\"\npush_failures = 2\nretry_after = \"10ms\"\n").await;
    let o = Okta::new(&sb);
    let uid = joiner(&o, "jmlproof-f-01@sandbox.example").await;
    sb.settled().await;
    let events = o.events().await;
    let pushes = events_of(&events, "application.provision.user.push", &sb.endpoints.okta_aws_app_id);
    let outcomes: Vec<&str> = pushes.iter().map(|e| e["outcome"]["result"].as_str().unwrap()).collect();
    assert_eq!(outcomes, ["FAILURE", "FAILURE", "SUCCESS"]);
    assert!(pushes[0]["outcome"]["reason"].as_str().unwrap().contains("Errors reported by remote server"));
    let au = o.json(&format!("/api/v1/apps/{}/users/{uid}", sb.endpoints.okta_aws_app_id)).await;
    assert_eq!(au["syncState"], "SYNCHRONIZED");
}

#[tokio::test]
async fn a_push_that_never_succeeds_leaves_an_error() {
    let sb = start_fast().await;
    set_faults(&sb, "[entra]\ndelay = \"10ms\"\npush_never_succeeds = true\n").await;
    let o = Okta::new(&sb);
    let uid = joiner(&o, "jmlproof-n-01@sandbox.example").await;
    sb.settled().await;
    let au = o.json(&format!("/api/v1/apps/{}/users/{uid}", sb.endpoints.okta_entra_app_id)).await;
    assert_eq!(au["syncState"], "ERROR");
    assert!(au["externalId"].is_null());
    let users = admin(&sb, "/users?prefix=jmlproof-n-01").await;
    assert!(users["entra"].as_array().unwrap().is_empty());
    assert_eq!(users["aws"].as_array().unwrap().len(), 1);
}

#[tokio::test]
async fn the_leg_delay_is_what_ground_truth_shows() {
    let sb = start_fast().await;
    set_faults(&sb, "[aws]\ndelay = \"300ms\"\njitter = \"0s\"\n[entra]\ndelay = \"10ms\"\njitter = \"0s\"\n").await;
    let o = Okta::new(&sb);
    let uid = joiner(&o, "jmlproof-s-01@sandbox.example").await;
    sb.settled().await;
    o.post(&format!("/api/v1/users/{uid}/lifecycle/deactivate"), json!({})).await;
    sb.settled().await;
    let events = o.events().await;
    let t0 = chrono::DateTime::parse_from_rfc3339(
        events.iter().find(|e| e["eventType"] == "user.lifecycle.deactivate").unwrap()["published"].as_str().unwrap(),
    )
    .unwrap();
    let truth = admin(&sb, &format!("/truth?okta_user_id={uid}")).await;
    let at = |leg: &str| {
        let t =
            truth["truth"].as_array().unwrap().iter().find(|t| t["action"] == "disable" && t["leg"] == leg).unwrap();
        chrono::DateTime::parse_from_rfc3339(t["at"].as_str().unwrap()).unwrap()
    };
    let aws_latency = (at("aws") - t0).num_milliseconds();
    let entra_latency = (at("entra") - t0).num_milliseconds();
    assert!(aws_latency >= 299, "aws {aws_latency} ms");
    assert!((9..300).contains(&entra_latency), "entra {entra_latency} ms");
}

#[tokio::test]
async fn audit_records_can_be_late_or_absent() {
    let sb = start_fast().await;
    set_faults(&sb, "[entra]\ndelay = \"10ms\"\naudit_delay = \"1h\"\n[aws]\ndelay = \"10ms\"\naudit = false\n").await;
    let o = Okta::new(&sb);
    let _uid = joiner(&o, "jmlproof-a-01@sandbox.example").await;
    sb.settled().await;
    let g = Graph::new(&sb).await;
    assert!(g.json("/auditLogs/directoryAudits").await["value"].as_array().unwrap().is_empty(), "not yet available");
    let counts = admin(&sb, "/counts").await;
    assert_eq!(counts["aws"]["cloudtrail_events"], 0);
    assert_eq!(counts["aws"]["users"], 1);
    // An hour of tenant time later the Entra rows are readable (and the token has expired).
    common::http()
        .post(format!("{}/clock/advance", sb.endpoints.admin_url))
        .body(r#"{"by":"61m"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(g.get("/auditLogs/directoryAudits").await.status(), 401, "tokens last 3599 s");
    let g = Graph::new(&sb).await;
    assert_eq!(g.json("/auditLogs/directoryAudits").await["value"].as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn direct_and_group_app_assignment() {
    let sb = start_fast().await;
    let o = Okta::new(&sb);
    let e = sb.endpoints.clone();
    let u = o.create("jmlproof-u-01@sandbox.example", "U", "V", &[]).await;
    let uid = u["id"].as_str().unwrap().to_string();
    // Direct assignment to the AWS app only.
    let r = o.post(&format!("/api/v1/apps/{}/users", e.okta_aws_app_id), json!({"id": uid, "scope": "USER"})).await;
    assert_eq!(r.status(), 200);
    assert_eq!(r.json::<Value>().await.unwrap()["scope"], "USER");
    sb.settled().await;
    let users = admin(&sb, "/users?prefix=jmlproof-u-01").await;
    assert_eq!(users["aws"].as_array().unwrap().len(), 1);
    assert!(users["entra"].as_array().unwrap().is_empty());
    // Unassigning deprovisions (no group keeps the assignment).
    assert_eq!(o.delete(&format!("/api/v1/apps/{}/users/{uid}", e.okta_aws_app_id)).await.status(), 204);
    sb.settled().await;
    assert_eq!(admin(&sb, "/users?prefix=jmlproof-u-01").await["aws"][0]["enabled"], false);

    // A group assigned to the non-provisioning wiki app: its members show up there.
    let apps = o.json("/api/v1/apps").await;
    let wiki = apps.as_array().unwrap().iter().find(|a| a["label"] == "Corporate Wiki").unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    let test = o.group_id("jmlproof-test").await;
    o.put(&format!("/api/v1/groups/{test}/users/{uid}")).await;
    let r = o.put(&format!("/api/v1/apps/{wiki}/groups/{test}")).await;
    assert_eq!(r.status(), 200);
    let assigned = o.json(&format!("/api/v1/apps?filter=user.id%20eq%20%22{uid}%22")).await;
    assert_eq!(assigned.as_array().unwrap().len(), 3);
    assert_eq!(o.json(&format!("/api/v1/groups/{test}/apps")).await.as_array().unwrap().len(), 3);
    assert_eq!(o.delete(&format!("/api/v1/apps/{wiki}/groups/{test}")).await.status(), 204);
    assert_eq!(o.json(&format!("/api/v1/apps?filter=user.id%20eq%20%22{uid}%22")).await.as_array().unwrap().len(), 2);
}
