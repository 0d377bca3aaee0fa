//! Teams and their members. A team always keeps at least one admin.

use futures::{StreamExt, TryStreamExt, stream};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;

use super::{AuditRecord, Patch, Vibebox};
use crate::domain::{Membership, ProjectOwner, Role, Team, User};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{TeamId, UserId};
use crate::rbac::{Action, Actor, Relation, Target, authorize};
use crate::store::{Page, PageRequest};
use crate::validate;

/// A new team.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
pub struct NewTeam {
    /// 1–100 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: String,
    /// Unique slug.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 50, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")
    )]
    pub slug: String,
    /// Free text.
    #[serde(default)]
    pub description: Option<String>,
}

/// How many member accounts [`Vibebox::list_members`] reads from the store at once.
const MEMBER_READS_IN_FLIGHT: usize = 8;

/// A team member as the team's members see each other: the membership's fields, flattened,
/// plus the member's display name and email.
///
/// When the member's account cannot be read because it was deleted while the page was being
/// read, `display_name` and `email` are `null` and the membership is still listed: the row
/// exists, and a team admin must be able to see and remove it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct MemberView {
    /// The membership (`team_id`, `user_id`, `role`, `joined_at`, `updated_at`).
    #[serde(flatten)]
    pub membership: Membership,
    /// The member's display name; `null` if the account is gone.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub display_name: Option<String>,
    /// The member's email; `null` if the account is gone.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub email: Option<String>,
}

impl MemberView {
    /// The view of a membership and its member's account (`None` if the account is gone).
    pub fn new(membership: Membership, user: Option<&User>) -> Self {
        Self {
            membership,
            display_name: user.map(|u| u.display_name.clone()),
            email: user.map(|u| u.email.clone()),
        }
    }
}

/// Changes to a team.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, Deserialize)]
pub struct TeamPatch {
    /// A new name.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: Option<String>,
    /// A new slug.
    #[serde(default)]
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 50, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")
    )]
    pub slug: Option<String>,
    /// A new description, or `null` to clear it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub description: Patch<String>,
}

impl Vibebox {
    /// Creates a team; the actor becomes its first admin.
    ///
    /// Errors: `InvalidInput`; `AlreadyExists` (`slug`).
    #[instrument(skip_all)]
    pub async fn create_team(&self, actor: &Actor, new: NewTeam) -> Result<Team> {
        let user = actor.user_id().ok_or(Error::Unauthenticated)?;
        authorize(
            actor,
            Action::ManageTeam,
            &Target {
                resource: "team",
                relation: Relation::Member(Role::Admin),
                is_creator: true,
            },
        )?;
        let name = validate::name("name", &new.name)?;
        validate::slug("slug", &new.slug)?;
        if let Some(d) = &new.description {
            validate::description(d)?;
        }
        let now = self.now();
        let team = Team {
            id: TeamId::new(),
            name,
            slug: new.slug,
            description: new.description,
            created_at: now,
            updated_at: now,
        };
        let admin = Membership {
            team_id: team.id,
            user_id: user,
            role: Role::Admin,
            joined_at: now,
            updated_at: now,
        };
        self.store().create_team(&team, &admin).await?;
        self.audit(
            actor,
            AuditRecord::new("team.create", "team", team.id).team(Some(team.id)),
        )
        .await;
        Ok(team)
    }

    /// A team the actor belongs to. Errors: `NotFound` (`team`) otherwise.
    pub async fn get_team(&self, actor: &Actor, id: TeamId) -> Result<Team> {
        Ok(self.team_for(actor, id, Action::ReadTeam).await?.0)
    }

    /// The teams the actor belongs to.
    pub async fn list_teams(&self, actor: &Actor, page: &PageRequest) -> Result<Page<Team>> {
        self.authorize_platform(actor, Action::ReadOwnAccount)?;
        let user = actor.user_id().ok_or(Error::Unauthenticated)?;
        self.store().list_teams_for_user(user, page).await
    }

    /// Updates a team (team admins).
    ///
    /// Errors: `InvalidInput`; `AlreadyExists` (`slug`); `PermissionDenied`; `NotFound`.
    #[instrument(skip_all, fields(team.id = %id))]
    pub async fn update_team(&self, actor: &Actor, id: TeamId, patch: TeamPatch) -> Result<Team> {
        let (mut team, _) = self.team_for(actor, id, Action::ManageTeam).await?;
        if let Some(name) = patch.name {
            team.name = validate::name("name", &name)?;
        }
        if let Some(slug) = patch.slug {
            validate::slug("slug", &slug)?;
            team.slug = slug;
        }
        if let Patch::Set(d) = &patch.description {
            validate::description(d)?;
        }
        patch.description.apply_to(&mut team.description);
        team.updated_at = self.now();
        self.store().update_team(&team).await?;
        self.audit(
            actor,
            AuditRecord::new("team.update", "team", id).team(Some(id)),
        )
        .await;
        Ok(team)
    }

    /// Deletes a team with its projects and environments (team admins). Refused while any of
    /// its environments is not stopped.
    ///
    /// Errors: `Conflict` while environments run; `PermissionDenied`; `NotFound`.
    #[instrument(skip_all, fields(team.id = %id))]
    pub async fn delete_team(&self, actor: &Actor, id: TeamId) -> Result<()> {
        self.team_for(actor, id, Action::ManageTeam).await?;
        let removed = self.remove_owner_containers(ProjectOwner::Team(id)).await?;
        self.store().delete_team(id).await?;
        self.publish_deleted(&removed);
        self.audit(
            actor,
            AuditRecord::new("team.delete", "team", id).team(Some(id)),
        )
        .await;
        Ok(())
    }

    /// The team's members with their display names and emails (any member may read).
    ///
    /// A member whose account is gone (deleted concurrently) is listed with a `null` name and
    /// email, see [`MemberView`]. Errors: `NotFound` (`team`) for non-members.
    #[instrument(skip_all, fields(team.id = %team))]
    pub async fn list_members(
        &self,
        actor: &Actor,
        team: TeamId,
        page: &PageRequest,
    ) -> Result<Page<MemberView>> {
        self.team_for(actor, team, Action::ReadTeam).await?;
        let memberships = self.store().list_members(team, page).await?;
        let items = stream::iter(memberships.items)
            .map(|m| async move {
                let user = match self.store().get_user(m.user_id).await {
                    Ok(user) => Some(user),
                    Err(e) if e.kind() == ErrorKind::NotFound => None,
                    Err(e) => return Err(e),
                };
                Ok(MemberView::new(m, user.as_ref()))
            })
            .buffered(MEMBER_READS_IN_FLIGHT)
            .try_collect()
            .await?;
        Ok(Page {
            items,
            next_cursor: memberships.next_cursor,
        })
    }

    /// Adds the user with this email to the team (team admins).
    ///
    /// Errors: `NotFound` (`user`); `AlreadyExists` (`user_id`); `PermissionDenied`.
    #[instrument(skip_all, fields(team.id = %team))]
    pub async fn add_member(
        &self,
        actor: &Actor,
        team: TeamId,
        email: &str,
        role: Role,
    ) -> Result<Membership> {
        self.team_for(actor, team, Action::ManageTeam).await?;
        let email = validate::email(email)?;
        let user = self
            .store()
            .find_user_by_email(&email)
            .await?
            .ok_or_else(|| Error::not_found("user"))?;
        let now = self.now();
        let membership = Membership {
            team_id: team,
            user_id: user.id,
            role,
            joined_at: now,
            updated_at: now,
        };
        self.store().add_member(&membership).await?;
        self.audit(
            actor,
            AuditRecord::new("team.member.add", "team", team)
                .team(Some(team))
                .details(json!({ "user_id": user.id, "role": role })),
        )
        .await;
        Ok(membership)
    }

    /// Changes a member's role (team admins).
    ///
    /// Errors: `LastAdmin` when it would leave no admin; `NotFound` (`membership`).
    #[instrument(skip_all, fields(team.id = %team, user.id = %user))]
    pub async fn update_member_role(
        &self,
        actor: &Actor,
        team: TeamId,
        user: UserId,
        role: Role,
    ) -> Result<Membership> {
        self.team_for(actor, team, Action::ManageTeam).await?;
        let membership = self
            .store()
            .update_member_role(team, user, role, self.now())
            .await?;
        self.audit(
            actor,
            AuditRecord::new("team.member.role", "team", team)
                .team(Some(team))
                .details(json!({ "user_id": user, "role": role })),
        )
        .await;
        Ok(membership)
    }

    /// Removes a member (team admins), or leaves the team (any member removing themselves).
    ///
    /// Errors: `LastAdmin`; `NotFound` (`membership`).
    #[instrument(skip_all, fields(team.id = %team, user.id = %user))]
    pub async fn remove_member(&self, actor: &Actor, team: TeamId, user: UserId) -> Result<()> {
        let action = if actor.user_id() == Some(user) {
            Action::ReadTeam
        } else {
            Action::ManageTeam
        };
        self.team_for(actor, team, action).await?;
        self.store().remove_member(team, user).await?;
        self.audit(
            actor,
            AuditRecord::new("team.member.remove", "team", team)
                .team(Some(team))
                .details(json!({ "user_id": user })),
        )
        .await;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    fn membership() -> Membership {
        let now = Utc::now();
        Membership {
            team_id: TeamId::new(),
            user_id: UserId::new(),
            role: Role::Developer,
            joined_at: now,
            updated_at: now,
        }
    }

    #[test]
    fn a_member_view_flattens_the_membership_beside_name_and_email() -> TestResult {
        let m = membership();
        let view = MemberView {
            membership: m.clone(),
            display_name: Some("Bob".into()),
            email: Some("bob@example.com".into()),
        };
        let json = serde_json::to_value(&view)?;
        let mut expected = serde_json::to_value(&m)?;
        expected["display_name"] = json!("Bob");
        expected["email"] = json!("bob@example.com");
        assert_eq!(json, expected);
        assert_eq!(serde_json::from_value::<MemberView>(json)?, view);
        Ok(())
    }

    #[test]
    fn a_member_whose_account_is_gone_is_listed_with_null_name_and_email() -> TestResult {
        let view = MemberView::new(membership(), None);
        let json = serde_json::to_value(&view)?;
        assert!(json["display_name"].is_null() && json["email"].is_null());
        assert_eq!(json["user_id"], json!(view.membership.user_id));
        Ok(())
    }
}
