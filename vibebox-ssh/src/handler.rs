//! One connection's russh [`Handler`]: logs the user in once (through the
//! [`Gatekeeper`]), then answers each channel request at once, in order, and passes it on to
//! the channel's task.
//!
//! Replies are sent here, not by the channel tasks: OpenSSH sends `pty-req`, `env` and `exec`
//! without waiting, and each reply must answer its own request.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use russh::keys::HashAlg;
use russh::server::{Auth, ChannelOpenHandle, Handler, Msg, Session, VerifiedPublicKey};
use russh::{Channel, ChannelId, ChannelOpenFailure, MethodKind, MethodSet, Pty, Sig};
use tokio::sync::{mpsc, oneshot};
use tokio_util::sync::CancellationToken;
use vibebox_core::Vibebox;

use crate::activity::Activity;
use crate::channels::{self, ConnectionContext, SessionEvent, Start};
use crate::config::SshConfig;
use crate::error::Error;
use crate::gatekeeper::{Gatekeeper, PublicKeyInfo};

/// Events a session channel may have queued before its task catches up; past that the
/// connection waits (backpressure on a client that sends faster than the process reads).
const EVENT_QUEUE: usize = 256;
/// The longest username looked up.
const MAX_USERNAME: usize = 256;

/// What the server shares with every connection.
pub(crate) struct Shared {
    pub(crate) vibebox: Arc<Vibebox>,
    pub(crate) gatekeeper: Arc<dyn Gatekeeper>,
    pub(crate) config: SshConfig,
}

/// A session channel as the handler tracks it.
struct SessionSlot {
    events: mpsc::Sender<SessionEvent>,
    pty: bool,
    started: bool,
}

/// One connection's handler.
pub(crate) struct ConnectionHandler {
    shared: Arc<Shared>,
    peer: Option<SocketAddr>,
    /// Told once, when the login succeeds.
    logged_in: Option<oneshot::Sender<Arc<ConnectionContext>>>,
    context: Option<Arc<ConnectionContext>>,
    sessions: HashMap<ChannelId, SessionSlot>,
    /// Tunnels open now (they end on their own).
    tunnels: Arc<()>,
    closed: CancellationToken,
}

impl ConnectionHandler {
    pub(crate) fn new(
        shared: Arc<Shared>,
        peer: Option<SocketAddr>,
        logged_in: oneshot::Sender<Arc<ConnectionContext>>,
        closed: CancellationToken,
    ) -> Self {
        Self {
            shared,
            peer,
            logged_in: Some(logged_in),
            context: None,
            sessions: HashMap::new(),
            tunnels: Arc::new(()),
            closed,
        }
    }

    fn refuse_login() -> Auth {
        Auth::Reject {
            proceed_with_methods: Some(MethodSet::from(&[MethodKind::PublicKey][..])),
            partial_success: false,
        }
    }

    fn open_channels(&self) -> usize {
        self.sessions.len() + Arc::strong_count(&self.tunnels) - 1
    }

    /// Passes an event to a session channel's task (waiting while its queue is full).
    async fn forward(&mut self, channel: ChannelId, event: SessionEvent) {
        if let Some(slot) = self.sessions.get(&channel)
            && slot.events.send(event).await.is_err()
        {
            // The task ended (its process exited): nothing more to do for this channel.
            self.sessions.remove(&channel);
        }
    }

    /// Answers a request that starts the session, and passes it on when it is the first.
    async fn start(
        &mut self,
        channel: ChannelId,
        start: Start,
        session: &mut Session,
    ) -> Result<(), Error> {
        let first = match self.sessions.get_mut(&channel) {
            Some(slot) if !slot.started => {
                slot.started = true;
                true
            }
            _ => false,
        };
        if first {
            session.channel_success(channel)?;
            self.forward(channel, SessionEvent::Start(start)).await;
        } else {
            session.channel_failure(channel)?;
        }
        Ok(())
    }

    fn refuse_request(session: &mut Session, channel: ChannelId, what: &str) -> Result<(), Error> {
        tracing::debug!(?channel, what, "refused a channel request");
        session.debug(false, &format!("vibebox: {what} is not supported"), "en")?;
        session.channel_failure(channel)?;
        Ok(())
    }
}

impl Handler for ConnectionHandler {
    type Error = Error;

    async fn auth_publickey(
        &mut self,
        user: &str,
        key: VerifiedPublicKey<'_>,
    ) -> Result<Auth, Self::Error> {
        let info = PublicKeyInfo {
            algorithm: key.public_key.algorithm().as_str().to_string(),
            blob: key.public_key.to_bytes().unwrap_or_default(),
            fingerprint: key.public_key.fingerprint(HashAlg::Sha256).to_string(),
        };
        if self.context.is_some() || user.len() > MAX_USERNAME || info.blob.is_empty() {
            return Ok(Self::refuse_login());
        }
        let peer = self.peer.map(|p| p.ip());
        let grant = match self.shared.gatekeeper.authorize(user, &info, peer).await {
            Ok(grant) => grant,
            Err(refusal) => {
                tracing::info!(
                    user,
                    key = %info.fingerprint,
                    peer = ?self.peer,
                    reason = %refusal,
                    "SSH login refused"
                );
                return Ok(Self::refuse_login());
            }
        };
        tracing::info!(
            user,
            key = %info.fingerprint,
            peer = ?self.peer,
            environment.id = %grant.environment_id,
            "SSH login"
        );
        let activity = Arc::new(Activity::new(
            self.shared.vibebox.clone(),
            grant.actor.clone(),
            grant.environment_id,
        ));
        let context = Arc::new(ConnectionContext {
            vibebox: self.shared.vibebox.clone(),
            grant,
            username: user.to_string(),
            activity,
        });
        self.context = Some(context.clone());
        if let Some(tx) = self.logged_in.take() {
            let _ = tx.send(context);
        }
        Ok(Auth::Accept)
    }

    async fn channel_open_session(
        &mut self,
        channel: Channel<Msg>,
        reply: ChannelOpenHandle,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(ctx) = self.context.clone() else {
            return Ok(());
        };
        if self.open_channels() >= self.shared.config.max_channels_per_connection {
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        }
        let id = channel.id();
        // Requests and input reach the task through the handler, in order; the channel
        // object only sends.
        let (_, write) = channel.split();
        let (tx, rx) = mpsc::channel(EVENT_QUEUE);
        self.sessions.insert(
            id,
            SessionSlot {
                events: tx,
                pty: false,
                started: false,
            },
        );
        reply.accept().await;
        let outlet = channels::Outlet::new(write, session.handle());
        let closed = self.closed.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = closed.cancelled() => {}
                () = channels::session::run(ctx, outlet, rx) => {}
            }
        });
        Ok(())
    }

    async fn channel_open_direct_tcpip(
        &mut self,
        channel: Channel<Msg>,
        host_to_connect: &str,
        port_to_connect: u32,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        let Some(ctx) = self.context.clone() else {
            return Ok(());
        };
        if self.open_channels() >= self.shared.config.max_channels_per_connection {
            reply.reject(ChannelOpenFailure::ResourceShortage).await;
            return Ok(());
        }
        let host = host_to_connect.to_string();
        let (closed, count) = (self.closed.clone(), self.tunnels.clone());
        tokio::spawn(async move {
            let _count = count;
            tokio::select! {
                () = closed.cancelled() => {}
                () = channels::direct_tcpip::run(ctx, channel, host, port_to_connect, reply) => {}
            }
        });
        Ok(())
    }

    async fn channel_open_x11(
        &mut self,
        _channel: Channel<Msg>,
        _originator_address: &str,
        _originator_port: u32,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply
            .reject(ChannelOpenFailure::Other {
                code: 1,
                reason: "vibebox: X11 forwarding is not supported".into(),
            })
            .await;
        Ok(())
    }

    async fn channel_open_direct_streamlocal(
        &mut self,
        _channel: Channel<Msg>,
        _socket_path: &str,
        reply: ChannelOpenHandle,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        reply
            .reject(ChannelOpenFailure::Other {
                code: 1,
                reason: "vibebox: forwarding to Unix sockets is not supported".into(),
            })
            .await;
        Ok(())
    }

    async fn channel_eof(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.forward(channel, SessionEvent::Eof).await;
        Ok(())
    }

    async fn channel_close(
        &mut self,
        channel: ChannelId,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.forward(channel, SessionEvent::Close).await;
        self.sessions.remove(&channel);
        Ok(())
    }

    async fn data(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        // Tunnels read their own data from their channel object.
        if self.sessions.contains_key(&channel) {
            self.forward(channel, SessionEvent::Input(Bytes::copy_from_slice(data)))
                .await;
        }
        Ok(())
    }

    async fn pty_request(
        &mut self,
        channel: ChannelId,
        term: &str,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        _modes: &[(Pty, u32)],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let ok = match self.sessions.get_mut(&channel) {
            Some(slot) if !slot.started && !slot.pty => {
                slot.pty = true;
                true
            }
            _ => false,
        };
        if !ok {
            session.channel_failure(channel)?;
            return Ok(());
        }
        session.channel_success(channel)?;
        let term = if is_sane_term(term) {
            term
        } else {
            "xterm-256color"
        };
        let event = SessionEvent::Pty {
            term: term.to_string(),
            size: channels::terminal_size(col_width, row_height),
        };
        self.forward(channel, event).await;
        Ok(())
    }

    async fn env_request(
        &mut self,
        channel: ChannelId,
        variable_name: &str,
        variable_value: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let open = self.sessions.get(&channel).is_some_and(|s| !s.started);
        if !open || !allowed_variable(variable_name, variable_value) {
            // Ignored, as sshd ignores variables its AcceptEnv does not list.
            session.channel_failure(channel)?;
            return Ok(());
        }
        session.channel_success(channel)?;
        let event = SessionEvent::Env {
            name: variable_name.to_string(),
            value: variable_value.to_string(),
        };
        self.forward(channel, event).await;
        Ok(())
    }

    async fn shell_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.start(channel, Start::Shell, session).await
    }

    async fn exec_request(
        &mut self,
        channel: ChannelId,
        data: &[u8],
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        let line = String::from_utf8_lossy(data).into_owned();
        self.start(channel, Start::Exec(line), session).await
    }

    async fn subsystem_request(
        &mut self,
        channel: ChannelId,
        name: &str,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        if name == "sftp" {
            self.start(channel, Start::Sftp, session).await
        } else {
            Self::refuse_request(session, channel, &format!("the {name} subsystem"))
        }
    }

    async fn window_change_request(
        &mut self,
        channel: ChannelId,
        col_width: u32,
        row_height: u32,
        _pix_width: u32,
        _pix_height: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        session.channel_success(channel)?;
        let size = channels::terminal_size(col_width, row_height);
        self.forward(channel, SessionEvent::Resize(size)).await;
        Ok(())
    }

    async fn signal(
        &mut self,
        channel: ChannelId,
        signal: Sig,
        _session: &mut Session,
    ) -> Result<(), Self::Error> {
        self.forward(channel, SessionEvent::Signal(signal)).await;
        Ok(())
    }

    async fn x11_request(
        &mut self,
        channel: ChannelId,
        _single_connection: bool,
        _x11_auth_protocol: &str,
        _x11_auth_cookie: &str,
        _x11_screen_number: u32,
        session: &mut Session,
    ) -> Result<(), Self::Error> {
        Self::refuse_request(session, channel, "X11 forwarding")
    }

    async fn agent_request(
        &mut self,
        channel: ChannelId,
        session: &mut Session,
    ) -> Result<bool, Self::Error> {
        tracing::debug!(?channel, "refused agent forwarding");
        session.debug(false, "vibebox: agent forwarding is not supported", "en")?;
        Ok(false)
    }

    async fn tcpip_forward(
        &mut self,
        address: &str,
        port: &mut u32,
        session: &mut Session,
    ) -> Result<bool, Self::Error> {
        tracing::debug!(address, port = *port, "refused remote forwarding");
        session.debug(
            false,
            "vibebox: remote port forwarding (ssh -R) is not supported",
            "en",
        )?;
        Ok(false)
    }

    async fn streamlocal_forward(
        &mut self,
        _socket_path: &str,
        session: &mut Session,
    ) -> Result<bool, Self::Error> {
        session.debug(
            false,
            "vibebox: remote socket forwarding is not supported",
            "en",
        )?;
        Ok(false)
    }
}

/// The variables a client may set, as a stock sshd's `AcceptEnv LANG LC_*` (plus `TERM`).
fn allowed_variable(name: &str, value: &str) -> bool {
    let name_ok = name == "LANG"
        || name == "TERM"
        || (name.starts_with("LC_")
            && name.len() > 3
            && name[3..]
                .bytes()
                .all(|b| b.is_ascii_uppercase() || b == b'_'));
    name_ok && value.len() <= 256 && !value.bytes().any(|b| b == 0 || b.is_ascii_control())
}

/// A `TERM` value worth passing on (a name, not a payload).
fn is_sane_term(term: &str) -> bool {
    !term.is_empty()
        && term.len() <= 64
        && term
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.' || b == b'+')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_accepts_only_lang_lc_and_term() {
        for name in ["LANG", "LC_ALL", "LC_CTYPE", "TERM"] {
            assert!(allowed_variable(name, "C.UTF-8"), "{name}");
        }
        for name in ["PATH", "LD_PRELOAD", "LC_", "lc_all", "HOME", "LC_x"] {
            assert!(!allowed_variable(name, "x"), "{name}");
        }
    }

    #[test]
    fn env_refuses_control_characters_and_long_values() {
        assert!(!allowed_variable("LANG", "C\nPATH=/tmp"));
        assert!(!allowed_variable("LANG", &"x".repeat(300)));
    }

    #[test]
    fn a_term_is_a_name() {
        assert!(is_sane_term("xterm-256color"));
        assert!(is_sane_term("screen.xterm+x"));
        assert!(!is_sane_term(""));
        assert!(!is_sane_term("xterm; rm -rf /"));
    }
}
