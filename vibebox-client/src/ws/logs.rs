//! `/ws/environments/{id}/logs`: the last 100 stored lines, then live lines; the client may
//! filter by stream, pause and resume.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures::stream::{SplitSink, SplitStream};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::LogStream;
use vibebox_core::id::EnvironmentId;

use super::connect::WsStream;
use super::frames::{self, Frame};
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
pub struct LogsSocket {
    what: String,
    sink: SplitSink<WsStream, Message>,
    stream: SplitStream<WsStream>,
}

impl std::fmt::Debug for LogsSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogsSocket")
            .field("socket", &self.what)
            .finish_non_exhaustive()
    }
}

impl LogsSocket {
    /// Sends only the lines of one stream from now on (`All` for both).
    pub async fn filter(&mut self, filter: LogFilter) -> Result<()> {
        let stream = match filter {
            LogFilter::All => "all",
            LogFilter::Stdout => "stdout",
            LogFilter::Stderr => "stderr",
        };
        let msg = serde_json::json!({"type": "filter", "stream": stream});
        frames::send_json(&mut self.sink, &msg, &self.what).await
    }

    /// Stops live lines; those missed are counted ([`LogMessage::Dropped`] on resume).
    pub async fn pause(&mut self) -> Result<()> {
        let msg = serde_json::json!({"type": "pause"});
        frames::send_json(&mut self.sink, &msg, &self.what).await
    }

    /// Resumes live lines.
    pub async fn resume(&mut self) -> Result<()> {
        let msg = serde_json::json!({"type": "resume"});
        frames::send_json(&mut self.sink, &msg, &self.what).await
    }

    /// Closes the socket.
    pub async fn close(mut self) -> Result<()> {
        frames::close(&mut self.sink, &self.what).await
    }
}

impl Stream for LogsSocket {
    type Item = Result<LogMessage>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        loop {
            return Poll::Ready(
                match ready!(frames::poll_frame(&mut this.stream, cx, &this.what)) {
                    None => None,
                    Some(Err(e)) => Some(Err(e)),
                    Some(Ok(Frame::Text(text))) => Some(frames::decode(&text, &this.what)),
                    Some(Ok(Frame::Binary(_))) => continue,
                },
            );
        }
    }
}

impl Client {
    /// Opens `/ws/environments/{id}/logs`. Errors (before the upgrade): `NotFound`.
    pub async fn logs_socket(&self, env: EnvironmentId) -> Result<LogsSocket> {
        let path = format!("/ws/environments/{env}/logs");
        let ws = self.connect_ws(&path, &[]).await?;
        let (sink, stream) = ws.split();
        Ok(LogsSocket {
            what: path,
            sink,
            stream,
        })
    }
}
