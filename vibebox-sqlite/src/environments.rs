//! Environments. Ports and variables live in [`ports`](crate::ports) and
//! [`variables`](crate::variables); this file holds the trait impl that delegates to them.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::domain::{Environment, EnvironmentPort, EnvironmentStatus, EnvironmentVariable};
use vibebox_core::domain::{Project, Role};
use vibebox_core::error::{Error, Result};
use vibebox_core::id::{EnvironmentId, PortId, ProjectId, UserId, VariableId};
use vibebox_core::store::cas_missed;
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::one_affected;
use vibebox_core::store::{
    EnvironmentAccessRecord, EnvironmentFilter, EnvironmentsStore, Page, PageRequest,
};

use crate::codec::{after_id, micros, names_json, parse_enum, timestamp};
use crate::error::DbResultExt;
use crate::projects::ProjectRow;
use crate::store::{SqliteStore, exists};

macro_rules! environment_columns {
    () => {
        "id, project_id, name, slug, creator_id, base_image, container_id, status, cpu_limit, \
         memory_limit, storage_limit, error_message, version, status_changed_at, created_at, \
         updated_at"
    };
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
    version: i64,
    status_changed_at: i64,
    created_at: i64,
    updated_at: i64,
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
            version: r.version,
            status_changed_at: timestamp(r.status_changed_at)?,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

/// `list_environments` with a `visible_to` user: environments of projects the user owns or
/// whose team the user belongs to.
const LIST_VISIBLE: &str = concat!(
    "SELECT ",
    environment_columns!(),
    " FROM environments WHERE project_id IN ( \
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
    "SELECT ",
    environment_columns!(),
    " FROM environments WHERE project_id = ?1 AND id > ?2 \
       AND (?3 IS NULL OR creator_id = ?3) \
       AND (?4 IS NULL OR status IN (SELECT value FROM json_each(?4))) \
     ORDER BY id LIMIT ?5"
);

/// `list_environments` of one creator.
const LIST_BY_CREATOR: &str = concat!(
    "SELECT ",
    environment_columns!(),
    " FROM environments WHERE creator_id = ?1 AND id > ?2 \
       AND (?3 IS NULL OR status IN (SELECT value FROM json_each(?3))) \
     ORDER BY id LIMIT ?4"
);

/// `list_environments` with at most a status filter.
const LIST_ALL: &str = concat!(
    "SELECT ",
    environment_columns!(),
    " FROM environments WHERE id > ?1 \
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
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
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
        .bind(micros(env.status_changed_at))
        .bind(micros(env.created_at))
        .bind(micros(env.updated_at))
        .execute(&mut *tx)
        .await
        .db_parent("project")?;
        tx.commit().await.db()
    }

    #[tracing::instrument(skip_all, fields(environment.id = %id))]
    async fn get_environment(&self, id: EnvironmentId) -> Result<Environment> {
        sqlx::query_as::<_, EnvironmentRow>(concat!(
            "SELECT ",
            environment_columns!(),
            " FROM environments WHERE id = ?"
        ))
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
             FROM (SELECT ",
            environment_columns!(),
            " FROM environments WHERE id = ?) AS env \
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
             version = version + 1, status_changed_at = ?, updated_at = ? \
             WHERE id = ? AND status = ? AND version = ? RETURNING ",
            environment_columns!()
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
    async fn delete_environment(&self, id: EnvironmentId) -> Result<()> {
        // Ports, variables, sessions, extensions and logs go by ON DELETE CASCADE.
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
             WHERE creator_id = ? AND status IN ('starting', 'running')",
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
