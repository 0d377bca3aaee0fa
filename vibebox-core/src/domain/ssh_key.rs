use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::id::{SshKeyId, UserId};

/// The name of the key that mirrors the profile's `ssh_public_key` field. Only the profile
/// sets a key of this name.
pub const PROFILE_SSH_KEY_NAME: &str = "profile";

/// An SSH public key a user signs in to the SSH gateway with. The fingerprint is unique across
/// all users, so a key names one user.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshKey {
    /// Identity.
    pub id: SshKeyId,
    /// The key's user.
    pub user_id: UserId,
    /// A label, 1–100 characters (`profile` for the key of the profile field).
    pub name: String,
    /// The key type (`ssh-ed25519`, `ecdsa-sha2-nistp256`, `ssh-rsa`, …).
    pub algorithm: String,
    /// The key blob in SSH wire format, in standard base64 (as in the OpenSSH line).
    pub blob: String,
    /// The comment the line came with.
    pub comment: Option<String>,
    /// `SHA256:…`, as `ssh-keygen -lf` prints it; unique across all users.
    pub fingerprint: String,
    /// The last successful SSH sign-in with the key.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<Timestamp>,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Last change (keys never change; this is their creation time).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl SshKey {
    /// The OpenSSH line: `<algorithm> <blob>`, then ` <comment>` when there is one.
    pub fn public_key(&self) -> String {
        match &self.comment {
            Some(c) => format!("{} {} {c}", self.algorithm, self.blob),
            None => format!("{} {}", self.algorithm, self.blob),
        }
    }
}
