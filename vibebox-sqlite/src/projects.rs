//! Projects.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::domain::{Project, ProjectOwner};
use vibebox_core::error::{Error, Result};
use vibebox_core::id::{ProjectId, TeamId, UserId};
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::one_affected;
use vibebox_core::store::{Page, PageRequest, ProjectsStore};

use crate::codec::{after_id, micros, timestamp};
use crate::error::DbResultExt;
use crate::store::{SqliteStore, exists};

macro_rules! project_columns {
    () => {
        "id, name, slug, owner_user_id, owner_team_id, is_archived, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
pub(crate) struct ProjectRow {
    pub(crate) id: Uuid,
    pub(crate) name: String,
    pub(crate) slug: String,
    pub(crate) owner_user_id: Option<Uuid>,
    pub(crate) owner_team_id: Option<Uuid>,
    pub(crate) is_archived: bool,
    pub(crate) created_at: i64,
    pub(crate) updated_at: i64,
}

impl TryFrom<ProjectRow> for Project {
    type Error = Error;

    fn try_from(r: ProjectRow) -> Result<Self> {
        let owner =
            ProjectOwner::from_columns(r.owner_user_id.map(UserId), r.owner_team_id.map(TeamId))
                .map_err(|e| {
                    Error::internal("stored project has no single owner", Some(e.into()))
                })?;
        Ok(Project {
            id: ProjectId(r.id),
            name: r.name,
            slug: r.slug,
            owner,
            is_archived: r.is_archived,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

fn page(rows: Vec<ProjectRow>, limit: u32) -> Result<Page<Project>> {
    let projects = rows
        .into_iter()
        .map(Project::try_from)
        .collect::<Result<Vec<_>>>()?;
    Ok(page_of(projects, limit, |p| p.id.to_string()))
}

#[async_trait]
impl ProjectsStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(project.id = %project.id))]
    async fn create_project(&self, project: &Project) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let (parent, found) = match project.owner {
            ProjectOwner::User(u) => (
                "user",
                exists(&mut *tx, "SELECT 1 FROM users WHERE id = ?", u.0).await?,
            ),
            ProjectOwner::Team(t) => (
                "team",
                exists(&mut *tx, "SELECT 1 FROM teams WHERE id = ?", t.0).await?,
            ),
        };
        if !found {
            return Err(Error::not_found(parent));
        }
        sqlx::query(concat!(
            "INSERT INTO projects (",
            project_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(project.id.0)
        .bind(&project.name)
        .bind(&project.slug)
        .bind(project.owner.user_id().map(|u| u.0))
        .bind(project.owner.team_id().map(|t| t.0))
        .bind(project.is_archived)
        .bind(micros(project.created_at))
        .bind(micros(project.updated_at))
        .execute(&mut *tx)
        .await
        .db_parent(parent)?;
        tx.commit().await.db()
    }

    #[tracing::instrument(skip_all, fields(project.id = %id))]
    async fn get_project(&self, id: ProjectId) -> Result<Project> {
        sqlx::query_as::<_, ProjectRow>(concat!(
            "SELECT ",
            project_columns!(),
            " FROM projects WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .db()?
        .ok_or(Error::not_found("project"))?
        .try_into()
    }

    #[tracing::instrument(skip_all, fields(project.id = %project.id))]
    async fn update_project(&self, project: &Project) -> Result<()> {
        let done = sqlx::query(
            "UPDATE projects SET name = ?, slug = ?, is_archived = ?, updated_at = ? WHERE id = ?",
        )
        .bind(&project.name)
        .bind(&project.slug)
        .bind(project.is_archived)
        .bind(micros(project.updated_at))
        .bind(project.id.0)
        .execute(self.pool())
        .await
        .db()?;
        one_affected(done.rows_affected(), "project")
    }

    #[tracing::instrument(skip_all, fields(project.id = %id))]
    async fn delete_project(&self, id: ProjectId) -> Result<()> {
        // Environments and everything in them go by ON DELETE CASCADE.
        let done = sqlx::query("DELETE FROM projects WHERE id = ?")
            .bind(id.0)
            .execute(self.pool())
            .await
            .db()?;
        one_affected(done.rows_affected(), "project")
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn list_projects_for_user(
        &self,
        user: UserId,
        page_request: &PageRequest,
    ) -> Result<Page<Project>> {
        let after = decode_id_cursor(page_request.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, ProjectRow>(concat!(
            "SELECT ",
            project_columns!(),
            " FROM projects WHERE id IN ( \
                 SELECT id FROM projects WHERE owner_user_id = ?1 AND id > ?2 \
                 UNION ALL \
                 SELECT p.id FROM memberships m JOIN projects p ON p.owner_team_id = m.team_id \
                 WHERE m.user_id = ?1 AND p.id > ?2) \
             ORDER BY id LIMIT ?3"
        ))
        .bind(user.0)
        .bind(after_id(after))
        .bind(fetch_limit(page_request.limit))
        .fetch_all(self.pool())
        .await
        .db()?;
        page(rows, page_request.limit)
    }

    #[tracing::instrument(skip_all)]
    async fn list_projects_by_owner(
        &self,
        owner: ProjectOwner,
        page_request: &PageRequest,
    ) -> Result<Page<Project>> {
        let after = decode_id_cursor(page_request.cursor.as_deref())?;
        let sql = match owner {
            ProjectOwner::User(_) => concat!(
                "SELECT ",
                project_columns!(),
                " FROM projects WHERE owner_user_id = ? AND id > ? ORDER BY id LIMIT ?"
            ),
            ProjectOwner::Team(_) => concat!(
                "SELECT ",
                project_columns!(),
                " FROM projects WHERE owner_team_id = ? AND id > ? ORDER BY id LIMIT ?"
            ),
        };
        let owner_id = match owner {
            ProjectOwner::User(u) => u.0,
            ProjectOwner::Team(t) => t.0,
        };
        let rows = sqlx::query_as::<_, ProjectRow>(sql)
            .bind(owner_id)
            .bind(after_id(after))
            .bind(fetch_limit(page_request.limit))
            .fetch_all(self.pool())
            .await
            .db()?;
        page(rows, page_request.limit)
    }
}
