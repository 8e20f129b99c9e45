//! Key material the sandbox hands out: the Okta service app's private key (for
//! `private_key_jwt`) and the Entra app's certificate with its key (for certificate
//! client assertions). Generated on first use, since RSA key generation costs a
//! noticeable fraction of a second and most tests never need it.

use sha2::{Digest, Sha256};

use crate::jwt::{Alg, SigningKey, b64url, pem_encode};

pub struct Keys {
    /// Private key registered (as a public JWK) with the Okta service app.
    pub okta_app: SigningKey,
    pub okta_key_id: String,
    /// Private key of the Entra app's certificate.
    pub graph: SigningKey,
    /// That certificate, DER.
    pub graph_cert: Vec<u8>,
}

impl Keys {
    pub fn generate() -> Result<Keys, crate::jwt::JwtError> {
        let okta_app = SigningKey::generate_rsa()?;
        let graph = SigningKey::generate_rsa()?;
        let graph_cert = self_signed(&graph, "jmlproof sandbox app")?;
        Ok(Keys { okta_app, okta_key_id: "sbx-key-1".into(), graph, graph_cert })
    }

    /// base64url SHA-256 of the certificate DER (`x5t#S256`).
    pub fn x5t_s256(&self) -> String {
        b64url(&Sha256::digest(&self.graph_cert))
    }

    /// base64url SHA-1 of the certificate DER (`x5t`, the older form Entra still accepts).
    pub fn x5t(&self) -> String {
        b64url(&sha1(&self.graph_cert))
    }

    /// The PEM bundle a config's `[entra] certificate` points at: key, then certificate.
    pub fn graph_bundle_pem(&self) -> Result<String, crate::jwt::JwtError> {
        Ok(format!("{}{}", self.graph.to_pkcs8_pem()?, pem_encode("CERTIFICATE", &self.graph_cert)))
    }
}

/// SHA-1, only for the legacy `x5t` thumbprint (a fingerprint, not a security boundary).
fn sha1(data: &[u8]) -> [u8; 20] {
    let digest = aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data);
    let mut out = [0u8; 20];
    out.copy_from_slice(digest.as_ref());
    out
}

fn der(tag: u8, content: &[u8]) -> Vec<u8> {
    let mut out = vec![tag];
    let len = content.len();
    if len < 0x80 {
        out.push(len as u8);
    } else {
        let bytes: Vec<u8> = len.to_be_bytes().iter().copied().skip_while(|b| *b == 0).collect();
        out.push(0x80 | bytes.len() as u8);
        out.extend(bytes);
    }
    out.extend_from_slice(content);
    out
}

fn seq(parts: &[Vec<u8>]) -> Vec<u8> {
    der(0x30, &parts.concat())
}

fn name(cn: &str) -> Vec<u8> {
    // Name ::= SEQUENCE { SET { SEQUENCE { OID 2.5.4.3 (commonName), UTF8String } } }
    let atv = seq(&[der(0x06, &[0x55, 0x04, 0x03]), der(0x0c, cn.as_bytes())]);
    seq(&[der(0x31, &atv)])
}

/// A minimal self-signed X.509 v3 certificate (sha256WithRSAEncryption), valid for
/// ten years from 2026-01-01. Only its DER bytes matter to Entra's client assertion:
/// the thumbprint names it and its key verifies the signature.
pub fn self_signed(key: &SigningKey, cn: &str) -> Result<Vec<u8>, crate::jwt::JwtError> {
    let sha256_rsa = seq(&[der(0x06, &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x0b]), der(0x05, &[])]);
    let validity = seq(&[der(0x17, b"260101000000Z"), der(0x17, b"360101000000Z")]);
    let tbs = seq(&[
        der(0xa0, &der(0x02, &[0x02])),
        der(0x02, &[0x01, 0x5e, 0xed, 0x5a, 0x4d, 0x0b, 0x01]),
        sha256_rsa.clone(),
        name(cn),
        validity,
        name(cn),
        key.public_spki_der()?,
    ]);
    let sig = key.sign_bytes(Alg::Rs256, &tbs)?;
    let mut bits = vec![0u8];
    bits.extend(sig);
    Ok(seq(&[tbs, sha256_rsa, der(0x03, &bits)]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn der_lengths() {
        assert_eq!(der(0x04, &[0; 3]), vec![0x04, 3, 0, 0, 0]);
        assert_eq!(&der(0x04, &[0; 200])[..3], &[0x04, 0x81, 200]);
        assert_eq!(&der(0x04, &[0; 300])[..4], &[0x04, 0x82, 0x01, 0x2c]);
    }

    #[test]
    fn certificate_bundle_round_trips() {
        let keys = Keys::generate().unwrap();
        assert_eq!(keys.graph_cert[0], 0x30);
        assert_eq!(keys.x5t().len(), 27);
        assert_eq!(keys.x5t_s256().len(), 43);
        let pem = keys.graph_bundle_pem().unwrap();
        assert_eq!(SigningKey::from_pem(&pem).unwrap().public_jwk(), keys.graph.public_jwk());
        assert!(pem.contains("BEGIN CERTIFICATE"));
    }
}
