//! `/ws/environments/{id}/exec`: one command with stdin, stdout and stderr over a socket, then
//! its exit. The client sends the start frame, then stdin as binary frames and
//! `{"type":"eof"}` to close stdin; the server sends binary frames tagged 1 (stdout) or 2
//! (stderr), then `{"type":"exit",…}`, and closes.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::Stream;
use serde::Deserialize;
use vibebox_core::id::EnvironmentId;

use super::frames::{self, Frame, FrameSink, FrameStream};
use crate::Client;
use crate::api::exec::debug_command;
use crate::error::{ClientError, Result};

/// The first byte of a binary frame of stdout.
const STDOUT_TAG: u8 = 1;
/// The first byte of a binary frame of stderr.
const STDERR_TAG: u8 = 2;

/// The command to start. `Debug` shows the program and the variables' names only.
#[derive(Clone, Default)]
pub struct ExecStart {
    /// The program and its arguments (argv, no shell).
    pub command: Vec<String>,
    /// Variables added to the environment's own.
    pub env: BTreeMap<String, String>,
    /// The working directory, an absolute path.
    pub workdir: Option<String>,
    /// A terminal of this size (columns, rows); everything is then stdout.
    pub tty: Option<(u16, u16)>,
    /// How long the command may run before it is killed.
    pub timeout: Option<Duration>,
}

impl ExecStart {
    /// A command without a terminal.
    pub fn new<I, S>(command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            command: command.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    fn frame(&self) -> serde_json::Value {
        let mut start = serde_json::json!({"type": "start", "command": self.command});
        if !self.env.is_empty() {
            start["env"] = serde_json::json!(self.env);
        }
        if let Some(dir) = &self.workdir {
            start["workdir"] = serde_json::json!(dir);
        }
        if let Some((cols, rows)) = self.tty {
            start["tty"] = serde_json::json!({"cols": cols, "rows": rows});
        }
        if let Some(t) = self.timeout {
            start["timeout_seconds"] = serde_json::json!(t.as_secs_f64());
        }
        start
    }
}

impl std::fmt::Debug for ExecStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_command(f, "ExecStart", &self.command, &self.env)
            .field("workdir", &self.workdir)
            .field("tty", &self.tty)
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What the server sends on an exec socket.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExecEvent {
    /// Output on stdout (everything, with a terminal).
    Stdout(Bytes),
    /// Output on stderr.
    Stderr(Bytes),
    /// The process ended; the socket closes next.
    Exit {
        /// Its exit code, when the engine reports one.
        exit_code: Option<i64>,
        /// Whether it ran out of time and was killed.
        timed_out: bool,
    },
    /// A refused start or control frame, or a failure (the code and field as in problem
    /// documents). A refused start ends the socket.
    Error {
        /// The stable error code (`invalid_input`, `conflict`, …).
        code: String,
        /// What went wrong.
        message: String,
        /// The field named, if any.
        field: Option<String>,
    },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Control {
    Exit {
        #[serde(default)]
        exit_code: Option<i64>,
        #[serde(default)]
        timed_out: bool,
    },
    Error {
        #[serde(default)]
        code: String,
        message: String,
        #[serde(default)]
        field: Option<String>,
    },
    #[serde(other)]
    Unknown,
}

/// The sending half of an exec socket.
#[derive(Debug)]
pub struct ExecWriter(FrameSink);

/// The receiving half of an exec socket: a `Stream` of [`ExecEvent`]s.
#[derive(Debug)]
pub struct ExecReader(FrameStream);

/// A command running over a socket; [`split`](Self::split) it to feed stdin and read output
/// from different tasks.
#[derive(Debug)]
pub struct ExecSocket {
    writer: ExecWriter,
    reader: ExecReader,
}

impl ExecWriter {
    /// Writes bytes to the command's stdin.
    pub async fn write_stdin(&mut self, data: impl Into<Bytes>) -> Result<()> {
        self.0.binary(data.into()).await
    }

    /// Closes the command's stdin (end of file).
    pub async fn close_stdin(&mut self) -> Result<()> {
        self.0.json(&serde_json::json!({"type": "eof"})).await
    }

    /// Resizes the command's terminal (with a `tty` only).
    pub async fn resize(&mut self, cols: u16, rows: u16) -> Result<()> {
        self.0.json(&frames::resize(cols, rows)).await
    }

    /// Kills the command (the exit follows).
    pub async fn kill(&mut self) -> Result<()> {
        self.0.json(&serde_json::json!({"type": "kill"})).await
    }

    /// Closes the socket: a command still running is killed.
    pub async fn close(&mut self) -> Result<()> {
        self.0.close().await
    }
}

/// An output frame as stdout or stderr by its tag, or a control frame as the exit or an
/// error; a control frame of an unknown type is skipped.
fn read_event(frame: Frame, what: &str) -> Option<Result<ExecEvent>> {
    match frame {
        Frame::Binary(bytes) => Some(match bytes.first() {
            Some(&STDOUT_TAG) => Ok(ExecEvent::Stdout(bytes.slice(1..))),
            Some(&STDERR_TAG) => Ok(ExecEvent::Stderr(bytes.slice(1..))),
            _ => Err(ClientError::websocket(
                what,
                "an output frame without a stream tag",
            )),
        }),
        Frame::Text(text) => match frames::decode::<Control>(&text, what) {
            Ok(Control::Exit {
                exit_code,
                timed_out,
            }) => Some(Ok(ExecEvent::Exit {
                exit_code,
                timed_out,
            })),
            Ok(Control::Error {
                code,
                message,
                field,
            }) => Some(Ok(ExecEvent::Error {
                code,
                message,
                field,
            })),
            Ok(Control::Unknown) => None,
            Err(e) => Some(Err(e)),
        },
    }
}

impl Stream for ExecReader {
    type Item = Result<ExecEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().0.poll_event(cx, read_event)
    }
}

impl ExecSocket {
    /// Writes bytes to the command's stdin.
    pub async fn write_stdin(&mut self, data: impl Into<Bytes>) -> Result<()> {
        self.writer.write_stdin(data).await
    }

    /// Closes the command's stdin (end of file).
    pub async fn close_stdin(&mut self) -> Result<()> {
        self.writer.close_stdin().await
    }

    /// Resizes the command's terminal (with a `tty` only).
    pub async fn resize(&mut self, cols: u16, rows: u16) -> Result<()> {
        self.writer.resize(cols, rows).await
    }

    /// Kills the command.
    pub async fn kill(&mut self) -> Result<()> {
        self.writer.kill().await
    }

    /// The two halves, to write and read from different tasks.
    pub fn split(self) -> (ExecWriter, ExecReader) {
        (self.writer, self.reader)
    }
}

impl Stream for ExecSocket {
    type Item = Result<ExecEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().reader).poll_next(cx)
    }
}

impl Client {
    /// Starts a command in a running environment over `/ws/environments/{id}/exec`. Errors
    /// (before the upgrade): `NotFound`, `Forbidden`, `Conflict` when it is not running. A
    /// start the server refuses afterwards (a bad command) is an [`ExecEvent::Error`].
    pub async fn exec_socket(&self, env: EnvironmentId, start: &ExecStart) -> Result<ExecSocket> {
        let path = format!("/ws/environments/{env}/exec");
        let ws = self.connect_ws(&path, &[]).await?;
        let (mut sink, stream) = frames::split(ws, path);
        sink.json(&start.frame()).await?;
        Ok(ExecSocket {
            writer: ExecWriter(sink),
            reader: ExecReader(stream),
        })
    }
}
