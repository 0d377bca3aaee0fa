//! Loading a resource together with the actor's relation to it, then asking [`authorize`].

use super::Vibebox;
use crate::domain::{Environment, Membership, Project, ProjectOwner, Team};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{EnvironmentId, ProjectId, TeamId};
use crate::rbac::{Action, Actor, Relation, Target, authorize};

/// An environment the actor may act on, with its project.
pub(crate) struct EnvironmentAccess {
    pub env: Environment,
    pub project: Project,
}

impl Vibebox {
    /// The actor's relation to a project owner.
    pub(crate) async fn relation_to(&self, actor: &Actor, owner: ProjectOwner) -> Result<Relation> {
        let Some(user) = actor.user_id() else {
            return Ok(Relation::Owner);
        };
        Ok(match owner {
            ProjectOwner::User(u) if u == user => Relation::Owner,
            ProjectOwner::User(_) => Relation::Stranger,
            ProjectOwner::Team(t) => match self.store().get_membership(t, user).await? {
                Some(m) => Relation::Member(m.role),
                None => Relation::Stranger,
            },
        })
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
        let env = self.store().get_environment(id).await?;
        let project = match self.store().get_project(env.project_id).await {
            Ok(p) => p,
            Err(e) if e.kind() == ErrorKind::NotFound => {
                return Err(Error::not_found("environment"));
            }
            Err(e) => return Err(e),
        };
        let relation = self.relation_to(actor, project.owner).await?;
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
            (_, Actor::System) => Relation::Member(crate::domain::Role::Admin),
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
