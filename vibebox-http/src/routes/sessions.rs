//! `GET/POST /environments/{id}/sessions`, `DELETE /sessions/{id}`.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use vibebox_core::domain::Session;
use vibebox_core::id::{EnvironmentId, SessionId};
use vibebox_core::service::NewSession;
use vibebox_core::store::Page;

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery, PageQuery};
use crate::json::ApiJson;
use crate::openapi::{Authenticated, Conflict, Forbidden, Invalid, JsonBody, NotFound};
use crate::problem::ApiError;
use crate::state::AppState;

/// `?include_terminated=&limit=&cursor=`.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ListQuery {
    /// Also list ended sessions (default false).
    #[serde(default)]
    pub include_terminated: bool,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// From the previous page's `next_cursor`; absent or empty for the first page.
    pub cursor: Option<String>,
}

/// The environment's sessions, ordered by id.
#[utoipa::path(
    get,
    path = "/environments/{id}/sessions",
    tag = "sessions",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        ListQuery,
    ),
    responses(
        (status = 200, description = "The sessions", body = Page<Session>),
        Forbidden, NotFound, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiQuery(q): ApiQuery<ListQuery>,
) -> Result<Json<Page<Session>>, ApiError> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    Ok(Json(
        s.vibebox
            .list_sessions(&actor, id, q.include_terminated, &page)
            .await?,
    ))
}

/// Starts a session in a running environment.
#[utoipa::path(
    post,
    path = "/environments/{id}/sessions",
    tag = "sessions",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
    ),
    request_body(content = NewSession, content_type = "application/json"),
    responses(
        (status = 201, description = "The session", body = Session),
        Forbidden, NotFound, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiJson(new): ApiJson<NewSession>,
) -> Result<(StatusCode, Json<Session>), ApiError> {
    let session = s.vibebox.create_session(&actor, id, new).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

/// Ends a session.
#[utoipa::path(
    delete,
    path = "/sessions/{id}",
    tag = "sessions",
    params(
        ("id" = SessionId, Path, description = "The session"),
    ),
    responses(
        (status = 200, description = "The ended session", body = Session),
        Forbidden, NotFound, Conflict, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn terminate(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<SessionId>,
) -> Result<Json<Session>, ApiError> {
    Ok(Json(s.vibebox.terminate_session(&actor, id).await?))
}
