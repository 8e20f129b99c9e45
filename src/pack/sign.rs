//! Who signs SHA256SUMS: an OpenSSH Ed25519 private key (from a secret reference,
//! passphrase-protected keys included) or a key held by ssh-agent. The signature is
//! SSHSIG with namespace `jmlproof`, which stock `ssh-keygen -Y verify` checks.

use ssh_key::{Algorithm, HashAlg, LineEnding, PrivateKey, PublicKey, SshSig};

use super::PackError;
use super::agent::Agent;
use crate::secret::SecretRef;

pub const NAMESPACE: &str = "jmlproof";

pub enum Signer {
    Key(Box<PrivateKey>),
    Agent { agent: Agent, public: PublicKey },
}

impl std::fmt::Debug for Signer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the key material: only which public key signs.
        write!(f, "Signer({})", self.fingerprint())
    }
}

fn ed25519_only(algorithm: Algorithm, what: &str) -> Result<(), PackError> {
    if algorithm == Algorithm::Ed25519 {
        Ok(())
    } else {
        Err(PackError::Key(format!("{what}: a {} key; packs are signed with Ed25519 keys only", algorithm.as_str())))
    }
}

impl Signer {
    /// Reads the key a reference points to. A public key (`ssh-ed25519 AAAA…`)
    /// means "the agent holds its private half", as git's `user.signingKey` does.
    pub fn from_ref(key: &SecretRef, passphrase: Option<&SecretRef>) -> Result<Signer, PackError> {
        let what = format!("signing key {key}");
        let text = key.resolve().map_err(|e| PackError::Key(format!("{what}: {e}")))?;
        let text = text.expose().trim();
        if text.starts_with("ssh-") {
            let public = PublicKey::from_openssh(text).map_err(|e| PackError::Key(format!("{what}: {e}")))?;
            ed25519_only(public.algorithm(), &what)?;
            let agent = Agent::from_env()?;
            if !agent.identities()?.iter().any(|k| k.key_data() == public.key_data()) {
                return Err(PackError::Key(format!("{what}: ssh-agent does not hold this key")));
            }
            return Ok(Signer::Agent { agent, public });
        }
        let mut private = PrivateKey::from_openssh(text)
            .map_err(|e| PackError::Key(format!("{what}: not an OpenSSH private key ({e})")))?;
        if private.is_encrypted() {
            let Some(p) = passphrase else {
                return Err(PackError::Key(format!(
                    "{what}: the key is passphrase-protected; give --signing-passphrase or [evidence] signing_passphrase"
                )));
            };
            let pass = p.resolve().map_err(|e| PackError::Key(format!("signing passphrase {p}: {e}")))?;
            private = private
                .decrypt(pass.expose().as_bytes())
                .map_err(|_| PackError::Key(format!("{what}: the passphrase does not decrypt it")))?;
        }
        ed25519_only(private.algorithm(), &what)?;
        Ok(Signer::Key(Box::new(private)))
    }

    /// The first Ed25519 key of the running ssh-agent, if there is an agent with one.
    pub fn from_agent() -> Result<Option<Signer>, PackError> {
        if std::env::var_os("SSH_AUTH_SOCK").is_none_or(|s| s.is_empty()) {
            return Ok(None);
        }
        let agent = Agent::from_env()?;
        let found = agent.identities()?.into_iter().find(|k| k.algorithm() == Algorithm::Ed25519);
        Ok(found.map(|public| Signer::Agent { agent, public }))
    }

    pub fn public_key(&self) -> PublicKey {
        match self {
            Signer::Key(k) => k.public_key().clone(),
            Signer::Agent { public, .. } => public.clone(),
        }
    }

    /// `SHA256:…`, as `ssh-keygen -l` shows it.
    pub fn fingerprint(&self) -> String {
        self.public_key().fingerprint(HashAlg::Sha256).to_string()
    }

    /// The key's comment, a natural default principal.
    pub fn comment(&self) -> String {
        self.public_key().comment().to_string()
    }

    /// An armoured SSHSIG over `msg` (`-----BEGIN SSH SIGNATURE-----`).
    pub fn sign(&self, msg: &[u8]) -> Result<String, PackError> {
        let sig = match self {
            Signer::Key(k) => k.sign(NAMESPACE, HashAlg::Sha512, msg).map_err(|e| PackError::Sign(e.to_string()))?,
            Signer::Agent { agent, public } => {
                let data =
                    SshSig::signed_data(NAMESPACE, HashAlg::Sha512, msg).map_err(|e| PackError::Sign(e.to_string()))?;
                let signature = agent.sign(public, &data)?;
                SshSig::new(public.key_data().clone(), NAMESPACE, HashAlg::Sha512, signature)
                    .map_err(|e| PackError::Sign(e.to_string()))?
            }
        };
        // Checked before it is written: a signature that does not verify is never shipped.
        self.public_key()
            .verify(NAMESPACE, msg, &sig)
            .map_err(|e| PackError::Sign(format!("the new signature does not verify ({e})")))?;
        sig.to_pem(LineEnding::LF).map_err(|e| PackError::Sign(e.to_string()))
    }

    /// The allowed_signers line for this key: `principal namespaces="jmlproof" ssh-ed25519 AAAA…`.
    pub fn allowed_signers_line(&self, principal: &str) -> Result<String, PackError> {
        let mut public = self.public_key();
        public.set_comment("");
        let key = public.to_openssh().map_err(|e| PackError::Sign(e.to_string()))?;
        Ok(format!("{principal} namespaces=\"{NAMESPACE}\" {}\n", key.trim()))
    }
}

/// `jmlproof keygen`: a new Ed25519 key, written 0600 (private) and .pub, never
/// over an existing file.
pub fn keygen(path: &std::path::Path, comment: &str, passphrase: Option<&SecretRef>) -> Result<PublicKey, PackError> {
    let io = |e: std::io::Error, p: &std::path::Path| PackError::Io(format!("{}: {e}", p.display()));
    let mut key = PrivateKey::random(&mut ssh_key::rand_core::OsRng, Algorithm::Ed25519)
        .map_err(|e| PackError::Key(e.to_string()))?;
    key.set_comment(comment);
    let public = key.public_key().clone();
    if let Some(p) = passphrase {
        let pass = p.resolve().map_err(|e| PackError::Key(format!("passphrase {p}: {e}")))?;
        key = key
            .encrypt(&mut ssh_key::rand_core::OsRng, pass.expose().as_bytes())
            .map_err(|e| PackError::Key(e.to_string()))?;
    }
    let pem = key.to_openssh(LineEnding::LF).map_err(|e| PackError::Key(e.to_string()))?;
    let pub_path = path.with_extension(match path.extension() {
        Some(e) => format!("{}.pub", e.to_string_lossy()),
        None => "pub".into(),
    });
    for p in [path, pub_path.as_path()] {
        if p.exists() {
            return Err(PackError::Io(format!(
                "{}: already exists; jmlproof keygen never overwrites a key",
                p.display()
            )));
        }
    }
    write_new(path, pem.as_bytes(), 0o600).map_err(|e| io(e, path))?;
    let line = public.to_openssh().map_err(|e| PackError::Key(e.to_string()))?;
    write_new(&pub_path, format!("{line}\n").as_bytes(), 0o644).map_err(|e| io(e, &pub_path))?;
    Ok(public)
}

fn write_new(path: &std::path::Path, bytes: &[u8], mode: u32) -> std::io::Result<()> {
    use std::io::Write;
    let mut o = std::fs::OpenOptions::new();
    o.write(true).create_new(true);
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt;
        o.mode(mode);
    }
    #[cfg(not(unix))]
    let _ = mode;
    let mut f = o.open(path)?;
    f.write_all(bytes)?;
    f.sync_all()
}
