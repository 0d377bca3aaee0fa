//! `GET/POST /projects`, `GET/PATCH/DELETE /projects/{id}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use vibebox_core::domain::Project;
use vibebox_core::id::ProjectId;
use vibebox_core::service::{NewProject, ProjectPatch};
use vibebox_core::store::Page;

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery, PageQuery};
use crate::json::ApiJson;
use crate::problem::ApiError;
use crate::state::AppState;

/// The projects the caller can see.
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<Project>>, ApiError> {
    Ok(Json(s.vibebox.list_projects(&actor, &q.page()?).await?))
}

/// Creates a project (personal, or a team's with `team_id`).
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewProject>,
) -> Result<(StatusCode, Json<Project>), ApiError> {
    let project = s.vibebox.create_project(&actor, new).await?;
    Ok((StatusCode::CREATED, Json(project)))
}

/// One project.
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Project>, ApiError> {
    Ok(Json(s.vibebox.get_project(&actor, id).await?))
}

/// Changes a project.
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(patch): ApiJson<ProjectPatch>,
) -> Result<Json<Project>, ApiError> {
    Ok(Json(s.vibebox.update_project(&actor, id, patch).await?))
}

/// Deletes a project with its environments.
pub async fn delete(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.delete_project(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
