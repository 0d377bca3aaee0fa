//! The gateway's host key: Ed25519, generated once and kept by the embedder (a key file, an
//! environment variable), in OpenSSH's own private key format.

use russh::keys::ssh_key::LineEnding;
use russh::keys::ssh_key::private::Ed25519Keypair;
use russh::keys::{Algorithm, HashAlg, PrivateKey};

use crate::error::{Error, Result};

/// The server's Ed25519 host key. Its `Debug` shows only the fingerprint.
#[derive(Clone)]
pub struct HostKey {
    key: PrivateKey,
}

impl std::fmt::Debug for HostKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HostKey")
            .field("fingerprint", &self.fingerprint())
            .finish_non_exhaustive()
    }
}

impl HostKey {
    /// A new random key. Errors: `HostKey` when the system has no randomness.
    pub fn generate() -> Result<Self> {
        let mut seed = [0u8; 32];
        getrandom::fill(&mut seed).map_err(|e| Error::HostKey(format!("no randomness: {e}")))?;
        let key = PrivateKey::from(Ed25519Keypair::from_seed(&seed));
        seed.fill(0);
        Ok(Self { key })
    }

    /// Reads an unencrypted Ed25519 key in OpenSSH's format (`-----BEGIN OPENSSH PRIVATE
    /// KEY-----`), as [`to_openssh`](Self::to_openssh) writes and `ssh-keygen -t ed25519 -N ''`
    /// makes. Errors: `HostKey` for anything else (the message never quotes the input).
    pub fn from_openssh(text: &str) -> Result<Self> {
        let key = PrivateKey::from_openssh(text.trim())
            .map_err(|_| Error::HostKey("not an OpenSSH private key".into()))?;
        if key.is_encrypted() {
            return Err(Error::HostKey(
                "the key is encrypted; give it without a passphrase".into(),
            ));
        }
        if key.algorithm() != Algorithm::Ed25519 {
            return Err(Error::HostKey(format!(
                "the key is {}, not ssh-ed25519",
                key.algorithm()
            )));
        }
        Ok(Self { key })
    }

    /// The key in OpenSSH's private key format, with `\n` line endings. It is a secret: keep
    /// it like the server's other keys.
    pub fn to_openssh(&self) -> Result<String> {
        self.key
            .to_openssh(LineEnding::LF)
            .map(|pem| pem.to_string())
            .map_err(|e| Error::HostKey(format!("cannot encode the key: {e}")))
    }

    /// The public key's fingerprint as OpenSSH shows it: `SHA256:` and unpadded base64.
    pub fn fingerprint(&self) -> String {
        self.key.fingerprint(HashAlg::Sha256).to_string()
    }

    /// The public key as a `known_hosts` / `authorized_keys` entry: `ssh-ed25519 AAAA…`.
    pub fn public_openssh(&self) -> Result<String> {
        self.key
            .public_key()
            .to_openssh()
            .map_err(|e| Error::HostKey(format!("cannot encode the public key: {e}")))
    }

    pub(crate) fn private_key(&self) -> &PrivateKey {
        &self.key
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn a_host_key_survives_openssh_format() -> TestResult {
        let key = HostKey::generate()?;
        let text = key.to_openssh()?;
        assert!(text.starts_with("-----BEGIN OPENSSH PRIVATE KEY-----"));
        let back = HostKey::from_openssh(&text)?;
        assert_eq!(back.fingerprint(), key.fingerprint());
        assert_eq!(back.public_openssh()?, key.public_openssh()?);
        Ok(())
    }

    #[test]
    fn fingerprint_is_in_openssh_form() -> TestResult {
        let fp = HostKey::generate()?.fingerprint();
        assert!(fp.starts_with("SHA256:"), "{fp}");
        assert_eq!(fp.len(), "SHA256:".len() + 43, "{fp}");
        Ok(())
    }

    #[test]
    fn two_generated_keys_differ() -> TestResult {
        let (a, b) = (HostKey::generate()?, HostKey::generate()?);
        assert_ne!(a.fingerprint(), b.fingerprint());
        Ok(())
    }

    #[test]
    fn garbage_is_not_a_host_key_and_is_not_quoted() -> TestResult {
        let Err(e) = HostKey::from_openssh("secret-canary-garbage") else {
            return Err("garbage was accepted as a host key".into());
        };
        assert!(!e.to_string().contains("secret-canary"), "{e}");
        Ok(())
    }

    #[test]
    fn debug_shows_only_the_fingerprint() -> TestResult {
        let key = HostKey::generate()?;
        let shown = format!("{key:?}");
        assert!(shown.contains(&key.fingerprint()));
        assert!(!shown.contains("PRIVATE"));
        Ok(())
    }
}
