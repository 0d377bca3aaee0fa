//! Typed identifiers. Every id is a UUID v7 (time-ordered) in its own newtype, so an
//! environment id cannot be passed where a team id is expected.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::Error;

macro_rules! typed_id {
    ($(#[$meta:meta])* $name:ident, $field:literal) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
        #[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
        #[serde(transparent)]
        pub struct $name(pub Uuid);

        impl $name {
            /// A new time-ordered id.
            pub fn new() -> Self {
                Self(Uuid::now_v7())
            }

            /// The underlying UUID.
            pub fn as_uuid(&self) -> Uuid {
                self.0
            }

            /// Parses an id, naming the field in the error.
            pub fn parse_field(s: &str, field: &'static str) -> Result<Self, Error> {
                Uuid::parse_str(s)
                    .map(Self)
                    .map_err(|_| Error::invalid(field, "must be a UUID"))
            }
        }

        impl Default for $name {
            fn default() -> Self {
                Self::new()
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.0)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                fmt::Display::fmt(&self.0, f)
            }
        }

        impl FromStr for $name {
            type Err = Error;
            fn from_str(s: &str) -> Result<Self, Error> {
                Self::parse_field(s, $field)
            }
        }

        impl From<Uuid> for $name {
            fn from(u: Uuid) -> Self {
                Self(u)
            }
        }
    };
}

typed_id!(/// Identifies a [`User`](crate::domain::User).
    UserId, "user_id");
typed_id!(/// Identifies an [`OAuthIdentity`](crate::domain::OAuthIdentity).
    OAuthIdentityId, "oauth_identity_id");
typed_id!(/// Identifies a [`Team`](crate::domain::Team).
    TeamId, "team_id");
typed_id!(/// Identifies a [`Project`](crate::domain::Project).
    ProjectId, "project_id");
typed_id!(/// Identifies an [`Environment`](crate::domain::Environment).
    EnvironmentId, "environment_id");
typed_id!(/// Identifies an [`EnvironmentPort`](crate::domain::EnvironmentPort).
    PortId, "port_id");
typed_id!(/// Identifies an [`EnvironmentVariable`](crate::domain::EnvironmentVariable).
    VariableId, "variable_id");
typed_id!(/// Identifies a [`Session`](crate::domain::Session).
    SessionId, "session_id");
typed_id!(/// Identifies a catalog [`Extension`](crate::domain::Extension).
    ExtensionId, "extension_id");
typed_id!(/// Identifies an [`EnvironmentExtension`](crate::domain::EnvironmentExtension).
    EnvironmentExtensionId, "environment_extension_id");
typed_id!(/// Identifies an [`ApiKey`](crate::domain::ApiKey).
    ApiKeyId, "api_key_id");
typed_id!(/// Identifies a [`RefreshSession`](crate::domain::RefreshSession).
    RefreshSessionId, "refresh_session_id");
typed_id!(/// Identifies a refresh-token family (all rotations of one login).
    RefreshFamilyId, "family_id");
typed_id!(/// Identifies an [`AuditEvent`](crate::domain::AuditEvent).
    AuditEventId, "audit_event_id");
typed_id!(/// Identifies an [`SshKey`](crate::domain::SshKey).
    SshKeyId, "ssh_key_id");

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn ids_are_time_ordered() {
        let a = EnvironmentId::new();
        let b = EnvironmentId::new();
        assert!(a < b);
    }

    #[test]
    fn parsing_a_bad_id_names_the_field() -> TestResult {
        let e = "nope".parse::<TeamId>().err().ok_or("\"nope\" parsed")?;
        assert_eq!(e.field(), Some("team_id"));
        Ok(())
    }

    #[test]
    fn ids_serialize_as_plain_uuid_strings() -> serde_json::Result<()> {
        let id = UserId::new();
        let json = serde_json::to_string(&id)?;
        assert_eq!(json, format!("\"{id}\""));
        let back: UserId = serde_json::from_str(&json)?;
        assert_eq!(back, id);
        Ok(())
    }
}
