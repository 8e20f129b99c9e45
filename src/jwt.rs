//! Compact JWS (JWT) signing and verification for the three token flows that need
//! them: Okta's `private_key_jwt` client assertion, Okta's DPoP proofs, and Entra's
//! certificate client assertion. RS256, PS256 and ES256 over aws-lc-rs (the crypto
//! library rustls already brings in), PEM keys, JWKs and RFC 7638 thumbprints.

use std::fmt;

use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{self, EcdsaKeyPair, KeyPair, RsaKeyPair, RsaPublicKeyComponents, UnparsedPublicKey};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum JwtError {
    #[error("not a PEM private key ({0})")]
    Pem(String),
    #[error("the private key was rejected: {0}")]
    Key(String),
    #[error("malformed JWT: {0}")]
    Malformed(String),
    #[error("algorithm {0} does not fit this key")]
    Algorithm(String),
    #[error("signature does not verify")]
    Signature,
    #[error("signing failed")]
    Sign,
}

/// The JWS algorithms the three flows use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Alg {
    Rs256,
    Ps256,
    Es256,
}

impl Alg {
    pub fn as_str(self) -> &'static str {
        match self {
            Alg::Rs256 => "RS256",
            Alg::Ps256 => "PS256",
            Alg::Es256 => "ES256",
        }
    }

    pub fn parse(s: &str) -> Option<Alg> {
        match s {
            "RS256" => Some(Alg::Rs256),
            "PS256" => Some(Alg::Ps256),
            "ES256" => Some(Alg::Es256),
            _ => None,
        }
    }
}

pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

pub fn b64url_decode(s: &str) -> Result<Vec<u8>, JwtError> {
    URL_SAFE_NO_PAD.decode(s.trim_end_matches('=')).map_err(|_| JwtError::Malformed("bad base64url".into()))
}

/// Every `-----BEGIN X-----` block of a PEM text, as (label, DER).
pub fn pem_blocks(text: &str) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut label: Option<String> = None;
    let mut body = String::new();
    for line in text.lines().map(str::trim) {
        if let Some(l) = line.strip_prefix("-----BEGIN ").and_then(|l| l.strip_suffix("-----")) {
            label = Some(l.to_string());
            body.clear();
        } else if let Some(l) = line.strip_prefix("-----END ").and_then(|l| l.strip_suffix("-----")) {
            if label.as_deref() == Some(l)
                && let Ok(der) = base64::engine::general_purpose::STANDARD.decode(&body)
            {
                out.push((l.to_string(), der));
            }
            label = None;
        } else if label.is_some() && !line.contains(':') {
            body.push_str(line);
        }
    }
    out
}

pub fn pem_encode(label: &str, der: &[u8]) -> String {
    let b64 = base64::engine::general_purpose::STANDARD.encode(der);
    let mut out = format!("-----BEGIN {label}-----\n");
    for chunk in b64.as_bytes().chunks(64) {
        out.push_str(&String::from_utf8_lossy(chunk));
        out.push('\n');
    }
    out.push_str(&format!("-----END {label}-----\n"));
    out
}

enum Inner {
    Rsa(RsaKeyPair),
    Ec(EcdsaKeyPair),
}

/// A private key that signs JWTs. Its Debug never shows key material.
pub struct SigningKey {
    inner: Inner,
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.inner {
            Inner::Rsa(_) => "RSA",
            Inner::Ec(_) => "EC P-256",
        };
        write!(f, "SigningKey({kind}, [redacted])")
    }
}

impl SigningKey {
    /// Reads the first private key of a PEM text: PKCS#8 (`PRIVATE KEY`, RSA or EC
    /// P-256), PKCS#1 (`RSA PRIVATE KEY`) or SEC1 (`EC PRIVATE KEY`). Other blocks
    /// (a certificate in a bundle) are skipped.
    pub fn from_pem(text: &str) -> Result<SigningKey, JwtError> {
        for (label, der) in pem_blocks(text) {
            let inner = match label.as_str() {
                "PRIVATE KEY" => match RsaKeyPair::from_pkcs8(&der) {
                    Ok(k) => Inner::Rsa(k),
                    Err(_) => Inner::Ec(
                        EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                            .map_err(|e| JwtError::Key(e.to_string()))?,
                    ),
                },
                "RSA PRIVATE KEY" => Inner::Rsa(RsaKeyPair::from_der(&der).map_err(|e| JwtError::Key(e.to_string()))?),
                "EC PRIVATE KEY" => Inner::Ec(
                    EcdsaKeyPair::from_private_key_der(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der)
                        .map_err(|e| JwtError::Key(e.to_string()))?,
                ),
                "ENCRYPTED PRIVATE KEY" => {
                    return Err(JwtError::Pem("the key is encrypted; give an unencrypted PKCS#8 key".into()));
                }
                _ => continue,
            };
            return Ok(SigningKey { inner });
        }
        Err(JwtError::Pem("no PRIVATE KEY, RSA PRIVATE KEY or EC PRIVATE KEY block".into()))
    }

    pub fn generate_rsa() -> Result<SigningKey, JwtError> {
        Ok(SigningKey { inner: Inner::Rsa(RsaKeyPair::generate(KeySize::Rsa2048).map_err(|_| JwtError::Sign)?) })
    }

    pub fn generate_ec() -> Result<SigningKey, JwtError> {
        let rng = SystemRandom::new();
        let doc = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
            .map_err(|_| JwtError::Sign)?;
        let key = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, doc.as_ref())
            .map_err(|e| JwtError::Key(e.to_string()))?;
        Ok(SigningKey { inner: Inner::Ec(key) })
    }

    /// PKCS#8 PEM of the private key (for handing out sandbox credentials).
    pub fn to_pkcs8_pem(&self) -> Result<String, JwtError> {
        let der = match &self.inner {
            Inner::Rsa(k) => k.as_der().map_err(|_| JwtError::Sign)?.as_ref().to_vec(),
            Inner::Ec(k) => k.to_pkcs8v1().map_err(|_| JwtError::Sign)?.as_ref().to_vec(),
        };
        Ok(pem_encode("PRIVATE KEY", &der))
    }

    /// SubjectPublicKeyInfo DER of the public key.
    pub fn public_spki_der(&self) -> Result<Vec<u8>, JwtError> {
        match &self.inner {
            Inner::Rsa(k) => Ok(k.public_key().as_der().map_err(|_| JwtError::Sign)?.as_ref().to_vec()),
            Inner::Ec(k) => Ok(k.public_key().as_der().map_err(|_| JwtError::Sign)?.as_ref().to_vec()),
        }
    }

    /// The public key as a JWK (RSA `n`/`e`, or EC P-256 `x`/`y`).
    pub fn public_jwk(&self) -> Value {
        match &self.inner {
            Inner::Rsa(k) => {
                let p = k.public_key();
                json!({"kty": "RSA", "e": b64url(p.exponent().big_endian_without_leading_zero()), "n": b64url(p.modulus().big_endian_without_leading_zero())})
            }
            Inner::Ec(k) => {
                let point = k.public_key().as_ref();
                // Uncompressed point: 0x04 || x (32 bytes) || y (32 bytes).
                let (x, y) = point.get(1..).map(|p| p.split_at(32)).unwrap_or((&[], &[]));
                json!({"kty": "EC", "crv": "P-256", "x": b64url(x), "y": b64url(y)})
            }
        }
    }

    /// The algorithm this key signs with by default.
    pub fn default_alg(&self) -> Alg {
        match self.inner {
            Inner::Rsa(_) => Alg::Rs256,
            Inner::Ec(_) => Alg::Es256,
        }
    }

    /// Raw signature over `input` (for signing X.509 certificates in the sandbox).
    pub fn sign_bytes(&self, alg: Alg, input: &[u8]) -> Result<Vec<u8>, JwtError> {
        let rng = SystemRandom::new();
        match (&self.inner, alg) {
            (Inner::Rsa(k), Alg::Rs256 | Alg::Ps256) => {
                let enc: &'static dyn signature::RsaEncoding =
                    if alg == Alg::Rs256 { &signature::RSA_PKCS1_SHA256 } else { &signature::RSA_PSS_SHA256 };
                let mut sig = vec![0; k.public_modulus_len()];
                k.sign(enc, &rng, input, &mut sig).map_err(|_| JwtError::Sign)?;
                Ok(sig)
            }
            (Inner::Ec(k), Alg::Es256) => Ok(k.sign(&rng, input).map_err(|_| JwtError::Sign)?.as_ref().to_vec()),
            (_, alg) => Err(JwtError::Algorithm(alg.as_str().into())),
        }
    }

    /// Signs `claims` with `header` (whose `alg` is set here).
    pub fn sign(&self, alg: Alg, mut header: Map<String, Value>, claims: &Value) -> Result<String, JwtError> {
        header.insert("alg".into(), json!(alg.as_str()));
        let input = format!(
            "{}.{}",
            b64url(Value::Object(header).to_string().as_bytes()),
            b64url(claims.to_string().as_bytes())
        );
        let sig = self.sign_bytes(alg, input.as_bytes())?;
        Ok(format!("{input}.{}", b64url(&sig)))
    }
}

/// A decoded (not yet verified) compact JWS.
#[derive(Debug, Clone)]
pub struct Jwt {
    pub header: Value,
    pub claims: Value,
    signing_input: String,
    signature: Vec<u8>,
}

pub fn decode(token: &str) -> Result<Jwt, JwtError> {
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(JwtError::Malformed("expected three dot-separated parts".into()));
    };
    let header: Value =
        serde_json::from_slice(&b64url_decode(h)?).map_err(|_| JwtError::Malformed("header is not JSON".into()))?;
    let claims: Value =
        serde_json::from_slice(&b64url_decode(c)?).map_err(|_| JwtError::Malformed("claims are not JSON".into()))?;
    if !header.is_object() || !claims.is_object() {
        return Err(JwtError::Malformed("header and claims must be JSON objects".into()));
    }
    Ok(Jwt { header, claims, signing_input: format!("{h}.{c}"), signature: b64url_decode(s)? })
}

impl Jwt {
    pub fn alg(&self) -> Option<Alg> {
        self.header.get("alg").and_then(Value::as_str).and_then(Alg::parse)
    }

    /// Verifies the signature with a public JWK, using the header's `alg`, which must fit the key type.
    pub fn verify(&self, jwk: &Value) -> Result<(), JwtError> {
        let alg = self
            .alg()
            .ok_or_else(|| JwtError::Algorithm(self.header.get("alg").map(Value::to_string).unwrap_or_default()))?;
        let field = |k: &str| jwk.get(k).and_then(Value::as_str).ok_or(JwtError::Signature).and_then(b64url_decode);
        let msg = self.signing_input.as_bytes();
        match (jwk.get("kty").and_then(Value::as_str), alg) {
            (Some("RSA"), Alg::Rs256 | Alg::Ps256) => {
                let (n, e) = (field("n")?, field("e")?);
                let params = if alg == Alg::Rs256 {
                    &signature::RSA_PKCS1_2048_8192_SHA256
                } else {
                    &signature::RSA_PSS_2048_8192_SHA256
                };
                RsaPublicKeyComponents { n: &n, e: &e }
                    .verify(params, msg, &self.signature)
                    .map_err(|_| JwtError::Signature)
            }
            (Some("EC"), Alg::Es256) => {
                let mut point = vec![4u8];
                point.extend(field("x")?);
                point.extend(field("y")?);
                UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, &point)
                    .verify(msg, &self.signature)
                    .map_err(|_| JwtError::Signature)
            }
            (_, alg) => Err(JwtError::Algorithm(alg.as_str().into())),
        }
    }
}

/// RFC 7638 JWK thumbprint (SHA-256, base64url): the required members in lexicographic order.
pub fn thumbprint(jwk: &Value) -> Result<String, JwtError> {
    let get = |k: &str| jwk.get(k).and_then(Value::as_str).ok_or_else(|| JwtError::Malformed(format!("JWK lacks {k}")));
    let canonical = match get("kty")? {
        "RSA" => format!(r#"{{"e":"{}","kty":"RSA","n":"{}"}}"#, get("e")?, get("n")?),
        "EC" => format!(r#"{{"crv":"{}","kty":"EC","x":"{}","y":"{}"}}"#, get("crv")?, get("x")?, get("y")?),
        other => return Err(JwtError::Malformed(format!("unsupported kty {other}"))),
    };
    Ok(b64url(&Sha256::digest(canonical.as_bytes())))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sign_and_verify_each_algorithm() {
        let rsa = SigningKey::generate_rsa().unwrap();
        let ec = SigningKey::generate_ec().unwrap();
        let claims = json!({"iss": "x", "n": 1});
        for (key, alg) in [(&rsa, Alg::Rs256), (&rsa, Alg::Ps256), (&ec, Alg::Es256)] {
            let t = key.sign(alg, Map::new(), &claims).unwrap();
            let jwt = decode(&t).unwrap();
            assert_eq!(jwt.claims, claims);
            jwt.verify(&key.public_jwk()).unwrap();
            // Tampered claims fail.
            let mut parts: Vec<&str> = t.split('.').collect();
            let forged = b64url(br#"{"iss":"y","n":1}"#);
            parts[1] = &forged;
            assert_eq!(decode(&parts.join(".")).unwrap().verify(&key.public_jwk()), Err(JwtError::Signature));
        }
        // A key of the wrong type refuses.
        let t = ec.sign(Alg::Es256, Map::new(), &claims).unwrap();
        assert!(decode(&t).unwrap().verify(&rsa.public_jwk()).is_err());
        assert!(rsa.sign(Alg::Es256, Map::new(), &claims).is_err());
    }

    #[test]
    fn pem_round_trip_and_errors() {
        let rsa = SigningKey::generate_rsa().unwrap();
        let pem = rsa.to_pkcs8_pem().unwrap();
        let again =
            SigningKey::from_pem(&format!("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n{pem}"))
                .unwrap();
        assert_eq!(again.public_jwk(), rsa.public_jwk());
        assert!(format!("{again:?}").contains("redacted"));
        let ec = SigningKey::generate_ec().unwrap();
        assert_eq!(SigningKey::from_pem(&ec.to_pkcs8_pem().unwrap()).unwrap().public_jwk(), ec.public_jwk());
        assert!(matches!(SigningKey::from_pem("nothing"), Err(JwtError::Pem(_))));
        assert!(matches!(
            SigningKey::from_pem("-----BEGIN ENCRYPTED PRIVATE KEY-----\nAAAA\n-----END ENCRYPTED PRIVATE KEY-----"),
            Err(JwtError::Pem(_))
        ));
        assert!(decode("a.b").is_err());
    }

    /// RFC 7638 §3.1 example.
    #[test]
    fn thumbprint_matches_the_rfc() {
        let jwk = json!({"kty": "RSA", "e": "AQAB", "alg": "RS256", "kid": "2011-04-29",
            "n": "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_BJECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_FDW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"});
        assert_eq!(thumbprint(&jwk).unwrap(), "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs");
    }
}
