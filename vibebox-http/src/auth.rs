//! Who is calling: `Authorization: Bearer <access token>` (a JWT) or `Bearer vbx_…` (an API
//! key). A disabled user's tokens and keys stop working at once.

use axum::extract::FromRequestParts;
use axum::http::request::Parts;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use secrecy::SecretString;
use vibebox_core::error::{Error, ErrorKind};
use vibebox_core::rbac::Actor;

use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// The authenticated caller.
#[derive(Clone, Debug)]
pub struct Caller(pub Actor);

/// The prefix of API keys.
const API_KEY_PREFIX: &str = "vbx_";

impl FromRequestParts<AppState> for Caller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        let Some(token) = bearer(parts) else {
            return Err(unauthenticated("send Authorization: Bearer <token>"));
        };
        match actor_for_token(state, token).await {
            Ok(actor) => Ok(Caller(actor)),
            Err(e) if e.kind() == ErrorKind::Unauthenticated => {
                Err(unauthenticated("the token is invalid, expired or revoked"))
            }
            Err(e) => Err(ApiError(e).into_response()),
        }
    }
}

/// The actor a bearer token (JWT access token or `vbx_` API key) stands for, counted against
/// the user's rate limit. Errors: `Unauthenticated`; `RateLimited`.
pub(crate) async fn actor_for_token(state: &AppState, token: &str) -> Result<Actor, Error> {
    let actor = authenticate(state, token).await?;
    if let Some(user) = actor.user_id() {
        state.limiters.check_user(user)?;
    }
    Ok(actor)
}

/// The actor a bearer token or API key names, without counting the request against any
/// rate limit.
pub(crate) async fn authenticate(state: &AppState, token: &str) -> Result<Actor, Error> {
    if token.starts_with(API_KEY_PREFIX) {
        state
            .vibebox
            .authenticate_api_key(&SecretString::from(token.to_string()))
            .await
    } else {
        let user = state.config.tokens.verify(token)?;
        state.vibebox.actor_for_user(user).await
    }
}

pub(crate) fn bearer(parts: &Parts) -> Option<&str> {
    let value = parts.headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// A 401 problem with the `WWW-Authenticate` challenge.
pub fn unauthenticated(detail: &str) -> Response {
    let problem = Problem::from(&Error::Unauthenticated);
    let mut response = Problem {
        detail: format!("authentication failed: {detail}"),
        ..problem
    }
    .into_response();
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"vibebox\""),
    );
    response
}
