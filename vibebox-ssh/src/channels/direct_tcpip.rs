//! `direct-tcpip` (`ssh -L`, VS Code's port forwarding): a tunnel to a port on the
//! environment's own loopback, through
//! [`Vibebox::connect_port`](vibebox_core::Vibebox::connect_port). Other hosts are refused:
//! the gateway is no way into the network the environments live on.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use russh::ChannelOpenFailure;
use russh::server::{ChannelOpenHandle, Msg};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

use super::ConnectionContext;
use crate::activity::Activity;
use crate::readiness::ensure_running;

/// Hosts that name the environment's own loopback.
const LOCAL_HOSTS: [&str; 4] = ["localhost", "127.0.0.1", "::1", "[::1]"];

/// Whether a `direct-tcpip` target host is the environment itself.
pub(crate) fn is_local(host: &str) -> bool {
    LOCAL_HOSTS.iter().any(|h| h.eq_ignore_ascii_case(host))
}

/// Opens the tunnel, answers the client's open request, and copies bytes both ways (with
/// half-close) until both sides are done.
pub(crate) async fn run(
    ctx: Arc<ConnectionContext>,
    channel: russh::Channel<Msg>,
    host: String,
    port: u32,
    reply: ChannelOpenHandle,
) {
    let refuse = |code: u32, reason: String| ChannelOpenFailure::Other { code, reason };
    if !is_local(&host) {
        tracing::debug!(%host, port, "refused a tunnel to another host");
        reply
            .reject(refuse(
                1,
                "vibebox: only ports on localhost inside the environment can be forwarded".into(),
            ))
            .await;
        return;
    }
    let Some(port) = u16::try_from(port).ok().filter(|p| *p != 0) else {
        reply
            .reject(refuse(1, format!("vibebox: {port} is not a TCP port")))
            .await;
        return;
    };
    let (actor, env) = (&ctx.grant.actor, ctx.grant.environment_id);
    if let Err(not_ready) = ensure_running(&ctx.vibebox, actor, env, async {}).await {
        reply
            .reject(refuse(2, format!("vibebox: {}", not_ready.0)))
            .await;
        return;
    }
    let stream = match ctx.vibebox.connect_port(actor, env, port).await {
        Ok(s) => s,
        Err(e) => {
            tracing::debug!(port, "a tunnel did not connect");
            reply
                .reject(refuse(2, format!("vibebox: {}", e.report_new())))
                .await;
            return;
        }
    };
    reply.accept().await;
    ctx.activity.touch();
    let mut inside = Touching {
        inner: stream,
        activity: ctx.activity.clone(),
    };
    let mut outside = channel.into_stream();
    match tokio::io::copy_bidirectional(&mut outside, &mut inside).await {
        Ok((sent, received)) => tracing::debug!(port, sent, received, "a tunnel ended"),
        Err(e) => tracing::debug!(error = %e, port, "a tunnel ended with an error"),
    }
}

/// A stream whose reads count as activity.
struct Touching<S> {
    inner: S,
    activity: Arc<Activity>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Touching<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let before = buf.filled().len();
        let polled = Pin::new(&mut self.inner).poll_read(cx, buf);
        if buf.filled().len() > before {
            self.activity.touch();
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Touching<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let polled = Pin::new(&mut self.inner).poll_write(cx, buf);
        if matches!(polled, Poll::Ready(Ok(n)) if n > 0) {
            self.activity.touch();
        }
        polled
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_the_environments_loopback_is_local() {
        for host in ["localhost", "LOCALHOST", "127.0.0.1", "::1", "[::1]"] {
            assert!(is_local(host), "{host}");
        }
        for host in ["10.0.0.1", "example.com", "127.0.0.2", "0.0.0.0", ""] {
            assert!(!is_local(host), "{host}");
        }
    }
}
