//! Loading a resource together with the actor's relation to it, then asking [`authorize`].

use super::Vibebox;
use crate::domain::{Environment, Membership, Project, ProjectOwner, Role, Team};
use crate::error::Result;
use crate::id::{EnvironmentId, ProjectId, TeamId};
use crate::rbac::{Action, Actor, Relation, Target, authorize};
use crate::store::EnvironmentAccessRecord;

/// An environment the actor may act on, with its project.
pub(crate) struct EnvironmentAccess {
    pub env: Environment,
    pub project: Project,
}

impl Vibebox {
    /// The actor's relation to a project owner.
    pub(crate) async fn relation_to(&self, actor: &Actor, owner: ProjectOwner) -> Result<Relation> {
        let team_role = match (owner, actor.user_id()) {
            (ProjectOwner::Team(t), Some(user)) => {
                self.store().get_membership(t, user).await?.map(|m| m.role)
            }
            _ => None,
        };
        Ok(relation(actor, owner, team_role))
    }

    /// Loads a project and checks `action` on it. A project the actor may not see is
    /// `NotFound`.
    pub(crate) async fn project_for(
        &self,
        actor: &Actor,
        id: ProjectId,
        action: Action,
    ) -> Result<Project> {
        let project = self.store().get_project(id).await?;
        let relation = self.relation_to(actor, project.owner).await?;
        authorize(
            actor,
            action,
            &Target {
                resource: "project",
                relation,
                is_creator: false,
            },
        )?;
        Ok(project)
    }

    /// Loads an environment with its project and checks `action` on it. An environment the
    /// actor may not see is `NotFound`.
    pub(crate) async fn environment_for(
        &self,
        actor: &Actor,
        id: EnvironmentId,
        action: Action,
    ) -> Result<EnvironmentAccess> {
        let EnvironmentAccessRecord {
            environment: env,
            project,
            team_role,
        } = self
            .store()
            .get_environment_access(id, actor.user_id())
            .await?;
        let relation = relation(actor, project.owner, team_role);
        authorize(
            actor,
            action,
            &Target {
                resource: "environment",
                relation,
                is_creator: actor.user_id() == Some(env.creator_id),
            },
        )?;
        Ok(EnvironmentAccess { env, project })
    }

    /// Loads a team and checks `action` on it, returning the actor's membership.
    pub(crate) async fn team_for(
        &self,
        actor: &Actor,
        id: TeamId,
        action: Action,
    ) -> Result<(Team, Option<Membership>)> {
        let team = self.store().get_team(id).await?;
        let membership = match actor.user_id() {
            Some(u) => self.store().get_membership(id, u).await?,
            None => None,
        };
        let relation = match (&membership, actor) {
            (_, Actor::System) => Relation::Member(Role::Admin),
            (Some(m), _) => Relation::Member(m.role),
            (None, _) => Relation::Stranger,
        };
        authorize(
            actor,
            action,
            &Target {
                resource: "team",
                relation,
                is_creator: false,
            },
        )?;
        Ok((team, membership))
    }

    /// Checks a platform or account action (no tenant involved).
    pub(crate) fn authorize_platform(&self, actor: &Actor, action: Action) -> Result<()> {
        authorize(actor, action, &Target::PLATFORM)
    }
}

/// The actor's relation to a project owner, given the actor's role in the owning team (if the
/// owner is a team). The system actor owns everything.
fn relation(actor: &Actor, owner: ProjectOwner, team_role: Option<Role>) -> Relation {
    let Some(user) = actor.user_id() else {
        return Relation::Owner;
    };
    match (owner, team_role) {
        (ProjectOwner::User(u), _) if u == user => Relation::Owner,
        (ProjectOwner::User(_), _) | (ProjectOwner::Team(_), None) => Relation::Stranger,
        (ProjectOwner::Team(_), Some(role)) => Relation::Member(role),
    }
}
