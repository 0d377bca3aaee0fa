//! The encryption keyring and the token signing key: from `VIBEBOX_ENCRYPTION_KEYS` and
//! `VIBEBOX_SIGNING_KEY` when set, else from the key file, which is generated (mode 0600) on
//! first run.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use vibebox::secrets::{KeyId, Keyring};
use vibebox_http::SigningKey;

use crate::options::{BoxError, Options};

/// The keys the server runs with.
pub fn load(opts: &Options) -> Result<(Keyring, SigningKey), BoxError> {
    let from_env_keyring = match &opts.encryption_keys {
        Some(encoded) => Some(
            Keyring::from_encoded(encoded).map_err(|e| format!("VIBEBOX_ENCRYPTION_KEYS: {e}"))?,
        ),
        None => None,
    };
    let from_env_signing = match &opts.signing_key {
        Some(entry) => Some(
            signing_key(entry.expose_secret()).map_err(|e| format!("VIBEBOX_SIGNING_KEY: {e}"))?,
        ),
        None => None,
    };
    match (from_env_keyring, from_env_signing) {
        (Some(keyring), Some(signing)) => Ok((keyring, signing)),
        (keyring, signing) => {
            let (file_keyring, file_signing) = load_or_create_file(&opts.keys)?;
            Ok((
                keyring.unwrap_or(file_keyring),
                signing.unwrap_or(file_signing),
            ))
        }
    }
}

/// `<kid>=<base64url key of at least 32 bytes>`.
fn signing_key(entry: &str) -> Result<SigningKey, BoxError> {
    let (kid, key) = entry
        .trim()
        .split_once('=')
        .ok_or("expects <kid>=<base64url key>")?;
    let key = URL_SAFE_NO_PAD
        .decode(key.trim())
        .map_err(|_| "the key is not base64url (no padding)")?;
    Ok(SigningKey::new(kid, SecretBox::new(Box::new(key)))?)
}

fn load_or_create_file(path: &Path) -> Result<(Keyring, SigningKey), BoxError> {
    if !path.exists() {
        let keyring = Keyring::generate(KeyId::new("k1")?)?;
        let mut signing = [0u8; 32];
        getrandom::fill(&mut signing).map_err(|e| format!("no randomness: {e}"))?;
        let mut file = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path)
            .map_err(|e| format!("cannot create the key file {}: {e}", path.display()))?;
        writeln!(
            file,
            "# VibeBox keys. Keep this file secret and back it up: without it, encrypted\n\
             # variables cannot be read and every access token becomes invalid.\n\
             encryption: {}\nsigning: s1={}",
            keyring.to_encoded().expose_secret(),
            URL_SAFE_NO_PAD.encode(signing)
        )?;
        println!(
            "warning: generated new keys in {} (mode 0600) - keep it secret and back it up",
            path.display()
        );
    }
    let mode = std::fs::metadata(path)?.permissions().mode();
    if mode & 0o077 != 0 {
        println!(
            "warning: {} is readable by other users (mode {:o}); chmod 600 it",
            path.display(),
            mode & 0o777
        );
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the key file {}: {e}", path.display()))?;
    let mut keyring = None;
    let mut signing = None;
    for line in text.lines().map(str::trim) {
        if let Some(encoded) = line.strip_prefix("encryption:") {
            keyring = Some(Keyring::from_encoded(&SecretString::from(
                encoded.trim().to_string(),
            ))?);
        } else if let Some(entry) = line.strip_prefix("signing:") {
            signing =
                Some(signing_key(entry).map_err(|e| format!("{}: signing: {e}", path.display()))?);
        }
    }
    match (keyring, signing) {
        (Some(k), Some(s)) => Ok((k, s)),
        _ => Err(format!("{} lacks an encryption: or signing: line", path.display()).into()),
    }
}
