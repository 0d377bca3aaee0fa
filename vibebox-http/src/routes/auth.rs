//! `POST /auth/register`, `/auth/login`, `/auth/refresh` and `/auth/logout`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use vibebox_core::domain::User;
use vibebox_core::service::{ClientInfo, IssuedRefreshToken, Registration};

use crate::client::Client;
use crate::json::ApiJson;
use crate::openapi::{JsonBody, Public};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// `POST /auth/login`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct LoginRequest {
    /// The account's email.
    pub email: String,
    /// Its password.
    #[schema(value_type = String, format = Password, write_only)]
    pub password: SecretString,
}

/// `POST /auth/refresh` and `/auth/logout`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RefreshRequest {
    /// The refresh token from the last sign-in or refresh.
    #[schema(value_type = String, format = Password, write_only)]
    pub refresh_token: SecretString,
}

/// A sign-in: the user and a fresh token pair (shown once).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TokenResponse {
    /// The signed-in user.
    pub user: User,
    /// A JWT for `Authorization: Bearer`, valid `expires_in` seconds.
    pub access_token: String,
    /// An opaque token for `/auth/refresh`; it rotates on every use.
    pub refresh_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: u64,
}

pub(crate) fn tokens(
    state: &AppState,
    user: User,
    refresh: IssuedRefreshToken,
) -> Result<Json<TokenResponse>, ApiError> {
    let access = state.config.tokens.issue(user.id)?;
    Ok(Json(TokenResponse {
        user,
        access_token: access.token.expose_secret().to_string(),
        refresh_token: refresh.token.expose_secret().to_string(),
        token_type: "Bearer",
        expires_in: access.expires_in,
    }))
}

/// Checks the password and starts a sign-in (a new refresh token family): what
/// `POST /auth/login` and `POST /auth/session` share.
pub(crate) async fn sign_in(
    state: &AppState,
    client: ClientInfo,
    body: &LoginRequest,
) -> Result<(User, IssuedRefreshToken), ApiError> {
    let user = state
        .vibebox
        .login_from(&body.email, &body.password, &client)
        .await?;
    let refresh = state.vibebox.issue_refresh_token(user.id, client).await?;
    Ok((user, refresh))
}

/// The answer to every registration that passes validation.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct RegistrationAccepted {
    /// Always `accepted`.
    pub status: &'static str,
    /// What to do next.
    pub detail: &'static str,
}

/// Registers an account (Argon2id) through core's [`sign_up`](vibebox_core::Vibebox::sign_up):
/// every well-formed request is answered the same way, `202 Accepted` without tokens, whether
/// the email was free or already taken. The new account then signs in with
/// `POST /auth/login`. The first account becomes platform admin unless configured otherwise.
///
/// Errors: 422 naming the field (the rules do not depend on stored data).
#[utoipa::path(
    post,
    path = "/auth/register",
    tag = "auth",
    request_body(content = Registration, content_type = "application/json"),
    responses(
        (status = 202, description = "Accepted, whether or not the email already had an account; sign in next", body = RegistrationAccepted),
        JsonBody, Public,
    )
)]
pub async fn register(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<Registration>,
) -> Result<(StatusCode, Json<RegistrationAccepted>), ApiError> {
    state.vibebox.sign_up(body).await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(RegistrationAccepted {
            status: "accepted",
            detail: "if this email had no account, it has one now: sign in with POST /auth/login",
        }),
    ))
}

/// Signs in with email and password. Every failure is the same 401, whether or not the email
/// exists; too many failures are 429 with `Retry-After` (core's sign-in throttle, keyed by
/// the client's address).
#[utoipa::path(
    post,
    path = "/auth/login",
    tag = "auth",
    request_body(content = LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in", body = TokenResponse),
        (status = 401, description = "Wrong email or password (the same answer whether or not the email exists)", body = Problem, content_type = "application/problem+json"),
        JsonBody, Public,
    )
)]
pub async fn login(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let (user, refresh) = sign_in(&state, client, &body).await?;
    tokens(&state, user, refresh)
}

/// Trades a refresh token for a new pair. Reusing a rotated token revokes its whole family.
#[utoipa::path(
    post,
    path = "/auth/refresh",
    tag = "auth",
    request_body(content = RefreshRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "A new token pair", body = TokenResponse),
        (status = 401, description = "The refresh token is unknown, used, revoked or expired", body = Problem, content_type = "application/problem+json"),
        JsonBody, Public,
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    Client(client): Client,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<Json<TokenResponse>, ApiError> {
    let (user, refresh) = state
        .vibebox
        .rotate_refresh_token(&body.refresh_token, client)
        .await?;
    tokens(&state, user, refresh)
}

/// Revokes the sign-in the refresh token belongs to. Unknown tokens are accepted silently.
#[utoipa::path(
    post,
    path = "/auth/logout",
    tag = "auth",
    request_body(content = RefreshRequest, content_type = "application/json"),
    responses(
        (status = 204, description = "Signed out (also for unknown tokens)"),
        JsonBody, Public,
    )
)]
pub async fn logout(
    State(state): State<AppState>,
    ApiJson(body): ApiJson<RefreshRequest>,
) -> Result<StatusCode, ApiError> {
    state
        .vibebox
        .revoke_refresh_token(&body.refresh_token)
        .await?;
    Ok(StatusCode::NO_CONTENT)
}
