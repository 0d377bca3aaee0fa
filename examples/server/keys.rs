//! The encryption keyring, the token signing key and the SSH host key: from
//! `VIBEBOX_ENCRYPTION_KEYS`, `VIBEBOX_SIGNING_KEY` and `VIBEBOX_SSH_HOST_KEY` when set, else
//! from the key file, which is generated (mode 0600) on first run. A key file from before the
//! SSH gateway gets its host key added on the next start.

use std::io::Write;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use secrecy::{ExposeSecret, SecretBox, SecretString};
use vibebox::secrets::{KeyId, Keyring};
use vibebox_http::SigningKey;
use vibebox_ssh::HostKey;

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

/// The SSH gateway's host key: `VIBEBOX_SSH_HOST_KEY` when set (an OpenSSH private key, or
/// the key file's one-line form), else the key file's `ssh-host-key:` line, added to the file
/// when it lacks one. Without either (keys from the environment, no key file) the key lives
/// only as long as the process, and the server says so.
pub fn ssh_host_key(opts: &Options) -> Result<HostKey, BoxError> {
    if let Some(given) = &opts.ssh_host_key {
        return host_key_from(given.expose_secret())
            .map_err(|e| format!("VIBEBOX_SSH_HOST_KEY: {e}").into());
    }
    let path = &opts.keys;
    if !path.exists() {
        println!(
            "warning: no VIBEBOX_SSH_HOST_KEY and no key file: the SSH host key changes at every start"
        );
        return Ok(HostKey::generate()?);
    }
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("cannot read the key file {}: {e}", path.display()))?;
    if let Some(line) = text
        .lines()
        .map(str::trim)
        .find_map(|l| l.strip_prefix("ssh-host-key:"))
    {
        return host_key_from(line.trim())
            .map_err(|e| format!("{}: ssh-host-key: {e}", path.display()).into());
    }
    let key = HostKey::generate()?;
    let mut file = std::fs::OpenOptions::new()
        .append(true)
        .open(path)
        .map_err(|e| format!("cannot add the SSH host key to {}: {e}", path.display()))?;
    writeln!(file, "ssh-host-key: {}", host_key_line(&key)?)?;
    println!("added an SSH host key to {}", path.display());
    Ok(key)
}

/// The key file's one-line form of a host key: its OpenSSH text in base64url.
fn host_key_line(key: &HostKey) -> Result<String, BoxError> {
    Ok(URL_SAFE_NO_PAD.encode(key.to_openssh()?))
}

/// A host key from its OpenSSH text or its one-line form.
fn host_key_from(given: &str) -> Result<HostKey, BoxError> {
    let given = given.trim();
    if given.starts_with("-----BEGIN") {
        return Ok(HostKey::from_openssh(given)?);
    }
    let text = URL_SAFE_NO_PAD
        .decode(given)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or("expects an OpenSSH private key, or its base64url as the key file holds it")?;
    Ok(HostKey::from_openssh(&text)?)
}

fn load_or_create_file(path: &Path) -> Result<(Keyring, SigningKey), BoxError> {
    if !path.exists() {
        let keyring = Keyring::generate(KeyId::new("k1")?)?;
        let mut signing = [0u8; 32];
        getrandom::fill(&mut signing).map_err(|e| format!("no randomness: {e}"))?;
        let host_key = HostKey::generate()?;
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
             encryption: {}\nsigning: s1={}\nssh-host-key: {}",
            keyring.to_encoded().expose_secret(),
            URL_SAFE_NO_PAD.encode(signing),
            host_key_line(&host_key)?
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
