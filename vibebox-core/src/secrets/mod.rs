//! Encryption of stored secrets: the [`Secrets`] trait and its default, [`AesGcmSecrets`].

mod aes_gcm;
mod keyring;

pub use self::aes_gcm::AesGcmSecrets;
pub use self::keyring::{KeyId, Keyring};

use async_trait::async_trait;
use secrecy::SecretString;

use crate::error::Result;
use crate::id::EnvironmentId;

/// Encrypts and decrypts secrets with associated data.
///
/// # Contract
///
/// - `encrypt` returns a self-describing string: it names its format version and the key that
///   made it, so older ciphertexts stay readable after rotation.
/// - `decrypt` succeeds only with the same associated data; a ciphertext moved to another row
///   (other associated data), or altered in any way, fails with `Internal`.
/// - Neither the plaintext nor key material ever appears in an error or in `Debug`.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait Secrets: Send + Sync + std::fmt::Debug + 'static {
    /// Encrypts `plaintext`, binding it to `aad`. Errors: `Internal`.
    async fn encrypt(&self, plaintext: &SecretString, aad: &[u8]) -> Result<String>;

    /// Decrypts a ciphertext made by `encrypt` with the same `aad`.
    ///
    /// Errors: `Internal` when the ciphertext is malformed, its key is unknown, or it fails
    /// authentication (tampered, or bound to other associated data).
    async fn decrypt(&self, ciphertext: &str, aad: &[u8]) -> Result<SecretString>;

    /// Whether the ciphertext was made with a key other than the current one.
    fn needs_reencryption(&self, ciphertext: &str) -> bool;

    /// Decrypts with whichever key made the ciphertext and encrypts again with the current key.
    async fn reencrypt(&self, ciphertext: &str, aad: &[u8]) -> Result<String> {
        let plaintext = self.decrypt(ciphertext, aad).await?;
        self.encrypt(&plaintext, aad).await
    }
}

/// The associated data that binds an environment variable's ciphertext to its row.
pub fn variable_aad(environment: EnvironmentId, key: &str) -> Vec<u8> {
    format!("vbx:v1|env_var|{environment}|{key}").into_bytes()
}
