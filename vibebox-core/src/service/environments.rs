//! Environments: create, read, list, update, delete.

use serde::Deserialize;
use serde_json::json;
use tracing::instrument;

use super::{AuditRecord, StopMode, Vibebox};
use crate::domain::{Environment, EnvironmentStatus, IdlePolicy, Project};
use crate::error::{Error, ErrorKind, Result};
use crate::events::EventKind;
use crate::id::{EnvironmentId, ProjectId};
use crate::rbac::{Action, Actor};
use crate::runtime::ContainerId;
use crate::store::{EnvironmentFilter, Page, PageRequest};
use crate::validate;

/// Default CPU limit, in cores.
pub const DEFAULT_CPU_LIMIT: f64 = 2.0;
/// Default memory limit, in MB.
pub const DEFAULT_MEMORY_LIMIT: i64 = 4096;
/// Default storage limit, in MB.
pub const DEFAULT_STORAGE_LIMIT: i64 = 20480;

/// A new environment.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
pub struct NewEnvironment {
    /// The project.
    pub project_id: ProjectId,
    /// 1–100 characters.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: String,
    /// Slug, unique per project.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 3, max_length = 50, pattern = "^[a-z0-9]+(-[a-z0-9]+)*$")
    )]
    pub slug: String,
    /// The image reference.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub base_image: String,
    /// CPU cores (default 2.0).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.01, maximum = 256.0))]
    pub cpu_limit: Option<f64>,
    /// Memory in MB (default 4096).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 64, maximum = 1048576))]
    pub memory_limit: Option<i64>,
    /// Storage in MB (default 20480).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 512, maximum = 16777216))]
    pub storage_limit: Option<i64>,
    /// When it is suspended and stopped for idleness (default: suspend after 15 minutes,
    /// stop after 24 hours suspended).
    #[serde(default)]
    pub idle_policy: Option<IdlePolicy>,
    /// Start it at once (default false): the answer is the running environment. A start
    /// that fails leaves it created, in `error` with the reason.
    #[serde(default)]
    pub start: bool,
}

/// Changes to an environment. Image and limit changes take effect at the next start.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, Deserialize)]
pub struct EnvironmentPatch {
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
    /// A new image.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub base_image: Option<String>,
    /// New CPU limit.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 0.01, maximum = 256.0))]
    pub cpu_limit: Option<f64>,
    /// New memory limit.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 64, maximum = 1048576))]
    pub memory_limit: Option<i64>,
    /// New storage limit.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 512, maximum = 16777216))]
    pub storage_limit: Option<i64>,
    /// A new idle policy, replacing the whole policy; takes effect at once.
    #[serde(default)]
    pub idle_policy: Option<IdlePolicy>,
    /// The version the caller last saw; the update fails with `StaleVersion` if it changed.
    #[serde(default)]
    pub expected_version: Option<i64>,
}

impl Vibebox {
    /// Creates a stopped environment in a project (owner, team admins and developers), or,
    /// with `start`, a running one: then a warm container of the pool is claimed when one
    /// matches (see the pool's docs), else it starts cold.
    ///
    /// Errors: `InvalidInput` naming the field; `AlreadyExists` (`slug`); `Conflict` for an
    /// archived project; `PermissionDenied`; `NotFound` (`project`); with `start`,
    /// `QuotaExceeded` (nothing is created) and the errors of
    /// [`start_environment`](Self::start_environment).
    #[instrument(skip_all, fields(project.id = %new.project_id))]
    pub async fn create_environment(
        &self,
        actor: &Actor,
        new: NewEnvironment,
    ) -> Result<Environment> {
        let creator = actor.user_id().ok_or(Error::Unauthenticated)?;
        let project = self
            .project_for(actor, new.project_id, Action::CreateEnvironment)
            .await?;
        if project.is_archived {
            return Err(Error::Conflict("the project is archived".into()));
        }
        let name = validate::name("name", &new.name)?;
        validate::slug("slug", &new.slug)?;
        validate::image_reference(&new.base_image)?;
        let cpu_limit = new.cpu_limit.unwrap_or(DEFAULT_CPU_LIMIT);
        validate::cpu_limit(cpu_limit)?;
        let memory_limit = new.memory_limit.unwrap_or(DEFAULT_MEMORY_LIMIT);
        validate::memory_limit(memory_limit)?;
        let storage_limit = new.storage_limit.unwrap_or(DEFAULT_STORAGE_LIMIT);
        validate::storage_limit(storage_limit)?;
        let idle_policy = new.idle_policy.unwrap_or_default();
        validate::idle_policy(&idle_policy)?;
        let now = self.now();
        let env = Environment {
            id: EnvironmentId::new(),
            project_id: project.id,
            name,
            slug: new.slug,
            creator_id: creator,
            base_image: new.base_image,
            container_id: None,
            status: EnvironmentStatus::Stopped,
            cpu_limit,
            memory_limit,
            storage_limit,
            error_message: None,
            idle_policy,
            version: 1,
            health: Default::default(),
            status_changed_at: now,
            created_at: now,
            updated_at: now,
        };
        if new.start {
            self.check_running_quota(creator, false).await?;
            if let Some(running) = self.start_from_pool(actor, &env, &project).await? {
                return Ok(running);
            }
        }
        self.store().create_environment(&env).await?;
        self.announce_created(actor, &env, &project, false).await;
        if new.start {
            return self.start_environment(actor, env.id).await;
        }
        Ok(env)
    }

    /// Publishes and audits the creation of `env` (`warm`: from the warm pool).
    pub(crate) async fn announce_created(
        &self,
        actor: &Actor,
        env: &Environment,
        project: &Project,
        warm: bool,
    ) {
        self.publish_in(project.id, env.id, EventKind::Created);
        let mut details = json!({ "project_id": project.id, "base_image": env.base_image });
        if warm {
            details["warm"] = json!(true);
        }
        self.audit(
            actor,
            AuditRecord::new("environment.create", "environment", env.id)
                .team(project.owner.team_id())
                .details(details),
        )
        .await;
    }

    /// Every environment matching `filter`, across pages (for the service's own passes).
    pub(crate) async fn all_environments(
        &self,
        filter: &EnvironmentFilter,
    ) -> Result<Vec<Environment>> {
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        let mut all = Vec::new();
        loop {
            let envs = self.store().list_environments(filter, &page).await?;
            all.extend(envs.items);
            match envs.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => return Ok(all),
            }
        }
    }

    /// An environment the actor can see. Errors: `NotFound` (`environment`).
    pub async fn get_environment(&self, actor: &Actor, id: EnvironmentId) -> Result<Environment> {
        Ok(self
            .environment_for(actor, id, Action::ReadProject)
            .await?
            .env)
    }

    /// Environments the actor can see, optionally of one project.
    ///
    /// Errors: `NotFound` (`project`) for a project the actor cannot see.
    pub async fn list_environments(
        &self,
        actor: &Actor,
        project_id: Option<ProjectId>,
        page: &PageRequest,
    ) -> Result<Page<Environment>> {
        if let Some(p) = project_id {
            self.project_for(actor, p, Action::ReadProject).await?;
        } else {
            self.authorize_platform(actor, Action::ReadOwnAccount)?;
        }
        let filter = EnvironmentFilter {
            visible_to: actor.user_id(),
            project_id,
            ..Default::default()
        };
        self.store().list_environments(&filter, page).await
    }

    /// Updates an environment's name, slug, image or limits. Changes to the image or limits
    /// take effect at the next start (the container is recreated).
    ///
    /// Errors: `InvalidInput`; `StaleVersion` if `expected_version` is outdated or the
    /// environment changed meanwhile; `AlreadyExists` (`slug`); `PermissionDenied`; `NotFound`.
    #[instrument(skip_all, fields(environment.id = %id))]
    pub async fn update_environment(
        &self,
        actor: &Actor,
        id: EnvironmentId,
        patch: EnvironmentPatch,
    ) -> Result<Environment> {
        let access = self
            .environment_for(actor, id, Action::ManageEnvironment)
            .await?;
        let current = access.env;
        if let Some(v) = patch.expected_version
            && v != current.version
        {
            return Err(Error::StaleVersion {
                resource: "environment",
            });
        }
        let mut env = current.clone();
        if let Some(name) = patch.name {
            env.name = validate::name("name", &name)?;
        }
        if let Some(slug) = patch.slug {
            validate::slug("slug", &slug)?;
            env.slug = slug;
        }
        if let Some(image) = patch.base_image {
            validate::image_reference(&image)?;
            env.base_image = image;
        }
        if let Some(cpu) = patch.cpu_limit {
            validate::cpu_limit(cpu)?;
            env.cpu_limit = cpu;
        }
        if let Some(mem) = patch.memory_limit {
            validate::memory_limit(mem)?;
            env.memory_limit = mem;
        }
        if let Some(storage) = patch.storage_limit {
            validate::storage_limit(storage)?;
            env.storage_limit = storage;
        }
        if let Some(policy) = patch.idle_policy {
            validate::idle_policy(&policy)?;
            env.idle_policy = policy;
        }
        env.updated_at = self.now();
        let stored = self
            .store()
            .update_environment(&env, current.status, current.version)
            .await?;
        self.audit(
            actor,
            AuditRecord::new("environment.update", "environment", id)
                .team(access.project.owner.team_id()),
        )
        .await;
        Ok(stored)
    }

    /// Deletes an environment and its container. A running environment is stopped first;
    /// one that is starting or stopping is refused.
    ///
    /// Errors: `InvalidTransition` while starting, stopping or resuming; `PermissionDenied`;
    /// `NotFound`.
    #[instrument(skip_all, fields(environment.id = %id))]
    pub async fn delete_environment(&self, actor: &Actor, id: EnvironmentId) -> Result<()> {
        let access = self
            .environment_for(actor, id, Action::ManageEnvironment)
            .await?;
        let team = access.project.owner.team_id();
        let env = if matches!(
            access.env.status,
            EnvironmentStatus::Running | EnvironmentStatus::Suspended
        ) {
            // Everything in it goes with it: no grace period to wait out.
            self.stop_with(actor, access, StopMode::Kill).await?
        } else {
            access.env
        };
        if !env.status.is_deletable() {
            return Err(Error::InvalidTransition {
                machine: "environment",
                from: env.status.to_string(),
                to: "deleted".to_string(),
            });
        }
        self.terminate_all_sessions(id).await;
        self.remove_container_of(&env).await?;
        self.store().delete_environment(id).await?;
        self.release_project_network(env.project_id).await;
        self.stop_collector(id);
        self.forget_health(id).await;
        self.forget_activity(id);
        self.publish_in(env.project_id, id, EventKind::Deleted);
        self.audit(
            actor,
            AuditRecord::new("environment.delete", "environment", id).team(team),
        )
        .await;
        Ok(())
    }

    /// Removes an environment's container if it has one (an already-missing container is
    /// fine), then its home volume.
    pub(crate) async fn remove_container_of(&self, env: &Environment) -> Result<()> {
        if let Some(container) = &env.container_id {
            match self.runtime().remove(&ContainerId(container.clone())).await {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        self.remove_home_volume(env.id).await;
        Ok(())
    }
}
