use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::domain::{Session, SessionStatus};
use crate::error::Result;
use crate::id::{EnvironmentId, SessionId};

/// Sessions inside environments.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SessionsStore: Send + Sync {
    /// Errors: `NotFound` (`environment`); `AlreadyExists` (`session_name`) if a live
    /// (not terminated) session has the same environment, type and name.
    async fn create_session(&self, session: &Session) -> Result<()>;

    /// Errors: `NotFound` (`session`).
    async fn get_session(&self, id: SessionId) -> Result<Session>;

    /// The environment's sessions ordered by id; terminated ones only when asked.
    async fn list_sessions(
        &self,
        env: EnvironmentId,
        include_terminated: bool,
    ) -> Result<Vec<Session>>;

    /// Compare-and-set: writes status, pid, idle timeout, last activity and updated_at if the
    /// stored status is still `expected_status`.
    ///
    /// Errors: `NotFound` (`session`); `StaleVersion` when the status differs.
    async fn update_session(&self, session: &Session, expected_status: SessionStatus)
    -> Result<()>;

    /// Records activity: `last_activity_at` becomes `at` unless it is already later.
    ///
    /// Errors: `NotFound` (`session`).
    async fn touch_session(&self, id: SessionId, at: Timestamp) -> Result<()>;

    /// Sessions (of any environment) in one of the given states, oldest activity first.
    async fn list_sessions_by_status(
        &self,
        statuses: &[SessionStatus],
        limit: u32,
    ) -> Result<Vec<Session>>;

    /// Deletes terminated sessions last updated before `before`; returns how many.
    async fn purge_terminated_sessions(&self, before: Timestamp) -> Result<u64>;
}
