use async_trait::async_trait;

use super::{Page, PageRequest};
use crate::clock::Timestamp;
use crate::domain::{Membership, Role, Team};
use crate::error::Result;
use crate::id::{TeamId, UserId};

/// Teams and memberships. The store guarantees that a team always keeps at least one admin,
/// even under concurrent changes.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait TeamsStore: Send + Sync {
    /// Creates a team together with its first member, who must be an admin.
    ///
    /// Errors: `AlreadyExists` (`slug`); `NotFound` (`user`) if the member does not exist;
    /// `InvalidInput` (`role`) if the member is not an admin.
    async fn create_team(&self, team: &Team, first_admin: &Membership) -> Result<()>;

    /// Errors: `NotFound` (`team`).
    async fn get_team(&self, id: TeamId) -> Result<Team>;

    /// Replaces the team's fields. Errors: `NotFound` (`team`); `AlreadyExists` (`slug`).
    async fn update_team(&self, team: &Team) -> Result<()>;

    /// Deletes the team, its memberships and its projects with everything in them.
    ///
    /// Errors: `NotFound` (`team`).
    async fn delete_team(&self, id: TeamId) -> Result<()>;

    /// Teams the user belongs to, ordered by id.
    async fn list_teams_for_user(&self, user: UserId, page: &PageRequest) -> Result<Page<Team>>;

    /// Adds a member.
    ///
    /// Errors: `NotFound` (`team` or `user`); `AlreadyExists` (`user_id`) if already a member.
    async fn add_member(&self, membership: &Membership) -> Result<()>;

    /// The user's membership of the team, if any.
    async fn get_membership(&self, team: TeamId, user: UserId) -> Result<Option<Membership>>;

    /// The team's members, ordered by user id.
    async fn list_members(&self, team: TeamId, page: &PageRequest) -> Result<Page<Membership>>;

    /// Changes a member's role and returns the updated membership.
    ///
    /// Errors: `NotFound` (`membership`); `LastAdmin` if it would demote the last admin.
    async fn update_member_role(
        &self,
        team: TeamId,
        user: UserId,
        role: Role,
        at: Timestamp,
    ) -> Result<Membership>;

    /// Removes a member.
    ///
    /// Errors: `NotFound` (`membership`); `LastAdmin` if the member is the last admin.
    async fn remove_member(&self, team: TeamId, user: UserId) -> Result<()>;

    /// Every membership of the user.
    async fn list_memberships_for_user(&self, user: UserId) -> Result<Vec<Membership>>;
}
