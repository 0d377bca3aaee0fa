use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::error::{Error, Result};
use crate::id::{ProjectId, TeamId, UserId};

/// Who owns a project: exactly one user or exactly one team.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(tag = "type", content = "id", rename_all = "snake_case")]
pub enum ProjectOwner {
    /// A personal project.
    User(UserId),
    /// A team project.
    Team(TeamId),
}

impl ProjectOwner {
    /// Builds the owner from the two nullable columns a store keeps, enforcing that exactly one
    /// is set.
    pub fn from_columns(user: Option<UserId>, team: Option<TeamId>) -> Result<Self> {
        match (user, team) {
            (Some(u), None) => Ok(ProjectOwner::User(u)),
            (None, Some(t)) => Ok(ProjectOwner::Team(t)),
            (Some(_), Some(_)) => Err(Error::invalid(
                "owner",
                "a project is owned by a user or a team, not both",
            )),
            (None, None) => Err(Error::invalid(
                "owner",
                "a project must be owned by a user or a team",
            )),
        }
    }

    /// The owning user, if personal.
    pub fn user_id(&self) -> Option<UserId> {
        match self {
            ProjectOwner::User(u) => Some(*u),
            ProjectOwner::Team(_) => None,
        }
    }

    /// The owning team, if a team project.
    pub fn team_id(&self) -> Option<TeamId> {
        match self {
            ProjectOwner::Team(t) => Some(*t),
            ProjectOwner::User(_) => None,
        }
    }
}

/// A group of environments owned by a user or a team.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Project {
    /// Identity.
    pub id: ProjectId,
    /// 1–100 characters.
    pub name: String,
    /// Slug rule as teams; unique per owner.
    pub slug: String,
    /// Exactly one of a user or a team.
    pub owner: ProjectOwner,
    /// An archived project keeps its data but refuses new environments and starts.
    pub is_archived: bool,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}
