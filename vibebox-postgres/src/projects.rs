//! [`ProjectsStore`]: projects owned by a user or a team.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{Project, ProjectOwner};
use vibebox_core::id::{ProjectId, TeamId, UserId};
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::one_affected;
use vibebox_core::store::{Page, PageRequest, ProjectsStore};
use vibebox_core::{Error, Result};

use crate::PgStore;
use crate::error::{corrupt, map};
use crate::rows::convert;

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
    pub(crate) created_at: Timestamp,
    pub(crate) updated_at: Timestamp,
}

impl TryFrom<ProjectRow> for Project {
    type Error = Error;
    fn try_from(r: ProjectRow) -> Result<Self> {
        let owner =
            ProjectOwner::from_columns(r.owner_user_id.map(UserId), r.owner_team_id.map(TeamId))
                .map_err(|e| corrupt("project owner", e))?;
        Ok(Project {
            id: ProjectId(r.id),
            name: r.name,
            slug: r.slug,
            owner,
            is_archived: r.is_archived,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

fn project_page(rows: Vec<ProjectRow>, page: &PageRequest) -> Result<Page<Project>> {
    let projects = convert(rows, Project::try_from)?;
    Ok(page_of(projects, page.limit, |p: &Project| {
        p.id.to_string()
    }))
}

#[async_trait]
impl ProjectsStore for PgStore {
    #[tracing::instrument(skip_all, fields(project.id = %project.id))]
    async fn create_project(&self, project: &Project) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO projects (",
            project_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
        ))
        .bind(project.id.0)
        .bind(&project.name)
        .bind(&project.slug)
        .bind(project.owner.user_id().map(|u| u.0))
        .bind(project.owner.team_id().map(|t| t.0))
        .bind(project.is_archived)
        .bind(project.created_at)
        .bind(project.updated_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map)
    }

    #[tracing::instrument(skip_all, fields(project.id = %id))]
    async fn get_project(&self, id: ProjectId) -> Result<Project> {
        sqlx::query_as::<_, ProjectRow>(concat!(
            "SELECT ",
            project_columns!(),
            " FROM projects WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .ok_or(Error::not_found("project"))
        .and_then(Project::try_from)
    }

    #[tracing::instrument(skip_all, fields(project.id = %project.id))]
    async fn update_project(&self, project: &Project) -> Result<()> {
        let done = sqlx::query(
            "UPDATE projects SET name = $2, slug = $3, is_archived = $4, updated_at = $5 \
             WHERE id = $1",
        )
        .bind(project.id.0)
        .bind(&project.name)
        .bind(&project.slug)
        .bind(project.is_archived)
        .bind(project.updated_at)
        .execute(&self.pool)
        .await
        .map_err(map)?;
        one_affected(done.rows_affected(), "project")
    }

    #[tracing::instrument(skip_all, fields(project.id = %id))]
    async fn delete_project(&self, id: ProjectId) -> Result<()> {
        // Environments and everything in them go by cascade.
        let done = sqlx::query("DELETE FROM projects WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        one_affected(done.rows_affected(), "project")
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn list_projects_for_user(
        &self,
        user: UserId,
        page: &PageRequest,
    ) -> Result<Page<Project>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, ProjectRow>(concat!(
            "SELECT ",
            project_columns!(),
            " FROM projects WHERE id IN (",
            "SELECT id FROM projects WHERE owner_user_id = $1 ",
            "UNION ALL ",
            "SELECT p.id FROM memberships m JOIN projects p ON p.owner_team_id = m.team_id ",
            "WHERE m.user_id = $1",
            ") AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
        ))
        .persistent(false)
        .bind(user.0)
        .bind(after)
        .bind(fetch_limit(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        project_page(rows, page)
    }

    #[tracing::instrument(skip_all)]
    async fn list_projects_by_owner(
        &self,
        owner: ProjectOwner,
        page: &PageRequest,
    ) -> Result<Page<Project>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let (sql, owner_id) = match owner {
            ProjectOwner::User(u) => (
                concat!(
                    "SELECT ",
                    project_columns!(),
                    " FROM projects WHERE owner_user_id = $1 ",
                    "AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
                ),
                u.0,
            ),
            ProjectOwner::Team(t) => (
                concat!(
                    "SELECT ",
                    project_columns!(),
                    " FROM projects WHERE owner_team_id = $1 ",
                    "AND ($2::uuid IS NULL OR id > $2) ORDER BY id LIMIT $3"
                ),
                t.0,
            ),
        };
        let rows = sqlx::query_as::<_, ProjectRow>(sql)
            .persistent(false)
            .bind(owner_id)
            .bind(after)
            .bind(fetch_limit(page.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        project_page(rows, page)
    }
}
