//! Opaque secret tokens: API keys and refresh tokens. Only SHA-256 hashes are stored, and
//! hashes are compared in constant time.

use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use crate::domain::TokenHash;
use crate::error::{Error, Result};

/// The prefix every API key starts with.
pub const API_KEY_PREFIX: &str = "vbx_";

/// Fills a buffer from the operating system's CSPRNG.
pub fn random_bytes<const N: usize>() -> Result<[u8; N]> {
    let mut buf = [0u8; N];
    getrandom::fill(&mut buf)
        .map_err(|e| Error::internal(format!("no randomness available: {e}"), None))?;
    Ok(buf)
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The SHA-256 of a token.
pub fn hash_token(token: &str) -> TokenHash {
    TokenHash(Sha256::digest(token.as_bytes()).into())
}

/// A freshly generated API key. The full `token` is shown to the user once.
pub struct NewApiKeyToken {
    /// The public part (`vbx_<16 hex>`), stored and shown in listings.
    pub prefix: String,
    /// The whole key, `vbx_<16 hex>_<64 hex>`.
    pub token: SecretString,
    /// SHA-256 of the secret part.
    pub secret_hash: TokenHash,
}

/// Generates an API key: a 64-bit public prefix and a 256-bit secret.
pub fn generate_api_key() -> Result<NewApiKeyToken> {
    let prefix = format!("{API_KEY_PREFIX}{}", hex(&random_bytes::<8>()?));
    let secret = hex(&random_bytes::<32>()?);
    let secret_hash = hash_token(&secret);
    Ok(NewApiKeyToken {
        token: SecretString::from(format!("{prefix}_{secret}")),
        prefix,
        secret_hash,
    })
}

/// Splits an API key into its prefix and secret, or `None` if it does not have the form.
pub fn parse_api_key(token: &str) -> Option<(&str, &str)> {
    let rest = token.strip_prefix(API_KEY_PREFIX)?;
    let (id, secret) = rest.split_once('_')?;
    let is_hex = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_hexdigit());
    if !is_hex(id, 16) || !is_hex(secret, 64) {
        return None;
    }
    Some((&token[..API_KEY_PREFIX.len() + 16], secret))
}

/// Generates an opaque 256-bit refresh token and its hash.
pub fn generate_refresh_token() -> Result<(SecretString, TokenHash)> {
    let token = hex(&random_bytes::<32>()?);
    let hash = hash_token(&token);
    Ok((SecretString::from(token), hash))
}

/// Whether `token` hashes to `expected`, compared in constant time.
pub fn verify_token(token: &SecretString, expected: &TokenHash) -> bool {
    hash_token(token.expose_secret()).ct_eq(expected)
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn api_key_round_trips_through_parse() -> TestResult {
        let k = generate_api_key()?;
        let (prefix, secret) =
            parse_api_key(k.token.expose_secret()).ok_or("a generated key must parse")?;
        assert_eq!(prefix, k.prefix);
        assert!(hash_token(secret).ct_eq(&k.secret_hash));
        Ok(())
    }

    #[test]
    fn api_key_parse_rejects_malformed_keys() {
        for bad in [
            "",
            "vbx_",
            "vbx_abc_def",
            "xyz_0123456789abcdef_00",
            "vbx_0123456789abcdeg_",
        ] {
            assert!(parse_api_key(bad).is_none(), "{bad}");
        }
    }

    #[test]
    fn refresh_tokens_are_unique_and_verify() -> TestResult {
        let (a, ha) = generate_refresh_token()?;
        let (b, _) = generate_refresh_token()?;
        assert_ne!(a.expose_secret(), b.expose_secret());
        assert_eq!(a.expose_secret().len(), 64);
        assert!(verify_token(&a, &ha));
        assert!(!verify_token(&b, &ha));
        Ok(())
    }
}
