use async_trait::async_trait;

use super::{Page, PageRequest};
use crate::domain::{Project, ProjectOwner};
use crate::error::Result;
use crate::id::{ProjectId, UserId};

/// Projects.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ProjectsStore: Send + Sync {
    /// Errors: `AlreadyExists` (`slug`) if the owner has a project with that slug; `NotFound`
    /// (`user` or `team`) if the owner does not exist.
    async fn create_project(&self, project: &Project) -> Result<()>;

    /// Errors: `NotFound` (`project`).
    async fn get_project(&self, id: ProjectId) -> Result<Project>;

    /// Replaces name, slug and is_archived (the owner never changes).
    ///
    /// Errors: `NotFound` (`project`); `AlreadyExists` (`slug`).
    async fn update_project(&self, project: &Project) -> Result<()>;

    /// Deletes the project and its environments with everything in them.
    ///
    /// Errors: `NotFound` (`project`).
    async fn delete_project(&self, id: ProjectId) -> Result<()>;

    /// Projects the user owns or that belong to a team the user is a member of, ordered by id.
    async fn list_projects_for_user(
        &self,
        user: UserId,
        page: &PageRequest,
    ) -> Result<Page<Project>>;

    /// The projects of one owner (a user's own, or a team's), ordered by id.
    async fn list_projects_by_owner(
        &self,
        owner: ProjectOwner,
        page: &PageRequest,
    ) -> Result<Page<Project>>;
}
