//! [`SessionsStore`]: sessions inside environments.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{Session, SessionStatus};
use vibebox_core::id::{EnvironmentId, SessionId};
use vibebox_core::store::SessionsStore;
use vibebox_core::store::cas_missed;
use vibebox_core::store::one_affected;
use vibebox_core::{Error, Result};

use crate::PgStore;
use crate::error::map;
use crate::rows::{convert, parse};

macro_rules! session_columns {
    () => {
        "id, environment_id, session_type, session_name, status, pid, idle_timeout_minutes, \
         last_activity_at, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct SessionRow {
    id: Uuid,
    environment_id: Uuid,
    session_type: String,
    session_name: String,
    status: String,
    pid: Option<i64>,
    idle_timeout_minutes: i32,
    last_activity_at: Timestamp,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<SessionRow> for Session {
    type Error = Error;
    fn try_from(r: SessionRow) -> Result<Self> {
        Ok(Session {
            id: SessionId(r.id),
            environment_id: EnvironmentId(r.environment_id),
            session_type: parse("session type", &r.session_type)?,
            session_name: r.session_name,
            status: parse("session status", &r.status)?,
            pid: r.pid,
            idle_timeout_minutes: r.idle_timeout_minutes,
            last_activity_at: r.last_activity_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

impl PgStore {
    async fn session_exists(&self, id: SessionId) -> Result<bool> {
        sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM sessions WHERE id = $1)")
            .bind(id.0)
            .fetch_one(&self.pool)
            .await
            .map_err(map)
    }
}

#[async_trait]
impl SessionsStore for PgStore {
    #[tracing::instrument(skip_all, fields(environment.id = %session.environment_id, session.id = %session.id))]
    async fn create_session(&self, session: &Session) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO sessions (",
            session_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(session.id.0)
        .bind(session.environment_id.0)
        .bind(session.session_type.as_str())
        .bind(&session.session_name)
        .bind(session.status.as_str())
        .bind(session.pid)
        .bind(session.idle_timeout_minutes)
        .bind(session.last_activity_at)
        .bind(session.created_at)
        .bind(session.updated_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map)
    }

    #[tracing::instrument(skip_all, fields(session.id = %id))]
    async fn get_session(&self, id: SessionId) -> Result<Session> {
        sqlx::query_as::<_, SessionRow>(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .ok_or(Error::not_found("session"))
        .and_then(Session::try_from)
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn list_sessions(
        &self,
        env: EnvironmentId,
        include_terminated: bool,
    ) -> Result<Vec<Session>> {
        let rows = sqlx::query_as::<_, SessionRow>(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE environment_id = $1 AND ($2 OR status <> 'terminated') ",
            "ORDER BY id"
        ))
        .bind(env.0)
        .bind(include_terminated)
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        convert(rows, Session::try_from)
    }

    #[tracing::instrument(skip_all, fields(session.id = %session.id, status = %session.status))]
    async fn update_session(
        &self,
        session: &Session,
        expected_status: SessionStatus,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sessions SET status = $3, pid = $4, idle_timeout_minutes = $5, \
             last_activity_at = $6, updated_at = $7 WHERE id = $1 AND status = $2",
        )
        .bind(session.id.0)
        .bind(expected_status.as_str())
        .bind(session.status.as_str())
        .bind(session.pid)
        .bind(session.idle_timeout_minutes)
        .bind(session.last_activity_at)
        .bind(session.updated_at)
        .execute(&self.pool)
        .await
        .map_err(map)?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        Err(cas_missed(
            self.session_exists(session.id).await?,
            "session",
        ))
    }

    #[tracing::instrument(skip_all, fields(session.id = %id))]
    async fn touch_session(&self, id: SessionId, at: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sessions SET last_activity_at = GREATEST(last_activity_at, $2) WHERE id = $1",
        )
        .bind(id.0)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(map)?;
        one_affected(done.rows_affected(), "session")
    }

    #[tracing::instrument(skip_all)]
    async fn list_sessions_by_status(
        &self,
        statuses: &[SessionStatus],
        limit: u32,
    ) -> Result<Vec<Session>> {
        let statuses: Vec<&str> = statuses.iter().map(|s| s.as_str()).collect();
        let rows = sqlx::query_as::<_, SessionRow>(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE status = ANY($1) ORDER BY last_activity_at, id LIMIT $2"
        ))
        .bind(statuses)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        convert(rows, Session::try_from)
    }

    #[tracing::instrument(skip_all)]
    async fn purge_terminated_sessions(&self, before: Timestamp) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE status = 'terminated' AND updated_at < $1")
                .bind(before)
                .execute(&self.pool)
                .await
                .map_err(map)?;
        Ok(done.rows_affected())
    }
}
