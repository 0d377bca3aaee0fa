use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::id::{ApiKeyId, AuditEventId, TeamId, UserId};

/// Who performed an audited action.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum AuditActor {
    /// A signed-in user.
    User {
        /// The user.
        user_id: UserId,
    },
    /// A user acting through an API key.
    ApiKey {
        /// The key's user.
        user_id: UserId,
        /// The key.
        key_id: ApiKeyId,
    },
    /// VibeBox itself (background jobs).
    System,
    /// Nobody signed in (registration, failed sign-in).
    Anonymous,
}

impl AuditActor {
    /// The user behind the action, if any.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            AuditActor::User { user_id } | AuditActor::ApiKey { user_id, .. } => Some(*user_id),
            AuditActor::System | AuditActor::Anonymous => None,
        }
    }
}

/// A record of something that happened. `details` never contains secrets.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AuditEvent {
    /// Identity.
    pub id: AuditEventId,
    /// Who did it.
    pub actor: AuditActor,
    /// What was done (`environment.start`, `team.member.add`, …).
    pub action: String,
    /// The kind of resource (`environment`, `team`, …).
    pub resource_type: String,
    /// The resource's id.
    pub resource_id: String,
    /// The team whose audit log shows the event, if it concerns a team's resource.
    pub team_id: Option<TeamId>,
    /// Extra facts as a JSON object.
    #[cfg_attr(feature = "openapi", schema(value_type = Object))]
    pub details: serde_json::Value,
    /// The client's IP address, when known.
    pub ip: Option<String>,
    /// When it happened.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub at: Timestamp,
}
