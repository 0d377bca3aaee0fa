use async_trait::async_trait;

use super::{MemoryStore, State};
use crate::clock::Timestamp;
use crate::domain::{Session, SessionStatus};
use crate::error::{Error, Result};
use crate::id::{EnvironmentId, SessionId};
use crate::store::SessionsStore;

impl State {
    /// Whether another live session has the same environment, type and name.
    fn live_session_name_taken(&self, session: &Session) -> bool {
        session.status.is_live()
            && self.sessions.values().any(|s| {
                s.id != session.id
                    && s.status.is_live()
                    && s.environment_id == session.environment_id
                    && s.session_type == session.session_type
                    && s.session_name == session.session_name
            })
    }
}

#[async_trait]
impl SessionsStore for MemoryStore {
    async fn create_session(&self, session: &Session) -> Result<()> {
        self.with(|s| {
            s.require_environment(session.environment_id)?;
            if s.sessions.contains_key(&session.id) {
                return Err(Error::already_exists("session", "id"));
            }
            if s.live_session_name_taken(session) {
                return Err(Error::already_exists("session", "session_name"));
            }
            s.sessions.insert(session.id, session.clone());
            Ok(())
        })
    }

    async fn get_session(&self, id: SessionId) -> Result<Session> {
        self.with(|s| {
            s.sessions
                .get(&id)
                .cloned()
                .ok_or(Error::not_found("session"))
        })
    }

    async fn list_sessions(
        &self,
        env: EnvironmentId,
        include_terminated: bool,
    ) -> Result<Vec<Session>> {
        self.with(|s| {
            Ok(s.sessions
                .values()
                .filter(|x| x.environment_id == env && (include_terminated || x.status.is_live()))
                .cloned()
                .collect())
        })
    }

    async fn update_session(
        &self,
        session: &Session,
        expected_status: SessionStatus,
    ) -> Result<()> {
        self.with(|s| {
            let stored = s
                .sessions
                .get(&session.id)
                .ok_or(Error::not_found("session"))?;
            if stored.status != expected_status {
                return Err(Error::StaleVersion {
                    resource: "session",
                });
            }
            let updated = Session {
                status: session.status,
                pid: session.pid,
                idle_timeout_minutes: session.idle_timeout_minutes,
                last_activity_at: session.last_activity_at,
                updated_at: session.updated_at,
                ..stored.clone()
            };
            // A terminated session coming back to life must not collide with a live one.
            if s.live_session_name_taken(&updated) {
                return Err(Error::already_exists("session", "session_name"));
            }
            s.sessions.insert(updated.id, updated);
            Ok(())
        })
    }

    async fn touch_session(&self, id: SessionId, at: Timestamp) -> Result<()> {
        self.with(|s| {
            let session = s.sessions.get_mut(&id).ok_or(Error::not_found("session"))?;
            session.last_activity_at = session.last_activity_at.max(at);
            Ok(())
        })
    }

    async fn list_sessions_by_status(
        &self,
        statuses: &[SessionStatus],
        limit: u32,
    ) -> Result<Vec<Session>> {
        self.with(|s| {
            let mut sessions: Vec<_> = s
                .sessions
                .values()
                .filter(|x| statuses.contains(&x.status))
                .cloned()
                .collect();
            sessions.sort_by_key(|x| (x.last_activity_at, x.id));
            sessions.truncate(limit as usize);
            Ok(sessions)
        })
    }

    async fn purge_terminated_sessions(&self, before: Timestamp) -> Result<u64> {
        self.with(|s| {
            let before_len = s.sessions.len();
            s.sessions
                .retain(|_, x| !(x.status == SessionStatus::Terminated && x.updated_at < before));
            Ok((before_len - s.sessions.len()) as u64)
        })
    }
}
