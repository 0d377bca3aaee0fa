//! `GET /auth/providers` (what a sign-in page offers), `GET /auth/oauth/{provider}` (leave
//! for the provider) and
//! `GET /auth/oauth/{provider}/callback` (come back signed in: the tokens as JSON, or, for a
//! sign-in a page started with `?return_to=`, the session cookie and a redirect to the page).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use vibebox_core::error::Error;

use crate::client::Client;
use crate::extract::{ApiPath, ApiQuery};
use crate::oauth::{self, OAuthProvider};
use crate::openapi::{Conflict, Invalid, NotFound, Public};
use crate::problem::{ApiError, Problem};
use crate::routes::auth::{TokenResponse, tokens};
use crate::session_cookie;
use crate::state::AppState;

/// An OAuth provider people may sign in with.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderInfo {
    /// The name in `/auth/oauth/{provider}`: `github`, `google`, …
    pub name: String,
    /// The name for the sign-in button: `GitHub`, `Google`, …
    pub display_name: String,
}

/// The OAuth providers this server offers (`{items}`; empty when none is configured).
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ProviderList {
    /// Each configured provider, in configuration order.
    pub items: Vec<ProviderInfo>,
}

/// The OAuth providers a sign-in page may offer buttons for.
#[utoipa::path(
    get,
    path = "/auth/providers",
    tag = "auth",
    responses(
        (status = 200, description = "The configured providers (none is an empty list)", body = ProviderList),
        Public,
    )
)]
pub async fn providers(State(state): State<AppState>) -> Json<ProviderList> {
    Json(ProviderList {
        items: state
            .config
            .oauth_providers
            .iter()
            .map(|p| ProviderInfo {
                name: p.name.clone(),
                display_name: p.display_name(),
            })
            .collect(),
    })
}

/// The query a sign-in starts with.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct StartQuery {
    /// A path on this server (`/projects/x`; not `//…` or `/\…`) to send the browser back to
    /// once signed in, with the refresh token in the session cookie instead of a JSON body.
    pub return_to: Option<String>,
}

/// The query the provider sends the browser back with.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct CallbackQuery {
    /// The authorization code.
    pub code: Option<String>,
    /// The `state` this server sent.
    pub state: Option<String>,
    /// The provider's error code when the person declined or the request was bad.
    pub error: Option<String>,
}

fn provider<'a>(state: &'a AppState, name: &str) -> Result<&'a OAuthProvider, ApiError> {
    state
        .config
        .oauth_providers
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| ApiError(Error::not_found("oauth provider")))
}

/// Redirects to the provider's sign-in page (302) with `state` and a PKCE S256 challenge, and
/// sets the flow cookie that the callback checks (it also holds `return_to`).
#[utoipa::path(
    get,
    path = "/auth/oauth/{provider}",
    tag = "auth",
    params(
        ("provider" = String, Path, description = "A configured provider: `github`, `google`"),
        StartQuery,
    ),
    responses(
        (status = 302, description = "To the provider's sign-in page; sets the flow cookie",
         headers(("Location" = String, description = "The provider's authorization URL"),
                 ("Set-Cookie" = String, description = "The signed flow cookie (HttpOnly)"))),
        NotFound, Invalid, Public,
    )
)]
pub async fn start(
    State(state): State<AppState>,
    ApiPath(name): ApiPath<String>,
    ApiQuery(query): ApiQuery<StartQuery>,
) -> Result<Response, ApiError> {
    let provider = provider(&state, &name)?;
    let flow = oauth::start(&state.config.tokens, provider, query.return_to)?;
    let scope = provider.scopes.join(" ");
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([
            ("response_type", "code"),
            ("client_id", provider.client_id.as_str()),
            ("redirect_uri", provider.redirect_uri.as_str()),
            ("scope", scope.as_str()),
            ("state", flow.state.as_str()),
            ("code_challenge", flow.code_challenge.as_str()),
            ("code_challenge_method", "S256"),
        ])
        .finish();
    let separator = if provider.authorize_url.contains('?') {
        '&'
    } else {
        '?'
    };
    let location = format!("{}{separator}{query}", provider.authorize_url);
    let mut response = StatusCode::FOUND.into_response();
    let headers = response.headers_mut();
    headers.insert(header::LOCATION, header_value(&location)?);
    headers.insert(
        header::SET_COOKIE,
        header_value(&oauth::set_cookie(provider, Some(&flow.cookie_value)))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

/// Finishes a sign-in: checks `state` against the flow cookie, exchanges the code (with the
/// PKCE verifier), reads the profile and signs the person in (the account is created on the
/// first sign-in): the same body as `POST /auth/login`, or, when the sign-in started with
/// `return_to`, 303 to it with the refresh token in the session cookie (as
/// `POST /auth/session`). A missing, expired or mismatched flow, a declined sign-in or a
/// refused code is 401; an unreachable provider 503.
#[utoipa::path(
    get,
    path = "/auth/oauth/{provider}/callback",
    tag = "auth",
    params(
        ("provider" = String, Path, description = "A configured provider: `github`, `google`"),
        CallbackQuery,
    ),
    responses(
        (status = 200, description = "Signed in (the account is created on the first sign-in)", body = TokenResponse),
        (status = 303, description = "Signed in, from a sign-in started with `return_to`: back to it, the refresh token in the session cookie",
         headers(("Location" = String, description = "The `return_to` path"),
                 ("Set-Cookie" = String, description = "vibebox_refresh (as POST /auth/session sets it); the flow cookie cleared"))),
        (status = 401, description = "No valid flow cookie for this state, a declined sign-in, or a refused code",
         body = Problem, content_type = "application/problem+json"),
        NotFound, Conflict, Invalid, Public,
    )
)]
pub async fn callback(
    State(state): State<AppState>,
    Client(client): Client,
    ApiPath(name): ApiPath<String>,
    ApiQuery(query): ApiQuery<CallbackQuery>,
    headers: HeaderMap,
) -> Result<Response, ApiError> {
    let provider = provider(&state, &name)?;
    let cookie = oauth::cookie(&headers, &oauth::cookie_name(provider));
    let flow = oauth::returned(
        &state.config.tokens,
        provider,
        cookie,
        query.state.as_deref(),
    )?;
    if let Some(error) = &query.error {
        tracing::info!(provider = %provider.name, error = %oauth::printable(error), "oauth sign-in declined at the provider");
        return Err(ApiError(Error::Unauthenticated));
    }
    let Some(code) = query.code.as_deref().filter(|c| !c.is_empty()) else {
        return Err(ApiError(Error::invalid(
            "code",
            "the provider sent no code",
        )));
    };
    let provider_client = state.oauth_client();
    let access = oauth::exchange_code(provider_client, provider, code, &flow.verifier).await?;
    let profile = oauth::profile(provider_client, provider, &access).await?;
    let user = state.vibebox.oauth_login(profile).await?;
    let refresh = state.vibebox.issue_refresh_token(user.id, client).await?;
    let mut response = match flow.return_to {
        Some(path) => {
            let mut to_page = StatusCode::SEE_OTHER.into_response();
            let headers = to_page.headers_mut();
            headers.insert(header::LOCATION, header_value(&path)?);
            let cookie = session_cookie::set(&refresh, state.config.secure_cookies)?;
            headers.insert(header::SET_COOKIE, cookie);
            to_page
        }
        None => tokens(&state, user, refresh)?.into_response(),
    };
    let headers = response.headers_mut();
    headers.append(
        header::SET_COOKIE,
        header_value(&oauth::set_cookie(provider, None))?,
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    Ok(response)
}

fn header_value(s: &str) -> Result<HeaderValue, ApiError> {
    HeaderValue::from_str(s).map_err(|_| {
        ApiError(Error::internal(
            "an OAuth header is not a valid value",
            None,
        ))
    })
}
