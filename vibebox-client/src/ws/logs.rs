//! `/ws/environments/{id}/logs`: the last 100 stored lines, then live lines; the client may
//! filter by stream, pause and resume.

use serde::{Deserialize, Serialize};
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::LogStream;
use vibebox_core::id::EnvironmentId;

use super::json::JsonSocket;
use crate::Client;
use crate::error::Result;

/// A message of the logs socket. It serializes to the JSON frame the server sends (`Unknown`
/// as `{"type":"unknown"}`).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum LogMessage {
    /// A line of container output.
    Log {
        /// When the container wrote it.
        timestamp: Timestamp,
        /// stdout or stderr.
        stream: LogStream,
        /// The line.
        message: String,
    },
    /// Output lost before the server could read it.
    Gap {
        /// The last line read before the gap.
        after: Timestamp,
        /// The first line read after it.
        before: Timestamp,
        /// How many lines were lost, when known.
        lines: Option<u64>,
        /// Why, for people.
        message: String,
    },
    /// Lines this client missed (it was slow or paused).
    Dropped {
        /// How many.
        count: u64,
    },
    /// The server refused a client message.
    Error {
        /// Why.
        message: String,
    },
    /// A message this client does not know (a newer server).
    #[serde(other)]
    Unknown,
}

/// Which lines the socket sends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LogFilter {
    /// Both streams.
    All,
    /// stdout only.
    Stdout,
    /// stderr only.
    Stderr,
}

/// The logs socket: a `Stream` of [`LogMessage`]s, ending when the server closes it.
pub type LogsSocket = JsonSocket<LogMessage>;

impl LogsSocket {
    /// Sends only the lines of one stream from now on (`All` for both).
    pub async fn filter(&mut self, filter: LogFilter) -> Result<()> {
        let stream = match filter {
            LogFilter::All => "all",
            LogFilter::Stdout => "stdout",
            LogFilter::Stderr => "stderr",
        };
        self.send(&serde_json::json!({"type": "filter", "stream": stream}))
            .await
    }

    /// Stops live lines; those missed are counted ([`LogMessage::Dropped`] on resume).
    pub async fn pause(&mut self) -> Result<()> {
        self.send(&serde_json::json!({"type": "pause"})).await
    }

    /// Resumes live lines.
    pub async fn resume(&mut self) -> Result<()> {
        self.send(&serde_json::json!({"type": "resume"})).await
    }
}

impl Client {
    /// Opens `/ws/environments/{id}/logs`. Errors (before the upgrade): `NotFound`.
    pub async fn logs_socket(&self, env: EnvironmentId) -> Result<LogsSocket> {
        let path = format!("/ws/environments/{env}/logs");
        let ws = self.connect_ws(&path, &[]).await?;
        Ok(LogsSocket::new(ws, path))
    }
}
