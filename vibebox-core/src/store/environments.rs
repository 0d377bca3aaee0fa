use async_trait::async_trait;

use super::{Page, PageRequest};
use crate::clock::Timestamp;
use crate::domain::{
    Environment, EnvironmentHealth, EnvironmentPort, EnvironmentStatus, EnvironmentVariable,
    HealthWarning, Project, Role, ShareLevel,
};
use crate::error::Result;
use crate::id::{EnvironmentId, PortId, ProjectId, UserId, VariableId};

/// Which environments to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EnvironmentFilter {
    /// Only environments in projects this user can see (owned, or owned by one of their teams).
    pub visible_to: Option<UserId>,
    /// Only environments of this project.
    pub project_id: Option<ProjectId>,
    /// Only environments created by this user.
    pub creator_id: Option<UserId>,
    /// Only environments in one of these states (empty: any state).
    pub statuses: Vec<EnvironmentStatus>,
}

/// An environment with what deciding a user's access to it takes: its project and the user's
/// role in the team that owns the project.
#[derive(Clone, Debug, PartialEq)]
pub struct EnvironmentAccessRecord {
    /// The environment.
    pub environment: Environment,
    /// Its project.
    pub project: Project,
    /// The user's role in the team owning the project; `None` for a personal project, a user
    /// who is not a member, or no user.
    pub team_role: Option<Role>,
}

/// Environments with their ports and variables.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait EnvironmentsStore: Send + Sync {
    /// Errors: `AlreadyExists` (`slug`) within the project; `NotFound` (`project`, or `user`
    /// for the creator).
    async fn create_environment(&self, env: &Environment) -> Result<()>;

    /// Errors: `NotFound` (`environment`).
    async fn get_environment(&self, id: EnvironmentId) -> Result<Environment>;

    /// The environment, its project and `user`'s role in the project's team, as of one moment:
    /// the access check of every environment operation. SQL backends read it in one query.
    ///
    /// Errors: `NotFound` (`environment`), also when its project is gone.
    async fn get_environment_access(
        &self,
        id: EnvironmentId,
        user: Option<UserId>,
    ) -> Result<EnvironmentAccessRecord>;

    /// Every environment whose slug is `env_slug` in a project whose slug is `project_slug`,
    /// ordered by id: what a preview host name (`<port>--<env>--<project>`) can mean. Project
    /// slugs are unique per owner only, so several owners' projects may match. Archived
    /// projects are included; the caller decides what to do with them. No access check: the
    /// caller filters by what the actor may open.
    async fn find_environments_by_slugs(
        &self,
        project_slug: &str,
        env_slug: &str,
    ) -> Result<Vec<Environment>>;

    /// Environments matching the filter, ordered by id.
    async fn list_environments(
        &self,
        filter: &EnvironmentFilter,
        page: &PageRequest,
    ) -> Result<Page<Environment>>;

    /// Compare-and-set: writes every mutable field of `env` but `health` if the stored row still has
    /// `expected_status` and `expected_version`, and stores version `expected_version + 1`.
    /// Returns the row as stored.
    ///
    /// Errors: `NotFound` (`environment`); `StaleVersion` when status or version differ;
    /// `AlreadyExists` (`slug`).
    async fn update_environment(
        &self,
        env: &Environment,
        expected_status: EnvironmentStatus,
        expected_version: i64,
    ) -> Result<Environment>;

    /// Counts one kill by the OOM killer at `at`: `oom_kills` goes up by one and
    /// `last_oom_kill_at` becomes the later of its value and `at`, atomically (concurrent
    /// calls all count). Neither `version` nor `updated_at` changes. Returns the health as
    /// stored.
    ///
    /// Errors: `NotFound` (`environment`).
    async fn record_oom_kill(&self, id: EnvironmentId, at: Timestamp) -> Result<EnvironmentHealth>;

    /// Replaces the environment's health warnings (in the given order). Neither `version` nor
    /// `updated_at` changes, and the OOM fields are left alone.
    ///
    /// Errors: `NotFound` (`environment`).
    async fn set_environment_warnings(
        &self,
        id: EnvironmentId,
        warnings: &[HealthWarning],
    ) -> Result<()>;

    /// Deletes the environment with its ports, variables, sessions, extensions and logs.
    ///
    /// Errors: `NotFound` (`environment`).
    async fn delete_environment(&self, id: EnvironmentId) -> Result<()>;

    /// How many environments the user created count towards the running quota: `starting`,
    /// `running`, `suspended` or `resuming` ([`EnvironmentStatus::counts_as_running`]).
    ///
    /// [`EnvironmentStatus::counts_as_running`]: crate::domain::EnvironmentStatus::counts_as_running
    async fn count_running_environments(&self, creator: UserId) -> Result<u64>;

    /// Adds a port mapping.
    ///
    /// Errors: `NotFound` (`environment`); `AlreadyExists` naming `container_port` (same
    /// environment, port and protocol) or `host_port` (taken by any environment).
    async fn add_port(&self, port: &EnvironmentPort) -> Result<()>;

    /// The environment's ports, ordered by id.
    async fn list_ports(&self, env: EnvironmentId) -> Result<Vec<EnvironmentPort>>;

    /// Errors: `NotFound` (`port`) if the port does not exist in this environment.
    async fn delete_port(&self, env: EnvironmentId, port: PortId) -> Result<()>;

    /// Sets who may open the port's preview URL and its `updated_at` to `at`. Returns the port
    /// as stored.
    ///
    /// Errors: `NotFound` (`port`) if the port does not exist in this environment (nothing
    /// changes).
    async fn set_port_share_level(
        &self,
        env: EnvironmentId,
        port: PortId,
        level: ShareLevel,
        at: Timestamp,
    ) -> Result<EnvironmentPort>;

    /// Records the host ports the engine bound at start (`None` clears them at stop).
    /// Ports of the environment that are not listed are left alone.
    async fn set_bound_host_ports(
        &self,
        env: EnvironmentId,
        bound: &[(PortId, Option<u16>)],
    ) -> Result<()>;

    /// Inserts the variable, or replaces the value and encryption flag of the variable with the
    /// same key (keeping its id and created_at). Returns the row as stored.
    ///
    /// Errors: `NotFound` (`environment`).
    async fn put_variable(&self, var: &EnvironmentVariable) -> Result<EnvironmentVariable>;

    /// The environment's variables, ordered by key.
    async fn list_variables(&self, env: EnvironmentId) -> Result<Vec<EnvironmentVariable>>;

    /// Errors: `NotFound` (`variable`).
    async fn delete_variable(&self, env: EnvironmentId, key: &str) -> Result<()>;

    /// Encrypted variables of every environment, ordered by id, after `after` (for key
    /// rotation in batches).
    async fn list_encrypted_variables(
        &self,
        after: Option<VariableId>,
        limit: u32,
    ) -> Result<Vec<EnvironmentVariable>>;
}
