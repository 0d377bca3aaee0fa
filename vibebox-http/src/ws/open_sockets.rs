//! The server's open WebSockets, counted so that a shutdown can wait for each one's 1001, and
//! the slow consumers closed so far.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};

use tokio::sync::watch;

/// The WebSockets a router serves: how many are open, how many have a client too far behind,
/// how many were closed because their client did not read, and a way to wait until none is
/// open.
///
/// A socket counts from its upgrade until its handler is done and its last frame (a close
/// frame, or the attempt at one) has gone out. `axum::serve` does not wait for upgraded
/// connections, so a server that shuts down cancels [`HttpConfig::shutdown`](crate::HttpConfig)
/// (every socket then closes with 1001 within
/// [`SOCKET_CLOSE_TIMEOUT`](crate::SOCKET_CLOSE_TIMEOUT)) and awaits [`all_closed`](Self::all_closed)
/// before it exits:
///
/// ```no_run
/// # async fn example(config: vibebox_http::HttpConfig) {
/// let sockets = config.sockets.clone();
/// // … serve with graceful shutdown, then:
/// config.shutdown.cancel();
/// let grace = vibebox_http::SOCKET_CLOSE_TIMEOUT * 2;
/// let _ = tokio::time::timeout(grace, sockets.all_closed()).await;
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct OpenSockets {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    open: watch::Sender<usize>,
    behind: AtomicUsize,
    slow_consumers: AtomicU64,
}

impl Default for OpenSockets {
    fn default() -> Self {
        Self {
            inner: Arc::new(Inner {
                open: watch::channel(0).0,
                behind: AtomicUsize::new(0),
                slow_consumers: AtomicU64::new(0),
            }),
        }
    }
}

impl OpenSockets {
    /// No socket open yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// The sockets open now.
    pub fn len(&self) -> usize {
        *self.inner.open.borrow()
    }

    /// Whether no socket is open.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The sockets whose client is [`SOCKET_QUEUE_BYTES`](crate::SOCKET_QUEUE_BYTES) behind
    /// now: their handler waits for the client to read (and is closed as a slow consumer if it
    /// does not within [`SOCKET_WRITE_TIMEOUT`](crate::SOCKET_WRITE_TIMEOUT)).
    pub fn behind(&self) -> usize {
        self.inner.behind.load(Ordering::Relaxed)
    }

    /// The sockets closed so far because their client did not read (close 1008
    /// `slow consumer`).
    pub fn slow_consumers(&self) -> u64 {
        self.inner.slow_consumers.load(Ordering::Relaxed)
    }

    /// Resolves once no socket is open. Sockets may still open until the router stops
    /// accepting connections; bound the wait with a timeout.
    pub async fn all_closed(&self) {
        let mut open = self.inner.open.subscribe();
        // The sender lives in `self`: the wait ends only at zero.
        let _ = open.wait_for(|n| *n == 0).await;
    }

    /// Counts one socket until the returned guard (and its clones) drop.
    pub(crate) fn enter(&self) -> Arc<OpenGuard> {
        self.inner.open.send_modify(|n| *n += 1);
        Arc::new(OpenGuard {
            sockets: self.clone(),
        })
    }

    pub(crate) fn count_slow_consumer(&self) {
        self.inner.slow_consumers.fetch_add(1, Ordering::Relaxed);
    }

    /// Counts one socket as [`behind`](Self::behind) until the guard drops.
    pub(crate) fn fall_behind(&self) -> BehindGuard {
        self.inner.behind.fetch_add(1, Ordering::Relaxed);
        BehindGuard {
            sockets: self.clone(),
        }
    }
}

/// One socket whose client is behind, counted while it lives.
#[derive(Debug)]
pub(crate) struct BehindGuard {
    sockets: OpenSockets,
}

impl Drop for BehindGuard {
    fn drop(&mut self) {
        self.sockets.inner.behind.fetch_sub(1, Ordering::Relaxed);
    }
}

/// One open socket, counted while it lives.
#[derive(Debug)]
pub(crate) struct OpenGuard {
    sockets: OpenSockets,
}

impl Drop for OpenGuard {
    fn drop(&mut self) {
        self.sockets
            .inner
            .open
            .send_modify(|n| *n = n.saturating_sub(1));
    }
}
