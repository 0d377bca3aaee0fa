use serde::{Deserialize, Serialize};

use super::string_enum;
use crate::clock::Timestamp;
use crate::id::{ApiKeyId, RefreshFamilyId, RefreshSessionId, UserId};

/// The SHA-256 of a secret token. Only hashes are stored; comparisons are constant-time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct TokenHash(pub [u8; 32]);

impl TokenHash {
    /// Lowercase hex, for stores that keep text.
    pub fn to_hex(&self) -> String {
        self.0.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// Parses lowercase or uppercase hex of exactly 64 digits.
    pub fn from_hex(s: &str) -> Option<Self> {
        if s.len() != 64 || !s.is_ascii() {
            return None;
        }
        let mut out = [0u8; 32];
        for (i, byte) in out.iter_mut().enumerate() {
            *byte = u8::from_str_radix(s.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Self(out))
    }

    /// Compares in constant time.
    pub fn ct_eq(&self, other: &TokenHash) -> bool {
        use subtle::ConstantTimeEq;
        self.0.ct_eq(&other.0).into()
    }
}

impl std::fmt::Debug for TokenHash {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("TokenHash(<redacted>)")
    }
}

/// What an API key may do. A key never grants more than its user has.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Scope {
    /// Read everything the user can read.
    #[serde(rename = "read")]
    Read,
    /// Create, update and delete projects.
    #[serde(rename = "projects:write")]
    ProjectsWrite,
    /// Create, update and delete environments, ports, variables, sessions and extensions.
    #[serde(rename = "environments:write")]
    EnvironmentsWrite,
    /// Start and stop environments.
    #[serde(rename = "environments:lifecycle")]
    EnvironmentsLifecycle,
    /// Open terminals and run commands in environments.
    #[serde(rename = "environments:exec")]
    EnvironmentsExec,
    /// Manage teams and members.
    #[serde(rename = "teams:write")]
    TeamsWrite,
    /// Change the user's own profile and API keys.
    #[serde(rename = "account:write")]
    AccountWrite,
    /// Platform administration (only if the user is a platform admin).
    #[serde(rename = "admin")]
    Admin,
}
string_enum!(Scope, "scopes", {
    Read => "read", ProjectsWrite => "projects:write", EnvironmentsWrite => "environments:write",
    EnvironmentsLifecycle => "environments:lifecycle", EnvironmentsExec => "environments:exec",
    TeamsWrite => "teams:write", AccountWrite => "account:write", Admin => "admin",
});

/// A long-lived credential for scripts: `vbx_<prefix>_<secret>`. Only the SHA-256 of the secret
/// is stored; the full key is shown once.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ApiKey {
    /// Identity.
    pub id: ApiKeyId,
    /// The user the key acts as.
    pub user_id: UserId,
    /// A label, 1–100 characters.
    pub name: String,
    /// The public, unique part shown in listings (`vbx_<prefix>`).
    pub prefix: String,
    /// SHA-256 of the secret part.
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub secret_hash: TokenHash,
    /// What the key may do.
    pub scopes: Vec<Scope>,
    /// When the key stops working.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: Timestamp,
    /// The last successful use.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_used_at: Option<Timestamp>,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// One refresh token of a sign-in. Tokens rotate on use; all rotations of one sign-in share a
/// family, and replaying a used token revokes the family.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshSession {
    /// Identity.
    pub id: RefreshSessionId,
    /// The signed-in user.
    pub user_id: UserId,
    /// The sign-in this token belongs to.
    pub family_id: RefreshFamilyId,
    /// SHA-256 of the opaque 256-bit token.
    #[serde(skip_serializing)]
    #[cfg_attr(feature = "openapi", schema(ignore))]
    pub token_hash: TokenHash,
    /// Absolute expiry (7 days after the sign-in, kept across rotations).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub expires_at: Timestamp,
    /// When the token was rotated (used); a used token is never accepted again.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub used_at: Option<Timestamp>,
    /// When the token (or its family) was revoked.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub revoked_at: Option<Timestamp>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// The client's IP address.
    pub ip: Option<String>,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}
