//! `/ws/environments/{id}/status`: the current status and health on connect, then status and
//! health changes and about one metrics sample a second while the environment runs.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures::stream::{SplitSink, SplitStream};
use futures::{Stream, StreamExt};
use serde::{Deserialize, Serialize};
use tokio_tungstenite::tungstenite::Message;
use vibebox_core::domain::{EnvironmentHealth, EnvironmentStatus};
use vibebox_core::id::EnvironmentId;

use super::connect::WsStream;
use super::frames::{self, Frame};
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
pub struct StatusSocket {
    what: String,
    sink: SplitSink<WsStream, Message>,
    stream: SplitStream<WsStream>,
}

impl std::fmt::Debug for StatusSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StatusSocket")
            .field("socket", &self.what)
            .finish_non_exhaustive()
    }
}

impl StatusSocket {
    /// Closes the socket.
    pub async fn close(mut self) -> Result<()> {
        frames::close(&mut self.sink, &self.what).await
    }
}

impl Stream for StatusSocket {
    type Item = Result<StatusMessage>;

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
    /// Opens `/ws/environments/{id}/status`. Errors (before the upgrade): `NotFound`.
    pub async fn status_socket(&self, env: EnvironmentId) -> Result<StatusSocket> {
        let path = format!("/ws/environments/{env}/status");
        let ws = self.connect_ws(&path, &[]).await?;
        let (sink, stream) = ws.split();
        Ok(StatusSocket {
            what: path,
            sink,
            stream,
        })
    }
}
