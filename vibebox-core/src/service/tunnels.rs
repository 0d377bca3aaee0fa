//! TCP tunnels (DESIGN.md §9): a duplex byte stream to any port inside an environment.
//!
//! The stream runs through the Engine API alone: an exec of `socat` (or `nc`) inside the
//! container connects to `127.0.0.1:<port>` there and relays its stdin and stdout, so it works
//! with a remote engine (`DOCKER_HOST`) whose container addresses this process cannot reach.
//! A declared port that the engine published on this machine takes the direct path instead,
//! when the runtime says published ports are reachable here
//! ([`Capabilities::local_ports`](crate::runtime::Capabilities::local_ports)).
//!
//! Shutting down the stream's write side half-closes the connection inside: the relay's stdin
//! ends, it shuts down the connection's write side and goes on relaying what the app sends
//! until the app closes (for 5 s at most). Dropping the stream kills the relay, which closes the
//! connection inside at once. When the app closes the connection, the relay exits and the
//! stream reads end-of-file.
//! Open tunnels are capped ([`Config::max_open_tunnels`](crate::config::Config::max_open_tunnels));
//! each holds at most one engine chunk (32 KiB at most) of buffered output.

use std::io;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::json;
use tokio::io::{AsyncRead, AsyncWrite, AsyncWriteExt, ReadBuf};
use tokio::net::TcpStream;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tracing::instrument;

use super::{AuditRecord, Vibebox};
use crate::domain::{Environment, LogStream, Protocol};
use crate::error::{Error, ErrorKind, Result};
use crate::id::EnvironmentId;
use crate::rbac::{Action, Actor};
use crate::runtime::{ContainerRuntime, ExecId, ExecOutput, ExecSpec};

/// The relay run inside the container: socat when the image has it (it reports the moment the
/// connection is made, and half-closes properly), else `nc`. Exit 127 names what is missing.
const RELAY_SCRIPT: &str = r#"if command -v socat >/dev/null 2>&1; then exec socat -b 131072 -d -d -t 5 - "TCP:127.0.0.1:$1"; fi
if command -v nc >/dev/null 2>&1; then echo "vibebox-tunnel: connected" >&2; exec nc 127.0.0.1 "$1"; fi
echo "vibebox-tunnel: missing relay" >&2
exit 127"#;
/// What socat writes to stderr (with `-d -d`) once connected.
const SOCAT_CONNECTED: &str = "starting data transfer loop";
/// What the script writes for `nc`, which says nothing itself.
const NC_CONNECTED: &str = "vibebox-tunnel: connected";
/// How long connecting may take inside the container.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);
/// The most stderr kept while connecting, for the error message.
const STDERR_KEPT: usize = 4096;

/// How a tunnel reaches the port.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TunnelPath {
    /// Through an exec inside the container (works with any engine).
    Engine,
    /// Straight to the port the engine published on this machine.
    Published,
}

/// A duplex byte stream to a TCP port inside an environment. Reads end when the app closes
/// the connection; dropping it (or shutting down its write side) closes the connection.
pub struct PortStream {
    transport: Transport,
    /// Bytes either way are activity on the environment (its idle policy).
    activity: super::idle::ActivityMark,
    _permit: OwnedSemaphorePermit,
}

enum Transport {
    Engine(EngineRelay),
    Published(TcpStream),
}

struct EngineRelay {
    exec: ExecId,
    output: BoxStream<'static, Result<ExecOutput>>,
    pending: Bytes,
    /// The output failed after bytes that were read first: the next read returns it.
    failed: Option<io::Error>,
    input: Option<Pin<Box<dyn AsyncWrite + Send>>>,
    /// To kill the relay when the stream is dropped before it ended.
    runtime: Arc<dyn ContainerRuntime>,
    /// The relay's output ended: it has exited, nothing to kill.
    ended: bool,
}

impl std::fmt::Debug for PortStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let mut d = f.debug_struct("PortStream");
        match &self.transport {
            Transport::Engine(r) => d.field("exec", &r.exec),
            Transport::Published(t) => d.field("peer", &t.peer_addr().ok()),
        };
        d.finish_non_exhaustive()
    }
}

impl PortStream {
    /// How this stream reaches the port.
    pub fn path(&self) -> TunnelPath {
        match self.transport {
            Transport::Engine(_) => TunnelPath::Engine,
            Transport::Published(_) => TunnelPath::Published,
        }
    }
}

impl Drop for EngineRelay {
    fn drop(&mut self) {
        // A stream dropped before the relay ended: nobody reads or writes any more, so the
        // relay is killed (its connection inside closes with it). Otherwise it would go on
        // copying what the app sends into an attach nobody reads until socat's own timeout,
        // which costs a busy app's whole bandwidth for seconds. Both need async calls, so
        // they run on their own when a runtime is there.
        if self.ended {
            return;
        }
        let Ok(handle) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let input = self.input.take();
        let runtime = self.runtime.clone();
        let exec = self.exec.clone();
        // Both at once: a shutdown stuck behind a busy engine must not hold up the kill.
        handle.spawn(async move {
            let end_input = async {
                if let Some(mut input) = input {
                    let _ = input.shutdown().await;
                }
            };
            let (_, killed) = tokio::join!(end_input, runtime.kill_exec(&exec));
            if let Err(e) = killed {
                tracing::warn!(%exec, error = %e, "could not kill a dropped tunnel's relay");
            }
        });
    }
}

fn io_error(e: Error) -> io::Error {
    io::Error::other(e.to_string())
}

impl AsyncRead for PortStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let read = match &mut this.transport {
            Transport::Published(tcp) => Pin::new(tcp).poll_read(cx, buf),
            Transport::Engine(relay) => relay.poll_read(cx, buf),
        };
        if buf.filled().len() > before {
            this.activity.mark();
        }
        read
    }
}

impl EngineRelay {
    /// Fills `buf` with as many of the engine's chunks as are ready (one chunk is at most
    /// 32 KiB, and a reader that offers 64 KiB gets them in one read, which halves the frames
    /// and writes downstream). Pending only when nothing at all was read; an end or an error
    /// after some bytes is kept for the next read, so no byte is lost to it.
    fn poll_read(&mut self, cx: &mut Context<'_>, buf: &mut ReadBuf<'_>) -> Poll<io::Result<()>> {
        let start = buf.filled().len();
        loop {
            if !self.pending.is_empty() {
                let n = self.pending.len().min(buf.remaining());
                buf.put_slice(&self.pending.split_to(n));
            }
            let read = buf.filled().len() > start;
            if buf.remaining() == 0 {
                return Poll::Ready(Ok(()));
            }
            if let Some(e) = self.failed.take() {
                if read {
                    self.failed = Some(e);
                    return Poll::Ready(Ok(()));
                }
                return Poll::Ready(Err(e));
            }
            if self.ended {
                return Poll::Ready(Ok(()));
            }
            match self.output.poll_next_unpin(cx) {
                Poll::Pending if read => return Poll::Ready(Ok(())),
                Poll::Pending => return Poll::Pending,
                Poll::Ready(None) => self.ended = true,
                Poll::Ready(Some(Err(e))) => self.failed = Some(io_error(e)),
                Poll::Ready(Some(Ok(chunk))) => match chunk.stream {
                    LogStream::Stdout => self.pending = chunk.data,
                    LogStream::Stderr => {
                        tracing::trace!(exec = %self.exec, message = %String::from_utf8_lossy(&chunk.data), "tunnel relay");
                    }
                },
            }
        }
    }
}

impl AsyncWrite for PortStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        let written = match &mut this.transport {
            Transport::Published(tcp) => Pin::new(tcp).poll_write(cx, buf),
            Transport::Engine(relay) => match relay.input.as_mut() {
                Some(input) => input.as_mut().poll_write(cx, buf),
                None => Poll::Ready(Err(io::Error::from(io::ErrorKind::BrokenPipe))),
            },
        };
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.mark();
        }
        written
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().transport {
            Transport::Published(tcp) => Pin::new(tcp).poll_flush(cx),
            Transport::Engine(relay) => match relay.input.as_mut() {
                Some(input) => input.as_mut().poll_flush(cx),
                None => Poll::Ready(Ok(())),
            },
        }
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        match &mut self.get_mut().transport {
            Transport::Published(tcp) => Pin::new(tcp).poll_shutdown(cx),
            Transport::Engine(relay) => match relay.input.as_mut() {
                Some(input) => input.as_mut().poll_shutdown(cx),
                None => Poll::Ready(Ok(())),
            },
        }
    }
}

impl Vibebox {
    /// Opens a duplex byte stream to TCP `port` inside a running environment: any port, not
    /// only declared ones. Each tunnel is an audit event (`environment.tunnel`, with the port).
    ///
    /// Errors: `InvalidInput` (`port`) for port 0; `Conflict` when the environment is not
    /// running, when nothing listens on the port inside (connection refused), or when the
    /// image has neither `socat` nor `nc` (the message says so); `QuotaExceeded` past
    /// [`Config::max_open_tunnels`](crate::config::Config::max_open_tunnels);
    /// `PermissionDenied` for viewers; `NotFound` for the environment; `Timeout` when the
    /// connection is not made within 10 s.
    #[instrument(skip_all, fields(environment.id = %id, port))]
    pub async fn connect_port(
        &self,
        actor: &Actor,
        id: EnvironmentId,
        port: u16,
    ) -> Result<PortStream> {
        let access = self
            .environment_for(actor, id, Action::ExecEnvironment)
            .await?;
        let stream = self.open_port_stream(&access.env, port).await?;
        self.audit(
            actor,
            AuditRecord::new("environment.tunnel", "environment", id)
                .team(access.project.owner.team_id())
                .details(json!({ "port": port })),
        )
        .await;
        Ok(stream)
    }

    /// Opens a stream to `port` in an environment the caller was allowed to reach (no
    /// authorization, no audit: the preview proxy audits per share, not per connection).
    pub(crate) async fn open_port_stream(
        &self,
        env: &Environment,
        port: u16,
    ) -> Result<PortStream> {
        if port == 0 {
            return Err(Error::invalid("port", "must be 1-65535"));
        }
        let container = self.awake_container(env).await?;
        let permit = self.tunnel_permit()?;
        if let Some(tcp) = self.published_path(env, port).await {
            return Ok(PortStream {
                transport: Transport::Published(tcp),
                activity: self.activity_mark(env.id),
                _permit: permit,
            });
        }
        let spec = ExecSpec {
            cmd: vec![
                "/bin/sh".into(),
                "-c".into(),
                RELAY_SCRIPT.into(),
                "vibebox-tunnel".into(),
                port.to_string(),
            ],
            user: self.config().container_user.clone(),
            stdin: true,
            ..Default::default()
        };
        let session = self.runtime().exec(&container, &spec).await;
        self.note_exec(&container, &session);
        let session = session?;
        let mut relay = EngineRelay {
            exec: session.id,
            output: session.output,
            pending: Bytes::new(),
            failed: None,
            input: Some(session.input),
            runtime: self.runtime().clone(),
            ended: false,
        };
        match tokio::time::timeout(CONNECT_TIMEOUT, self.await_connected(&mut relay, port)).await {
            Ok(Ok(())) => Ok(PortStream {
                transport: Transport::Engine(relay),
                activity: self.activity_mark(env.id),
                _permit: permit,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => {
                if let Err(e) = self.runtime().kill_exec(&relay.exec).await {
                    tracing::debug!(error = %e, "could not kill a relay that did not connect");
                }
                relay.ended = true;
                Err(Error::runtime(
                    ErrorKind::Timeout,
                    format!(
                        "connecting to port {port} inside the environment took more than {} s",
                        CONNECT_TIMEOUT.as_secs()
                    ),
                    None,
                ))
            }
        }
    }

    /// Reads the relay's output until it says it is connected (or sends data), or ends.
    async fn await_connected(&self, relay: &mut EngineRelay, port: u16) -> Result<()> {
        let mut stderr = Vec::new();
        while let Some(chunk) = relay.output.next().await {
            let chunk = chunk?;
            match chunk.stream {
                LogStream::Stdout => {
                    relay.pending = chunk.data;
                    return Ok(());
                }
                LogStream::Stderr => {
                    if stderr.len() < STDERR_KEPT {
                        stderr.extend_from_slice(&chunk.data);
                    }
                    let text = String::from_utf8_lossy(&stderr);
                    if text.contains(SOCAT_CONNECTED) || text.contains(NC_CONNECTED) {
                        return Ok(());
                    }
                }
            }
        }
        relay.ended = true;
        let code = self.wait_for_exit(&relay.exec).await?.exit_code;
        let text = String::from_utf8_lossy(&stderr);
        if code == Some(127) || text.contains("vibebox-tunnel: missing relay") {
            return Err(Error::runtime(
                ErrorKind::Conflict,
                "tunnels need socat (or nc) in the environment's image, and it has neither; \
                 install socat in the image",
                None,
            ));
        }
        let reason = if text.contains("refused") {
            "connection refused".to_string()
        } else {
            text.lines()
                .rev()
                .find(|l| !l.trim().is_empty())
                .map(|l| l.trim().chars().take(200).collect())
                .unwrap_or_else(|| format!("the relay exited with {code:?}"))
        };
        Err(Error::runtime(
            ErrorKind::Conflict,
            format!(
                "nothing accepted a connection on port {port} inside the environment ({reason})"
            ),
            None,
        ))
    }

    /// A direct connection to the host port the engine published for a declared TCP port,
    /// when published ports are reachable from this process. `None` otherwise, or when the
    /// connection fails (the engine path is then used).
    async fn published_path(&self, env: &Environment, port: u16) -> Option<TcpStream> {
        if !self.runtime().capabilities().local_ports {
            return None;
        }
        let ports = self.store().list_ports(env.id).await.ok()?;
        let host_port = ports
            .iter()
            .find(|p| p.container_port == port && p.protocol == Protocol::Tcp)
            .and_then(|p| p.bound_host_port)?;
        let ip = match self.config().publish_host_ip.as_str() {
            "0.0.0.0" | "" => "127.0.0.1",
            "::" => "::1",
            other => other,
        };
        match TcpStream::connect((ip, host_port)).await {
            Ok(tcp) => {
                let _ = tcp.set_nodelay(true);
                Some(tcp)
            }
            Err(e) => {
                tracing::debug!(error = %e, host_port, "the published port did not answer; using the engine");
                None
            }
        }
    }

    fn tunnel_permit(&self) -> Result<OwnedSemaphorePermit> {
        Arc::clone(&self.inner.tunnels)
            .try_acquire_owned()
            .map_err(|_| Error::QuotaExceeded {
                what: "open tunnels",
                limit: self.config().max_open_tunnels as u64,
            })
    }
}

/// The semaphore that caps open tunnels.
pub(crate) fn tunnel_slots(config: &crate::config::Config) -> Arc<Semaphore> {
    Arc::new(Semaphore::new(config.max_open_tunnels))
}
