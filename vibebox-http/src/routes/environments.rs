//! Environments: `GET/POST /environments`, `GET/PATCH/DELETE /environments/{id}`,
//! `POST /environments/{id}/start|stop|restart`, ports (with their share levels) and variables.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use vibebox_core::domain::{Environment, EnvironmentPort};
use vibebox_core::id::{EnvironmentId, PortId, ProjectId};
use vibebox_core::service::{
    EnvironmentPatch, NewEnvironment, NewPort, NewVariable, PortPatch, StopMode, VariableView,
};
use vibebox_core::store::Page;

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery, PageQuery};
use crate::json::ApiJson;
use crate::openapi::{Authenticated, Conflict, Forbidden, Invalid, JsonBody, NotFound};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// `?project_id=&limit=&cursor=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Only this project's environments.
    pub project_id: Option<ProjectId>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Cursor.
    pub cursor: Option<String>,
}

/// The environments the caller can see.
#[utoipa::path(
    get,
    path = "/environments",
    tag = "environments",
    params(
        ListQuery,
    ),
    responses(
        (status = 200, description = "The environments the caller can see", body = Page<Environment>),
        Forbidden, NotFound, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<Environment>>, ApiError> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    Ok(Json(
        s.vibebox
            .list_environments(&actor, q.project_id, &page)
            .await?,
    ))
}

/// Creates a stopped environment.
#[utoipa::path(
    post,
    path = "/environments",
    tag = "environments",
    request_body(content = NewEnvironment, content_type = "application/json"),
    responses(
        (status = 201, description = "The stopped environment", body = Environment),
        Forbidden, NotFound, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewEnvironment>,
) -> Result<(StatusCode, Json<Environment>), ApiError> {
    let env = s.vibebox.create_environment(&actor, new).await?;
    Ok((StatusCode::CREATED, Json(env)))
}

/// One environment.
#[utoipa::path(
    get,
    path = "/environments/{id}",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
    ),
    responses(
        (status = 200, description = "The environment", body = Environment),
        Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
) -> Result<Json<Environment>, ApiError> {
    Ok(Json(s.vibebox.get_environment(&actor, id).await?))
}

/// Changes an environment (image and limits apply at the next start).
#[utoipa::path(
    patch,
    path = "/environments/{id}",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
    ),
    request_body(content = EnvironmentPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed environment", body = Environment),
        Forbidden, NotFound, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiJson(patch): ApiJson<EnvironmentPatch>,
) -> Result<Json<Environment>, ApiError> {
    Ok(Json(s.vibebox.update_environment(&actor, id, patch).await?))
}

/// Deletes an environment and its container.
#[utoipa::path(
    delete,
    path = "/environments/{id}",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
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
    ApiPath(id): ApiPath<EnvironmentId>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.delete_environment(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Starts an environment.
#[utoipa::path(
    post,
    path = "/environments/{id}/start",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
    ),
    responses(
        (status = 200, description = "The environment, running (or already starting)", body = Environment),
        (status = 409, description = "A refused transition, or the environment cannot start as configured: its image is absent and cannot be pulled, the engine refuses its limits, or its command exits at once (the environment is then in `error`)", body = Problem, content_type = "application/problem+json"),
        Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn start(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
) -> Result<Json<Environment>, ApiError> {
    Ok(Json(s.vibebox.start_environment(&actor, id).await?))
}

/// Stops an environment.
#[utoipa::path(
    post,
    path = "/environments/{id}/stop",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
    ),
    responses(
        (status = 200, description = "The environment, stopped", body = Environment),
        Forbidden, NotFound, Conflict, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn stop(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
) -> Result<Json<Environment>, ApiError> {
    Ok(Json(s.vibebox.stop_environment(&actor, id).await?))
}

/// `?force=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct RestartQuery {
    /// Kill every process at once instead of a graceful stop (default false): the way out
    /// of an environment at its pids or memory limit, where nothing new can start.
    #[serde(default)]
    pub force: bool,
}

/// Restarts an environment, keeping its container and home volume; with `force`, every
/// process in it is killed at once instead of waiting out the stop's grace period. A
/// stopped environment is started.
#[utoipa::path(
    post,
    path = "/environments/{id}/restart",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        RestartQuery,
    ),
    responses(
        (status = 200, description = "The environment, running again", body = Environment),
        (status = 409, description = "A refused transition (starting or stopping), or the environment cannot start as configured (it is then in `error`)", body = Problem, content_type = "application/problem+json"),
        Invalid, Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn restart(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiQuery(q): ApiQuery<RestartQuery>,
) -> Result<Json<Environment>, ApiError> {
    let mode = if q.force {
        StopMode::Kill
    } else {
        StopMode::Graceful
    };
    Ok(Json(s.vibebox.restart_environment(&actor, id, mode).await?))
}

/// The environment's port mappings, ordered by id.
#[utoipa::path(
    get,
    path = "/environments/{id}/ports",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "The port mappings", body = Page<EnvironmentPort>),
        Forbidden, NotFound, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list_ports(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<EnvironmentPort>>, ApiError> {
    Ok(Json(s.vibebox.list_ports(&actor, id, &q.page()?).await?))
}

/// Adds a port mapping.
#[utoipa::path(
    post,
    path = "/environments/{id}/ports",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
    ),
    request_body(content = NewPort, content_type = "application/json"),
    responses(
        (status = 201, description = "The port mapping", body = EnvironmentPort),
        Forbidden, NotFound, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn add_port(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiJson(new): ApiJson<NewPort>,
) -> Result<(StatusCode, Json<EnvironmentPort>), ApiError> {
    let port = s.vibebox.add_port(&actor, id, new).await?;
    Ok((StatusCode::CREATED, Json(port)))
}

/// Changes a port mapping: its share level, which says who may open its preview URL
/// (`private`: those who may exec in the environment; `team`: any member of the owning team,
/// or the owner of a personal project; `authenticated`: any signed-in user; `public`: anyone).
/// Allowed to those who may exec in the environment; takes effect at once.
#[utoipa::path(
    patch,
    path = "/environments/{id}/ports/{port_id}",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        ("port_id" = PortId, Path, description = "The port mapping"),
    ),
    request_body(content = PortPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed port mapping", body = EnvironmentPort),
        Forbidden, NotFound, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn update_port(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath((id, port)): ApiPath<(EnvironmentId, PortId)>,
    ApiJson(patch): ApiJson<PortPatch>,
) -> Result<Json<EnvironmentPort>, ApiError> {
    Ok(Json(
        s.vibebox
            .set_port_share_level(&actor, id, port, patch.share_level)
            .await?,
    ))
}

/// Removes a port mapping.
#[utoipa::path(
    delete,
    path = "/environments/{id}/ports/{port_id}",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        ("port_id" = PortId, Path, description = "The port mapping"),
    ),
    responses(
        (status = 204, description = "Done"),
        Forbidden, NotFound, Conflict, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn remove_port(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath((id, port)): ApiPath<(EnvironmentId, PortId)>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.remove_port(&actor, id, port).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The environment's variables, ordered by id; encrypted values are masked.
#[utoipa::path(
    get,
    path = "/environments/{id}/variables",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "The variables; encrypted values are masked", body = Page<VariableView>),
        Forbidden, NotFound, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list_variables(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<VariableView>>, ApiError> {
    Ok(Json(
        s.vibebox.list_variables(&actor, id, &q.page()?).await?,
    ))
}

/// Sets a variable (secret-looking keys are always encrypted).
#[utoipa::path(
    post,
    path = "/environments/{id}/variables",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
    ),
    request_body(content = NewVariable, content_type = "application/json"),
    responses(
        (status = 201, description = "The variable as readers see it", body = VariableView),
        Forbidden, NotFound, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn set_variable(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiJson(new): ApiJson<NewVariable>,
) -> Result<(StatusCode, Json<VariableView>), ApiError> {
    let view = s.vibebox.set_variable(&actor, id, new).await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// Deletes a variable.
#[utoipa::path(
    delete,
    path = "/environments/{id}/variables/{key}",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        ("key" = String, Path, description = "The variable's key"),
    ),
    responses(
        (status = 204, description = "Done"),
        Forbidden, NotFound, Conflict, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn delete_variable(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath((id, key)): ApiPath<(EnvironmentId, String)>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.delete_variable(&actor, id, &key).await?;
    Ok(StatusCode::NO_CONTENT)
}
