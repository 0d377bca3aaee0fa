//! Projects: owned by one user or one team.

use serde::Deserialize;
use serde_json::json;
use tracing::instrument;

use super::{AuditRecord, Vibebox};
use crate::domain::{Environment, Project, ProjectOwner};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::id::{ProjectId, TeamId};
use crate::rbac::{Action, Actor, Target, authorize};
use crate::store::{EnvironmentFilter, Page, PageRequest};
use crate::validate;

/// A new project.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
pub struct NewProject {
    /// 1–100 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: String,
    /// Slug, unique per owner.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 50, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")
    )]
    pub slug: String,
    /// The owning team; without it the project is the actor's own.
    #[serde(default)]
    pub team_id: Option<TeamId>,
}

/// Changes to a project.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ProjectPatch {
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
    /// Archive or unarchive (needs the right to delete the project).
    #[serde(default)]
    pub is_archived: Option<bool>,
}

impl Vibebox {
    /// Creates a project for the actor, or in a team (admins and developers).
    ///
    /// Errors: `InvalidInput`; `AlreadyExists` (`slug`); `PermissionDenied` for viewers;
    /// `NotFound` (`team`) for non-members.
    #[instrument(skip_all)]
    pub async fn create_project(&self, actor: &Actor, new: NewProject) -> Result<Project> {
        let user = actor.user_id().ok_or(Error::Unauthenticated)?;
        let owner = match new.team_id {
            Some(t) => ProjectOwner::Team(t),
            None => ProjectOwner::User(user),
        };
        let relation = self.relation_to(actor, owner).await?;
        authorize(
            actor,
            Action::CreateProject,
            &Target {
                resource: "team",
                relation,
                is_creator: false,
            },
        )?;
        if let Some(t) = new.team_id {
            self.store().get_team(t).await?;
        }
        let name = validate::name("name", &new.name)?;
        validate::slug("slug", &new.slug)?;
        let now = self.now();
        let project = Project {
            id: ProjectId::new(),
            name,
            slug: new.slug,
            owner,
            is_archived: false,
            created_at: now,
            updated_at: now,
        };
        self.store().create_project(&project).await?;
        self.audit(
            actor,
            AuditRecord::new("project.create", "project", project.id).team(owner.team_id()),
        )
        .await;
        Ok(project)
    }

    /// A project the actor can see. Errors: `NotFound` (`project`).
    pub async fn get_project(&self, actor: &Actor, id: ProjectId) -> Result<Project> {
        self.project_for(actor, id, Action::ReadProject).await
    }

    /// The projects the actor can see: their own and their teams'.
    pub async fn list_projects(&self, actor: &Actor, page: &PageRequest) -> Result<Page<Project>> {
        self.authorize_platform(actor, Action::ReadOwnAccount)?;
        let user = actor.user_id().ok_or(Error::Unauthenticated)?;
        self.store().list_projects_for_user(user, page).await
    }

    /// Renames or (un)archives a project.
    ///
    /// Errors: `InvalidInput`; `AlreadyExists` (`slug`); `PermissionDenied`; `NotFound`.
    #[instrument(skip_all, fields(project.id = %id))]
    pub async fn update_project(
        &self,
        actor: &Actor,
        id: ProjectId,
        patch: ProjectPatch,
    ) -> Result<Project> {
        let action = if patch.is_archived.is_some() {
            Action::DeleteProject
        } else {
            Action::UpdateProject
        };
        let mut project = self.project_for(actor, id, action).await?;
        if let Some(name) = patch.name {
            project.name = validate::name("name", &name)?;
        }
        if let Some(slug) = patch.slug {
            validate::slug("slug", &slug)?;
            project.slug = slug;
        }
        if let Some(archived) = patch.is_archived {
            project.is_archived = archived;
        }
        project.updated_at = self.now();
        self.store().update_project(&project).await?;
        self.audit(
            actor,
            AuditRecord::new("project.update", "project", id)
                .team(project.owner.team_id())
                .details(json!({ "is_archived": project.is_archived })),
        )
        .await;
        Ok(project)
    }

    /// Deletes a project with its environments (owner or team admin). Refused while any of its
    /// environments is not stopped.
    ///
    /// Errors: `Conflict` while environments run; `PermissionDenied`; `NotFound`.
    #[instrument(skip_all, fields(project.id = %id))]
    pub async fn delete_project(&self, actor: &Actor, id: ProjectId) -> Result<()> {
        let project = self.project_for(actor, id, Action::DeleteProject).await?;
        let removed = self.remove_project_containers(id).await?;
        self.store().delete_project(id).await?;
        self.release_project_network(id).await;
        self.publish_deleted(&removed);
        self.audit(
            actor,
            AuditRecord::new("project.delete", "project", id).team(project.owner.team_id()),
        )
        .await;
        Ok(())
    }

    /// Before a project is deleted: refuses if an environment is active, then removes the
    /// containers of the stopped ones. Returns the environments, to announce their deletion.
    async fn remove_project_containers(&self, project: ProjectId) -> Result<Vec<Environment>> {
        let envs = self
            .all_environments(&EnvironmentFilter {
                project_id: Some(project),
                ..Default::default()
            })
            .await?;
        if let Some(active) = envs.iter().find(|e| !e.status.is_deletable()) {
            return Err(Error::Conflict(
                format!(
                    "environment {} is {}; stop it before deleting its project",
                    active.slug, active.status
                )
                .into(),
            ));
        }
        for env in &envs {
            self.remove_container_of(env).await?;
        }
        Ok(envs)
    }

    /// Before an owner's projects are deleted (team deletion). Returns their environments,
    /// to announce their deletion.
    pub(crate) async fn remove_owner_containers(
        &self,
        owner: ProjectOwner,
    ) -> Result<Vec<Environment>> {
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        let mut removed = Vec::new();
        loop {
            let projects = self.store().list_projects_by_owner(owner, &page).await?;
            for p in &projects.items {
                removed.extend(self.remove_project_containers(p.id).await?);
            }
            match projects.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        Ok(removed)
    }

    /// Announces environments deleted with their project.
    pub(crate) fn publish_deleted(&self, removed: &[Environment]) {
        for env in removed {
            self.publish_in(env.project_id, env.id, EventKind::Deleted);
        }
    }
}
