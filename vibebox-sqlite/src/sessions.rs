//! Sessions inside environments.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{Session, SessionStatus};
use vibebox_core::error::{Error, Result};
use vibebox_core::id::{EnvironmentId, SessionId};
use vibebox_core::store::SessionsStore;
use vibebox_core::store::cas_missed;
use vibebox_core::store::one_affected;

use crate::codec::{limit, micros, names_json, parse_enum, timestamp};
use crate::error::DbResultExt;
use crate::store::{SqliteStore, exists};

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
    last_activity_at: i64,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<SessionRow> for Session {
    type Error = Error;

    fn try_from(r: SessionRow) -> Result<Self> {
        Ok(Session {
            id: SessionId(r.id),
            environment_id: EnvironmentId(r.environment_id),
            session_type: parse_enum(&r.session_type, "session_type")?,
            session_name: r.session_name,
            status: parse_enum(&r.status, "status")?,
            pid: r.pid,
            idle_timeout_minutes: r.idle_timeout_minutes,
            last_activity_at: timestamp(r.last_activity_at)?,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

fn sessions(rows: Vec<SessionRow>) -> Result<Vec<Session>> {
    rows.into_iter().map(Session::try_from).collect()
}

#[async_trait]
impl SessionsStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(session.id = %session.id, environment.id = %session.environment_id))]
    async fn create_session(&self, session: &Session) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO sessions (",
            session_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(session.id.0)
        .bind(session.environment_id.0)
        .bind(session.session_type.as_str())
        .bind(&session.session_name)
        .bind(session.status.as_str())
        .bind(session.pid)
        .bind(session.idle_timeout_minutes)
        .bind(micros(session.last_activity_at))
        .bind(micros(session.created_at))
        .bind(micros(session.updated_at))
        .execute(self.pool())
        .await
        .db_parent("environment")?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(session.id = %id))]
    async fn get_session(&self, id: SessionId) -> Result<Session> {
        sqlx::query_as::<_, SessionRow>(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .db()?
        .ok_or(Error::not_found("session"))?
        .try_into()
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
            " FROM sessions WHERE environment_id = ? AND (? OR status <> 'terminated') \
             ORDER BY id"
        ))
        .bind(env.0)
        .bind(include_terminated)
        .fetch_all(self.pool())
        .await
        .db()?;
        sessions(rows)
    }

    #[tracing::instrument(skip_all, fields(session.id = %session.id))]
    async fn update_session(
        &self,
        session: &Session,
        expected_status: SessionStatus,
    ) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sessions SET status = ?, pid = ?, idle_timeout_minutes = ?, \
             last_activity_at = ?, updated_at = ? WHERE id = ? AND status = ?",
        )
        .bind(session.status.as_str())
        .bind(session.pid)
        .bind(session.idle_timeout_minutes)
        .bind(micros(session.last_activity_at))
        .bind(micros(session.updated_at))
        .bind(session.id.0)
        .bind(expected_status.as_str())
        .execute(self.pool())
        .await
        .db()?;
        if done.rows_affected() == 1 {
            return Ok(());
        }
        let exists = exists(
            self.pool(),
            "SELECT 1 FROM sessions WHERE id = ?",
            session.id.0,
        )
        .await?;
        Err(cas_missed(exists, "session"))
    }

    #[tracing::instrument(skip_all, fields(session.id = %id))]
    async fn touch_session(&self, id: SessionId, at: Timestamp) -> Result<()> {
        let done = sqlx::query(
            "UPDATE sessions SET last_activity_at = max(last_activity_at, ?) WHERE id = ?",
        )
        .bind(micros(at))
        .bind(id.0)
        .execute(self.pool())
        .await
        .db()?;
        one_affected(done.rows_affected(), "session")
    }

    #[tracing::instrument(skip_all)]
    async fn list_sessions_by_status(
        &self,
        statuses: &[SessionStatus],
        n: u32,
    ) -> Result<Vec<Session>> {
        let Some(statuses) = names_json(statuses, SessionStatus::as_str) else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query_as::<_, SessionRow>(concat!(
            "SELECT ",
            session_columns!(),
            " FROM sessions WHERE status IN (SELECT value FROM json_each(?)) \
             ORDER BY last_activity_at, id LIMIT ?"
        ))
        .bind(statuses)
        .bind(limit(n))
        .fetch_all(self.pool())
        .await
        .db()?;
        sessions(rows)
    }

    #[tracing::instrument(skip_all)]
    async fn purge_terminated_sessions(&self, before: Timestamp) -> Result<u64> {
        let done =
            sqlx::query("DELETE FROM sessions WHERE status = 'terminated' AND updated_at < ?")
                .bind(micros(before))
                .execute(self.pool())
                .await
                .db()?;
        Ok(done.rows_affected())
    }
}
