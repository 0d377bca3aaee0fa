//! Load on sockets for the overload and shutdown tests: a log feed as fast as the server can
//! take it, clients that never read, the process's memory, and what a client that finally
//! reads finds at the end of its socket.
#![allow(dead_code)]

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use futures::StreamExt;
use tokio::task::JoinHandle;
use tokio_tungstenite::tungstenite::{self, Message};
use tokio_util::sync::CancellationToken;
use vibebox_core::Vibebox;
use vibebox_core::domain::LogStream;
use vibebox_core::events::{Event, EventKind};
use vibebox_core::id::EnvironmentId;

use crate::common::ws::Socket;

/// The bytes of each fed log line.
pub const LINE_BYTES: usize = 1024;
/// Lines fed every 10 ms: about 10 MB/s to each subscriber, more than a stalled client's
/// buffers hold within a second.
pub const LINES_PER_TICK: usize = 100;

/// The send buffer of the test servers' connections. Loopback lets the kernel grow a
/// connection's buffers to about 4 MB, so that filling 100 stalled clients' takes some 400 MB
/// of frames (half a minute of a loaded debug build); a fixed buffer, as a client behind a
/// slow link would leave it, makes a stall come within a second or two.
pub const SEND_BUFFER: u32 = 256 * 1024;

/// Serves `router` on 127.0.0.1 with [`SEND_BUFFER`] and graceful shutdown on `shutdown`, as
/// the example server does. The task ends when `axum::serve` returns.
pub async fn serve(
    router: axum::Router,
    shutdown: CancellationToken,
) -> (std::net::SocketAddr, JoinHandle<()>) {
    let socket = tokio::net::TcpSocket::new_v4().unwrap();
    socket.set_reuseaddr(true).unwrap();
    // Accepted connections inherit it.
    socket.set_send_buffer_size(SEND_BUFFER).unwrap();
    socket.bind("127.0.0.1:0".parse().unwrap()).unwrap();
    let listener = socket.listen(1024).unwrap();
    let addr = listener.local_addr().unwrap();
    let served = tokio::spawn(async move {
        axum::serve(
            listener,
            router.into_make_service_with_connect_info::<std::net::SocketAddr>(),
        )
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
        .unwrap();
    });
    (addr, served)
}

/// Opens a socket with the token in the `bearer.` subprotocol, with a small read buffer
/// (the library's default zeroes 128 KiB, which 100 clients in the server's own process would
/// add to the memory measured).
pub async fn connect_lean(addr: std::net::SocketAddr, path: &str, token: &str) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("vibebox.v1, bearer.{token}").parse().unwrap(),
    );
    let config = tungstenite::protocol::WebSocketConfig::default().read_buffer_size(16 * 1024);
    tokio_tungstenite::connect_async_with_config(request, Some(config), false)
        .await
        .unwrap()
        .0
}

/// Publishes log lines of `env` until `stop` is cancelled, as a container writing without
/// pause would (straight to the event bus: nothing is stored); returns how many.
pub fn feed_logs(
    vibebox: Arc<Vibebox>,
    env: EnvironmentId,
    stop: CancellationToken,
) -> JoinHandle<u64> {
    tokio::spawn(async move {
        let line = "x".repeat(LINE_BYTES);
        let mut sent = 0;
        let mut tick = tokio::time::interval(Duration::from_millis(10));
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
        while !stop.is_cancelled() {
            tick.tick().await;
            for _ in 0..LINES_PER_TICK {
                vibebox.events().publish(Event {
                    environment_id: env,
                    at: vibebox.clock().now(),
                    kind: EventKind::Log {
                        timestamp: vibebox.clock().now(),
                        stream: LogStream::Stdout,
                        message: line.clone(),
                    },
                });
                sent += 1;
            }
        }
        sent
    })
}

/// This process's resident memory, in MiB (`VmRSS` of /proc/self/status).
pub fn rss_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .unwrap()
        .trim()
        .trim_end_matches("kB")
        .trim()
        .parse()
        .unwrap();
    kib / 1024.0
}

/// The kernel's TCP buffer memory, all sockets of the machine, in MiB (`TCP: … mem` of
/// /proc/net/sockstat, in pages).
pub fn tcp_buffers_mib() -> f64 {
    let stat = std::fs::read_to_string("/proc/net/sockstat").unwrap();
    let line = stat.lines().find(|l| l.starts_with("TCP:")).unwrap();
    let mut words = line.split_whitespace();
    let pages: f64 = words
        .by_ref()
        .skip_while(|w| *w != "mem")
        .nth(1)
        .unwrap()
        .parse()
        .unwrap();
    pages * 4096.0 / (1024.0 * 1024.0)
}

/// How a socket ended for a client that read it to the end.
#[derive(Debug, PartialEq, Eq)]
pub enum End {
    /// A close frame: its code and reason.
    Closed(u16, String),
    /// The connection ended without a close frame (the server dropped it).
    Dropped,
    /// The connection was reset.
    Reset,
}

/// What a client found reading a socket to its end.
#[derive(Debug)]
pub struct Drained {
    pub frames: u64,
    pub bytes: u64,
    pub end: End,
}

/// Reads `ws` to its end, within `limit`.
pub async fn drain(ws: Socket, limit: Duration) -> Drained {
    drain_counted(ws, limit, &AtomicU64::new(0)).await
}

/// [`drain`], counting the frames read in `counted` as they come.
pub async fn drain_counted(
    mut ws: impl futures::Stream<Item = Result<Message, tungstenite::Error>> + Unpin,
    limit: Duration,
    counted: &AtomicU64,
) -> Drained {
    let deadline = Instant::now() + limit;
    let mut bytes = 0;
    let end = loop {
        let next = tokio::time::timeout_at(deadline.into(), ws.next())
            .await
            .expect("the socket ends in time");
        match next {
            Some(Ok(Message::Close(frame))) => {
                let (code, reason) = frame
                    .map(|f| (u16::from(f.code), f.reason.to_string()))
                    .unwrap_or((1005, String::new()));
                break End::Closed(code, reason);
            }
            Some(Ok(m)) => {
                counted.fetch_add(1, Ordering::Relaxed);
                bytes += m.len() as u64;
            }
            Some(Err(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            )))
            | None => break End::Dropped,
            Some(Err(tungstenite::Error::Io(e)))
                if e.kind() == std::io::ErrorKind::ConnectionReset =>
            {
                break End::Reset;
            }
            Some(Err(e)) => panic!("the socket failed: {e}"),
        }
    };
    Drained {
        frames: counted.load(Ordering::Relaxed),
        bytes,
        end,
    }
}

/// A client that reads everything as it comes, in a task of its own.
pub struct Reader {
    frames: Arc<AtomicU64>,
    pub done: JoinHandle<Drained>,
}

impl Reader {
    /// Reads `ws` to its end, within `limit`.
    pub fn spawn(ws: Socket, limit: Duration) -> Self {
        let frames = Arc::new(AtomicU64::new(0));
        let counted = frames.clone();
        let done = tokio::spawn(async move { drain_counted(ws, limit, &counted).await });
        Self { frames, done }
    }

    /// The frames read so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }
}

/// Waits until `done` holds, polling every 10 ms; panics with `what` past `limit`. Returns
/// how long it took.
pub async fn poll_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) -> Duration {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    start.elapsed()
}

/// One HTTP/1.1 request over a connection of its own: the status and the body.
pub async fn http(
    addr: std::net::SocketAddr,
    method: &str,
    path: &str,
    bearer: &str,
    body: Option<&str>,
) -> std::io::Result<(u16, String)> {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let body = body.unwrap_or("");
    let request = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\
         Authorization: Bearer {bearer}\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {response:?}")))?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}
