//! One TCP connection from accept to close: the SSH handshake and login within the auth
//! timeout, then a watch that disconnects it, with a reason the client prints, when the
//! environment stops or is deleted, when the grant no longer holds, or when the server shuts
//! down.

use std::net::SocketAddr;
use std::sync::Arc;

use russh::Disconnect;
use russh::server::Handle;
use tokio::net::TcpStream;
use tokio::sync::broadcast::error::RecvError;
use tokio::sync::{OwnedSemaphorePermit, oneshot};
use tokio_util::sync::CancellationToken;
use vibebox_core::domain::EnvironmentStatus;
use vibebox_core::events::EventKind;

use crate::channels::ConnectionContext;
use crate::handler::{ConnectionHandler, Shared};

/// Why the gateway ends a connection, as the client is told.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Cut {
    AuthTimeout,
    EnvironmentStopped,
    EnvironmentDeleted,
    AccessRevoked,
    ShuttingDown,
}

impl Cut {
    fn reason(self) -> &'static str {
        match self {
            Cut::AuthTimeout => "vibebox: authentication timed out",
            Cut::EnvironmentStopped => "vibebox: the environment stopped",
            Cut::EnvironmentDeleted => "vibebox: the environment was deleted",
            Cut::AccessRevoked => "vibebox: access was revoked",
            Cut::ShuttingDown => "vibebox: the server is shutting down",
        }
    }
}

/// Serves one connection to its end. `unauthenticated` is held until the login succeeds.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    unauthenticated: OwnedSemaphorePermit,
    shutdown: CancellationToken,
) {
    let _ = tcp.set_nodelay(true);
    let deadline = tokio::time::Instant::now() + shared.config.auth_timeout;
    let closed = CancellationToken::new();
    // Every channel task of this connection stops when it ends, however it ends.
    let _closed_on_return = closed.clone().drop_guard();
    let (logged_in_tx, logged_in) = oneshot::channel();
    let handler = ConnectionHandler::new(shared.clone(), Some(peer), logged_in_tx, closed);
    let russh_config = Arc::new(shared.config.russh());
    // The client's version line is read here: a silent or garbage-sending peer fails or
    // times out without holding anything else up.
    let started = tokio::select! {
        started = tokio::time::timeout_at(deadline, russh::server::run_stream(russh_config, tcp, handler)) => started,
        () = shutdown.cancelled() => return,
    };
    let mut session = match started {
        Ok(Ok(session)) => session,
        Ok(Err(e)) => {
            tracing::debug!(%peer, error = %e, "SSH connection failed before the handshake");
            return;
        }
        Err(_) => {
            tracing::debug!(%peer, "SSH connection sent no version line in time");
            return;
        }
    };
    let handle = session.handle();
    let context = tokio::select! {
        ctx = logged_in => match ctx {
            Ok(ctx) => ctx,
            // The handler went: the session ended before a login.
            Err(_) => {
                log_end(peer, (&mut session).await);
                return;
            }
        },
        ended = &mut session => {
            log_end(peer, ended);
            return;
        }
        () = tokio::time::sleep_until(deadline) => {
            cut(&handle, &mut session, peer, Cut::AuthTimeout).await;
            return;
        }
        () = shutdown.cancelled() => {
            cut(&handle, &mut session, peer, Cut::ShuttingDown).await;
            return;
        }
    };
    drop(unauthenticated);
    let ended = tokio::select! {
        ended = &mut session => Some(ended),
        reason = watch(&shared, &context, &shutdown) => {
            cut(&handle, &mut session, peer, reason).await;
            None
        }
    };
    if let Some(ended) = ended {
        log_end(peer, ended);
    }
}

/// Returns when the connection must be cut, and why.
async fn watch(shared: &Shared, context: &ConnectionContext, shutdown: &CancellationToken) -> Cut {
    let env = context.grant.environment_id;
    let mut events = context.vibebox.events().subscribe(env);
    let mut check = tokio::time::interval(shared.config.grant_check_interval);
    check.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    check.tick().await;
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return Cut::ShuttingDown,
            event = events.recv() => match event {
                Ok(event) => match event.kind {
                    EventKind::Status { status, .. } if stops(status) => {
                        return Cut::EnvironmentStopped;
                    }
                    EventKind::Deleted => return Cut::EnvironmentDeleted,
                    _ => {}
                },
                // Events were dropped: the stored status says where it is.
                Err(RecvError::Lagged(_)) => {
                    match context.vibebox.get_environment(&context.grant.actor, env).await {
                        Ok(e) if stops(e.status) => return Cut::EnvironmentStopped,
                        Ok(_) => {}
                        Err(e) if e.kind() == vibebox_core::ErrorKind::NotFound => {
                            return Cut::EnvironmentDeleted;
                        }
                        Err(e) => tracing::debug!(error = %e, "could not re-read the environment"),
                    }
                }
                Err(RecvError::Closed) => {
                    events = context.vibebox.events().subscribe(env);
                }
            },
            _ = check.tick() => {
                if !shared.gatekeeper.still_valid(&context.grant).await {
                    return Cut::AccessRevoked;
                }
            }
        }
    }
}

/// Whether a status change ends the environment's connections.
fn stops(status: EnvironmentStatus) -> bool {
    matches!(
        status,
        EnvironmentStatus::Stopping | EnvironmentStatus::Stopped | EnvironmentStatus::Error
    )
}

/// Sends the disconnect with its reason and waits (briefly) for the session to wind down.
async fn cut<F>(handle: &Handle, session: &mut F, peer: SocketAddr, why: Cut)
where
    F: std::future::Future + Unpin,
{
    tracing::info!(%peer, reason = why.reason(), "closing an SSH connection");
    if handle
        .disconnect(Disconnect::ByApplication, why.reason().into(), "en".into())
        .await
        .is_err()
    {
        return;
    }
    let _ = tokio::time::timeout(std::time::Duration::from_secs(5), session).await;
}

fn log_end(peer: SocketAddr, ended: Result<(), crate::error::Error>) {
    match ended {
        Ok(()) => tracing::debug!(%peer, "SSH connection closed"),
        Err(e) => tracing::debug!(%peer, error = %e, "SSH connection ended with an error"),
    }
}
