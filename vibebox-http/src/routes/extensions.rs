//! The extension catalog (`GET/POST /extensions`) and an environment's extensions.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use vibebox_core::domain::{EnvironmentExtension, Extension};
use vibebox_core::id::{EnvironmentId, ExtensionId};
use vibebox_core::service::NewExtension;
use vibebox_core::store::Page;

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery, PageQuery};
use crate::json::ApiJson;
use crate::openapi::{Authenticated, Conflict, Forbidden, Invalid, JsonBody, NotFound};
use crate::problem::ApiError;
use crate::state::AppState;

/// `POST /environments/{id}/extensions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct InstallRequest {
    /// The catalog's extension id (`publisher.name`).
    pub extension_id: String,
}

/// The catalog.
#[utoipa::path(
    get,
    path = "/extensions",
    tag = "extensions",
    params(
        PageQuery,
    ),
    responses(
        (status = 200, description = "The catalog", body = Page<Extension>),
        Forbidden, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn catalog(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<Extension>>, ApiError> {
    Ok(Json(s.vibebox.list_extensions(&actor, &q.page()?).await?))
}

/// Adds a catalog entry (platform admins).
#[utoipa::path(
    post,
    path = "/extensions",
    tag = "extensions",
    request_body(content = NewExtension, content_type = "application/json"),
    responses(
        (status = 201, description = "The catalog entry", body = Extension),
        Forbidden, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn add(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewExtension>,
) -> Result<(StatusCode, Json<Extension>), ApiError> {
    let ext = s.vibebox.add_extension(&actor, new).await?;
    Ok((StatusCode::CREATED, Json(ext)))
}

/// The environment's extensions with their installation status, ordered by id.
#[utoipa::path(
    get,
    path = "/environments/{id}/extensions",
    tag = "extensions",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "The environment's extensions", body = Page<EnvironmentExtension>),
        Forbidden, NotFound, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<EnvironmentExtension>>, ApiError> {
    Ok(Json(
        s.vibebox
            .list_environment_extensions(&actor, id, &q.page()?)
            .await?,
    ))
}

/// Requests an installation (retries a failed one).
#[utoipa::path(
    post,
    path = "/environments/{id}/extensions",
    tag = "extensions",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
    ),
    request_body(content = InstallRequest, content_type = "application/json"),
    responses(
        (status = 202, description = "The installation request", body = EnvironmentExtension),
        Forbidden, NotFound, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn install(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiJson(req): ApiJson<InstallRequest>,
) -> Result<(StatusCode, Json<EnvironmentExtension>), ApiError> {
    let ext = s
        .vibebox
        .install_extension(&actor, id, &req.extension_id)
        .await?;
    Ok((StatusCode::ACCEPTED, Json(ext)))
}

/// Removes an extension from the environment.
#[utoipa::path(
    delete,
    path = "/environments/{id}/extensions/{ext_id}",
    tag = "extensions",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        ("ext_id" = ExtensionId, Path, description = "The catalog extension"),
    ),
    responses(
        (status = 204, description = "Done"),
        Forbidden, NotFound, Conflict, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn uninstall(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath((id, ext)): ApiPath<(EnvironmentId, ExtensionId)>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.uninstall_extension(&actor, id, ext).await?;
    Ok(StatusCode::NO_CONTENT)
}
