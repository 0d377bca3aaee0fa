//! One upgraded WebSocket, as its handler sees it. Every frame a handler sends goes through
//! its [`Socket`]: into a queue bounded in bytes ([`SOCKET_QUEUE_BYTES`]) that one writer task
//! drains. The writer, not the handler, waits on the client:
//!
//! - a client that accepts nothing for [`SOCKET_WRITE_TIMEOUT`] is a slow consumer: the writer
//!   closes it with 1008 `slow consumer` ([`SLOW_CONSUMER`]);
//! - when the server shuts down it closes the socket with 1001 ([`GOING_AWAY`]) at once, also
//!   while a write is stuck on a client that does not read;
//! - a close frame that cannot get out within [`SOCKET_CLOSE_TIMEOUT`] (the client's buffers
//!   are full) is given up on and the connection dropped: the client then reads what its
//!   buffers held and the end of the stream, without a close frame;
//! - after a close frame, the writer waits for the client's (the closing handshake, within
//!   the same [`SOCKET_CLOSE_TIMEOUT`]) before it drops the connection, reading what the
//!   client still sends: a connection dropped with unread bytes is reset, and a reset can
//!   lose the last frames before the client reads them.
//!
//! So a handler never waits on a client for longer than those bounds, and a socket holds at
//! most [`SOCKET_QUEUE_BYTES`] of frames (plus the WebSocket library's write buffer) whatever
//! its client does. Handlers fed by a broadcast (logs, status) wait for room in the queue and
//! so lag the broadcast, which they report as `dropped`; a terminal never waits (see
//! [`Socket::try_send`]).

use std::sync::Arc;
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket};
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot, watch};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::open_sockets::{OpenGuard, OpenSockets};

/// How long a socket's client may accept nothing while frames wait for it before it is
/// closed as a slow consumer.
pub const SOCKET_WRITE_TIMEOUT: Duration = Duration::from_secs(15);
/// How long a close frame (1001 at shutdown, 1008 for a slow consumer) may take to get out
/// before the connection is dropped without it.
pub const SOCKET_CLOSE_TIMEOUT: Duration = Duration::from_secs(2);
/// The most bytes of frames queued for one socket's client.
pub const SOCKET_QUEUE_BYTES: usize = 256 * 1024;

/// The read buffer of a socket. Clients send little (keystrokes, control frames, a tunnel's
/// bytes), and the library's default (128 KiB, zeroed before each read) would make each open
/// socket cost that much memory; larger frames still arrive whole.
pub(crate) const READ_BUFFER_BYTES: usize = 16 * 1024;

/// A close code and its reason.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Close {
    pub(crate) code: u16,
    pub(crate) reason: &'static str,
}

impl Close {
    pub(crate) const fn new(code: u16, reason: &'static str) -> Self {
        Self { code, reason }
    }

    fn frame(self) -> Message {
        Message::Close(Some(CloseFrame {
            code: self.code,
            reason: self.reason.into(),
        }))
    }
}

/// 1001: the server shuts down.
pub(crate) const GOING_AWAY: Close = Close::new(1001, "server shutting down");
/// 1008: the client did not read what was sent to it.
pub(crate) const SLOW_CONSUMER: Close = Close::new(1008, "slow consumer");

/// The socket is closed or closing: nothing more goes out.
#[derive(Debug)]
pub(crate) struct Gone;

/// Why [`Socket::try_send`] did not queue a frame.
#[derive(Debug)]
pub(crate) enum TrySendError {
    /// The client is [`SOCKET_QUEUE_BYTES`] behind.
    Full,
    /// The socket is closed or closing.
    Gone,
}

/// A frame waiting for the writer, holding its share of the queue's room.
struct Queued {
    message: Message,
    room: Option<OwnedSemaphorePermit>,
}

/// A handler's side of an upgraded socket: frames out through the bounded queue, frames in
/// from the client.
pub(crate) struct Socket {
    queue: mpsc::UnboundedSender<Queued>,
    room: Arc<Semaphore>,
    urgent: watch::Sender<Option<Close>>,
    ended: CancellationToken,
    /// `None` only while the socket drops, when it goes back to the writer.
    incoming: Option<SplitStream<WebSocket>>,
    /// Where the receiving half goes when the handler is done with it.
    give_back: Option<oneshot::Sender<SplitStream<WebSocket>>>,
    sockets: OpenSockets,
}

impl Drop for Socket {
    fn drop(&mut self) {
        // The writer reads the client's answer to its close frame, if it sends one.
        if let (Some(give_back), Some(incoming)) = (self.give_back.take(), self.incoming.take()) {
            let _ = give_back.send(incoming);
        }
    }
}

impl Socket {
    /// Splits `ws` and starts its writer, which counts in `sockets` (through `guard`) until
    /// its last frame is out.
    pub(crate) fn open(
        ws: WebSocket,
        shutdown: CancellationToken,
        sockets: OpenSockets,
        guard: Arc<OpenGuard>,
    ) -> Self {
        let (sink, incoming) = ws.split();
        let (queue, queued) = mpsc::unbounded_channel();
        let room = Arc::new(Semaphore::new(SOCKET_QUEUE_BYTES));
        let (urgent, urgent_rx) = watch::channel(None);
        let ended = CancellationToken::new();
        let (give_back, given_back) = oneshot::channel();
        let writer = Writer {
            sink,
            given_back,
            queued,
            urgent: urgent_rx,
            shutdown,
            room: room.clone(),
            ended: ended.clone(),
            sockets: sockets.clone(),
            _guard: guard,
        };
        tokio::spawn(writer.run());
        Self {
            queue,
            room,
            urgent,
            ended,
            incoming: Some(incoming),
            give_back: Some(give_back),
            sockets,
        }
    }

    /// Queues a frame, waiting while the client is [`SOCKET_QUEUE_BYTES`] behind. The wait
    /// is bounded: the writer closes a client that accepts nothing for
    /// [`SOCKET_WRITE_TIMEOUT`], and then this fails.
    pub(crate) async fn send(&self, message: Message) -> Result<(), Gone> {
        let needed = room_for(&message);
        let room = match self.room.clone().try_acquire_many_owned(needed) {
            Ok(room) => room,
            Err(tokio::sync::TryAcquireError::Closed) => return Err(Gone),
            Err(tokio::sync::TryAcquireError::NoPermits) => {
                let _behind = self.sockets.fall_behind();
                self.room
                    .clone()
                    .acquire_many_owned(needed)
                    .await
                    .map_err(|_| Gone)?
            }
        };
        self.push(message, Some(room))
    }

    /// Queues a frame without waiting: `Full` when the client is [`SOCKET_QUEUE_BYTES`]
    /// behind.
    pub(crate) fn try_send(&self, message: Message) -> Result<(), TrySendError> {
        let room = match self.room.clone().try_acquire_many_owned(room_for(&message)) {
            Ok(room) => room,
            Err(tokio::sync::TryAcquireError::NoPermits) => return Err(TrySendError::Full),
            Err(tokio::sync::TryAcquireError::Closed) => return Err(TrySendError::Gone),
        };
        self.push(message, Some(room))
            .map_err(|Gone| TrySendError::Gone)
    }

    /// Queues a JSON text frame.
    pub(crate) async fn send_json<T: serde::Serialize>(&self, value: &T) -> Result<(), Gone> {
        let text = serde_json::to_string(value).unwrap_or_default();
        self.send(Message::Text(text.into())).await
    }

    /// Closes the socket after the frames already queued (the end of a command, of a
    /// connection).
    pub(crate) fn close(&self, close: Close) {
        let _ = self.push(close.frame(), None);
    }

    /// Closes the socket ahead of the frames still queued (access revoked, a slow consumer).
    pub(crate) fn close_now(&self, close: Close) {
        self.urgent.send_replace(Some(close));
    }

    /// The client's next frame; `None` once the client left or the socket is closing.
    pub(crate) async fn recv(&mut self) -> Option<Result<Message, axum::Error>> {
        let incoming = self.incoming.as_mut()?;
        tokio::select! {
            biased;
            () = self.ended.cancelled() => None,
            incoming = incoming.next() => incoming,
        }
    }

    /// Cancelled once nothing more goes out: the socket closed (the server shuts down, a slow
    /// consumer, a close sent) or its client is gone.
    pub(crate) fn ended(&self) -> CancellationToken {
        self.ended.clone()
    }

    fn push(&self, message: Message, room: Option<OwnedSemaphorePermit>) -> Result<(), Gone> {
        self.queue.send(Queued { message, room }).map_err(|_| Gone)
    }
}

/// What a queued frame costs beyond its payload (the queue's entry, the allocation), so that
/// many tiny frames (a terminal's output, a byte at a time) are bounded too.
const FRAME_OVERHEAD: usize = 64;

/// The room a frame takes in the queue: its payload's bytes and [`FRAME_OVERHEAD`] (at most
/// the whole queue).
fn room_for(message: &Message) -> u32 {
    let bytes = match message {
        Message::Text(t) => t.len(),
        Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
        Message::Close(_) => 0,
    };
    // At most SOCKET_QUEUE_BYTES, which fits in u32.
    u32::try_from((bytes + FRAME_OVERHEAD).min(SOCKET_QUEUE_BYTES)).unwrap_or(u32::MAX)
}

/// Drains one socket's queue into its connection.
struct Writer {
    sink: SplitSink<WebSocket, Message>,
    /// The receiving half, once the handler is done with it.
    given_back: oneshot::Receiver<SplitStream<WebSocket>>,
    queued: mpsc::UnboundedReceiver<Queued>,
    urgent: watch::Receiver<Option<Close>>,
    shutdown: CancellationToken,
    room: Arc<Semaphore>,
    ended: CancellationToken,
    sockets: OpenSockets,
    _guard: Arc<OpenGuard>,
}

/// Why a write ended early.
enum WriteError {
    /// The client accepted nothing for [`SOCKET_WRITE_TIMEOUT`].
    Stalled,
    /// The connection failed or was already closed.
    Failed,
}

/// How the writer's pumping ended.
enum Ending {
    /// The socket must close with this.
    Close(Close),
    /// A close frame the handler queued went out.
    Closed,
    /// The handler is done and everything queued went out, or the connection failed.
    Done,
}

impl Writer {
    async fn run(mut self) {
        let ending = self.pump().await;
        // From here the handler's sends fail and its reads end.
        self.room.close();
        self.ended.cancel();
        let deadline = Instant::now() + SOCKET_CLOSE_TIMEOUT;
        match ending {
            Ending::Done => return,
            Ending::Closed => {}
            Ending::Close(close) => {
                if close == SLOW_CONSUMER {
                    self.sockets.count_slow_consumer();
                    tracing::info!(
                        timeout = ?SOCKET_WRITE_TIMEOUT,
                        "closing a WebSocket whose client accepted nothing (slow consumer)"
                    );
                }
                let sent = tokio::time::timeout_at(deadline, self.sink.send(close.frame())).await;
                if !matches!(sent, Ok(Ok(()))) {
                    tracing::debug!(
                        code = close.code,
                        "the close frame could not get out; dropping the connection"
                    );
                    return;
                }
            }
        }
        self.linger(deadline).await;
    }

    /// After the close frame, reads until the client answers it (the closing handshake), so
    /// that dropping the connection does not reset it under frames the client has yet to read
    /// (what a client still sends would be unread); until `deadline` at most.
    async fn linger(self, deadline: Instant) {
        let Ok(Ok(mut incoming)) = tokio::time::timeout_at(deadline, self.given_back).await else {
            return;
        };
        let _ = tokio::time::timeout_at(deadline, async {
            while let Some(Ok(message)) = incoming.next().await {
                if matches!(message, Message::Close(_)) {
                    break;
                }
            }
        })
        .await;
    }

    /// Sends what is queued until the socket must close or is done.
    async fn pump(&mut self) -> Ending {
        loop {
            let first = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Ending::Close(GOING_AWAY),
                close = urgent(&mut self.urgent) => return Ending::Close(close),
                queued = self.queued.recv() => match queued {
                    Some(queued) => queued,
                    None => return Ending::Done,
                },
            };
            let mut batch = vec![first];
            while let Ok(more) = self.queued.try_recv() {
                batch.push(more);
            }
            let closing = batch.iter().any(|q| matches!(q.message, Message::Close(_)));
            let written = tokio::select! {
                biased;
                () = self.shutdown.cancelled() => return Ending::Close(GOING_AWAY),
                close = urgent(&mut self.urgent) => return Ending::Close(close),
                written = write_batch(&mut self.sink, batch) => written,
            };
            match written {
                Ok(()) if closing => return Ending::Closed,
                Ok(()) => {}
                Err(WriteError::Stalled) => return Ending::Close(SLOW_CONSUMER),
                Err(WriteError::Failed) => return Ending::Done,
            }
        }
    }
}

/// A close asked for ahead of the queue; never when none is.
async fn urgent(rx: &mut watch::Receiver<Option<Close>>) -> Close {
    if let Ok(close) = rx.wait_for(Option::is_some).await
        && let Some(close) = *close
    {
        return close;
    }
    std::future::pending().await
}

/// Writes frames and flushes them, each step bounded by [`SOCKET_WRITE_TIMEOUT`]. The frames'
/// room in the queue is given back once they are out.
async fn write_batch(
    sink: &mut SplitSink<WebSocket, Message>,
    batch: Vec<Queued>,
) -> Result<(), WriteError> {
    let mut held = Vec::with_capacity(batch.len());
    for Queued { message, room } in batch {
        within(sink.feed(message)).await?;
        held.push(room);
    }
    within(sink.flush()).await
}

async fn within(step: impl Future<Output = Result<(), axum::Error>>) -> Result<(), WriteError> {
    match tokio::time::timeout(SOCKET_WRITE_TIMEOUT, step).await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(e)) => {
            tracing::debug!(error = %e, "a WebSocket write failed");
            Err(WriteError::Failed)
        }
        Err(_) => Err(WriteError::Stalled),
    }
}
