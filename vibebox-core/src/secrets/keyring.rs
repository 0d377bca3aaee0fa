//! STUB — the secrets work package replaces this file.
use secrecy::{SecretBox, SecretString};

use crate::error::{Error, Result};

/// A key's identifier: 1–32 characters of `[A-Za-z0-9_-]`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Validates an id. Errors: `InvalidInput` (`key_id`).
    pub fn new(id: impl Into<String>) -> Result<Self> {
        Ok(Self(id.into()))
    }
    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// AES-256 keys: one current key that encrypts, older keys that still decrypt.
pub struct Keyring {
    #[allow(dead_code)]
    current: KeyId,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Keyring")
    }
}

impl Keyring {
    /// A keyring whose current key is `key`.
    pub fn new(current: KeyId, _key: SecretBox<[u8; 32]>) -> Self {
        Self { current }
    }
    /// A keyring with a fresh random current key.
    pub fn generate(current: KeyId) -> Result<Self> {
        Ok(Self { current })
    }
    /// Adds a decrypt-only key. Errors: `AlreadyExists` (`key_id`).
    pub fn with_old_key(self, _id: KeyId, _key: SecretBox<[u8; 32]>) -> Result<Self> {
        Err(Error::Unsupported("stub".into()))
    }
    /// Makes a fresh random key current; the previous current key stays for decryption.
    pub fn rotate(self, _new_id: KeyId) -> Result<Self> {
        Err(Error::Unsupported("stub".into()))
    }
    /// The id of the key that encrypts.
    pub fn current_id(&self) -> &KeyId {
        &self.current
    }
    /// Serializes the keyring for a key file.
    pub fn to_encoded(&self) -> SecretString {
        SecretString::from(String::new())
    }
    /// Parses a keyring written by `to_encoded`. Errors: `InvalidInput` (`keyring`).
    pub fn from_encoded(_encoded: &SecretString) -> Result<Self> {
        Err(Error::Unsupported("stub".into()))
    }
}
