//! Who may connect: the [`Gatekeeper`] turns a username and a proven public key into a
//! [`Grant`] (an actor and the environment the username names), and says while a connection
//! lasts whether that grant still holds.
//!
//! The gateway knows no keys and no rules of its own: the embedder implements the trait on
//! its key store and login rule; [`ServiceGatekeeper`](crate::ServiceGatekeeper) does it on
//! VibeBox's own keys and rule.

use std::net::IpAddr;

use async_trait::async_trait;
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use vibebox_core::id::EnvironmentId;
use vibebox_core::rbac::Actor;

/// A public key whose private half the client has just proven to hold (its signature was
/// checked before the gatekeeper is asked).
#[derive(Clone, PartialEq, Eq)]
pub struct PublicKeyInfo {
    /// The key's algorithm as SSH names it: `ssh-ed25519`, `ssh-rsa`,
    /// `ecdsa-sha2-nistp256`, …
    pub algorithm: String,
    /// The key in SSH wire format: what `authorized_keys` holds in base64.
    pub blob: Vec<u8>,
    /// Its fingerprint as OpenSSH shows it: `SHA256:` and unpadded base64.
    pub fingerprint: String,
}

impl PublicKeyInfo {
    /// The key as an `authorized_keys` entry without a comment: `ssh-ed25519 AAAA…`.
    pub fn to_openssh(&self) -> String {
        format!("{} {}", self.algorithm, STANDARD.encode(&self.blob))
    }
}

impl std::fmt::Debug for PublicKeyInfo {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PublicKeyInfo")
            .field("algorithm", &self.algorithm)
            .field("fingerprint", &self.fingerprint)
            .finish_non_exhaustive()
    }
}

/// What a successful login gives: who acts, in which environment, with which key.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Grant {
    /// The user, as the service authorizes every channel's operation.
    pub actor: Actor,
    /// The environment the username named.
    pub environment_id: EnvironmentId,
    /// The key's id in the embedder's key store (for audit and revocation checks).
    pub key_id: String,
    /// The key's fingerprint (`SHA256:…`), for logs and revocation checks.
    pub fingerprint: String,
}

/// Why a login was refused. The client never sees it (every refusal looks the same to the
/// client: "Permission denied (publickey)"); it is logged and may be audited.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{reason}")]
pub struct Refusal {
    /// For the log: unknown key, no such environment, a viewer, throttled, …
    pub reason: String,
}

impl Refusal {
    /// A refusal with a reason for the log.
    pub fn new(reason: impl Into<String>) -> Self {
        Self {
            reason: reason.into(),
        }
    }
}

/// Decides who may log in, and whether a login still holds.
///
/// # Contract
///
/// - [`authorize`](Self::authorize) is called once per login attempt whose signature was
///   verified. It refuses (a [`Refusal`]) unless the key belongs to a user who may use the
///   environment that `username` names; refusals must not reveal, through their timing or
///   otherwise, whether the environment exists (the gateway sends every refusal at the same
///   time after the request). Throttling failed attempts per address and key is its job.
/// - [`still_valid`](Self::still_valid) is polled every few seconds for each open connection;
///   `false` (a revoked key, a disabled user, a lost role) closes the connection at once.
#[async_trait]
pub trait Gatekeeper: Send + Sync + 'static {
    /// Checks a login: `username` as the client sent it, the proven `key`, and the client's
    /// address when known.
    async fn authorize(
        &self,
        username: &str,
        key: &PublicKeyInfo,
        peer: Option<IpAddr>,
    ) -> Result<Grant, Refusal>;

    /// Whether a grant made earlier still holds.
    async fn still_valid(&self, grant: &Grant) -> bool;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_key_info_prints_as_an_authorized_keys_entry() {
        let info = PublicKeyInfo {
            algorithm: "ssh-ed25519".into(),
            blob: vec![0, 0, 0, 1, 7],
            fingerprint: "SHA256:x".into(),
        };
        assert_eq!(info.to_openssh(), "ssh-ed25519 AAAAAQc=");
    }

    #[test]
    fn a_refusal_shows_its_reason() {
        assert_eq!(Refusal::new("unknown key").to_string(), "unknown key");
    }
}
