//! The sandbox's OAuth paths: Okta's service app (private_key_jwt, DPoP with the
//! use_dpop_nonce round trip, DPoP-bound access tokens, scopes) and Entra's
//! certificate client assertion (PS256/x5t#S256 and RS256/x5t).

mod common;

use common::{set_faults, start_fast};
use jmlproof::jwt::{Alg, SigningKey};
use jmlproof::sandbox::Sandbox;
use serde_json::{Map, Value, json};

fn now() -> i64 {
    chrono::Utc::now().timestamp()
}

fn jti() -> String {
    format!("{:x}", rand_u64())
}

/// Unique jti values without a rand dependency: the process id over a counter. (XOR
/// with the clock, as before, let counter n in one second equal n+1 in the next: a
/// reused jti, refused, once in a while.)
fn rand_u64() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(1);
    (std::process::id() as u64) << 32 | N.fetch_add(1, Ordering::SeqCst)
}

fn assertion(key: &SigningKey, kid: &str, client_id: &str, aud: &str) -> String {
    let mut h = Map::new();
    h.insert("kid".into(), json!(kid));
    key.sign(
        Alg::Rs256,
        h,
        &json!({"iss": client_id, "sub": client_id, "aud": aud, "iat": now(), "exp": now() + 300, "jti": jti()}),
    )
    .unwrap()
}

fn proof(key: &SigningKey, htm: &str, htu: &str, nonce: Option<&str>, ath: Option<&str>) -> String {
    let mut h = Map::new();
    h.insert("typ".into(), json!("dpop+jwt"));
    h.insert("jwk".into(), key.public_jwk());
    let mut c = json!({"htm": htm, "htu": htu, "iat": now(), "jti": jti()});
    if let Some(n) = nonce {
        c["nonce"] = json!(n);
    }
    if let Some(a) = ath {
        c["ath"] = json!(a);
    }
    key.sign(key.default_alg(), h, &c).unwrap()
}

struct OktaApp {
    key: SigningKey,
    kid: String,
    client_id: String,
    token_url: String,
}

fn okta_app(sb: &mut Sandbox) -> OktaApp {
    let e = sb.with_key_material().unwrap().clone();
    OktaApp {
        key: SigningKey::from_pem(e.okta_private_key.as_deref().unwrap()).unwrap(),
        kid: e.okta_key_id.unwrap(),
        client_id: e.okta_oauth_client_id,
        token_url: format!("{}/oauth2/v1/token", e.okta_url),
    }
}

async fn token_call(
    app: &OktaApp,
    dpop: Option<String>,
    scope: &str,
    assertion_key: Option<&SigningKey>,
    aud: Option<&str>,
) -> reqwest::Response {
    let a = assertion(assertion_key.unwrap_or(&app.key), &app.kid, &app.client_id, aud.unwrap_or(&app.token_url));
    let mut req = common::http().post(&app.token_url).form(&[
        ("grant_type", "client_credentials"),
        ("scope", scope),
        ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
        ("client_assertion", a.as_str()),
    ]);
    if let Some(p) = dpop {
        req = req.header("DPoP", p);
    }
    req.send().await.unwrap()
}

const SCOPES: &str = "okta.users.manage okta.groups.manage okta.apps.read okta.logs.read";

#[tokio::test]
async fn okta_private_key_jwt_with_dpop_nonce_round_trip() {
    let mut sb = start_fast().await;
    let app = okta_app(&mut sb);
    let dpop = SigningKey::generate_ec().unwrap();

    // No DPoP header: refused, as Okta refuses for apps that require it.
    let r = token_call(&app, None, SCOPES, None, None).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_dpop_proof");
    assert_eq!(v["error_description"], "The DPoP proof JWT header is missing.");

    // A proof without the nonce: use_dpop_nonce and a DPoP-Nonce header.
    let r = token_call(&app, Some(proof(&dpop, "POST", &app.token_url, None, None)), SCOPES, None, None).await;
    assert_eq!(r.status(), 400);
    let nonce = r.headers()["dpop-nonce"].to_str().unwrap().to_string();
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "use_dpop_nonce");

    // Retry with the nonce: a DPoP token.
    let r = token_call(&app, Some(proof(&dpop, "POST", &app.token_url, Some(&nonce), None)), SCOPES, None, None).await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "DPoP");
    assert_eq!(t["expires_in"], 3600);
    assert_eq!(t["scope"], SCOPES);
    let access = t["access_token"].as_str().unwrap().to_string();
    let ath = jmlproof::jwt::b64url(&<sha2::Sha256 as sha2::Digest>::digest(access.as_bytes()));

    // API calls: Authorization: DPoP + a fresh proof with ath, htm and htu.
    let url = format!("{}/api/v1/users", sb.endpoints.okta_url);
    let p = proof(&dpop, "GET", &url, None, Some(&ath));
    let r = common::http()
        .get(&url)
        .header("authorization", format!("DPoP {access}"))
        .header("DPoP", &p)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    // The same proof again is a replay.
    let r = common::http()
        .get(&url)
        .header("authorization", format!("DPoP {access}"))
        .header("DPoP", &p)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 401);
    assert!(r.headers()["www-authenticate"].to_str().unwrap().contains("invalid_dpop_proof"));
    // A proof for another URL, a proof by another key, and the token as Bearer: all refused.
    let other = proof(&dpop, "GET", &format!("{}/api/v1/groups", sb.endpoints.okta_url), None, Some(&ath));
    assert_eq!(
        common::http()
            .get(&url)
            .header("authorization", format!("DPoP {access}"))
            .header("DPoP", other)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    let stranger = SigningKey::generate_ec().unwrap();
    let foreign = proof(&stranger, "GET", &url, None, Some(&ath));
    assert_eq!(
        common::http()
            .get(&url)
            .header("authorization", format!("DPoP {access}"))
            .header("DPoP", foreign)
            .send()
            .await
            .unwrap()
            .status(),
        401
    );
    assert_eq!(common::http().get(&url).bearer_auth(&access).send().await.unwrap().status(), 401);

    // A write, and the System Log names the service app as the actor.
    let body = json!({"profile": {"login": "jmlproof-o-01@sandbox.example", "email": "jmlproof-o-01@sandbox.example", "firstName": "O", "lastName": "A"}});
    let p = proof(&dpop, "POST", &url, None, Some(&ath));
    let r = common::http()
        .post(format!("{url}?activate=true"))
        .header("authorization", format!("DPoP {access}"))
        .header("DPoP", p)
        .json(&body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let events = common::Okta::new(&sb).events().await;
    let create = events.iter().find(|e| e["eventType"] == "user.lifecycle.create").unwrap();
    assert_eq!(create["actor"]["type"], "PublicClientApp");
    assert_eq!(create["actor"]["id"], app.client_id.as_str());
}

#[tokio::test]
async fn okta_assertion_and_scope_errors() {
    let mut sb = start_fast().await;
    set_faults(&sb, "[okta]\ndpop = false\n").await;
    let app = okta_app(&mut sb);
    // Signed by a key the app does not have.
    let other = SigningKey::generate_rsa().unwrap();
    let r = token_call(&app, None, SCOPES, Some(&other), None).await;
    assert_eq!(r.status(), 401);
    assert_eq!(r.json::<Value>().await.unwrap()["error"], "invalid_client");
    // Wrong audience.
    let r = token_call(&app, None, SCOPES, None, Some("https://example.okta.com/oauth2/default/v1/token")).await;
    assert_eq!(r.status(), 401);
    // A scope the app was not granted.
    let r = token_call(&app, None, "okta.users.read okta.roles.manage", None, None).await;
    assert_eq!(r.status(), 400);
    let v: Value = r.json().await.unwrap();
    assert_eq!(v["error"], "invalid_scope");
    assert!(v["error_description"].as_str().unwrap().contains("okta.roles.manage"));

    // Without DPoP required: a Bearer token, limited to its scopes.
    let r = token_call(&app, None, "okta.logs.read", None, None).await;
    assert_eq!(r.status(), 200);
    let t: Value = r.json().await.unwrap();
    assert_eq!(t["token_type"], "Bearer");
    let access = t["access_token"].as_str().unwrap();
    let c = common::http();
    assert_eq!(
        c.get(format!("{}/api/v1/logs", sb.endpoints.okta_url)).bearer_auth(access).send().await.unwrap().status(),
        200
    );
    let r = c.get(format!("{}/api/v1/users", sb.endpoints.okta_url)).bearer_auth(access).send().await.unwrap();
    assert_eq!(r.status(), 403);
    assert_eq!(r.json::<Value>().await.unwrap()["errorCode"], "E0000006");
    // Tokens expire with tenant time.
    common::http()
        .post(format!("{}/clock/advance", sb.endpoints.admin_url))
        .body(r#"{"by":"61m"}"#)
        .send()
        .await
        .unwrap();
    assert_eq!(
        c.get(format!("{}/api/v1/logs", sb.endpoints.okta_url)).bearer_auth(access).send().await.unwrap().status(),
        401
    );
}

fn graph_assertion(key: &SigningKey, alg: Alg, thumb: (&str, String), client_id: &str, aud: &str, exp: i64) -> String {
    let mut h = Map::new();
    h.insert("typ".into(), json!("JWT"));
    h.insert(thumb.0.into(), json!(thumb.1));
    key.sign(
        alg,
        h,
        &json!({"aud": aud, "iss": client_id, "sub": client_id, "jti": jti(), "nbf": now(), "iat": now(), "exp": exp}),
    )
    .unwrap()
}

#[tokio::test]
async fn entra_certificate_client_assertion() {
    let mut sb = start_fast().await;
    let e = sb.with_key_material().unwrap().clone();
    let bundle = e.graph_certificate.clone().unwrap();
    let key = SigningKey::from_pem(&bundle).unwrap();
    let cert = jmlproof::jwt::pem_blocks(&bundle).into_iter().find(|(l, _)| l == "CERTIFICATE").unwrap().1;
    let s256 = jmlproof::jwt::b64url(&<sha2::Sha256 as sha2::Digest>::digest(&cert));
    let sha1 = jmlproof::jwt::b64url(aws_lc_rs_sha1(&cert).as_slice());
    let aud = format!("{}/{}/oauth2/v2.0/token", e.login_url, e.tenant_id);
    let call = |assertion: String| {
        let e = e.clone();
        async move {
            let r = common::http()
                .post(format!("{}/{}/oauth2/v2.0/token", e.login_url, e.tenant_id))
                .form(&[
                    ("client_id", e.client_id.as_str()),
                    ("scope", "https://graph.microsoft.com/.default"),
                    ("grant_type", "client_credentials"),
                    ("client_assertion_type", "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"),
                    ("client_assertion", assertion.as_str()),
                ])
                .send()
                .await
                .unwrap();
            (r.status().as_u16(), r.json::<Value>().await.unwrap())
        }
    };
    let (s, v) =
        call(graph_assertion(&key, Alg::Ps256, ("x5t#S256", s256.clone()), &e.client_id, &aud, now() + 600)).await;
    assert_eq!(s, 200, "{v}");
    assert_eq!(v["token_type"], "Bearer");
    let (s, _) = call(graph_assertion(&key, Alg::Rs256, ("x5t", sha1.clone()), &e.client_id, &aud, now() + 600)).await;
    assert_eq!(s, 200);

    let (s, v) =
        call(graph_assertion(&key, Alg::Ps256, ("x5t#S256", "AAAA".into()), &e.client_id, &aud, now() + 600)).await;
    assert_eq!((s, v["error_codes"][0].as_u64()), (401, Some(700027)));
    let other = SigningKey::generate_rsa().unwrap();
    let (s, v) =
        call(graph_assertion(&other, Alg::Ps256, ("x5t#S256", s256.clone()), &e.client_id, &aud, now() + 600)).await;
    assert_eq!((s, v["error_codes"][0].as_u64()), (401, Some(700027)));
    let (s, v) =
        call(graph_assertion(&key, Alg::Ps256, ("x5t#S256", s256.clone()), &e.client_id, &aud, now() - 3600)).await;
    assert_eq!((s, v["error_codes"][0].as_u64()), (401, Some(700024)));
    let (s, v) = call(graph_assertion(
        &key,
        Alg::Ps256,
        ("x5t#S256", s256),
        &e.client_id,
        "https://login.microsoftonline.com/x/oauth2/v2.0/token",
        now() + 600,
    ))
    .await;
    assert_eq!(s, 401, "{v}");
}

fn aws_lc_rs_sha1(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data).as_ref().to_vec()
}
