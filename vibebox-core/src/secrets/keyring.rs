//! The keyring: AES-256 keys named by id, one of which encrypts.
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD_NO_PAD, URL_SAFE_NO_PAD};
use secrecy::zeroize::Zeroize;
use secrecy::{ExposeSecret, ExposeSecretMut, SecretBox, SecretString};

use crate::error::{Error, Result};

/// The longest key id.
const KEY_ID_MAX_LEN: usize = 32;

/// A key's identifier: 1–32 characters of `[A-Za-z0-9_-]`.
///
/// Key ids appear in ciphertexts and key files; they are not secret.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct KeyId(String);

impl KeyId {
    /// Validates an id. Errors: `InvalidInput` (`key_id`).
    pub fn new(id: impl Into<String>) -> Result<Self> {
        let id = id.into();
        if id.is_empty() || id.len() > KEY_ID_MAX_LEN {
            return Err(Error::invalid("key_id", "must be 1 to 32 characters long"));
        }
        if !id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
        {
            return Err(Error::invalid(
                "key_id",
                "may contain only letters, digits, '_' and '-'",
            ));
        }
        Ok(Self(id))
    }

    /// The id.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for KeyId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// AES-256 keys: one current key that encrypts, older keys that still decrypt.
///
/// `Debug` shows the key ids only, never key material.
///
/// # Key file format
///
/// [`to_encoded`](Keyring::to_encoded) writes `current=<id>;<id>=<key>;<id>=<key>…` where each
/// key is 32 bytes in base64 (URL-safe, no padding). [`from_encoded`](Keyring::from_encoded)
/// also accepts the standard base64 alphabet, padding, surrounding whitespace and newlines
/// instead of `;` between entries.
pub struct Keyring {
    current: KeyId,
    /// Every key, the current one included, in the order they were added.
    keys: Vec<(KeyId, SecretBox<[u8; 32]>)>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keyring")
            .field("current", &self.current.as_str())
            .field(
                "keys",
                &self
                    .keys
                    .iter()
                    .map(|(id, _)| id.as_str())
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// A fresh random 256-bit key.
fn random_key() -> Result<SecretBox<[u8; 32]>> {
    let mut key = SecretBox::new(Box::new([0u8; 32]));
    getrandom::fill(key.expose_secret_mut())
        .map_err(|e| Error::internal("the system random source failed", Some(Box::new(e) as _)))?;
    Ok(key)
}

/// Decodes one base64 key (either alphabet, padding optional) into 32 bytes.
fn decode_key(text: &str) -> Result<SecretBox<[u8; 32]>> {
    let bad = || Error::invalid("keyring", "each key must be 32 bytes in base64");
    let mut normalized: String = text
        .trim_end_matches('=')
        .chars()
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            other => other,
        })
        .collect();
    let decoded = STANDARD_NO_PAD.decode(normalized.as_bytes());
    normalized.zeroize();
    let mut bytes = decoded.map_err(|_| bad())?;
    let result = if bytes.len() == 32 {
        let mut key = SecretBox::new(Box::new([0u8; 32]));
        key.expose_secret_mut().copy_from_slice(&bytes);
        Ok(key)
    } else {
        Err(bad())
    };
    bytes.zeroize();
    result
}

impl Keyring {
    /// A keyring whose current key is `key`.
    pub fn new(current: KeyId, key: SecretBox<[u8; 32]>) -> Self {
        Self {
            keys: vec![(current.clone(), key)],
            current,
        }
    }

    /// A keyring with a fresh random current key. Errors: `Internal` if the system's random
    /// source fails.
    pub fn generate(current: KeyId) -> Result<Self> {
        Ok(Self::new(current, random_key()?))
    }

    /// Adds a decrypt-only key. Errors: `AlreadyExists` (`key_id`).
    pub fn with_old_key(mut self, id: KeyId, key: SecretBox<[u8; 32]>) -> Result<Self> {
        if self.contains(&id) {
            return Err(Error::already_exists("key", "key_id"));
        }
        self.keys.push((id, key));
        Ok(self)
    }

    /// Makes a fresh random key current; the previous current key stays for decryption.
    ///
    /// Errors: `AlreadyExists` (`key_id`) if the id is taken; `Internal` if the system's random
    /// source fails.
    pub fn rotate(mut self, new_id: KeyId) -> Result<Self> {
        if self.contains(&new_id) {
            return Err(Error::already_exists("key", "key_id"));
        }
        let key = random_key()?;
        self.keys.push((new_id.clone(), key));
        self.current = new_id;
        Ok(self)
    }

    /// The id of the key that encrypts.
    pub fn current_id(&self) -> &KeyId {
        &self.current
    }

    /// The ids of every key, the current one included.
    pub fn key_ids(&self) -> impl Iterator<Item = &KeyId> {
        self.keys.iter().map(|(id, _)| id)
    }

    /// Whether the keyring holds a key with this id.
    pub fn contains(&self, id: &KeyId) -> bool {
        self.keys.iter().any(|(k, _)| k == id)
    }

    /// The key with this id.
    pub(crate) fn key(&self, id: &str) -> Option<&SecretBox<[u8; 32]>> {
        self.keys
            .iter()
            .find(|(k, _)| k.as_str() == id)
            .map(|(_, key)| key)
    }

    /// The current key.
    pub(crate) fn current_key(&self) -> Option<&SecretBox<[u8; 32]>> {
        self.key(self.current.as_str())
    }

    /// Serializes the keyring for a key file: `current=<id>;<id>=<base64url key>;…`.
    pub fn to_encoded(&self) -> SecretString {
        let mut out = String::with_capacity(16 + self.keys.len() * 80);
        out.push_str("current=");
        out.push_str(self.current.as_str());
        for (id, key) in &self.keys {
            out.push(';');
            out.push_str(id.as_str());
            out.push('=');
            URL_SAFE_NO_PAD.encode_string(key.expose_secret(), &mut out);
        }
        SecretString::from(out)
    }

    /// Parses a keyring written by `to_encoded`. Errors: `InvalidInput` (`keyring`); the
    /// message never repeats key material.
    pub fn from_encoded(encoded: &SecretString) -> Result<Self> {
        let mut current: Option<KeyId> = None;
        let mut keys: Vec<(KeyId, SecretBox<[u8; 32]>)> = Vec::new();
        for entry in encoded
            .expose_secret()
            .split([';', '\n'])
            .map(str::trim)
            .filter(|e| !e.is_empty())
        {
            let Some((name, value)) = entry.split_once('=') else {
                return Err(Error::invalid(
                    "keyring",
                    "every entry must be current=<id> or <id>=<key>",
                ));
            };
            let name = name.trim();
            let value = value.trim();
            if name == "current" {
                if current.is_some() {
                    return Err(Error::invalid("keyring", "current is given twice"));
                }
                let id = KeyId::new(value)
                    .map_err(|_| Error::invalid("keyring", "current is not a valid key id"))?;
                current = Some(id);
                continue;
            }
            let id =
                KeyId::new(name).map_err(|_| Error::invalid("keyring", "a key id is not valid"))?;
            if keys.iter().any(|(k, _)| *k == id) {
                return Err(Error::invalid(
                    "keyring",
                    format!("key {id} is given twice"),
                ));
            }
            let key = decode_key(value).map_err(|_| {
                Error::invalid("keyring", format!("key {id} is not 32 bytes in base64"))
            })?;
            keys.push((id, key));
        }
        let Some(current) = current else {
            return Err(Error::invalid("keyring", "current=<id> is missing"));
        };
        if !keys.iter().any(|(k, _)| *k == current) {
            return Err(Error::invalid(
                "keyring",
                format!("the current key {current} is not in the keyring"),
            ));
        }
        Ok(Self { current, keys })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::ErrorKind;

    fn expected_error() -> crate::error::Error {
        crate::error::Error::internal("expected an error", None)
    }

    fn key(byte: u8) -> SecretBox<[u8; 32]> {
        SecretBox::new(Box::new([byte; 32]))
    }

    #[test]
    fn key_id_accepts_1_to_32_safe_characters() -> crate::error::Result<()> {
        for ok in ["a", "k1", "key_2024-01", &"x".repeat(32)] {
            assert!(KeyId::new(ok).is_ok(), "{ok}");
        }
        for bad in ["", &"x".repeat(33), "a:b", "a b", "é", "a;b", "a=b"] {
            let e = KeyId::new(bad).err().ok_or_else(expected_error)?;
            assert_eq!(e.field(), Some("key_id"), "{bad}");
        }
        Ok(())
    }

    #[test]
    fn encoded_keyring_round_trips() -> crate::error::Result<()> {
        let ring = Keyring::new(KeyId::new("old")?, key(1)).rotate(KeyId::new("new")?)?;
        let encoded = ring.to_encoded();
        assert!(encoded.expose_secret().starts_with("current=new;"));
        let back = Keyring::from_encoded(&encoded)?;
        assert_eq!(back.current_id().as_str(), "new");
        assert_eq!(
            back.key_ids().map(KeyId::as_str).collect::<Vec<_>>(),
            ["old", "new"]
        );
        for id in ["old", "new"] {
            let missing = || crate::error::Error::not_found("key");
            assert_eq!(
                back.key(id).ok_or_else(missing)?.expose_secret(),
                ring.key(id).ok_or_else(missing)?.expose_secret()
            );
        }
        Ok(())
    }

    #[test]
    fn encoded_keyring_accepts_standard_base64_and_newlines() -> crate::error::Result<()> {
        let std_b64 = base64::engine::general_purpose::STANDARD.encode([0xfbu8; 32]);
        let text = format!("current=k1\nk1={std_b64}\n");
        let ring = Keyring::from_encoded(&SecretString::from(text))?;
        let k1 = ring
            .key("k1")
            .ok_or_else(|| crate::error::Error::not_found("key"))?;
        assert_eq!(k1.expose_secret(), &[0xfbu8; 32]);
        Ok(())
    }

    #[test]
    fn malformed_encoded_keyring_is_invalid_input_naming_keyring() -> crate::error::Result<()> {
        let good = URL_SAFE_NO_PAD.encode([7u8; 32]);
        let short = URL_SAFE_NO_PAD.encode([7u8; 16]);
        for bad in [
            String::new(),
            format!("k1={good}"),
            "current=k1".to_string(),
            format!("current=k2;k1={good}"),
            format!("current=k1;k1={short}"),
            "current=k1;k1=not base64!".to_string(),
            format!("current=k1;k1={good};k1={good}"),
            format!("current=k1;current=k1;k1={good}"),
            format!("current=k1;junk;k1={good}"),
            format!("current=k:1;k:1={good}"),
        ] {
            let e = Keyring::from_encoded(&SecretString::from(bad.clone()))
                .err()
                .ok_or_else(expected_error)?;
            assert_eq!(e.kind(), ErrorKind::InvalidInput, "{bad}");
            assert_eq!(e.field(), Some("keyring"), "{bad}");
            assert!(!e.to_string().contains(&good), "{e}");
        }
        Ok(())
    }

    #[test]
    fn debug_shows_key_ids_only() -> crate::error::Result<()> {
        let ring = Keyring::new(KeyId::new("k1")?, key(0xab))
            .with_old_key(KeyId::new("k0")?, key(0xcd))?;
        let debug = format!("{ring:?}");
        assert!(debug.contains("k1") && debug.contains("k0"), "{debug}");
        assert!(!debug.contains(&URL_SAFE_NO_PAD.encode([0xabu8; 32])));
        assert!(!debug.contains("171"), "{debug}"); // 0xab as a decimal byte
        assert!(!debug.contains("205"), "{debug}"); // 0xcd as a decimal byte
        Ok(())
    }

    #[test]
    fn duplicate_key_ids_are_already_exists() -> crate::error::Result<()> {
        let ring = Keyring::new(KeyId::new("k1")?, key(1));
        let e = ring
            .with_old_key(KeyId::new("k1")?, key(2))
            .err()
            .ok_or_else(expected_error)?;
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        let ring = Keyring::new(KeyId::new("k1")?, key(1));
        let e = ring
            .rotate(KeyId::new("k1")?)
            .err()
            .ok_or_else(expected_error)?;
        assert_eq!(e.kind(), ErrorKind::AlreadyExists);
        Ok(())
    }

    #[test]
    fn generated_keys_differ() -> crate::error::Result<()> {
        let a = Keyring::generate(KeyId::new("a")?)?;
        let b = Keyring::generate(KeyId::new("a")?)?;
        let missing = || crate::error::Error::not_found("key");
        assert_ne!(
            a.current_key().ok_or_else(missing)?.expose_secret(),
            b.current_key().ok_or_else(missing)?.expose_secret()
        );
        Ok(())
    }
}
