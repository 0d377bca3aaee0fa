//! STUB — the secrets work package replaces this file.
use async_trait::async_trait;
use secrecy::SecretString;

use super::{Keyring, Secrets};
use crate::error::{Error, Result};

/// AES-256-GCM with a keyring.
#[derive(Debug)]
pub struct AesGcmSecrets {
    #[allow(dead_code)]
    keyring: Keyring,
}

impl AesGcmSecrets {
    /// Encrypts with the keyring's current key; decrypts with any of its keys.
    pub fn new(keyring: Keyring) -> Self {
        Self { keyring }
    }
}

#[async_trait]
impl Secrets for AesGcmSecrets {
    async fn encrypt(&self, _plaintext: &SecretString, _aad: &[u8]) -> Result<String> {
        Err(Error::Unsupported("stub".into()))
    }
    async fn decrypt(&self, _ciphertext: &str, _aad: &[u8]) -> Result<SecretString> {
        Err(Error::Unsupported("stub".into()))
    }
    fn needs_reencryption(&self, _ciphertext: &str) -> bool {
        false
    }
}
