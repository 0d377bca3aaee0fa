//! STUB — the secrets work package replaces this file with Argon2id hashing.
use secrecy::SecretString;

use crate::domain::PasswordHash;
use crate::error::{Error, Result};

/// Hashes and verifies passwords with Argon2id.
#[derive(Clone, Debug)]
pub struct PasswordHasher {
    _private: (),
}

impl Default for PasswordHasher {
    fn default() -> Self {
        Self::owasp()
    }
}

impl PasswordHasher {
    /// OWASP parameters: m = 19456 KiB, t = 2, p = 1.
    pub fn owasp() -> Self {
        Self { _private: () }
    }

    /// Custom parameters, refused (`InvalidInput`, `argon2`) if weaker than OWASP's.
    pub fn with_params(_memory_kib: u32, _iterations: u32, _parallelism: u32) -> Result<Self> {
        Ok(Self::owasp())
    }

    /// Hashes a password into a PHC string.
    pub async fn hash(&self, _password: &SecretString) -> Result<PasswordHash> {
        Err(Error::Unsupported("stub".into()))
    }

    /// Verifies a password. With `None` (unknown user or OAuth-only user) it does the same work
    /// against a dummy hash and returns `false`.
    pub async fn verify(&self, _password: &SecretString, _hash: Option<&PasswordHash>) -> bool {
        false
    }

    /// Whether the hash was made with other parameters and should be replaced at next login.
    pub fn needs_rehash(&self, _hash: &PasswordHash) -> bool {
        false
    }
}
