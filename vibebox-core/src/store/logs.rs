use async_trait::async_trait;

use super::Page;
use crate::clock::Timestamp;
use crate::domain::{LogEntry, LogStream, NewLogEntry};
use crate::error::Result;
use crate::id::EnvironmentId;

/// The order of a log query.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogOrder {
    /// Oldest first: (timestamp, id) ascending.
    #[default]
    OldestFirst,
    /// Newest first: (timestamp, id) descending.
    NewestFirst,
}

/// A query over one environment's logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LogQuery {
    /// The environment.
    pub environment_id: EnvironmentId,
    /// Lines at or after this time.
    pub since: Option<Timestamp>,
    /// Lines strictly before this time.
    pub until: Option<Timestamp>,
    /// Only this stream.
    pub stream: Option<LogStream>,
    /// At most this many lines.
    pub limit: u32,
    /// Continue after the line this cursor names (from a previous page).
    pub cursor: Option<String>,
    /// The order.
    pub order: LogOrder,
}

impl LogQuery {
    /// The first `limit` lines of an environment, oldest first, with no filter.
    pub fn all(environment_id: EnvironmentId, limit: u32) -> Self {
        Self {
            environment_id,
            since: None,
            until: None,
            stream: None,
            limit,
            cursor: None,
            order: LogOrder::OldestFirst,
        }
    }
}

/// What log retention keeps.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RetentionPolicy {
    /// Lines older than this are deleted.
    pub older_than: Timestamp,
    /// Per environment, the oldest lines are deleted until the messages take at most this many
    /// bytes.
    pub max_bytes_per_environment: u64,
    /// Lines deleted per transaction, so writers are never blocked for long.
    pub batch_size: u32,
}

/// What a retention pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct RetentionReport {
    /// Lines deleted for being too old.
    pub deleted_by_age: u64,
    /// Lines deleted to bring environments under the size limit.
    pub deleted_by_size: u64,
}

/// Persisted container logs.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait LogsStore: Send + Sync {
    /// Appends a batch atomically, assigning increasing ids in the given order.
    ///
    /// Errors: `NotFound` (`environment`) if any line's environment does not exist (nothing is
    /// written).
    async fn append_logs(&self, entries: &[NewLogEntry]) -> Result<()>;

    /// Lines matching the query, ordered by (timestamp, id). `next_cursor` is set exactly when
    /// more lines match.
    ///
    /// Errors: `InvalidInput` (`cursor`) for a malformed cursor.
    async fn query_logs(&self, query: &LogQuery) -> Result<Page<LogEntry>>;

    /// The most recent line (greatest (timestamp, id)) of the environment.
    async fn latest_log(&self, env: EnvironmentId) -> Result<Option<LogEntry>>;

    /// The total size in bytes of the environment's stored messages.
    async fn log_bytes(&self, env: EnvironmentId) -> Result<u64>;

    /// Deletes lines older than the policy allows, then the oldest lines of each environment
    /// over the size limit, in batches.
    async fn apply_log_retention(&self, policy: &RetentionPolicy) -> Result<RetentionReport>;
}
