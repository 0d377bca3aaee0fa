//! `/ws/environments/{id}/status`: the current status and health on connect, then status and
//! health changes and about one metrics sample a second while the environment runs.

use serde::{Deserialize, Serialize};
use vibebox_core::domain::{EnvironmentHealth, EnvironmentStatus};
use vibebox_core::id::EnvironmentId;

use super::json::JsonSocket;
use crate::Client;
use crate::error::Result;

/// A message of the status socket. It serializes to the JSON frame the server sends
/// (`Unknown` as `{"type":"unknown"}`).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StatusMessage {
    /// The status (first on connect, then at every change).
    Status {
        /// The status.
        status: EnvironmentStatus,
        /// Why, when the status is `error`.
        error_message: Option<String>,
        /// The environment's version.
        version: i64,
    },
    /// OOM kills and warnings (on connect, then at every change).
    Health(EnvironmentHealth),
    /// A resource usage sample.
    Metrics {
        /// CPU use as a percentage of one core.
        cpu_percent: f64,
        /// Memory in use, in bytes.
        memory_bytes: u64,
        /// The memory limit, in bytes.
        memory_limit_bytes: u64,
    },
    /// Events this client missed (it was slow).
    Dropped {
        /// How many.
        count: u64,
    },
    /// The environment was deleted.
    Deleted,
    /// A message this client does not know (a newer server).
    #[serde(other)]
    Unknown,
}

/// The status socket: a `Stream` of [`StatusMessage`]s.
pub type StatusSocket = JsonSocket<StatusMessage>;

impl Client {
    /// Opens `/ws/environments/{id}/status`. Errors (before the upgrade): `NotFound`.
    pub async fn status_socket(&self, env: EnvironmentId) -> Result<StatusSocket> {
        let path = format!("/ws/environments/{env}/status");
        let ws = self.connect_ws(&path, &[]).await?;
        Ok(StatusSocket::new(ws, path))
    }
}
