//! Idle upstream connections, kept per (environment, port) so keep-alive requests to an app
//! do not open a tunnel each. A connection is only transport: every request is authorized
//! on its own before one is taken.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::body::Body;
use hyper::client::conn::http1::SendRequest;
use vibebox_core::id::EnvironmentId;

/// The most idle connections kept per app port.
const MAX_IDLE_PER_PORT: usize = 16;
/// How long an idle connection is kept.
const IDLE_FOR: Duration = Duration::from_secs(30);

/// An HTTP/1.1 connection to an app.
pub(crate) type Upstream = SendRequest<Body>;
/// Which app a connection goes to.
pub(crate) type PoolKey = (EnvironmentId, u16);

/// Idle connections by app port.
#[derive(Debug, Default)]
pub(crate) struct UpstreamPool {
    idle: Mutex<HashMap<PoolKey, Vec<(Upstream, Instant)>>>,
}

impl UpstreamPool {
    /// An idle connection to the app that is still open and ready, if there is one.
    pub(crate) fn take(&self, key: &PoolKey) -> Option<Upstream> {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let conns = idle.get_mut(key)?;
        while let Some((conn, since)) = conns.pop() {
            if since.elapsed() < IDLE_FOR && conn.is_ready() {
                return Some(conn);
            }
        }
        None
    }

    /// Keeps a connection that finished its response, unless enough are kept already.
    pub(crate) fn put(&self, key: PoolKey, conn: Upstream) {
        let mut idle = self.idle.lock().unwrap_or_else(|e| e.into_inner());
        let now = Instant::now();
        idle.retain(|_, conns| {
            conns.retain(|(c, since)| now.duration_since(*since) < IDLE_FOR && !c.is_closed());
            !conns.is_empty()
        });
        let conns = idle.entry(key).or_default();
        if conns.len() < MAX_IDLE_PER_PORT {
            conns.push((conn, now));
        }
    }
}
