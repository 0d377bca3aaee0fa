//! `GET/POST /environments`, `GET/PATCH/DELETE /environments/{id}` and
//! `POST /environments/{id}/start|stop|restart`.

use hyper::Method;
use serde::Serialize;
use vibebox_core::domain::{Environment, IdlePolicy};
use vibebox_core::id::{EnvironmentId, ProjectId};

use crate::Client;
use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::transport::Call;

/// `POST /environments`: a stopped environment.
#[derive(Clone, Debug, Serialize)]
pub struct NewEnvironment {
    /// The project.
    pub project_id: ProjectId,
    /// 1–100 characters.
    pub name: String,
    /// Slug, unique per project.
    pub slug: String,
    /// The image reference.
    pub base_image: String,
    /// CPU cores (default 2.0).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<f64>,
    /// Memory in MB (default 4096).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<i64>,
    /// Storage in MB (default 20480).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_limit: Option<i64>,
    /// When it is suspended and stopped for idleness (default: after 15 idle minutes, and
    /// after 24 hours suspended).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_policy: Option<IdlePolicy>,
    /// Start it at once: the answer is the running environment (from the server's warm pool
    /// when one matches).
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub start: bool,
}

impl NewEnvironment {
    /// An environment with the default limits.
    pub fn new(
        project_id: ProjectId,
        name: impl Into<String>,
        slug: impl Into<String>,
        base_image: impl Into<String>,
    ) -> Self {
        Self {
            project_id,
            name: name.into(),
            slug: slug.into(),
            base_image: base_image.into(),
            cpu_limit: None,
            memory_limit: None,
            storage_limit: None,
            idle_policy: None,
            start: false,
        }
    }
}

/// `PATCH /environments/{id}`: fields left `None` are not changed; image and limits apply at
/// the next start.
#[derive(Clone, Debug, Default, Serialize)]
pub struct EnvironmentPatch {
    /// A new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// A new image.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub base_image: Option<String>,
    /// A new CPU limit.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cpu_limit: Option<f64>,
    /// A new memory limit (MB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub memory_limit: Option<i64>,
    /// A new storage limit (MB).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub storage_limit: Option<i64>,
    /// A new idle policy (the whole policy; it applies at once).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_policy: Option<IdlePolicy>,
    /// The version last seen; the update is a `Conflict` if it changed since.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expected_version: Option<i64>,
}

impl Client {
    /// `GET /environments?project_id=`: the environments the caller can see, optionally of
    /// one project.
    pub async fn list_environments(
        &self,
        project: Option<ProjectId>,
        page: PageRequest,
    ) -> Result<Page<Environment>> {
        let call =
            page.apply(Call::api(Method::GET, "/environments").query_opt("project_id", project));
        self.transport.json(call).await
    }

    /// `POST /environments`: creates a stopped environment.
    pub async fn create_environment(&self, new: &NewEnvironment) -> Result<Environment> {
        let call = Call::api(Method::POST, "/environments").json(new)?;
        self.transport.json(call).await
    }

    /// `GET /environments/{id}`.
    pub async fn get_environment(&self, id: EnvironmentId) -> Result<Environment> {
        self.transport
            .json(Call::api(Method::GET, format!("/environments/{id}")))
            .await
    }

    /// `PATCH /environments/{id}`.
    pub async fn update_environment(
        &self,
        id: EnvironmentId,
        patch: &EnvironmentPatch,
    ) -> Result<Environment> {
        let call = Call::api(Method::PATCH, format!("/environments/{id}")).json(patch)?;
        self.transport.json(call).await
    }

    /// `DELETE /environments/{id}`: deletes an environment and its container (a running one
    /// is stopped first).
    pub async fn delete_environment(&self, id: EnvironmentId) -> Result<()> {
        self.transport
            .empty(Call::api(Method::DELETE, format!("/environments/{id}")))
            .await
    }

    /// `POST /environments/{id}/start`: the environment, running. Errors: `Conflict` for a
    /// refused transition or an environment that cannot start as configured;
    /// `RateLimited` past the running-environment quota.
    pub async fn start_environment(&self, id: EnvironmentId) -> Result<Environment> {
        self.transport
            .json(Call::api(Method::POST, format!("/environments/{id}/start")))
            .await
    }

    /// `POST /environments/{id}/stop`: the environment, stopped.
    pub async fn stop_environment(&self, id: EnvironmentId) -> Result<Environment> {
        self.transport
            .json(Call::api(Method::POST, format!("/environments/{id}/stop")))
            .await
    }

    /// `POST /environments/{id}/suspend`: the environment, suspended (its processes frozen,
    /// their memory kept). Errors: `Conflict` unless it runs; `Unsupported` when the engine
    /// cannot freeze.
    pub async fn suspend_environment(&self, id: EnvironmentId) -> Result<Environment> {
        self.transport
            .json(Call::api(
                Method::POST,
                format!("/environments/{id}/suspend"),
            ))
            .await
    }

    /// `POST /environments/{id}/resume`: the environment, running again (any access resumes
    /// it too).
    pub async fn resume_environment(&self, id: EnvironmentId) -> Result<Environment> {
        self.transport
            .json(Call::api(
                Method::POST,
                format!("/environments/{id}/resume"),
            ))
            .await
    }

    /// `POST /environments/{id}/restart?force=`: restarts (or starts) an environment; with
    /// `force`, every process is killed at once instead of a graceful stop.
    pub async fn restart_environment(&self, id: EnvironmentId, force: bool) -> Result<Environment> {
        let call = Call::api(Method::POST, format!("/environments/{id}/restart"))
            .query_opt("force", force.then_some(true));
        self.transport.json(call).await
    }
}
