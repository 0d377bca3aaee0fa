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
use crate::openapi::{Authenticated, Conflict, Forbidden, Invalid, JsonBody, NotFound};
use crate::problem::ApiError;
use crate::state::AppState;

/// The projects the caller can see.
#[utoipa::path(
    get,
    path = "/projects",
    tag = "projects",
    params(
        PageQuery,
    ),
    responses(
        (status = 200, description = "The projects the caller can see", body = Page<Project>),
        Forbidden, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<Project>>, ApiError> {
    Ok(Json(s.vibebox.list_projects(&actor, &q.page()?).await?))
}

/// Creates a project (personal, or a team's with `team_id`).
#[utoipa::path(
    post,
    path = "/projects",
    tag = "projects",
    request_body(content = NewProject, content_type = "application/json"),
    responses(
        (status = 201, description = "The project", body = Project),
        Forbidden, NotFound, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewProject>,
) -> Result<(StatusCode, Json<Project>), ApiError> {
    let project = s.vibebox.create_project(&actor, new).await?;
    Ok((StatusCode::CREATED, Json(project)))
}

/// One project.
#[utoipa::path(
    get,
    path = "/projects/{id}",
    tag = "projects",
    params(
        ("id" = ProjectId, Path, description = "The project"),
    ),
    responses(
        (status = 200, description = "The project", body = Project),
        Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<Json<Project>, ApiError> {
    Ok(Json(s.vibebox.get_project(&actor, id).await?))
}

/// Changes a project.
#[utoipa::path(
    patch,
    path = "/projects/{id}",
    tag = "projects",
    params(
        ("id" = ProjectId, Path, description = "The project"),
    ),
    request_body(content = ProjectPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed project", body = Project),
        Forbidden, NotFound, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<ProjectId>,
    ApiJson(patch): ApiJson<ProjectPatch>,
) -> Result<Json<Project>, ApiError> {
    Ok(Json(s.vibebox.update_project(&actor, id, patch).await?))
}

/// Deletes a project with its environments.
#[utoipa::path(
    delete,
    path = "/projects/{id}",
    tag = "projects",
    params(
        ("id" = ProjectId, Path, description = "The project"),
    ),
    responses(
        (status = 204, description = "Done"),
        Forbidden, NotFound, Conflict, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<ProjectId>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.delete_project(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
