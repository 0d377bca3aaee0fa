use serde::{Deserialize, Serialize};

use super::string_enum;
use crate::clock::Timestamp;
use crate::id::{TeamId, UserId};

/// A group of users that owns projects together.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Team {
    /// Identity.
    pub id: TeamId,
    /// 1–100 characters.
    pub name: String,
    /// `^[a-z0-9]+(-[a-z0-9]+)*$`, 3–50 characters, unique.
    pub slug: String,
    /// Free text.
    pub description: Option<String>,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// A member's role in a team.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Role {
    /// Read-only access to the team's resources.
    Viewer,
    /// Creates projects and environments and manages their own environments.
    Developer,
    /// Manages the team, its members and every resource it owns.
    Admin,
}
string_enum!(Role, "role", { Viewer => "viewer", Developer => "developer", Admin => "admin" });

/// A user's membership of a team. (user, team) is unique; a team always keeps one admin.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Membership {
    /// The team.
    pub team_id: TeamId,
    /// The member.
    pub user_id: UserId,
    /// The member's role.
    pub role: Role,
    /// When the user joined.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub joined_at: Timestamp,
    /// Last change (of the role).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}
