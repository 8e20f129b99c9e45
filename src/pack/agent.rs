//! A minimal ssh-agent client (draft-miller-ssh-agent): list identities and sign.
//! Enough to sign SHA256SUMS with a key that never leaves the agent.

use std::io::{Read, Write};
#[cfg(unix)]
use std::os::unix::net::UnixStream;
use std::path::PathBuf;
use std::time::Duration;

use ssh_key::{PublicKey, Signature};

use super::PackError;

const REQUEST_IDENTITIES: u8 = 11;
const IDENTITIES_ANSWER: u8 = 12;
const SIGN_REQUEST: u8 = 13;
const SIGN_RESPONSE: u8 = 14;
/// Agents answer in kilobytes; anything far larger is not an agent.
const MAX_MESSAGE: usize = 256 * 1024;

pub struct Agent {
    socket: PathBuf,
}

fn err(msg: impl std::fmt::Display) -> PackError {
    PackError::Key(format!("ssh-agent: {msg}"))
}

fn put_string(buf: &mut Vec<u8>, s: &[u8]) {
    buf.extend_from_slice(&(s.len() as u32).to_be_bytes());
    buf.extend_from_slice(s);
}

/// Reads length-prefixed fields from an agent message.
struct Reader<'a>(&'a [u8]);

impl<'a> Reader<'a> {
    fn u32(&mut self) -> Result<u32, PackError> {
        let (head, rest) = self.0.split_at_checked(4).ok_or_else(|| err("short message"))?;
        self.0 = rest;
        Ok(u32::from_be_bytes(head.try_into().map_err(|_| err("short message"))?))
    }
    fn string(&mut self) -> Result<&'a [u8], PackError> {
        let n = self.u32()? as usize;
        let (head, rest) = self.0.split_at_checked(n).ok_or_else(|| err("short message"))?;
        self.0 = rest;
        Ok(head)
    }
}

impl Agent {
    pub fn from_env() -> Result<Agent, PackError> {
        match std::env::var_os("SSH_AUTH_SOCK") {
            Some(s) if !s.is_empty() => Ok(Agent { socket: PathBuf::from(s) }),
            _ => Err(err("SSH_AUTH_SOCK is not set")),
        }
    }

    #[cfg(unix)]
    fn call(&self, request: &[u8]) -> Result<Vec<u8>, PackError> {
        let mut s = UnixStream::connect(&self.socket).map_err(|e| err(format!("{}: {e}", self.socket.display())))?;
        let _ = s.set_read_timeout(Some(Duration::from_secs(30)));
        let mut msg = (request.len() as u32).to_be_bytes().to_vec();
        msg.extend_from_slice(request);
        s.write_all(&msg).map_err(err)?;
        let mut len = [0u8; 4];
        s.read_exact(&mut len).map_err(err)?;
        let len = u32::from_be_bytes(len) as usize;
        if len == 0 || len > MAX_MESSAGE {
            return Err(err(format!("an answer of {len} bytes")));
        }
        let mut body = vec![0u8; len];
        s.read_exact(&mut body).map_err(err)?;
        Ok(body)
    }

    #[cfg(not(unix))]
    fn call(&self, _: &[u8]) -> Result<Vec<u8>, PackError> {
        Err(err("only Unix sockets are supported"))
    }

    pub fn identities(&self) -> Result<Vec<PublicKey>, PackError> {
        let answer = self.call(&[REQUEST_IDENTITIES])?;
        let (kind, rest) = answer.split_first().ok_or_else(|| err("empty answer"))?;
        if *kind != IDENTITIES_ANSWER {
            return Err(err(format!("refused to list keys (message {kind})")));
        }
        let mut r = Reader(rest);
        let n = r.u32()?;
        let mut keys = Vec::new();
        for _ in 0..n {
            let blob = r.string()?;
            let comment = r.string()?;
            // Keys of types this build does not know (e.g. certificates) are skipped.
            if let Ok(mut k) = PublicKey::from_bytes(blob) {
                k.set_comment(String::from_utf8_lossy(comment));
                keys.push(k);
            }
        }
        Ok(keys)
    }

    pub fn sign(&self, key: &PublicKey, data: &[u8]) -> Result<Signature, PackError> {
        let blob = key.to_bytes().map_err(err)?;
        let mut req = vec![SIGN_REQUEST];
        put_string(&mut req, &blob);
        put_string(&mut req, data);
        req.extend_from_slice(&0u32.to_be_bytes());
        let answer = self.call(&req)?;
        let (kind, rest) = answer.split_first().ok_or_else(|| err("empty answer"))?;
        if *kind != SIGN_RESPONSE {
            return Err(err(format!("refused to sign (message {kind})")));
        }
        let sig = Reader(rest).string()?;
        let mut r = Reader(sig);
        let algorithm = r.string()?;
        let bytes = r.string()?;
        let algorithm = ssh_key::Algorithm::new(std::str::from_utf8(algorithm).map_err(err)?).map_err(err)?;
        Signature::new(algorithm, bytes.to_vec()).map_err(err)
    }
}
