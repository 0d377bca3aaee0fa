//! Environments and their health. Ports and variables live in [`ports`](crate::ports) and
//! [`variables`](crate::variables); this file holds the trait impl that delegates to them.
//!
//! Health lives in its own table, `environment_health` (see migration 0003), one row per
//! environment that has had a kill or a warning: every query that builds an [`Environment`]
//! joins it, and an environment without a row has the default health.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{Environment, EnvironmentPort, EnvironmentStatus, EnvironmentVariable};
use vibebox_core::domain::{
    EnvironmentHealth, HealthWarning, IdlePolicy, Project, Role, ShareLevel,
};
use vibebox_core::error::{Error, Result};
use vibebox_core::id::{EnvironmentId, PortId, ProjectId, UserId, VariableId};
use vibebox_core::store::cas_missed;
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::one_affected;
use vibebox_core::store::{
    EnvironmentAccessRecord, EnvironmentFilter, EnvironmentsStore, Page, PageRequest,
};

use crate::codec::{
    after_id, micros, names_json, opt_micros, opt_timestamp, parse_enum, timestamp,
};
use crate::error::DbResultExt;
use crate::projects::ProjectRow;
use crate::store::{SqliteStore, exists};

macro_rules! environment_columns {
    () => {
        "id, project_id, name, slug, creator_id, base_image, container_id, status, cpu_limit, \
         memory_limit, storage_limit, error_message, idle_suspend_after_minutes, \
         idle_stop_after_hours, version, status_changed_at, created_at, updated_at"
    };
}

/// The health columns of an environment, from `environment_health` joined as `h`; an
/// environment without a health row reads as no kills and no warnings.
macro_rules! health_columns {
    () => {
        "coalesce(h.oom_kills, 0) AS oom_kills, h.last_oom_kill_at AS last_oom_kill_at, \
         coalesce(h.health_warnings, '[]') AS health_warnings"
    };
}

/// Selects every column of an [`EnvironmentRow`]; a `WHERE` clause on `environments`' columns
/// may follow (no column name is shared with `environment_health`).
macro_rules! select_environments {
    () => {
        concat!(
            "SELECT ",
            environment_columns!(),
            ", ",
            health_columns!(),
            " FROM environments \
             LEFT JOIN environment_health h ON h.environment_id = environments.id"
        )
    };
}

/// The health columns in the `RETURNING` clause of an `UPDATE environments`, which cannot join.
macro_rules! returning_health {
    () => {
        "coalesce((SELECT oom_kills FROM environment_health \
                   WHERE environment_id = environments.id), 0) AS oom_kills, \
         (SELECT last_oom_kill_at FROM environment_health \
          WHERE environment_id = environments.id) AS last_oom_kill_at, \
         coalesce((SELECT health_warnings FROM environment_health \
                   WHERE environment_id = environments.id), '[]') AS health_warnings"
    };
}

/// An environment's health as stored.
#[derive(sqlx::FromRow)]
struct HealthRow {
    oom_kills: i64,
    last_oom_kill_at: Option<i64>,
    /// A JSON array of [`HealthWarning`]s.
    health_warnings: String,
}

impl TryFrom<HealthRow> for EnvironmentHealth {
    type Error = Error;

    fn try_from(r: HealthRow) -> Result<Self> {
        Ok(EnvironmentHealth {
            oom_kills: r.oom_kills,
            last_oom_kill_at: opt_timestamp(r.last_oom_kill_at)?,
            warnings: serde_json::from_str(&r.health_warnings).map_err(|e| {
                Error::internal("stored health_warnings are not valid", Some(e.into()))
            })?,
        })
    }
}

/// Health warnings as stored: a JSON array.
fn warnings_json(warnings: &[HealthWarning]) -> Result<String> {
    serde_json::to_string(warnings)
        .map_err(|e| Error::internal("cannot encode health warnings", Some(e.into())))
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
    status_changed_at: i64,
    created_at: i64,
    updated_at: i64,
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
    p_created_at: i64,
    p_updated_at: i64,
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
                .map(|role| parse_enum::<Role>(&role, "role"))
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
            status: parse_enum(&r.status, "status")?,
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
            status_changed_at: timestamp(r.status_changed_at)?,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

/// `list_environments` with a `visible_to` user: environments of projects the user owns or
/// whose team the user belongs to.
const LIST_VISIBLE: &str = concat!(
    select_environments!(),
    " WHERE project_id IN ( \
         SELECT id FROM projects WHERE owner_user_id = ?1 \
         UNION ALL \
         SELECT p.id FROM memberships m JOIN projects p ON p.owner_team_id = m.team_id \
         WHERE m.user_id = ?1) \
       AND id > ?2 \
       AND (?3 IS NULL OR project_id = ?3) \
       AND (?4 IS NULL OR creator_id = ?4) \
       AND (?5 IS NULL OR status IN (SELECT value FROM json_each(?5))) \
     ORDER BY id LIMIT ?6"
);

/// `list_environments` of one project.
const LIST_BY_PROJECT: &str = concat!(
    select_environments!(),
    " WHERE project_id = ?1 AND id > ?2 \
       AND (?3 IS NULL OR creator_id = ?3) \
       AND (?4 IS NULL OR status IN (SELECT value FROM json_each(?4))) \
     ORDER BY id LIMIT ?5"
);

/// `list_environments` of one creator.
const LIST_BY_CREATOR: &str = concat!(
    select_environments!(),
    " WHERE creator_id = ?1 AND id > ?2 \
       AND (?3 IS NULL OR status IN (SELECT value FROM json_each(?3))) \
     ORDER BY id LIMIT ?4"
);

/// `list_environments` with at most a status filter.
const LIST_ALL: &str = concat!(
    select_environments!(),
    " WHERE id > ?1 \
       AND (?2 IS NULL OR status IN (SELECT value FROM json_each(?2))) \
     ORDER BY id LIMIT ?3"
);

#[async_trait]
impl EnvironmentsStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(environment.id = %env.id))]
    async fn create_environment(&self, env: &Environment) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if !exists(
            &mut *tx,
            "SELECT 1 FROM projects WHERE id = ?",
            env.project_id.0,
        )
        .await?
        {
            return Err(Error::not_found("project"));
        }
        if !exists(
            &mut *tx,
            "SELECT 1 FROM users WHERE id = ?",
            env.creator_id.0,
        )
        .await?
        {
            return Err(Error::not_found("user"));
        }
        sqlx::query(concat!(
            "INSERT INTO environments (",
            environment_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
        .bind(env.idle_policy.suspend_after_minutes)
        .bind(env.idle_policy.stop_after_hours)
        .bind(env.version)
        .bind(micros(env.status_changed_at))
        .bind(micros(env.created_at))
        .bind(micros(env.updated_at))
        .execute(&mut *tx)
        .await
        .db_parent("project")?;
        if env.health != EnvironmentHealth::default() {
            sqlx::query(
                "INSERT INTO environment_health \
                 (environment_id, oom_kills, last_oom_kill_at, health_warnings) \
                 VALUES (?, ?, ?, ?)",
            )
            .bind(env.id.0)
            .bind(env.health.oom_kills)
            .bind(opt_micros(env.health.last_oom_kill_at))
            .bind(warnings_json(&env.health.warnings)?)
            .execute(&mut *tx)
            .await
            .db()?;
        }
        tx.commit().await.db()
    }

    #[tracing::instrument(skip_all, fields(environment.id = %id))]
    async fn get_environment(&self, id: EnvironmentId) -> Result<Environment> {
        sqlx::query_as::<_, EnvironmentRow>(concat!(select_environments!(), " WHERE id = ?"))
            .bind(id.0)
            .fetch_optional(self.pool())
            .await
            .db()?
            .ok_or(Error::not_found("environment"))?
            .try_into()
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
             FROM (",
            select_environments!(),
            " WHERE id = ?) AS env \
             JOIN projects p ON p.id = env.project_id \
             LEFT JOIN memberships m ON m.team_id = p.owner_team_id AND m.user_id = ?"
        ))
        .bind(id.0)
        .bind(user.map(|u| u.0))
        .fetch_optional(self.pool())
        .await
        .db()?
        .ok_or(Error::not_found("environment"))?
        .try_into()
    }

    #[tracing::instrument(skip_all)]
    async fn find_environments_by_slugs(
        &self,
        project_slug: &str,
        env_slug: &str,
    ) -> Result<Vec<Environment>> {
        // projects_slug_idx finds the projects, environments' UNIQUE (project_id, slug) the rest.
        sqlx::query_as::<_, EnvironmentRow>(concat!(
            select_environments!(),
            " WHERE slug = ?2 AND project_id IN (SELECT id FROM projects WHERE slug = ?1) \
             ORDER BY id"
        ))
        .bind(project_slug)
        .bind(env_slug)
        .fetch_all(self.pool())
        .await
        .db()?
        .into_iter()
        .map(Environment::try_from)
        .collect()
    }

    #[tracing::instrument(skip_all)]
    async fn list_environments(
        &self,
        filter: &EnvironmentFilter,
        page: &PageRequest,
    ) -> Result<Page<Environment>> {
        let after = after_id(decode_id_cursor(page.cursor.as_deref())?);
        let statuses = names_json(&filter.statuses, EnvironmentStatus::as_str);
        let limit = fetch_limit(page.limit);
        let project = filter.project_id.map(|p| p.0);
        let creator = filter.creator_id.map(|c| c.0);
        let query = if let Some(user) = filter.visible_to {
            sqlx::query_as::<_, EnvironmentRow>(LIST_VISIBLE)
                .bind(user.0)
                .bind(after)
                .bind(project)
                .bind(creator)
                .bind(statuses)
                .bind(limit)
        } else if let Some(project) = project {
            sqlx::query_as(LIST_BY_PROJECT)
                .bind(project)
                .bind(after)
                .bind(creator)
                .bind(statuses)
                .bind(limit)
        } else if let Some(creator) = creator {
            sqlx::query_as(LIST_BY_CREATOR)
                .bind(creator)
                .bind(after)
                .bind(statuses)
                .bind(limit)
        } else {
            sqlx::query_as(LIST_ALL)
                .bind(after)
                .bind(statuses)
                .bind(limit)
        };
        let rows = query.fetch_all(self.pool()).await.db()?;
        let envs = rows
            .into_iter()
            .map(Environment::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(envs, page.limit, |e| e.id.to_string()))
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env.id, expected_version))]
    async fn update_environment(
        &self,
        env: &Environment,
        expected_status: EnvironmentStatus,
        expected_version: i64,
    ) -> Result<Environment> {
        let updated = sqlx::query_as::<_, EnvironmentRow>(concat!(
            "UPDATE environments SET name = ?, slug = ?, base_image = ?, container_id = ?, \
             status = ?, cpu_limit = ?, memory_limit = ?, storage_limit = ?, error_message = ?, \
             idle_suspend_after_minutes = ?, idle_stop_after_hours = ?, \
             version = version + 1, status_changed_at = ?, updated_at = ? \
             WHERE id = ? AND status = ? AND version = ? RETURNING ",
            environment_columns!(),
            ", ",
            returning_health!()
        ))
        .bind(&env.name)
        .bind(&env.slug)
        .bind(&env.base_image)
        .bind(&env.container_id)
        .bind(env.status.as_str())
        .bind(env.cpu_limit)
        .bind(env.memory_limit)
        .bind(env.storage_limit)
        .bind(&env.error_message)
        .bind(env.idle_policy.suspend_after_minutes)
        .bind(env.idle_policy.stop_after_hours)
        .bind(micros(env.status_changed_at))
        .bind(micros(env.updated_at))
        .bind(env.id.0)
        .bind(expected_status.as_str())
        .bind(expected_version)
        .fetch_optional(self.pool())
        .await
        .db()?;
        match updated {
            Some(row) => row.try_into(),
            None => {
                let exists = exists(
                    self.pool(),
                    "SELECT 1 FROM environments WHERE id = ?",
                    env.id.0,
                )
                .await?;
                Err(cas_missed(exists, "environment"))
            }
        }
    }

    #[tracing::instrument(skip_all, fields(environment.id = %id))]
    async fn record_oom_kill(&self, id: EnvironmentId, at: Timestamp) -> Result<EnvironmentHealth> {
        // One upsert: atomic without a transaction, and nothing is written when the
        // environment does not exist (the SELECT finds no row).
        sqlx::query_as::<_, HealthRow>(
            "INSERT INTO environment_health (environment_id, oom_kills, last_oom_kill_at) \
             SELECT id, 1, ?2 FROM environments WHERE id = ?1 \
             ON CONFLICT (environment_id) DO UPDATE SET oom_kills = oom_kills + 1, \
             last_oom_kill_at = max(coalesce(last_oom_kill_at, excluded.last_oom_kill_at), \
                                    excluded.last_oom_kill_at) \
             RETURNING oom_kills, last_oom_kill_at, health_warnings",
        )
        .bind(id.0)
        .bind(micros(at))
        .fetch_optional(self.pool())
        .await
        .db()?
        .ok_or(Error::not_found("environment"))?
        .try_into()
    }

    #[tracing::instrument(skip_all, fields(environment.id = %id, warnings = warnings.len()))]
    async fn set_environment_warnings(
        &self,
        id: EnvironmentId,
        warnings: &[HealthWarning],
    ) -> Result<()> {
        let done = sqlx::query(
            "INSERT INTO environment_health (environment_id, health_warnings) \
             SELECT id, ?2 FROM environments WHERE id = ?1 \
             ON CONFLICT (environment_id) DO UPDATE SET health_warnings = excluded.health_warnings",
        )
        .bind(id.0)
        .bind(warnings_json(warnings)?)
        .execute(self.pool())
        .await
        .db()?;
        one_affected(done.rows_affected(), "environment")
    }

    #[tracing::instrument(skip_all, fields(environment.id = %id))]
    async fn delete_environment(&self, id: EnvironmentId) -> Result<()> {
        // Health, ports, variables, sessions, extensions and logs go by ON DELETE CASCADE.
        let done = sqlx::query("DELETE FROM environments WHERE id = ?")
            .bind(id.0)
            .execute(self.pool())
            .await
            .db()?;
        one_affected(done.rows_affected(), "environment")
    }

    #[tracing::instrument(skip_all, fields(user.id = %creator))]
    async fn count_running_environments(&self, creator: UserId) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM environments \
             WHERE creator_id = ? AND status IN ('starting', 'running', 'suspended', 'resuming')",
        )
        .bind(creator.0)
        .fetch_one(self.pool())
        .await
        .db()?;
        Ok(n.unsigned_abs())
    }

    #[tracing::instrument(skip_all, fields(environment.id = %port.environment_id))]
    async fn add_port(&self, port: &EnvironmentPort) -> Result<()> {
        crate::ports::add(self, port).await
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn list_ports(&self, env: EnvironmentId) -> Result<Vec<EnvironmentPort>> {
        crate::ports::list(self, env).await
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn delete_port(&self, env: EnvironmentId, port: PortId) -> Result<()> {
        crate::ports::delete(self, env, port).await
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env, port.id = %port))]
    async fn set_port_share_level(
        &self,
        env: EnvironmentId,
        port: PortId,
        level: ShareLevel,
        at: Timestamp,
    ) -> Result<EnvironmentPort> {
        crate::ports::set_share_level(self, env, port, level, at).await
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn set_bound_host_ports(
        &self,
        env: EnvironmentId,
        bound: &[(PortId, Option<u16>)],
    ) -> Result<()> {
        crate::ports::set_bound(self, env, bound).await
    }

    #[tracing::instrument(skip_all, fields(environment.id = %var.environment_id))]
    async fn put_variable(&self, var: &EnvironmentVariable) -> Result<EnvironmentVariable> {
        crate::variables::put(self, var).await
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn list_variables(&self, env: EnvironmentId) -> Result<Vec<EnvironmentVariable>> {
        crate::variables::list(self, env).await
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn delete_variable(&self, env: EnvironmentId, key: &str) -> Result<()> {
        crate::variables::delete(self, env, key).await
    }

    #[tracing::instrument(skip_all)]
    async fn list_encrypted_variables(
        &self,
        after: Option<VariableId>,
        limit: u32,
    ) -> Result<Vec<EnvironmentVariable>> {
        crate::variables::list_encrypted(self, after, limit).await
    }
}
