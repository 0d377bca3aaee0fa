//! `POST /environments/{id}/ports/{port}/open`: a preview URL for a browser, carrying a
//! one-time ticket that becomes the preview host's cookie (see [`crate::preview`]).

use axum::Json;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode, header};
use serde::{Deserialize, Serialize};
use vibebox_core::error::Error;
use vibebox_core::id::EnvironmentId;

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery};
use crate::openapi::{Authenticated, Conflict, Forbidden, Invalid, NotFound};
use crate::preview::{AUTH_PATH, TICKET_TTL};
use crate::problem::ApiError;
use crate::state::AppState;

/// `?path=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct OpenQuery {
    /// Where the browser lands in the app (default `/`): a path, with its query if any.
    pub path: Option<String>,
}

/// A preview URL to open in a browser.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct PreviewUrl {
    /// Open it once, within `expires_in` seconds: it signs the browser in to this preview
    /// and lands on the path.
    pub url: String,
    /// The preview's address, for scripts that send `Authorization` instead.
    pub origin: String,
    /// Seconds the URL's ticket stays valid.
    pub expires_in: u64,
}

/// Opens a preview of a TCP port of an environment: the caller must be allowed by the port's
/// share level (an undeclared port is private: those who may exec). The URL's host is
/// `<port>--<env>--<project>.<preview domain>` on this server's port.
#[utoipa::path(
    post,
    path = "/environments/{id}/ports/{port}/open",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        ("port" = u16, Path, minimum = 1, maximum = 65535, description = "A TCP port inside the environment (declared or not)"),
        OpenQuery,
    ),
    responses(
        (status = 201, description = "A one-time URL, valid 60 s", body = PreviewUrl),
        Forbidden, NotFound, Conflict, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn open(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath((id, port)): ApiPath<(EnvironmentId, u16)>,
    ApiQuery(q): ApiQuery<OpenQuery>,
    headers: HeaderMap,
) -> Result<(StatusCode, Json<PreviewUrl>), ApiError> {
    let Some(config) = s.config.preview.clone() else {
        return Err(Error::Conflict("preview URLs are turned off on this server".into()).into());
    };
    let path = q.path.unwrap_or_else(|| "/".to_string());
    if !path.starts_with('/') || path.starts_with("//") || path.contains('\\') {
        return Err(
            Error::invalid("path", "must be a path on the app, starting with one /").into(),
        );
    }
    let target = s.vibebox.preview_target(&actor, id, port).await?;
    let user = actor
        .user_id()
        .ok_or_else(|| Error::invalid("actor", "only users can open previews"))?;
    let server_port = headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .and_then(|h| h.rsplit_once(':'))
        .map(|(_, p)| p)
        .filter(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_digit()))
        .map(|p| format!(":{p}"))
        .unwrap_or_default();
    let host = format!(
        "{}.{}{server_port}",
        target.label(),
        config.domain.to_ascii_lowercase()
    );
    let ticket = s
        .preview_credentials
        .issue_ticket(user, &host, TICKET_TTL)?;
    let origin = format!("{}://{host}", config.scheme());
    let query: String = form_urlencoded::Serializer::new(String::new())
        .append_pair("ticket", &ticket)
        .append_pair("next", &path)
        .finish();
    Ok((
        StatusCode::CREATED,
        Json(PreviewUrl {
            url: format!("{origin}{AUTH_PATH}?{query}"),
            origin,
            expires_in: TICKET_TTL.as_secs(),
        }),
    ))
}
