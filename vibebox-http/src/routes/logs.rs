//! `GET /environments/{id}/logs` and `GET /audit`.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{AuditEvent, LogEntry, LogStream};
use vibebox_core::id::EnvironmentId;
use vibebox_core::service::LogFilter;
use vibebox_core::store::Page;

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery, PageQuery};
use crate::openapi::{Authenticated, Forbidden, Invalid, NotFound};
use crate::problem::ApiError;
use crate::state::AppState;

/// `?since=&until=&stream=&limit=&cursor=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LogQuery {
    /// Lines at or after this time (RFC 3339).
    #[param(value_type = Option<String>, format = DateTime)]
    pub since: Option<Timestamp>,
    /// Lines before this time.
    #[param(value_type = Option<String>, format = DateTime)]
    pub until: Option<Timestamp>,
    /// stdout or stderr.
    pub stream: Option<LogStream>,
    /// Page size, 1–500 (default 50).
    #[param(minimum = 1, maximum = 500)]
    pub limit: Option<u32>,
    /// Cursor.
    pub cursor: Option<String>,
}

/// The environment's stored log lines, oldest first.
#[utoipa::path(
    get,
    path = "/environments/{id}/logs",
    tag = "logs",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        LogQuery,
    ),
    responses(
        (status = 200, description = "Stored lines, oldest first", body = Page<LogEntry>),
        Forbidden, NotFound, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn query(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiQuery(q): ApiQuery<LogQuery>,
) -> Result<Json<Page<LogEntry>>, ApiError> {
    let page = PageQuery {
        limit: q.limit,
        cursor: q.cursor,
    }
    .page()?;
    let filter = LogFilter {
        since: q.since,
        until: q.until,
        stream: q.stream,
        ..Default::default()
    };
    Ok(Json(s.vibebox.query_logs(&actor, id, filter, &page).await?))
}

/// The platform's audit log (platform admins).
#[utoipa::path(
    get,
    path = "/audit",
    tag = "logs",
    params(
        PageQuery,
    ),
    responses(
        (status = 200, description = "The platform's audit events, newest first", body = Page<AuditEvent>),
        Forbidden, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn audit(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    Ok(Json(s.vibebox.list_audit(&actor, &q.page()?).await?))
}
