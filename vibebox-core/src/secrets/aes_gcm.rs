//! AES-256-GCM encryption of stored secrets with a [`Keyring`].
//!
//! # Format
//!
//! `v1:<key_id>:<base64url-nopad(nonce || ciphertext || tag)>`, with a random 96-bit nonce per
//! encryption. The associated data given to AES-GCM is
//! `vbx-secret:v1:<key_id>:` followed by the caller's associated data, so neither the version
//! nor the key id can be altered without failing authentication.
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{Aes256Gcm, Nonce};
use async_trait::async_trait;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, SecretBox, SecretString};

use super::{KeyId, Keyring, Secrets};
use crate::error::{Error, Result};

/// The format version this implementation writes.
const VERSION: &str = "v1";
/// Nonce length in bytes (96 bits).
const NONCE_LEN: usize = 12;
/// Tag length in bytes.
const TAG_LEN: usize = 16;

/// AES-256-GCM with a keyring.
///
/// `Debug` shows the keyring's key ids only.
#[derive(Debug)]
pub struct AesGcmSecrets {
    keyring: Keyring,
}

/// A ciphertext split into its parts (not yet authenticated).
struct Parsed<'a> {
    key_id: &'a str,
    payload: &'a str,
}

fn malformed() -> Error {
    Error::internal("ciphertext is malformed", None)
}

/// Splits `v1:<key_id>:<payload>`; checks the version and the key id's syntax.
fn parse(ciphertext: &str) -> Result<Parsed<'_>> {
    let mut parts = ciphertext.splitn(3, ':');
    let (Some(version), Some(key_id), Some(payload)) = (parts.next(), parts.next(), parts.next())
    else {
        return Err(malformed());
    };
    if version != VERSION {
        return Err(Error::internal(
            "ciphertext has an unknown format version",
            None,
        ));
    }
    KeyId::new(key_id).map_err(|_| malformed())?;
    Ok(Parsed { key_id, payload })
}

/// The associated data bound into every ciphertext.
fn full_aad(key_id: &str, aad: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(16 + key_id.len() + aad.len());
    out.extend_from_slice(b"vbx-secret:");
    out.extend_from_slice(VERSION.as_bytes());
    out.push(b':');
    out.extend_from_slice(key_id.as_bytes());
    out.push(b':');
    out.extend_from_slice(aad);
    out
}

fn cipher(key: &SecretBox<[u8; 32]>) -> Result<Aes256Gcm> {
    Aes256Gcm::new_from_slice(key.expose_secret())
        .map_err(|_| Error::internal("encryption key has the wrong length", None))
}

impl AesGcmSecrets {
    /// Encrypts with the keyring's current key; decrypts with any of its keys.
    pub fn new(keyring: Keyring) -> Self {
        Self { keyring }
    }

    /// The keyring.
    pub fn keyring(&self) -> &Keyring {
        &self.keyring
    }

    fn encrypt_sync(&self, plaintext: &SecretString, aad: &[u8]) -> Result<String> {
        let key_id = self.keyring.current_id().as_str();
        let key = self
            .keyring
            .current_key()
            .ok_or_else(|| Error::internal("the current key is missing from the keyring", None))?;
        let mut nonce_bytes = [0u8; NONCE_LEN];
        getrandom::fill(&mut nonce_bytes).map_err(|e| {
            Error::internal("the system random source failed", Some(Box::new(e) as _))
        })?;
        let nonce = Nonce::from(nonce_bytes);
        let sealed = cipher(key)?
            .encrypt(
                &nonce,
                Payload {
                    msg: plaintext.expose_secret().as_bytes(),
                    aad: &full_aad(key_id, aad),
                },
            )
            .map_err(|_| Error::internal("encryption failed", None))?;
        let mut raw = Vec::with_capacity(NONCE_LEN + sealed.len());
        raw.extend_from_slice(&nonce_bytes);
        raw.extend_from_slice(&sealed);
        let mut out =
            String::with_capacity(VERSION.len() + key_id.len() + 2 + raw.len() * 4 / 3 + 4);
        out.push_str(VERSION);
        out.push(':');
        out.push_str(key_id);
        out.push(':');
        URL_SAFE_NO_PAD.encode_string(&raw, &mut out);
        Ok(out)
    }

    fn decrypt_sync(&self, ciphertext: &str, aad: &[u8]) -> Result<SecretString> {
        let parsed = parse(ciphertext)?;
        let key = self.keyring.key(parsed.key_id).ok_or_else(|| {
            Error::internal(
                format!("ciphertext was made with unknown key {}", parsed.key_id),
                None,
            )
        })?;
        let raw = URL_SAFE_NO_PAD
            .decode(parsed.payload)
            .map_err(|_| malformed())?;
        if raw.len() < NONCE_LEN + TAG_LEN {
            return Err(malformed());
        }
        let (nonce_bytes, sealed) = raw.split_at(NONCE_LEN);
        let nonce = Nonce::try_from(nonce_bytes).map_err(|_| malformed())?;
        let mut opened = cipher(key)?
            .decrypt(
                &nonce,
                Payload {
                    msg: sealed,
                    aad: &full_aad(parsed.key_id, aad),
                },
            )
            .map_err(|_| Error::internal("ciphertext failed authentication", None))?;
        let result = match std::str::from_utf8(&opened) {
            Ok(text) => {
                // Copy into an exactly sized buffer so turning it into a boxed str does not
                // reallocate and leave an unzeroed copy behind.
                let mut exact = String::with_capacity(text.len());
                exact.push_str(text);
                Ok(SecretString::from(exact))
            }
            Err(_) => Err(Error::internal("decrypted secret is not utf-8", None)),
        };
        opened.zeroize();
        result
    }
}

#[async_trait]
impl Secrets for AesGcmSecrets {
    async fn encrypt(&self, plaintext: &SecretString, aad: &[u8]) -> Result<String> {
        self.encrypt_sync(plaintext, aad)
    }

    async fn decrypt(&self, ciphertext: &str, aad: &[u8]) -> Result<SecretString> {
        self.decrypt_sync(ciphertext, aad)
    }

    /// True when the ciphertext is in the current format but was made with a key other than the
    /// current one. Malformed ciphertexts report `false`: re-encrypting cannot repair them.
    fn needs_reencryption(&self, ciphertext: &str) -> bool {
        parse(ciphertext).is_ok_and(|p| p.key_id != self.keyring.current_id().as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;
    use crate::id::EnvironmentId;
    use crate::secrets::variable_aad;
    use proptest::prelude::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn key(byte: u8) -> SecretBox<[u8; 32]> {
        SecretBox::new(Box::new([byte; 32]))
    }

    fn secrets() -> Result<AesGcmSecrets> {
        Ok(AesGcmSecrets::new(Keyring::new(
            KeyId::new("k1")?,
            key(0x42),
        )))
    }

    fn secret(s: &str) -> SecretString {
        SecretString::from(s.to_string())
    }

    fn assert_internal(r: Result<SecretString>, expected: &str) -> TestResult {
        let e = r
            .err()
            .ok_or_else(|| format!("decrypt succeeded; expected {expected:?}"))?;
        assert_eq!(e.kind(), ErrorKind::Internal, "{e}");
        assert!(e.to_string().contains(expected), "{e}");
        Ok(())
    }

    #[tokio::test]
    async fn round_trip_with_same_aad() -> TestResult {
        let s = secrets()?;
        let ct = s.encrypt(&secret("hunter2"), b"row-1").await?;
        assert!(ct.starts_with("v1:k1:"), "{ct}");
        assert!(!ct.contains("hunter2"));
        let pt = s.decrypt(&ct, b"row-1").await?;
        assert_eq!(pt.expose_secret(), "hunter2");
        Ok(())
    }

    #[tokio::test]
    async fn empty_and_unicode_plaintexts_round_trip() -> TestResult {
        let s = secrets()?;
        for p in ["", "ünïcødé 🔑", &"x".repeat(10_000)] {
            let ct = s.encrypt(&secret(p), b"").await?;
            assert_eq!(s.decrypt(&ct, b"").await?.expose_secret(), p);
        }
        Ok(())
    }

    #[tokio::test]
    async fn tampered_ciphertext_fails_authentication() -> TestResult {
        let s = AesGcmSecrets::new(
            Keyring::new(KeyId::new("k1")?, key(0x42))
                .with_old_key(KeyId::new("k2")?, key(0x43))?,
        );
        let ct = s.encrypt(&secret("value"), b"aad").await?;
        let payload = ct.strip_prefix("v1:k1:").ok_or("no v1:k1: prefix")?;
        let raw = URL_SAFE_NO_PAD.decode(payload)?;
        // Flip one bit in the nonce, in the ciphertext body and in the tag.
        for index in [0, NONCE_LEN, raw.len() - 1] {
            let mut bad = raw.clone();
            bad[index] ^= 0x01;
            let tampered = format!("v1:k1:{}", URL_SAFE_NO_PAD.encode(&bad));
            assert_internal(
                s.decrypt(&tampered, b"aad").await,
                "ciphertext failed authentication",
            )?;
        }
        // Relabelling it with another known key id fails too.
        let relabelled = format!("v1:k2:{payload}");
        assert_internal(
            s.decrypt(&relabelled, b"aad").await,
            "ciphertext failed authentication",
        )?;
        Ok(())
    }

    #[tokio::test]
    async fn ciphertext_moved_to_another_row_fails() -> TestResult {
        let s = secrets()?;
        let env_a = EnvironmentId::new();
        let env_b = EnvironmentId::new();
        let ct = s
            .encrypt(&secret("db-password"), &variable_aad(env_a, "DB_PASSWORD"))
            .await?;
        assert_internal(
            s.decrypt(&ct, &variable_aad(env_b, "DB_PASSWORD")).await,
            "ciphertext failed authentication",
        )?;
        assert_internal(
            s.decrypt(&ct, &variable_aad(env_a, "OTHER_KEY")).await,
            "ciphertext failed authentication",
        )?;
        assert!(
            s.decrypt(&ct, &variable_aad(env_a, "DB_PASSWORD"))
                .await
                .is_ok()
        );
        Ok(())
    }

    #[tokio::test]
    async fn rotation_keeps_old_ciphertexts_decryptable_and_reencrypt_moves_them() -> TestResult {
        let ring = Keyring::new(KeyId::new("k1")?, key(0x42));
        let old = AesGcmSecrets::new(ring);
        let ct = old.encrypt(&secret("s3cret"), b"row").await?;
        assert!(!old.needs_reencryption(&ct));

        let ring = Keyring::from_encoded(&old.keyring().to_encoded())?.rotate(KeyId::new("k2")?)?;
        let new = AesGcmSecrets::new(ring);
        assert!(new.needs_reencryption(&ct));
        assert_eq!(new.decrypt(&ct, b"row").await?.expose_secret(), "s3cret");

        let moved = new.reencrypt(&ct, b"row").await?;
        assert!(moved.starts_with("v1:k2:"), "{moved}");
        assert!(!new.needs_reencryption(&moved));
        assert_eq!(new.decrypt(&moved, b"row").await?.expose_secret(), "s3cret");
        // The old keyring does not know k2.
        assert_internal(
            old.decrypt(&moved, b"row").await,
            "ciphertext was made with unknown key k2",
        )?;
        // Re-encryption keeps the binding to the row.
        assert!(new.reencrypt(&ct, b"other-row").await.is_err());
        Ok(())
    }

    #[tokio::test]
    async fn nonces_differ_for_equal_plaintexts() -> TestResult {
        let s = secrets()?;
        let a = s.encrypt(&secret("same"), b"row").await?;
        let b = s.encrypt(&secret("same"), b"row").await?;
        assert_ne!(a, b);
        let nonce = |c: &str| -> std::result::Result<Vec<u8>, base64::DecodeError> {
            Ok(URL_SAFE_NO_PAD.decode(&c[6..])?[..NONCE_LEN].to_vec())
        };
        assert_ne!(nonce(&a)?, nonce(&b)?);
        Ok(())
    }

    #[test]
    fn debug_shows_no_key_material() -> TestResult {
        let s = secrets()?;
        let debug = format!("{s:?}");
        assert!(debug.contains("k1"), "{debug}");
        assert!(
            !debug.contains(&URL_SAFE_NO_PAD.encode([0x42u8; 32])),
            "{debug}"
        );
        assert!(
            !debug.contains(&base64::engine::general_purpose::STANDARD.encode([0x42u8; 32])),
            "{debug}"
        );
        assert!(!debug.contains("66, 66"), "{debug}"); // 0x42 as decimal bytes
        assert!(!debug.contains("0x42"), "{debug}");
        Ok(())
    }

    #[tokio::test]
    async fn malformed_unknown_version_and_unknown_key_are_errors() -> TestResult {
        let s = secrets()?;
        let good = s.encrypt(&secret("x"), b"").await?;
        let payload = good
            .strip_prefix("v1:k1:")
            .ok_or("no v1:k1: prefix")?
            .to_string();
        let cases = [
            (String::new(), "malformed"),
            ("v1".to_string(), "malformed"),
            ("v1:k1".to_string(), "malformed"),
            ("v1:k1:".to_string(), "malformed"),
            ("v1:k1:!!!".to_string(), "malformed"),
            ("v1:k1:AAAA".to_string(), "malformed"),
            (format!("v1::{payload}"), "malformed"),
            (format!("v1:bad id:{payload}"), "malformed"),
            (format!("v2:k1:{payload}"), "unknown format version"),
            (
                format!("v1:k9:{payload}"),
                "ciphertext was made with unknown key k9",
            ),
        ];
        for (ct, expected) in cases {
            assert_internal(s.decrypt(&ct, b"").await, expected)?;
            assert!(!s.needs_reencryption(&ct) || expected.contains("unknown key"));
        }
        Ok(())
    }

    #[test]
    fn errors_never_contain_plaintext_or_key() -> TestResult {
        let s = secrets()?;
        let e = s
            .decrypt_sync("v1:k1:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA", b"")
            .err()
            .ok_or("garbage decrypted")?;
        let text = format!("{e} {e:?}");
        assert!(!text.contains(&URL_SAFE_NO_PAD.encode([0x42u8; 32])));
        Ok(())
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]

        #[test]
        fn decrypt_never_panics(input in ".{0,200}", aad in proptest::collection::vec(any::<u8>(), 0..16)) {
            let s = secrets()?;
            let r = s.decrypt_sync(&input, &aad);
            prop_assert!(r.is_err());
            let _ = s.needs_reencryption(&input);
        }

        #[test]
        fn decrypt_of_prefixed_garbage_never_panics(payload in "[A-Za-z0-9_-]{0,120}") {
            let s = secrets()?;
            let ct = format!("v1:k1:{payload}");
            let r = s.decrypt_sync(&ct, b"");
            prop_assert!(r.is_err());
        }
    }
}
