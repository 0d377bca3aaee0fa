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
use crate::problem::ApiError;
use crate::state::AppState;

/// A new API key: the stored key and, this once, the whole token.
#[derive(Debug, Serialize)]
pub struct CreatedKey {
    /// The stored key (its hash is never shown).
    #[serde(flatten)]
    pub key: ApiKey,
    /// The whole key (`vbx_…`). It cannot be shown again.
    pub token: String,
}

/// The caller's own account.
pub async fn me(
    State(state): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<User>, ApiError> {
    Ok(Json(state.vibebox.me(&actor).await?))
}

/// Changes the caller's profile.
pub async fn update_me(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(patch): ApiJson<ProfilePatch>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(s.vibebox.update_profile(&actor, patch).await?))
}

/// The caller's API keys.
pub async fn api_keys(
    State(s): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<ApiKey>>, ApiError> {
    Ok(Json(s.vibebox.list_api_keys(&actor).await?))
}

/// Creates an API key; the token is in this response only.
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
pub async fn delete_api_key(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<ApiKeyId>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.delete_api_key(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The caller's signed-in devices.
pub async fn devices(
    State(s): State<AppState>,
    Caller(actor): Caller,
) -> Result<Json<Vec<RefreshSession>>, ApiError> {
    Ok(Json(s.vibebox.list_devices(&actor).await?))
}

/// Signs a device out.
pub async fn revoke_device(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<RefreshSessionId>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.revoke_device(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// Every account (platform admins).
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<User>>, ApiError> {
    Ok(Json(s.vibebox.list_users(&actor, &q.page()?).await?))
}

/// Disables, enables or promotes an account (platform admins), in one write.
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<UserId>,
    ApiJson(patch): ApiJson<UserAdminPatch>,
) -> Result<Json<User>, ApiError> {
    Ok(Json(s.vibebox.administer_user(&actor, id, patch).await?))
}
