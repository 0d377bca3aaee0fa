//! The two halves of a socket that carries frames (every socket but the tunnel): a
//! [`FrameSink`] that sends binary and JSON text frames and the close, and a [`FrameStream`]
//! that reads text and binary frames, skips control frames and ends at the close handshake.
//! Both carry the socket's path for errors and `Debug`.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, Stream, StreamExt};
use serde::de::DeserializeOwned;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::connect::WsStream;
use crate::error::{ClientError, Result};

/// A frame worth handing to a socket's decoder.
pub(crate) enum Frame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(Bytes),
}

/// The sending half of a socket. `Debug` shows the socket's path.
pub(crate) struct FrameSink {
    what: String,
    sink: SplitSink<WsStream, Message>,
}

/// The receiving half of a socket. `Debug` shows the socket's path.
pub(crate) struct FrameStream {
    what: String,
    stream: SplitStream<WsStream>,
}

/// Splits an open socket at `path` into its two halves.
pub(crate) fn split(ws: WsStream, path: String) -> (FrameSink, FrameStream) {
    let (sink, stream) = ws.split();
    let sink = FrameSink {
        what: path.clone(),
        sink,
    };
    (sink, FrameStream { what: path, stream })
}

impl std::fmt::Debug for FrameSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.what, f)
    }
}

impl std::fmt::Debug for FrameStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        std::fmt::Debug::fmt(&self.what, f)
    }
}

impl FrameSink {
    /// Sends a binary frame.
    pub(crate) async fn binary(&mut self, data: Bytes) -> Result<()> {
        self.send(Message::Binary(data)).await
    }

    /// Sends a JSON text frame.
    pub(crate) async fn json(&mut self, value: &serde_json::Value) -> Result<()> {
        self.send(Message::text(value.to_string())).await
    }

    async fn send(&mut self, message: Message) -> Result<()> {
        self.sink
            .send(message)
            .await
            .map_err(|e| ClientError::websocket(&self.what, format!("sending failed: {e}")))
    }

    /// Sends a close frame (1000) and flushes; a socket already closed is fine.
    pub(crate) async fn close(&mut self) -> Result<()> {
        match self.sink.close().await {
            Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Ok(()),
            Err(e) => Err(ClientError::websocket(
                &self.what,
                format!("closing failed: {e}"),
            )),
        }
    }
}

impl FrameStream {
    /// The next event: each text or binary frame goes to `read`, which makes it an event or
    /// skips it (`None`); `None` once the socket closed.
    pub(crate) fn poll_event<E>(
        &mut self,
        cx: &mut Context<'_>,
        mut read: impl FnMut(Frame, &str) -> Option<Result<E>>,
    ) -> Poll<Option<Result<E>>> {
        loop {
            let frame = match ready!(self.poll_frame(cx)) {
                None => return Poll::Ready(None),
                Some(Err(e)) => return Poll::Ready(Some(Err(e))),
                Some(Ok(frame)) => frame,
            };
            if let Some(event) = read(frame, &self.what) {
                return Poll::Ready(Some(event));
            }
        }
    }

    /// The next text or binary frame; `None` once the socket closed.
    fn poll_frame(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Frame>>> {
        loop {
            let next = ready!(Pin::new(&mut self.stream).poll_next(cx));
            return Poll::Ready(match next {
                None => None,
                Some(Ok(Message::Text(text))) => Some(Ok(Frame::Text(text.as_str().to_string()))),
                Some(Ok(Message::Binary(bytes))) => Some(Ok(Frame::Binary(bytes))),
                Some(Ok(Message::Close(frame))) => {
                    if let Some(f) = &frame {
                        tracing::debug!(socket = self.what, code = u16::from(f.code), reason = %f.reason, "socket closed");
                    }
                    None
                }
                Some(Ok(_)) => continue,
                Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => None,
                Some(Err(e)) => Some(Err(ClientError::websocket(&self.what, e))),
            });
        }
    }
}

/// A JSON text frame as `T`.
pub(crate) fn decode<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| ClientError::websocket(what, format!("a frame could not be read: {e}")))
}

/// The resize control frame (exec with a terminal, and terminals).
pub(crate) fn resize(cols: u16, rows: u16) -> serde_json::Value {
    serde_json::json!({"type": "resize", "cols": cols, "rows": rows})
}
