//! A socket of JSON messages (logs, status, project status): each text frame the server
//! sends is one `T`; what the client sends is a JSON text frame too.

use std::marker::PhantomData;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::Stream;
use serde::de::DeserializeOwned;

use super::connect::WsStream;
use super::frames::{self, Frame, FrameSink, FrameStream};
use crate::error::Result;

/// A socket whose server sends JSON messages: a `Stream` of `T`s, ending when the server
/// closes it. [`LogsSocket`](super::logs::LogsSocket),
/// [`StatusSocket`](super::status::StatusSocket) and
/// [`ProjectStatusSocket`](super::project_status::ProjectStatusSocket) are its kinds.
pub struct JsonSocket<T> {
    sink: FrameSink,
    stream: FrameStream,
    message: PhantomData<fn() -> T>,
}

impl<T> std::fmt::Debug for JsonSocket<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonSocket")
            .field("socket", &self.sink)
            .finish_non_exhaustive()
    }
}

impl<T> JsonSocket<T> {
    /// An open socket at `path`.
    pub(crate) fn new(ws: WsStream, path: String) -> Self {
        let (sink, stream) = frames::split(ws, path);
        Self {
            sink,
            stream,
            message: PhantomData,
        }
    }

    /// Sends a JSON text frame (a client message).
    pub(crate) async fn send(&mut self, message: &serde_json::Value) -> Result<()> {
        self.sink.json(message).await
    }

    /// Closes the socket.
    pub async fn close(mut self) -> Result<()> {
        self.sink.close().await
    }
}

impl<T: DeserializeOwned> Stream for JsonSocket<T> {
    type Item = Result<T>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        self.get_mut()
            .stream
            .poll_event(cx, |frame, what| match frame {
                Frame::Text(text) => Some(frames::decode(&text, what)),
                Frame::Binary(_) => None,
            })
    }
}
