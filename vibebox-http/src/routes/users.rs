//! The caller's account (`/users/me`, API keys, signed-in devices) and, for platform admins,
//! every account (`GET /users`, `PATCH /users/{id}`).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use serde::Serialize;
use vibebox_core::domain::{ApiKey, RefreshSession, User};
use vibebox_core::id::{ApiKeyId, RefreshSessionId, UserId};
use vibebox_core::service::{NewApiKey, ProfilePatch, UserAdminPatch};
use vibebox_core::store::Page;

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery, PageQuery};
use crate::json::ApiJson;
use crate::openapi::{Authenticated, Conflict, Forbidden, Invalid, JsonBody, NotFound};
use crate::problem::ApiError;
use crate::state::AppState;

/// A new API key: the stored key and, this once, the whole token.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct CreatedKey {
    /// The stored key (its hash is never shown).
    #[serde(flatten)]
    pub key: ApiKey,
    /// The whole key (`vbx_…`). It cannot be shown again.
    pub token: String,
}

/// The caller's own account.
#[utoipa::path(
    get,
    path = "/users/me",
    tag = "users",
    responses(
        (status = 200, description = "The caller's account", body = User),
        Forbidden, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn me(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<User>, ApiError> {
    Ok(Json(state.vibebox.me(&actor).await?))
}

/// Changes the caller's profile.
#[utoipa::path(
    patch,
    path = "/users/me",
    tag = "users",
    request_body(content = ProfilePatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed account", body = User),
        Forbidden, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn update_me(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(s.vibebox.update_profile(&actor, patch).await?))
}

/// The caller's API keys, ordered by id.
#[utoipa::path(
    get,
    path = "/users/me/api-keys",
    tag = "users",
    params(
        PageQuery,
    ),
    responses(
        (status = 200, description = "The caller's API keys", body = Page<ApiKey>),
        Forbidden, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn api_keys(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<ApiKey>>, ApiError> {
    Ok(Json(s.vibebox.list_api_keys(&actor, &q.page()?).await?))
}

/// Creates an API key; the token is in this response only.
#[utoipa::path(
    post,
    path = "/users/me/api-keys",
    tag = "users",
    request_body(content = NewApiKey, content_type = "application/json"),
    responses(
        (status = 201, description = "The key; `token` is shown this once", body = CreatedKey),
        Forbidden, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn create_api_key(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewApiKey>,
) -> Result<(StatusCode, Json<CreatedKey>), ApiError> {
    let created = s.vibebox.create_api_key(&actor, new).await?;
    Ok((
        StatusCode::CREATED,
        Json(CreatedKey {
            key: created.key,
            token: created.token.expose_secret().to_string(),
        }),
    ))
}

/// Deletes one of the caller's API keys.
#[utoipa::path(
    delete,
    path = "/users/me/api-keys/{id}",
    tag = "users",
    params(
        ("id" = ApiKeyId, Path, description = "The key"),
    ),
    responses(
        (status = 204, description = "Done"),
        Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn delete_api_key(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<ApiKeyId>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.delete_api_key(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's signed-in devices, ordered by id.
#[utoipa::path(
    get,
    path = "/users/me/sessions",
    tag = "users",
    params(
        PageQuery,
    ),
    responses(
        (status = 200, description = "The caller's signed-in devices", body = Page<RefreshSession>),
        Forbidden, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn devices(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<RefreshSession>>, ApiError> {
    Ok(Json(s.vibebox.list_devices(&actor, &q.page()?).await?))
}

/// Signs a device out.
#[utoipa::path(
    delete,
    path = "/users/me/sessions/{id}",
    tag = "users",
    params(
        ("id" = RefreshSessionId, Path, description = "The sign-in"),
    ),
    responses(
        (status = 204, description = "Done"),
        Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn revoke_device(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<RefreshSessionId>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.revoke_device(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every account (platform admins).
#[utoipa::path(
    get,
    path = "/users",
    tag = "users",
    params(
        PageQuery,
    ),
    responses(
        (status = 200, description = "Every account", body = Page<User>),
        Forbidden, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<User>>, ApiError> {
    Ok(Json(s.vibebox.list_users(&actor, &q.page()?).await?))
}

/// Disables, enables or promotes an account (platform admins), in one write.
#[utoipa::path(
    patch,
    path = "/users/{id}",
    tag = "users",
    params(
        ("id" = UserId, Path, description = "The account"),
    ),
    request_body(content = UserAdminPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed account", body = User),
        Forbidden, NotFound, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(patch): ApiJson<UserAdminPatch>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(s.vibebox.administer_user(&actor, id, patch).await?))
}
