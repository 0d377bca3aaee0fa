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
use crate::problem::ApiError;
use crate::state::AppState;

/// `?since=&until=&stream=&limit=&cursor=`.
#[derive(Debug, Deserialize)]
pub struct LogQuery {
    /// Lines at or after this time (RFC 3339).
    pub since: Option<Timestamp>,
    /// Lines before this time.
    pub until: Option<Timestamp>,
    /// stdout or stderr.
    pub stream: Option<LogStream>,
    /// Page size.
    pub limit: Option<u32>,
    /// Cursor.
    pub cursor: Option<String>,
}

/// The environment's stored log lines, oldest first.
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
pub async fn audit(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    Ok(Json(s.vibebox.list_audit(&actor, &q.page()?).await?))
}
