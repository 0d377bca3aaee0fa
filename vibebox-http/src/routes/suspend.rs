//! Suspend and resume (`POST /environments/{id}/suspend|resume`): a suspended environment's
//! processes are frozen with their memory kept, and any access (terminal, exec, tunnel,
//! preview, SSH, files) resumes it.

use axum::Json;
use axum::extract::State;
use vibebox_core::domain::Environment;
use vibebox_core::id::EnvironmentId;

use crate::auth::Caller;
use crate::extract::ApiPath;
use crate::openapi::{Authenticated, Forbidden, NotFound};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// Suspends a running environment: its processes are frozen (the engine's pause), their
/// memory kept; it stops using CPU. A suspended environment counts towards the running
/// quota. Already suspended: returned as it is.
#[utoipa::path(
    post,
    path = "/environments/{id}/suspend",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
    ),
    responses(
        (status = 200, description = "The environment, suspended", body = Environment),
        (status = 409, description = "A refused transition: the environment is not running", body = Problem, content_type = "application/problem+json"),
        (status = 501, description = "The container engine cannot freeze containers", body = Problem, content_type = "application/problem+json"),
        Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn suspend(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
) -> Result<Json<Environment>, ApiError> {
    Ok(Json(s.vibebox.suspend_environment(&actor, id).await?))
}

/// Resumes a suspended environment ahead of use (any access resumes it too). Already
/// running: returned as it is.
#[utoipa::path(
    post,
    path = "/environments/{id}/resume",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
    ),
    responses(
        (status = 200, description = "The environment, running", body = Environment),
        (status = 409, description = "A refused transition: the environment is neither suspended nor running, or its container is gone (it is then in `error`)", body = Problem, content_type = "application/problem+json"),
        Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn resume(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
) -> Result<Json<Environment>, ApiError> {
    Ok(Json(s.vibebox.resume_environment(&actor, id).await?))
}
