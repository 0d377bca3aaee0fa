//! `GET/POST /projects`, `GET/PATCH/DELETE /projects/{id}`.

use hyper::Method;
use serde::Serialize;
use vibebox_core::domain::Project;
use vibebox_core::id::{ProjectId, TeamId};

use crate::Client;
use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::transport::Call;

/// `POST /projects`.
#[derive(Clone, Debug, Serialize)]
pub struct NewProject {
    /// 1–100 characters.
    pub name: String,
    /// Slug, unique per owner.
    pub slug: String,
    /// The owning team; without it the project is the caller's own.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub team_id: Option<TeamId>,
}

/// `PATCH /projects/{id}`: fields left `None` are not changed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProjectPatch {
    /// A new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// Archive or unarchive (needs the right to delete the project).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_archived: Option<bool>,
}

impl Client {
    /// `GET /projects`: the projects the caller can see.
    pub async fn list_projects(&self, page: PageRequest) -> Result<Page<Project>> {
        let call = page.apply(Call::api(Method::GET, "/projects"));
        self.transport.json(call).await
    }

    /// `POST /projects`: a personal project, or a team's with `team_id`.
    pub async fn create_project(&self, new: &NewProject) -> Result<Project> {
        let call = Call::api(Method::POST, "/projects").json(new)?;
        self.transport.json(call).await
    }

    /// `GET /projects/{id}`.
    pub async fn get_project(&self, id: ProjectId) -> Result<Project> {
        self.transport
            .json(Call::api(Method::GET, format!("/projects/{id}")))
            .await
    }

    /// `PATCH /projects/{id}`.
    pub async fn update_project(&self, id: ProjectId, patch: &ProjectPatch) -> Result<Project> {
        let call = Call::api(Method::PATCH, format!("/projects/{id}")).json(patch)?;
        self.transport.json(call).await
    }

    /// `DELETE /projects/{id}`: deletes a project with its environments.
    pub async fn delete_project(&self, id: ProjectId) -> Result<()> {
        self.transport
            .empty(Call::api(Method::DELETE, format!("/projects/{id}")))
            .await
    }
}
