//! Browser sign-ins with the refresh token in a cookie (DESIGN.md §10): `POST /auth/session`,
//! `POST /auth/session/refresh` and `DELETE /auth/session`. The access token travels in the
//! body and stays in the page's memory; the refresh token never reaches script, it sits in the
//! [`SESSION_COOKIE`](crate::SESSION_COOKIE) (`HttpOnly`, `SameSite=Strict`, scoped to these
//! routes). Each route passes the CSRF checks of [`csrf`](crate::csrf) first.
//! `/auth/login`, `/auth/refresh` and `/auth/logout` (tokens in the body) are unchanged.

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use secrecy::ExposeSecret;
use serde::Serialize;
use vibebox_core::domain::User;
use vibebox_core::error::ErrorKind;
use vibebox_core::service::IssuedRefreshToken;

use crate::client::Client;
use crate::csrf::CsrfChecked;
use crate::json::ApiJson;
use crate::openapi::{JsonBody, Public};
use crate::problem::{ApiError, Problem};
use crate::routes::auth::{LoginRequest, sign_in};
use crate::session_cookie;
use crate::state::AppState;

/// A browser sign-in: the user and an access token; the refresh token is in the cookie.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct SessionResponse {
    /// The signed-in user.
    pub user: User,
    /// A JWT for `Authorization: Bearer`, valid `expires_in` seconds.
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires; refresh before then.
    pub expires_in: u64,
}

/// The 200 answer of a sign-in or refresh: the body and the cookie holding `refresh`.
pub(crate) fn signed_in(
    state: &AppState,
    user: User,
    refresh: &IssuedRefreshToken,
) -> Result<Response, ApiError> {
    let access = state.config.tokens.issue(user.id)?;
    let mut response = Json(SessionResponse {
        user,
        access_token: access.token.expose_secret().to_string(),
        token_type: "Bearer",
        expires_in: access.expires_in,
    })
    .into_response();
    let cookie = session_cookie::set(refresh, state.config.secure_cookies)?;
    let headers = response.headers_mut();
    headers.insert(header::SET_COOKIE, cookie);
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Signs in with email and password, as `POST /auth/login` (the same 401 whether or not the
/// email exists, the same throttle), and puts the refresh token in the cookie.
#[utoipa::path(
    post,
    path = "/auth/session",
    tag = "auth",
    params(("X-VibeBox-CSRF" = String, Header, description = "Must be `1`")),
    request_body(content = LoginRequest, content_type = "application/json"),
    responses(
        (status = 200, description = "Signed in; the refresh token is in the cookie", body = SessionResponse,
         headers(("Set-Cookie" = String, description = "vibebox_refresh (HttpOnly, SameSite=Strict, Path=/api/v1/auth/session)"))),
        (status = 401, description = "Wrong email or password (the same answer whether or not the email exists)", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The CSRF checks failed (`csrf_failed`)", body = Problem, content_type = "application/problem+json"),
        JsonBody, Public,
    )
)]
pub async fn create(
    State(state): State<AppState>,
    _: CsrfChecked,
    Client(client): Client,
    ApiJson(body): ApiJson<LoginRequest>,
) -> Result<Response, ApiError> {
    let (user, refresh) = sign_in(&state, client, &body).await?;
    signed_in(&state, user, &refresh)
}

/// Trades the cookie's refresh token for a new access token and a new cookie (the token
/// rotates; reusing a rotated one revokes the whole sign-in). No cookie is 204: nobody is
/// signed in, which a page asks on every load and is not an error. A refused cookie is 401,
/// and the answer clears it.
#[utoipa::path(
    post,
    path = "/auth/session/refresh",
    tag = "auth",
    params(
        ("X-VibeBox-CSRF" = String, Header, description = "Must be `1`"),
        ("vibebox_refresh" = Option<String>, Cookie, description = "The refresh token"),
    ),
    responses(
        (status = 200, description = "A new access token; the cookie holds the next refresh token", body = SessionResponse,
         headers(("Set-Cookie" = String, description = "The rotated vibebox_refresh"))),
        (status = 204, description = "No cookie: nobody is signed in in this browser"),
        (status = 401, description = "The cookie's token is unknown, used, revoked or expired; the cookie is cleared", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "The CSRF checks failed (`csrf_failed`)", body = Problem, content_type = "application/problem+json"),
        Public,
    )
)]
pub async fn refresh(
    State(state): State<AppState>,
    _: CsrfChecked,
    Client(client): Client,
    headers: HeaderMap,
) -> Response {
    let secure = state.config.secure_cookies;
    let Some(token) = session_cookie::read(&headers) else {
        return StatusCode::NO_CONTENT.into_response();
    };
    let rotated = state.vibebox.rotate_refresh_token(&token, client).await;
    match rotated.map_err(ApiError) {
        Ok((user, refresh)) => {
            signed_in(&state, user, &refresh).unwrap_or_else(|e| e.into_response())
        }
        Err(e) if e.0.kind() == ErrorKind::Unauthenticated => {
            with_cleared_cookie(e.into_response(), secure)
        }
        Err(e) => e.into_response(),
    }
}

/// Signs out: revokes the cookie's sign-in (a missing or unknown token is fine) and clears
/// the cookie.
#[utoipa::path(
    delete,
    path = "/auth/session",
    tag = "auth",
    params(
        ("X-VibeBox-CSRF" = String, Header, description = "Must be `1`"),
        ("vibebox_refresh" = Option<String>, Cookie, description = "The refresh token"),
    ),
    responses(
        (status = 204, description = "Signed out; the cookie is cleared",
         headers(("Set-Cookie" = String, description = "vibebox_refresh with Max-Age=0"))),
        (status = 403, description = "The CSRF checks failed (`csrf_failed`)", body = Problem, content_type = "application/problem+json"),
        Public,
    )
)]
pub async fn delete(
    State(state): State<AppState>,
    _: CsrfChecked,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    if let Some(token) = session_cookie::read(&headers) {
        state.vibebox.revoke_refresh_token(&token).await?;
    }
    Ok(with_cleared_cookie(
        StatusCode::NO_CONTENT.into_response(),
        state.config.secure_cookies,
    ))
}

fn with_cleared_cookie(mut response: Response, secure: bool) -> Response {
    response
        .headers_mut()
        .insert(header::SET_COOKIE, session_cookie::clear(secure));
    response
}
