//! `/ws/environments/{id}/ports/{port}/tunnel`: a TCP connection to a port inside a running
//! environment, as a [`Tunnel`] that is `AsyncRead + AsyncWrite` (so a port-forward is
//! `tokio::io::copy_bidirectional`).
//!
//! Binary frames carry the bytes both ways. Shutting down the tunnel's write side
//! ([`AsyncWriteExt::shutdown`](tokio::io::AsyncWriteExt::shutdown)) is a half-close: it sends
//! the text frame `{"type":"eof"}`, the server shuts down the connection's write side inside,
//! and the tunnel keeps reading what the app sends until the app closes (then reads end of
//! file). [`Tunnel::close`] (or dropping the tunnel) closes both directions.

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures::{Sink, Stream};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::{Error as WsError, Message};
use vibebox_core::id::EnvironmentId;

use super::connect::WsStream;
use crate::Client;
use crate::error::Result;

/// A byte stream to a port inside an environment.
pub struct Tunnel {
    what: String,
    ws: WsStream,
    /// Bytes received and not yet read.
    pending: Bytes,
    /// The server closed, or the socket ended: reads return end of file.
    read_done: bool,
    /// The socket failed (or closed abnormally) after bytes a read returned first: the next
    /// read returns it.
    failed: Option<io::Error>,
    /// How far the write side is.
    write: WriteSide,
}

/// The write side of a [`Tunnel`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum WriteSide {
    /// Bytes may be written.
    Open,
    /// The `eof` frame is queued and being flushed.
    Ending,
    /// The `eof` frame was sent (or the socket is gone): writes fail.
    Ended,
}

/// The text frame that ends the client's input.
const EOF_FRAME: &str = r#"{"type":"eof"}"#;

impl std::fmt::Debug for Tunnel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tunnel")
            .field("socket", &self.what)
            .field("read_done", &self.read_done)
            .field("write", &self.write)
            .finish_non_exhaustive()
    }
}

fn io_error(e: WsError) -> io::Error {
    match e {
        WsError::Io(e) => e,
        other => io::Error::other(other),
    }
}

impl AsyncRead for Tunnel {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        // As many frames as are ready, while `buf` has room: a reader that offers a large
        // buffer (a port-forward's copy) makes one write downstream for several frames.
        let start = buf.filled().len();
        loop {
            if !this.pending.is_empty() {
                let n = this.pending.len().min(buf.remaining());
                buf.put_slice(&this.pending.split_to(n));
            }
            let read = buf.filled().len() > start;
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if let Some(e) = this.failed.take() {
                if read {
                    this.failed = Some(e);
                    return Poll::Ready(Ok(()));
                }
                return Poll::Ready(Err(e));
            }
            if this.read_done {
                return Poll::Ready(Ok(()));
            }
            let next = match Pin::new(&mut this.ws).poll_next(cx) {
                Poll::Pending if read => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
                Poll::Ready(next) => next,
            };
            match next {
                Some(Ok(Message::Binary(bytes))) => this.pending = bytes,
                Some(Ok(Message::Close(frame))) => {
                    this.read_done = true;
                    if let Some(f) = frame
                        && f.code != CloseCode::Normal
                        && f.code != CloseCode::Away
                    {
                        tracing::debug!(socket = %this.what, code = u16::from(f.code), reason = %f.reason, "tunnel closed by the server");
                        this.failed = Some(io::Error::new(
                            io::ErrorKind::ConnectionReset,
                            format!("the tunnel closed: {}", f.reason),
                        ));
                    }
                }
                Some(Ok(_)) => {}
                None | Some(Err(WsError::ConnectionClosed | WsError::AlreadyClosed)) => {
                    this.read_done = true;
                }
                Some(Err(e)) => {
                    this.read_done = true;
                    this.failed = Some(io_error(e));
                }
            }
        }
    }
}

impl AsyncWrite for Tunnel {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        if this.write != WriteSide::Open {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::BrokenPipe,
                "the tunnel's write side is shut down",
            )));
        }
        ready!(Pin::new(&mut this.ws).poll_ready(cx)).map_err(io_error)?;
        Pin::new(&mut this.ws)
            .start_send(Message::Binary(Bytes::copy_from_slice(buf)))
            .map_err(io_error)?;
        // Start sending now; `poll_flush` finishes it.
        if let Poll::Ready(Err(e)) = Pin::new(&mut this.ws).poll_flush(cx) {
            return Poll::Ready(Err(io_error(e)));
        }
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        if this.write == WriteSide::Ended {
            return Poll::Ready(Ok(()));
        }
        Pin::new(&mut this.ws).poll_flush(cx).map_err(io_error)
    }

    /// Ends the input (a half-close): sends `{"type":"eof"}` once; reads go on until the app
    /// closes. A socket already closed counts as shut down.
    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let sent = loop {
            match this.write {
                WriteSide::Ended => return Poll::Ready(Ok(())),
                WriteSide::Ending => break ready!(Pin::new(&mut this.ws).poll_flush(cx)),
                WriteSide::Open => {
                    let queued = ready!(Pin::new(&mut this.ws).poll_ready(cx))
                        .and_then(|()| Pin::new(&mut this.ws).start_send(Message::text(EOF_FRAME)));
                    match queued {
                        Ok(()) => this.write = WriteSide::Ending,
                        Err(e) => break Err(e),
                    }
                }
            }
        };
        match sent {
            Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => {
                this.write = WriteSide::Ended;
                Poll::Ready(Ok(()))
            }
            Err(e) => Poll::Ready(Err(io_error(e))),
        }
    }
}

impl Tunnel {
    /// Closes the tunnel in both directions: sends the close frame, and the server closes the
    /// connection inside (bytes the app sends after that are not read). A socket already
    /// closed is fine. Dropping the tunnel also closes the connection, without the handshake.
    pub async fn close(mut self) -> io::Result<()> {
        self.write = WriteSide::Ended;
        match self.ws.close(None).await {
            Ok(()) | Err(WsError::ConnectionClosed | WsError::AlreadyClosed) => Ok(()),
            Err(e) => Err(io_error(e)),
        }
    }
}

impl Client {
    /// Opens a TCP tunnel to `port` inside a running environment
    /// (`/ws/environments/{id}/ports/{port}/tunnel`). Errors (before the upgrade):
    /// `NotFound`, `Forbidden`; `Conflict` when the environment is not running or nothing
    /// listens on the port.
    pub async fn tunnel(&self, env: EnvironmentId, port: u16) -> Result<Tunnel> {
        let path = format!("/ws/environments/{env}/ports/{port}/tunnel");
        let ws = self.connect_ws(&path, &[]).await?;
        Ok(Tunnel {
            what: path,
            ws,
            pending: Bytes::new(),
            read_done: false,
            failed: None,
            write: WriteSide::Open,
        })
    }
}
