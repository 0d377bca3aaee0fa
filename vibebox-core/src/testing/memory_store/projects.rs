use async_trait::async_trait;

use super::{MemoryStore, State, paginate};
use crate::domain::{Project, ProjectOwner};
use crate::error::{Error, Result};
use crate::id::{ProjectId, UserId};
use crate::store::{Page, PageRequest, ProjectsStore};

impl State {
    fn project_slug_taken(&self, owner: ProjectOwner, slug: &str, except: ProjectId) -> bool {
        self.projects
            .values()
            .any(|p| p.id != except && p.owner == owner && p.slug == slug)
    }

    /// Whether `user` owns the project or is a member of the team that owns it.
    pub(super) fn can_see_project(&self, user: UserId, project: &Project) -> bool {
        match project.owner {
            ProjectOwner::User(owner) => owner == user,
            ProjectOwner::Team(team) => self.memberships.contains_key(&(team, user)),
        }
    }
}

#[async_trait]
impl ProjectsStore for MemoryStore {
    async fn create_project(&self, project: &Project) -> Result<()> {
        self.with(|s| {
            match project.owner {
                ProjectOwner::User(user) => s.require_user(user)?,
                ProjectOwner::Team(team) => {
                    if !s.teams.contains_key(&team) {
                        return Err(Error::not_found("team"));
                    }
                }
            }
            if s.projects.contains_key(&project.id) {
                return Err(Error::already_exists("project", "id"));
            }
            if s.project_slug_taken(project.owner, &project.slug, project.id) {
                return Err(Error::already_exists("project", "slug"));
            }
            s.projects.insert(project.id, project.clone());
            Ok(())
        })
    }

    async fn get_project(&self, id: ProjectId) -> Result<Project> {
        self.with(|s| {
            s.projects
                .get(&id)
                .cloned()
                .ok_or(Error::not_found("project"))
        })
    }

    async fn update_project(&self, project: &Project) -> Result<()> {
        self.with(|s| {
            let owner = match s.projects.get(&project.id) {
                Some(stored) => stored.owner,
                None => return Err(Error::not_found("project")),
            };
            if s.project_slug_taken(owner, &project.slug, project.id) {
                return Err(Error::already_exists("project", "slug"));
            }
            if let Some(stored) = s.projects.get_mut(&project.id) {
                stored.name.clone_from(&project.name);
                stored.slug.clone_from(&project.slug);
                stored.is_archived = project.is_archived;
                stored.updated_at = project.updated_at;
            }
            Ok(())
        })
    }

    async fn delete_project(&self, id: ProjectId) -> Result<()> {
        self.with(|s| {
            if !s.projects.contains_key(&id) {
                return Err(Error::not_found("project"));
            }
            s.cascade_delete_project(id);
            Ok(())
        })
    }

    async fn list_projects_for_user(
        &self,
        user: UserId,
        page: &PageRequest,
    ) -> Result<Page<Project>> {
        self.with(|s| {
            let projects = s
                .projects
                .values()
                .filter(|p| s.can_see_project(user, p))
                .cloned()
                .collect();
            paginate(projects, |p| p.id.0, page, false)
        })
    }

    async fn list_projects_by_owner(
        &self,
        owner: ProjectOwner,
        page: &PageRequest,
    ) -> Result<Page<Project>> {
        self.with(|s| {
            let projects = s
                .projects
                .values()
                .filter(|p| p.owner == owner)
                .cloned()
                .collect();
            paginate(projects, |p| p.id.0, page, false)
        })
    }
}
