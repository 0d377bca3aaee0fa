//! Reading frames: JSON text frames into typed messages, control frames skipped, the close
//! handshake as the end of the stream.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures::Stream;
use futures::stream::SplitStream;
use serde::de::DeserializeOwned;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};

use super::connect::WsStream;
use crate::error::{ClientError, Result};

/// A frame worth handing to a socket's decoder.
pub(crate) enum Frame {
    /// A text frame.
    Text(String),
    /// A binary frame.
    Binary(bytes::Bytes),
}

/// The next text or binary frame; `None` once the socket closed.
pub(crate) fn poll_frame(
    stream: &mut SplitStream<WsStream>,
    cx: &mut Context<'_>,
    what: &str,
) -> Poll<Option<Result<Frame>>> {
    loop {
        let next = ready!(Pin::new(&mut *stream).poll_next(cx));
        return Poll::Ready(match next {
            None => None,
            Some(Ok(Message::Text(text))) => Some(Ok(Frame::Text(text.as_str().to_string()))),
            Some(Ok(Message::Binary(bytes))) => Some(Ok(Frame::Binary(bytes))),
            Some(Ok(Message::Close(frame))) => {
                if let Some(f) = &frame {
                    tracing::debug!(socket = what, code = u16::from(f.code), reason = %f.reason, "socket closed");
                }
                None
            }
            Some(Ok(_)) => continue,
            Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => None,
            Some(Err(e)) => Some(Err(ClientError::websocket(what, e))),
        });
    }
}

/// A JSON text frame as `T`.
pub(crate) fn decode<T: DeserializeOwned>(text: &str, what: &str) -> Result<T> {
    serde_json::from_str(text)
        .map_err(|e| ClientError::websocket(what, format!("a frame could not be read: {e}")))
}

/// Sends a frame, mapping failures.
pub(crate) async fn send(
    sink: &mut futures::stream::SplitSink<WsStream, Message>,
    message: Message,
    what: &str,
) -> Result<()> {
    use futures::SinkExt;
    sink.send(message)
        .await
        .map_err(|e| ClientError::websocket(what, format!("sending failed: {e}")))
}

/// Sends a JSON text frame.
pub(crate) async fn send_json(
    sink: &mut futures::stream::SplitSink<WsStream, Message>,
    value: &serde_json::Value,
    what: &str,
) -> Result<()> {
    send(sink, Message::text(value.to_string()), what).await
}

/// Sends a close frame (1000) and flushes; a socket already closed is fine.
pub(crate) async fn close(
    sink: &mut futures::stream::SplitSink<WsStream, Message>,
    what: &str,
) -> Result<()> {
    use futures::SinkExt;
    match sink.close().await {
        Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Ok(()),
        Err(e) => Err(ClientError::websocket(what, format!("closing failed: {e}"))),
    }
}
