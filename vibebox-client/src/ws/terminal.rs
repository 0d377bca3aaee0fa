//! `/ws/environments/{id}/terminal?session=&cols=&rows=`: terminal bytes both ways in binary
//! frames; resizes from the client and the exit or an error from the server in JSON text
//! frames. Leaving a tmux session's terminal keeps the session, and the next terminal on it
//! resumes it.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures::Stream;
use serde::Deserialize;
use vibebox_core::id::EnvironmentId;

use super::frames::{self, Frame, FrameSink, FrameStream};
use crate::Client;
use crate::error::Result;

/// Which session to attach to, and the initial size.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TerminalOptions {
    /// The session's name (default `main`, the default tmux session).
    pub session: String,
    /// Initial columns (the server's default 80).
    pub cols: Option<u16>,
    /// Initial rows (the server's default 24).
    pub rows: Option<u16>,
}

impl Default for TerminalOptions {
    fn default() -> Self {
        Self {
            session: "main".into(),
            cols: None,
            rows: None,
        }
    }
}

/// What the server sends on a terminal.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TerminalEvent {
    /// Terminal output.
    Output(Bytes),
    /// The terminal's process ended (the socket closes next).
    Exit {
        /// Its exit code, when known.
        code: Option<i64>,
    },
    /// The server refused a control message, or the terminal failed.
    Error {
        /// Why.
        message: String,
    },
}

#[derive(Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Control {
    Exit {
        #[serde(default)]
        code: Option<i64>,
    },
    Error {
        message: String,
    },
    #[serde(other)]
    Unknown,
}

/// The sending half of a terminal: input and resizes.
#[derive(Debug)]
pub struct TerminalWriter(FrameSink);

/// The receiving half of a terminal: a `Stream` of [`TerminalEvent`]s.
#[derive(Debug)]
pub struct TerminalReader(FrameStream);

/// A terminal: write input, resize, and read its events as a `Stream`; [`split`](Self::split)
/// it to do both at once from different tasks.
#[derive(Debug)]
pub struct Terminal {
    writer: TerminalWriter,
    reader: TerminalReader,
}

impl TerminalWriter {
    /// Sends input bytes (keystrokes).
    pub async fn write(&mut self, input: impl Into<Bytes>) -> Result<()> {
        self.0.binary(input.into()).await
    }

    /// Resizes the terminal.
    pub async fn resize(&mut self, cols: u16, rows: u16) -> Result<()> {
        self.0.json(&frames::resize(cols, rows)).await
    }

    /// Closes the socket: the terminal's process is killed (a tmux session stays).
    pub async fn close(&mut self) -> Result<()> {
        self.0.close().await
    }
}

/// A binary frame as output, a control frame as the exit or an error; a control frame of an
/// unknown type is skipped.
fn read_event(frame: Frame, what: &str) -> Option<Result<TerminalEvent>> {
    match frame {
        Frame::Binary(bytes) => Some(Ok(TerminalEvent::Output(bytes))),
        Frame::Text(text) => match frames::decode::<Control>(&text, what) {
            Ok(Control::Exit { code }) => Some(Ok(TerminalEvent::Exit { code })),
            Ok(Control::Error { message }) => Some(Ok(TerminalEvent::Error { message })),
            Ok(Control::Unknown) => None,
            Err(e) => Some(Err(e)),
        },
    }
}

impl Stream for TerminalReader {
    type Item = Result<TerminalEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut().0.poll_event(cx, read_event)
    }
}

impl Terminal {
    /// Sends input bytes (keystrokes).
    pub async fn write(&mut self, input: impl Into<Bytes>) -> Result<()> {
        self.writer.write(input).await
    }

    /// Resizes the terminal.
    pub async fn resize(&mut self, cols: u16, rows: u16) -> Result<()> {
        self.writer.resize(cols, rows).await
    }

    /// Closes the socket: the terminal's process is killed (a tmux session stays).
    pub async fn close(mut self) -> Result<()> {
        self.writer.close().await
    }

    /// The two halves, to write and read from different tasks.
    pub fn split(self) -> (TerminalWriter, TerminalReader) {
        (self.writer, self.reader)
    }
}

impl Stream for Terminal {
    type Item = Result<TerminalEvent>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        Pin::new(&mut self.get_mut().reader).poll_next(cx)
    }
}

impl Client {
    /// Opens a terminal on a live session of a running environment
    /// (`/ws/environments/{id}/terminal`). Errors (before the upgrade): `NotFound`;
    /// `Conflict` when the environment is not running or the session is not live.
    pub async fn terminal(
        &self,
        env: EnvironmentId,
        options: &TerminalOptions,
    ) -> Result<Terminal> {
        let path = format!("/ws/environments/{env}/terminal");
        let mut query = vec![("session", options.session.clone())];
        if let Some(cols) = options.cols {
            query.push(("cols", cols.to_string()));
        }
        if let Some(rows) = options.rows {
            query.push(("rows", rows.to_string()));
        }
        let ws = self.connect_ws(&path, &query).await?;
        let (sink, stream) = frames::split(ws, path);
        Ok(Terminal {
            writer: TerminalWriter(sink),
            reader: TerminalReader(stream),
        })
    }
}
