//! [`EnvironmentsStore`]: environments (compare-and-set on status and version), their health,
//! ports and variables.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{Environment, EnvironmentPort, EnvironmentStatus, EnvironmentVariable};
use vibebox_core::domain::{
    EnvironmentHealth, HealthWarning, IdlePolicy, Project, Role, ShareLevel,
};
use vibebox_core::id::{EnvironmentId, PortId, ProjectId, UserId, VariableId};
use vibebox_core::store::cas_missed;
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::one_affected;
use vibebox_core::store::{
    EnvironmentAccessRecord, EnvironmentFilter, EnvironmentsStore, Page, PageRequest,
};
use vibebox_core::{Error, Result};

use crate::PgStore;
use crate::error::map;
use crate::projects::ProjectRow;
use crate::rows::{convert, parse, port};

macro_rules! env_columns {
    () => {
        "id, project_id, name, slug, creator_id, base_image, container_id, status, cpu_limit, \
         memory_limit, storage_limit, error_message, version, status_changed_at, created_at, \
         updated_at, oom_kills, last_oom_kill_at, health_warnings, idle_suspend_after_minutes, \
         idle_stop_after_hours"
    };
}

macro_rules! port_columns {
    () => {
        "id, environment_id, container_port, host_port, bound_host_port, protocol, share_level, \
         created_at, updated_at"
    };
}

macro_rules! variable_columns {
    () => {
        "id, environment_id, key, value, is_encrypted, created_at, updated_at"
    };
}

/// The optional filters of `list_environments` and its order.
macro_rules! env_filters {
    () => {
        "($2::uuid IS NULL OR e.project_id = $2) \
         AND ($3::uuid IS NULL OR e.creator_id = $3) \
         AND (cardinality($4::text[]) = 0 OR e.status = ANY($4)) \
         AND ($5::uuid IS NULL OR e.id > $5) \
         ORDER BY e.id LIMIT $6"
    };
}

/// The projects a user can see: their own, and those of every team they belong to. The two
/// branches never overlap (a project has one owner, and a user is in a team once).
const VISIBLE_PROJECTS: &str = "SELECT p.id FROM projects p WHERE p.owner_user_id = $1 \
     UNION ALL \
     SELECT p.id FROM memberships m JOIN projects p ON p.owner_team_id = m.team_id \
     WHERE m.user_id = $1";

/// Environments matching the filters, in the projects `$1` lists (`NULL`: in any project).
///
/// Visibility is resolved first (a handful of project ids) and passed as an array rather than
/// joined here, so the planner sees how many projects there are and how many environments they
/// hold: with many visible environments it walks the primary key in id order and stops after a
/// page; with few it reads them through `environments_project_id_idx` and sorts them. A single
/// joined query cannot be planned well for both (measured in benches/store.rs).
const LIST: &str = concat!(
    "SELECT e.id, e.project_id, e.name, e.slug, e.creator_id, e.base_image, e.container_id, \
     e.status, e.cpu_limit, e.memory_limit, e.storage_limit, e.error_message, e.version, \
     e.status_changed_at, e.created_at, e.updated_at, e.oom_kills, e.last_oom_kill_at, \
     e.health_warnings, e.idle_suspend_after_minutes, e.idle_stop_after_hours \
     FROM environments e WHERE ($1::uuid[] IS NULL OR e.project_id = ANY($1)) AND ",
    env_filters!()
);

/// An environment's health as stored.
#[derive(sqlx::FromRow)]
struct HealthRow {
    oom_kills: i64,
    last_oom_kill_at: Option<Timestamp>,
    /// A JSON array of [`HealthWarning`]s.
    health_warnings: serde_json::Value,
}

impl TryFrom<HealthRow> for EnvironmentHealth {
    type Error = Error;
    fn try_from(r: HealthRow) -> Result<Self> {
        Ok(EnvironmentHealth {
            oom_kills: r.oom_kills,
            last_oom_kill_at: r.last_oom_kill_at,
            warnings: serde_json::from_value(r.health_warnings).map_err(|e| {
                Error::internal(
                    "stored health_warnings are not valid",
                    Some(Box::new(e) as _),
                )
            })?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct EnvironmentRow {
    id: Uuid,
    project_id: Uuid,
    name: String,
    slug: String,
    creator_id: Uuid,
    base_image: String,
    container_id: Option<String>,
    status: String,
    cpu_limit: f64,
    memory_limit: i64,
    storage_limit: i64,
    error_message: Option<String>,
    idle_suspend_after_minutes: Option<i32>,
    idle_stop_after_hours: Option<i32>,
    version: i64,
    status_changed_at: Timestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
    #[sqlx(flatten)]
    health: HealthRow,
}

/// An environment row with its project's columns (prefixed `p_`) and the user's team role.
#[derive(sqlx::FromRow)]
struct EnvironmentAccessRow {
    #[sqlx(flatten)]
    env: EnvironmentRow,
    p_name: String,
    p_slug: String,
    p_owner_user_id: Option<Uuid>,
    p_owner_team_id: Option<Uuid>,
    p_is_archived: bool,
    p_created_at: Timestamp,
    p_updated_at: Timestamp,
    team_role: Option<String>,
}

impl TryFrom<EnvironmentAccessRow> for EnvironmentAccessRecord {
    type Error = Error;

    fn try_from(r: EnvironmentAccessRow) -> Result<Self> {
        let project = ProjectRow {
            id: r.env.project_id,
            name: r.p_name,
            slug: r.p_slug,
            owner_user_id: r.p_owner_user_id,
            owner_team_id: r.p_owner_team_id,
            is_archived: r.p_is_archived,
            created_at: r.p_created_at,
            updated_at: r.p_updated_at,
        };
        Ok(EnvironmentAccessRecord {
            project: Project::try_from(project)?,
            environment: r.env.try_into()?,
            team_role: r
                .team_role
                .map(|role| parse::<Role>("membership role", &role))
                .transpose()?,
        })
    }
}

impl TryFrom<EnvironmentRow> for Environment {
    type Error = Error;
    fn try_from(r: EnvironmentRow) -> Result<Self> {
        Ok(Environment {
            id: EnvironmentId(r.id),
            project_id: ProjectId(r.project_id),
            name: r.name,
            slug: r.slug,
            creator_id: UserId(r.creator_id),
            base_image: r.base_image,
            container_id: r.container_id,
            status: parse("environment status", &r.status)?,
            cpu_limit: r.cpu_limit,
            memory_limit: r.memory_limit,
            storage_limit: r.storage_limit,
            error_message: r.error_message,
            idle_policy: IdlePolicy {
                suspend_after_minutes: r.idle_suspend_after_minutes,
                stop_after_hours: r.idle_stop_after_hours,
            },
            version: r.version,
            health: r.health.try_into()?,
            status_changed_at: r.status_changed_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct PortRow {
    id: Uuid,
    environment_id: Uuid,
    container_port: i32,
    host_port: Option<i32>,
    bound_host_port: Option<i32>,
    protocol: String,
    share_level: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<PortRow> for EnvironmentPort {
    type Error = Error;
    fn try_from(r: PortRow) -> Result<Self> {
        Ok(EnvironmentPort {
            id: PortId(r.id),
            environment_id: EnvironmentId(r.environment_id),
            container_port: port("container_port", r.container_port)?,
            host_port: r.host_port.map(|p| port("host_port", p)).transpose()?,
            bound_host_port: r
                .bound_host_port
                .map(|p| port("bound_host_port", p))
                .transpose()?,
            protocol: parse("port protocol", &r.protocol)?,
            share_level: parse("port share level", &r.share_level)?,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct VariableRow {
    id: Uuid,
    environment_id: Uuid,
    key: String,
    value: String,
    is_encrypted: bool,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<VariableRow> for EnvironmentVariable {
    fn from(r: VariableRow) -> Self {
        EnvironmentVariable {
            id: VariableId(r.id),
            environment_id: EnvironmentId(r.environment_id),
            key: r.key,
            value: r.value,
            is_encrypted: r.is_encrypted,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

impl PgStore {
    async fn environment_exists(&self, id: EnvironmentId) -> Result<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM environments WHERE id = $1)")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(map)
    }
}

#[async_trait]
impl EnvironmentsStore for PgStore {
    #[tracing::instrument(skip_all, fields(environment.id = %env.id))]
    async fn create_environment(&self, env: &Environment) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO environments (",
            env_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, \
             $17, $18, $19, $20, $21)"
        ))
        .bind(env.id.0)
        .bind(env.project_id.0)
        .bind(&env.name)
        .bind(&env.slug)
        .bind(env.creator_id.0)
        .bind(&env.base_image)
        .bind(&env.container_id)
        .bind(env.status.as_str())
        .bind(env.cpu_limit)
        .bind(env.memory_limit)
        .bind(env.storage_limit)
        .bind(&env.error_message)
        .bind(env.version)
        .bind(env.status_changed_at)
        .bind(env.created_at)
        .bind(env.updated_at)
        .bind(env.health.oom_kills)
        .bind(env.health.last_oom_kill_at)
        .bind(sqlx::types::Json(&env.health.warnings))
        .bind(env.idle_policy.suspend_after_minutes)
        .bind(env.idle_policy.stop_after_hours)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map)
    }

    #[tracing::instrument(skip_all, fields(environment.id = %id))]
    async fn get_environment(&self, id: EnvironmentId) -> Result<Environment> {
        sqlx::query_as::<_, EnvironmentRow>(concat!(
            "SELECT ",
            env_columns!(),
            " FROM environments WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .ok_or(Error::not_found("environment"))
        .and_then(Environment::try_from)
    }

    #[tracing::instrument(skip_all, fields(environment.id = %id))]
    async fn get_environment_access(
        &self,
        id: EnvironmentId,
        user: Option<UserId>,
    ) -> Result<EnvironmentAccessRecord> {
        sqlx::query_as::<_, EnvironmentAccessRow>(concat!(
            "SELECT env.*, p.name AS p_name, p.slug AS p_slug, p.owner_user_id AS p_owner_user_id, \
             p.owner_team_id AS p_owner_team_id, p.is_archived AS p_is_archived, \
             p.created_at AS p_created_at, p.updated_at AS p_updated_at, m.role AS team_role \
             FROM (SELECT ",
            env_columns!(),
            " FROM environments WHERE id = $1) AS env \
             JOIN projects p ON p.id = env.project_id \
             LEFT JOIN memberships m ON m.team_id = p.owner_team_id AND m.user_id = $2"
        ))
        .bind(id.0)
        .bind(user.map(|u| u.0))
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .ok_or(Error::not_found("environment"))
        .and_then(EnvironmentAccessRecord::try_from)
    }

    #[tracing::instrument(skip_all)]
    async fn find_environments_by_slugs(
        &self,
        project_slug: &str,
        env_slug: &str,
    ) -> Result<Vec<Environment>> {
        // projects_slug_idx finds the projects, environments_project_slug_key the rest.
        let rows = sqlx::query_as::<_, EnvironmentRow>(concat!(
            "SELECT ",
            env_columns!(),
            " FROM environments WHERE slug = $2 \
             AND project_id IN (SELECT id FROM projects WHERE slug = $1) ORDER BY id"
        ))
        .bind(project_slug)
        .bind(env_slug)
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        convert(rows, Environment::try_from)
    }

    #[tracing::instrument(skip_all)]
    async fn list_environments(
        &self,
        filter: &EnvironmentFilter,
        page: &PageRequest,
    ) -> Result<Page<Environment>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
        let projects: Option<Vec<Uuid>> = match filter.visible_to {
            Some(user) => {
                let ids = sqlx::query_scalar::<_, Uuid>(VISIBLE_PROJECTS)
                    .bind(user.0)
                    .fetch_all(&self.pool)
                    .await
                    .map_err(map)?;
                if ids.is_empty() {
                    return Ok(Page {
                        items: Vec::new(),
                        next_cursor: None,
                    });
                }
                Some(ids)
            }
            None => None,
        };
        // Unnamed, so it is planned for the actual project list and filters every time.
        let rows = sqlx::query_as::<_, EnvironmentRow>(LIST)
            .persistent(false)
            .bind(projects)
            .bind(filter.project_id.map(|p| p.0))
            .bind(filter.creator_id.map(|u| u.0))
            .bind(statuses)
            .bind(after)
            .bind(fetch_limit(page.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        let envs = convert(rows, Environment::try_from)?;
        Ok(page_of(envs, page.limit, |e: &Environment| {
            e.id.to_string()
        }))
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env.id, status = %env.status))]
    async fn update_environment(
        &self,
        env: &Environment,
        expected_status: EnvironmentStatus,
        expected_version: i64,
    ) -> Result<Environment> {
        let row = sqlx::query_as::<_, EnvironmentRow>(concat!(
            "UPDATE environments SET name = $4, slug = $5, base_image = $6, container_id = $7, ",
            "status = $8, cpu_limit = $9, memory_limit = $10, storage_limit = $11, ",
            "error_message = $12, status_changed_at = $13, updated_at = $14, ",
            "idle_suspend_after_minutes = $15, idle_stop_after_hours = $16, ",
            "version = version + 1 ",
            "WHERE id = $1 AND status = $2 AND version = $3 RETURNING ",
            env_columns!()
        ))
        .bind(env.id.0)
        .bind(expected_status.as_str())
        .bind(expected_version)
        .bind(&env.name)
        .bind(&env.slug)
        .bind(&env.base_image)
        .bind(&env.container_id)
        .bind(env.status.as_str())
        .bind(env.cpu_limit)
        .bind(env.memory_limit)
        .bind(env.storage_limit)
        .bind(&env.error_message)
        .bind(env.status_changed_at)
        .bind(env.updated_at)
        .bind(env.idle_policy.suspend_after_minutes)
        .bind(env.idle_policy.stop_after_hours)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?;
        match row {
            Some(row) => Environment::try_from(row),
            None => Err(cas_missed(
                self.environment_exists(env.id).await?,
                "environment",
            )),
        }
    }

    #[tracing::instrument(skip_all, fields(environment.id = %id))]
    async fn record_oom_kill(&self, id: EnvironmentId, at: Timestamp) -> Result<EnvironmentHealth> {
        // One statement, so concurrent kills all count (the row lock orders them). GREATEST
        // ignores the NULL of a first kill.
        sqlx::query_as::<_, HealthRow>(
            "UPDATE environments SET oom_kills = oom_kills + 1, \
             last_oom_kill_at = GREATEST(last_oom_kill_at, $2) \
             WHERE id = $1 RETURNING oom_kills, last_oom_kill_at, health_warnings",
        )
        .bind(id.0)
        .bind(at)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .ok_or(Error::not_found("environment"))
        .and_then(EnvironmentHealth::try_from)
    }

    #[tracing::instrument(skip_all, fields(environment.id = %id, warnings = warnings.len()))]
    async fn set_environment_warnings(
        &self,
        id: EnvironmentId,
        warnings: &[HealthWarning],
    ) -> Result<()> {
        let done = sqlx::query("UPDATE environments SET health_warnings = $2 WHERE id = $1")
            .bind(id.0)
            .bind(sqlx::types::Json(warnings))
            .execute(&self.pool)
            .await
            .map_err(map)?;
        one_affected(done.rows_affected(), "environment")
    }

    #[tracing::instrument(skip_all, fields(environment.id = %id))]
    async fn delete_environment(&self, id: EnvironmentId) -> Result<()> {
        // Ports, variables, sessions, extensions and logs go by cascade.
        let done = sqlx::query("DELETE FROM environments WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        one_affected(done.rows_affected(), "environment")
    }

    #[tracing::instrument(skip_all, fields(user.id = %creator))]
    async fn count_running_environments(&self, creator: UserId) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM environments \
             WHERE creator_id = $1 AND status IN ('starting', 'running', 'suspended', 'resuming')",
        )
        .bind(creator.0)
        .fetch_one(&self.pool)
        .await
        .map_err(map)?;
        Ok(n.max(0) as u64)
    }

    #[tracing::instrument(skip_all, fields(environment.id = %port.environment_id))]
    async fn add_port(&self, port: &EnvironmentPort) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO environment_ports (",
            port_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)"
        ))
        .bind(port.id.0)
        .bind(port.environment_id.0)
        .bind(i32::from(port.container_port))
        .bind(port.host_port.map(i32::from))
        .bind(port.bound_host_port.map(i32::from))
        .bind(port.protocol.as_str())
        .bind(port.share_level.as_str())
        .bind(port.created_at)
        .bind(port.updated_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map)
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn list_ports(&self, env: EnvironmentId) -> Result<Vec<EnvironmentPort>> {
        let rows = sqlx::query_as::<_, PortRow>(concat!(
            "SELECT ",
            port_columns!(),
            " FROM environment_ports WHERE environment_id = $1 ORDER BY id"
        ))
        .bind(env.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        convert(rows, EnvironmentPort::try_from)
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn delete_port(&self, env: EnvironmentId, port: PortId) -> Result<()> {
        let done =
            sqlx::query("DELETE FROM environment_ports WHERE id = $1 AND environment_id = $2")
                .bind(port.0)
                .bind(env.0)
                .execute(&self.pool)
                .await
                .map_err(map)?;
        one_affected(done.rows_affected(), "port")
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env, port.id = %port))]
    async fn set_port_share_level(
        &self,
        env: EnvironmentId,
        port: PortId,
        level: ShareLevel,
        at: Timestamp,
    ) -> Result<EnvironmentPort> {
        sqlx::query_as::<_, PortRow>(concat!(
            "UPDATE environment_ports SET share_level = $3, updated_at = $4 \
             WHERE id = $1 AND environment_id = $2 RETURNING ",
            port_columns!()
        ))
        .bind(port.0)
        .bind(env.0)
        .bind(level.as_str())
        .bind(at)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .ok_or(Error::not_found("port"))
        .and_then(EnvironmentPort::try_from)
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn set_bound_host_ports(
        &self,
        env: EnvironmentId,
        bound: &[(PortId, Option<u16>)],
    ) -> Result<()> {
        if bound.is_empty() {
            return Ok(());
        }
        let ids: Vec<Uuid> = bound.iter().map(|(id, _)| id.0).collect();
        let ports: Vec<Option<i32>> = bound.iter().map(|(_, p)| p.map(i32::from)).collect();
        sqlx::query(
            "UPDATE environment_ports AS p SET bound_host_port = b.port \
             FROM UNNEST($2::uuid[], $3::int4[]) AS b(id, port) \
             WHERE p.id = b.id AND p.environment_id = $1",
        )
        .bind(env.0)
        .bind(ids)
        .bind(ports)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map)
    }

    #[tracing::instrument(skip_all, fields(environment.id = %var.environment_id))]
    async fn put_variable(&self, var: &EnvironmentVariable) -> Result<EnvironmentVariable> {
        sqlx::query_as::<_, VariableRow>(concat!(
            "INSERT INTO environment_variables (",
            variable_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7) ",
            "ON CONFLICT ON CONSTRAINT environment_variables_key_key DO UPDATE SET ",
            "value = EXCLUDED.value, is_encrypted = EXCLUDED.is_encrypted, ",
            "updated_at = EXCLUDED.updated_at RETURNING ",
            variable_columns!()
        ))
        .bind(var.id.0)
        .bind(var.environment_id.0)
        .bind(&var.key)
        .bind(&var.value)
        .bind(var.is_encrypted)
        .bind(var.created_at)
        .bind(var.updated_at)
        .fetch_one(&self.pool)
        .await
        .map(EnvironmentVariable::from)
        .map_err(map)
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn list_variables(&self, env: EnvironmentId) -> Result<Vec<EnvironmentVariable>> {
        let rows = sqlx::query_as::<_, VariableRow>(concat!(
            "SELECT ",
            variable_columns!(),
            " FROM environment_variables WHERE environment_id = $1 ORDER BY key COLLATE \"C\""
        ))
        .bind(env.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        Ok(rows.into_iter().map(EnvironmentVariable::from).collect())
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn delete_variable(&self, env: EnvironmentId, key: &str) -> Result<()> {
        let done =
            sqlx::query("DELETE FROM environment_variables WHERE environment_id = $1 AND key = $2")
                .bind(env.0)
                .bind(key)
                .execute(&self.pool)
                .await
                .map_err(map)?;
        one_affected(done.rows_affected(), "variable")
    }

    #[tracing::instrument(skip_all)]
    async fn list_encrypted_variables(
        &self,
        after: Option<VariableId>,
        limit: u32,
    ) -> Result<Vec<EnvironmentVariable>> {
        let rows = sqlx::query_as::<_, VariableRow>(concat!(
            "SELECT ",
            variable_columns!(),
            " FROM environment_variables WHERE is_encrypted AND ($1::uuid IS NULL OR id > $1) ",
            "ORDER BY id LIMIT $2"
        ))
        .persistent(false)
        .bind(after.map(|v| v.0))
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        Ok(rows.into_iter().map(EnvironmentVariable::from).collect())
    }
}
