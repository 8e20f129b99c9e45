//! Server-side SigV4 verification, so the sandbox rejects a request signed with the
//! wrong secret the way AWS does. (The tool itself never signs by hand: its clients
//! use the official SDK.)

use axum::http::HeaderMap;
use hmac::{Hmac, Mac};
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// Why a request was refused, as AWS names it.
#[derive(Debug, Clone, PartialEq)]
pub struct Refusal {
    pub error_type: &'static str,
    pub message: String,
}

fn refuse(error_type: &'static str, message: impl Into<String>) -> Refusal {
    Refusal { error_type, message: message.into() }
}

/// The parts of an `Authorization: AWS4-HMAC-SHA256 …` header.
#[derive(Debug, Clone, PartialEq)]
pub struct Auth {
    pub access_key: String,
    pub date: String,
    pub region: String,
    pub service: String,
    pub signed_headers: Vec<String>,
    pub signature: String,
}

pub fn parse_auth(value: &str) -> Result<Auth, Refusal> {
    let rest = value.strip_prefix("AWS4-HMAC-SHA256 ").ok_or_else(|| {
        refuse("IncompleteSignatureException", "Authorization header requires the AWS4-HMAC-SHA256 algorithm.")
    })?;
    let mut credential = None;
    let mut signed = None;
    let mut signature = None;
    for part in rest.split(',') {
        let part = part.trim();
        if let Some(v) = part.strip_prefix("Credential=") {
            credential = Some(v);
        } else if let Some(v) = part.strip_prefix("SignedHeaders=") {
            signed = Some(v);
        } else if let Some(v) = part.strip_prefix("Signature=") {
            signature = Some(v);
        }
    }
    let (Some(credential), Some(signed), Some(signature)) = (credential, signed, signature) else {
        return Err(refuse(
            "IncompleteSignatureException",
            "Authorization header requires 'Credential', 'SignedHeaders' and 'Signature' parameters.",
        ));
    };
    let scope: Vec<&str> = credential.split('/').collect();
    if scope.len() != 5 || scope[4] != "aws4_request" {
        return Err(refuse(
            "IncompleteSignatureException",
            format!("Credential should be scoped to a valid region and service: {credential}"),
        ));
    }
    Ok(Auth {
        access_key: scope[0].into(),
        date: scope[1].into(),
        region: scope[2].into(),
        service: scope[3].into(),
        signed_headers: signed.split(';').map(str::to_string).collect(),
        signature: signature.into(),
    })
}

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    let mut mac = HmacSha256::new_from_slice(key).expect("HMAC takes keys of any length");
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

/// Header values are trimmed and inner runs of spaces folded; repeated headers join with ','.
fn canonical_headers(headers: &HeaderMap, names: &[String]) -> Result<String, Refusal> {
    let mut out = String::new();
    for name in names {
        let values: Vec<String> = headers
            .get_all(name.as_str())
            .iter()
            .map(|v| String::from_utf8_lossy(v.as_bytes()).split_whitespace().collect::<Vec<_>>().join(" "))
            .collect();
        if values.is_empty() {
            return Err(refuse(
                "IncompleteSignatureException",
                format!("Signed header '{name}' is missing from the request."),
            ));
        }
        out.push_str(&format!("{name}:{}\n", values.join(",")));
    }
    Ok(out)
}

/// Verifies the request; `secret_for` maps an access key id to its secret.
pub fn verify(
    method: &str,
    path: &str,
    query: &str,
    headers: &HeaderMap,
    body: &[u8],
    secret_for: impl Fn(&str) -> Option<String>,
    clocks: &[chrono::DateTime<chrono::Utc>],
) -> Result<Auth, Refusal> {
    let value = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .ok_or_else(|| refuse("MissingAuthenticationTokenException", "Missing Authentication Token"))?;
    let auth = parse_auth(value)?;
    let secret = secret_for(&auth.access_key).ok_or_else(|| {
        refuse("UnrecognizedClientException", "The security token included in the request is invalid.")
    })?;
    let amz_date = headers.get("x-amz-date").and_then(|v| v.to_str().ok()).ok_or_else(|| {
        refuse(
            "IncompleteSignatureException",
            "Authorization header requires existence of either a 'X-Amz-Date' or a 'Date' header.",
        )
    })?;
    if !amz_date.starts_with(&auth.date) {
        return Err(refuse(
            "InvalidSignatureException",
            format!(
                "Date in Credential scope does not match YYYYMMDD from ISO-8601 version of date from HTTP: '{}' != '{}'",
                auth.date,
                &amz_date[..amz_date.len().min(8)]
            ),
        ));
    }
    // AWS refuses signatures more than 5 minutes from its own clock. The sandbox has
    // two that a client may follow: the real clock (what an SDK signs with at first)
    // and the tenant clock its Date headers show (what the SDK's skew correction adopts).
    let signed_at = chrono::NaiveDateTime::parse_from_str(amz_date, "%Y%m%dT%H%M%SZ").map_err(|_| {
        refuse(
            "IncompleteSignatureException",
            format!("X-Amz-Date must be in ISO 8601 basic format, got '{amz_date}'."),
        )
    })?;
    if !clocks.iter().any(|now| (*now - signed_at.and_utc()).num_seconds().abs() <= 300) {
        return Err(refuse(
            "InvalidSignatureException",
            format!("Signature expired: {amz_date} is now earlier than the allowed window (5 min)."),
        ));
    }
    let mut names = auth.signed_headers.clone();
    names.sort();
    if !names.iter().any(|n| n == "host") {
        return Err(refuse("InvalidSignatureException", "'Host' must be a signed header."));
    }
    // The body is always hashed: a declared x-amz-content-sha256 must match it.
    let payload_hash = hex::encode(Sha256::digest(body));
    if headers
        .get("x-amz-content-sha256")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|declared| declared != payload_hash)
    {
        return Err(refuse(
            "InvalidSignatureException",
            "The provided 'x-amz-content-sha256' header does not match what was computed.",
        ));
    }
    let canonical = format!(
        "{method}\n{path}\n{query}\n{}\n{}\n{payload_hash}",
        canonical_headers(headers, &names)?,
        names.join(";")
    );
    let scope = format!("{}/{}/{}/aws4_request", auth.date, auth.region, auth.service);
    let to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let k = hmac(format!("AWS4{secret}").as_bytes(), auth.date.as_bytes());
    let k = hmac(&k, auth.region.as_bytes());
    let k = hmac(&k, auth.service.as_bytes());
    let k = hmac(&k, b"aws4_request");
    let expected = hex::encode(hmac(&k, to_sign.as_bytes()));
    if expected != auth.signature {
        return Err(refuse(
            "InvalidSignatureException",
            "The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.",
        ));
    }
    Ok(auth)
}

/// Signs a `POST /` awsJson request the way the SDK does. Only for tests that must
/// send what the SDK will not (a botocore-style target, a malformed body); the tool's
/// own AWS calls go through the official SDK.
#[doc(hidden)]
pub fn sign_for_tests(
    headers: &mut HeaderMap,
    body: &[u8],
    access_key: &str,
    secret: &str,
    region: &str,
    service: &str,
    now: chrono::DateTime<chrono::Utc>,
) {
    let amz_date = now.format("%Y%m%dT%H%M%SZ").to_string();
    let date = &amz_date[..8];
    headers.insert("x-amz-date", amz_date.parse().expect("ascii"));
    let mut names: Vec<String> =
        headers.keys().map(|k| k.as_str().to_string()).filter(|k| k != "authorization").collect();
    names.sort();
    names.dedup();
    let canonical = format!(
        "POST\n/\n\n{}\n{}\n{}",
        canonical_headers(headers, &names).unwrap_or_default(),
        names.join(";"),
        hex::encode(Sha256::digest(body))
    );
    let scope = format!("{date}/{region}/{service}/aws4_request");
    let to_sign =
        format!("AWS4-HMAC-SHA256\n{amz_date}\n{scope}\n{}", hex::encode(Sha256::digest(canonical.as_bytes())));
    let k = hmac(format!("AWS4{secret}").as_bytes(), date.as_bytes());
    let k = hmac(&k, region.as_bytes());
    let k = hmac(&k, service.as_bytes());
    let k = hmac(&k, b"aws4_request");
    let sig = hex::encode(hmac(&k, to_sign.as_bytes()));
    let auth =
        format!("AWS4-HMAC-SHA256 Credential={access_key}/{scope}, SignedHeaders={}, Signature={sig}", names.join(";"));
    headers.insert("authorization", auth.parse().expect("ascii"));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_then_verify_round_trips() {
        let mut h = HeaderMap::new();
        h.insert("host", "127.0.0.1:9".parse().unwrap());
        h.insert("x-amz-target", "AWSIdentityStore.ListUsers".parse().unwrap());
        let now = chrono::Utc::now();
        sign_for_tests(&mut h, b"{}", "AK", "SK", "us-east-1", "identitystore", now);
        let auth = verify("POST", "/", "", &h, b"{}", |_| Some("SK".into()), &[now]).unwrap();
        assert_eq!(auth.service, "identitystore");
        assert!(verify("POST", "/", "", &h, b"{ }", |_| Some("SK".into()), &[now]).is_err(), "the body is signed");
        // A declared payload hash that does not match the body is refused.
        h.insert("x-amz-content-sha256", "00".parse().unwrap());
        assert!(
            verify("POST", "/", "", &h, b"{}", |_| Some("SK".into()), &[now])
                .unwrap_err()
                .message
                .contains("x-amz-content-sha256")
        );
    }

    /// The worked example from AWS's SigV4 documentation (IAM ListUsers, GET).
    #[test]
    fn aws_documented_example_verifies() {
        let mut h = HeaderMap::new();
        h.insert("host", "iam.amazonaws.com".parse().unwrap());
        h.insert("content-type", "application/x-www-form-urlencoded; charset=utf-8".parse().unwrap());
        h.insert("x-amz-date", "20150830T123600Z".parse().unwrap());
        h.insert(
            "authorization",
            "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/iam/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=5d672d79c15b13162d9279b0855cfba6789a8edb4c82c400e06b5924a6f2b5d7"
                .parse()
                .unwrap(),
        );
        let now = chrono::DateTime::parse_from_rfc3339("2015-08-30T12:36:00Z").unwrap().to_utc();
        let secret = |k: &str| (k == "AKIDEXAMPLE").then(|| "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY".to_string());
        verify("GET", "/", "Action=ListUsers&Version=2010-05-08", &h, b"", secret, &[now]).unwrap();
        let wrong = |_: &str| Some("not-the-secret".to_string());
        assert_eq!(
            verify("GET", "/", "Action=ListUsers&Version=2010-05-08", &h, b"", wrong, &[now]).unwrap_err().error_type,
            "InvalidSignatureException"
        );
        let unknown = |_: &str| None;
        assert_eq!(
            verify("GET", "/", "Action=ListUsers&Version=2010-05-08", &h, b"", unknown, &[now]).unwrap_err().error_type,
            "UnrecognizedClientException"
        );
        let later = now + chrono::Duration::minutes(20);
        assert!(
            verify("GET", "/", "Action=ListUsers&Version=2010-05-08", &h, b"", secret, &[later])
                .unwrap_err()
                .message
                .contains("expired")
        );
    }
}
