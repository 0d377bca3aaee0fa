//! The caller's SSH public keys (`/users/me/ssh-keys`): what the SSH gateway signs them in
//! with (issue 17).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use vibebox_core::domain::SshKey;
use vibebox_core::id::SshKeyId;
use vibebox_core::service::NewSshKey;
use vibebox_core::store::Page;

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery, PageQuery};
use crate::json::ApiJson;
use crate::openapi::{Authenticated, Conflict, Forbidden, Invalid, JsonBody, NotFound};
use crate::problem::ApiError;
use crate::state::AppState;

/// The caller's SSH keys, ordered by id.
#[utoipa::path(
    get,
    path = "/users/me/ssh-keys",
    tag = "users",
    params(
        PageQuery,
    ),
    responses(
        (status = 200, description = "The caller's SSH keys", body = Page<SshKey>),
        Forbidden, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<SshKey>>, ApiError> {
    Ok(Json(s.vibebox.list_ssh_keys(&actor, &q.page()?).await?))
}

/// Registers an SSH public key (`ssh-ed25519`, `ecdsa-sha2-nistp256/384/521`, their `sk-`
/// security-key forms, or `ssh-rsa` of at least 2048 bits). A key belongs to one user: a key
/// already registered, by anyone, is 409. At most 50 keys per user (429).
#[utoipa::path(
    post,
    path = "/users/me/ssh-keys",
    tag = "users",
    request_body(content = NewSshKey, content_type = "application/json"),
    responses(
        (status = 201, description = "The key, with its fingerprint", body = SshKey),
        Forbidden, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn add(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewSshKey>,
) -> Result<(StatusCode, Json<SshKey>), ApiError> {
    let key = s.vibebox.add_ssh_key(&actor, new).await?;
    Ok((StatusCode::CREATED, Json(key)))
}

/// Removes one of the caller's SSH keys; SSH connections signed in with it end within
/// seconds.
#[utoipa::path(
    delete,
    path = "/users/me/ssh-keys/{id}",
    tag = "users",
    params(
        ("id" = SshKeyId, Path, description = "The key"),
    ),
    responses(
        (status = 204, description = "Done"),
        Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn remove(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<SshKeyId>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.remove_ssh_key(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}
