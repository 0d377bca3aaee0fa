use std::pin::Pin;

use bytes::Bytes;
use futures::stream::BoxStream;
use serde::{Deserialize, Serialize};
use tokio::io::AsyncWrite;

use crate::domain::LogStream;
use crate::error::Result;

/// An engine's exec id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExecId(pub String);

impl std::fmt::Display for ExecId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// A terminal size in character cells.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TerminalSize {
    /// Columns (1–1000).
    pub cols: u16,
    /// Rows (1–1000).
    pub rows: u16,
}

/// A process to run inside a container.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ExecSpec {
    /// The command and its arguments.
    pub cmd: Vec<String>,
    /// Extra environment variables (`KEY=value` pairs, not secrets).
    pub env: Vec<(String, String)>,
    /// The user to run as; `None` uses the container's.
    pub user: Option<String>,
    /// The working directory.
    pub working_dir: Option<String>,
    /// Allocate a terminal (output is one stream; `resize_exec` works).
    pub tty: Option<TerminalSize>,
    /// Attach stdin.
    pub stdin: bool,
}

/// One piece of an exec's output.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutput {
    /// Which stream (always stdout with a TTY).
    pub stream: LogStream,
    /// The bytes, exactly as written.
    pub data: Bytes,
}

/// A running exec: its output, its input, and its id for resize, inspect and kill.
pub struct ExecSession {
    /// The exec's id.
    pub id: ExecId,
    /// The output; ends when the process ends.
    pub output: BoxStream<'static, Result<ExecOutput>>,
    /// The process's stdin (if `stdin` was set; writes to it are otherwise discarded).
    /// Shutting it down closes stdin.
    pub input: Pin<Box<dyn AsyncWrite + Send>>,
}

impl std::fmt::Debug for ExecSession {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecSession")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// What `inspect_exec` reports.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ExecInfo {
    /// Whether the process still runs.
    pub running: bool,
    /// Its exit code once it has ended.
    pub exit_code: Option<i64>,
    /// Its process id, when the engine reports one.
    pub pid: Option<i64>,
}
