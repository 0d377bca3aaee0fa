use serde::{Deserialize, Serialize};

use super::string_enum;
use crate::clock::Timestamp;
use crate::id::EnvironmentId;

/// Which output stream a log line came from.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum LogStream {
    /// Standard output.
    Stdout,
    /// Standard error.
    Stderr,
}
string_enum!(LogStream, "stream", { Stdout => "stdout", Stderr => "stderr" });

/// A log line to persist; the store assigns its id.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct NewLogEntry {
    /// The environment.
    pub environment_id: EnvironmentId,
    /// When the container wrote it.
    pub timestamp: Timestamp,
    /// stdout or stderr.
    pub stream: LogStream,
    /// The line, without its trailing newline.
    pub message: String,
}

/// A persisted log line.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogEntry {
    /// Store-assigned, increasing in insertion order within an environment.
    pub id: i64,
    /// The environment.
    pub environment_id: EnvironmentId,
    /// When the container wrote it.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub timestamp: Timestamp,
    /// stdout or stderr.
    pub stream: LogStream,
    /// The line.
    pub message: String,
}
