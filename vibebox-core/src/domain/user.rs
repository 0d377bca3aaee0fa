use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::id::{OAuthIdentityId, UserId};

/// An Argon2id PHC string. Its `Debug` is redacted and it is never serialized.
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a PHC string (as read from a store).
    pub fn from_phc(phc: String) -> Self {
        Self(phc)
    }

    /// The PHC string, for storing.
    pub fn as_phc(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("PasswordHash(<redacted>)")
    }
}

/// A person who signs in to VibeBox.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    /// Identity.
    pub id: UserId,
    /// Valid address, stored lowercase, unique case-insensitively.
    pub email: String,
    /// Argon2id PHC string; `None` for users who only sign in with OAuth.
    #[serde(skip)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub password_hash: Option<PasswordHash>,
    /// 1–100 characters.
    pub display_name: String,
    /// An OpenSSH public key written into environments this user creates.
    pub ssh_public_key: Option<String>,
    /// A JSON object of notification preferences.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub notification_settings: serde_json::Value,
    /// Platform admins manage users, the extension catalog and read the audit log.
    pub is_platform_admin: bool,
    /// A disabled user cannot sign in and their tokens stop working.
    pub disabled: bool,
    /// The last successful sign-in.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_login_at: Option<Timestamp>,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// A link between an external identity provider account and a user. Users are identified by
/// (provider, subject), never by email.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OAuthIdentity {
    /// Identity.
    pub id: OAuthIdentityId,
    /// The user this identity signs in as.
    pub user_id: UserId,
    /// The provider name (`github`, `google`).
    pub provider: String,
    /// The provider's stable subject identifier.
    pub subject: String,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}
