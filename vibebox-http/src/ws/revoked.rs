//! Sockets end when their user's access does: at once when this process disables the
//! account (core's [`access_revocations`](vibebox_core::Vibebox::access_revocations)), and
//! within [`SOCKET_RECHECK_INTERVAL`] when another replica does.

use std::time::Duration;

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use vibebox_core::error::ErrorKind;
use vibebox_core::id::UserId;
use vibebox_core::rbac::Actor;

use crate::state::AppState;

/// How often an open socket re-checks that its user may still sign in.
pub const SOCKET_RECHECK_INTERVAL: Duration = Duration::from_secs(30);

/// Watches one socket's user. Made in the upgrade handler, before the `101`, so a
/// revocation that follows the upgrade is never missed.
pub(crate) struct AccessWatch {
    user: Option<UserId>,
    revocations: broadcast::Receiver<UserId>,
}

impl AccessWatch {
    pub(crate) fn new(s: &AppState, actor: &Actor) -> Self {
        Self {
            user: actor.user_id(),
            revocations: s.vibebox.access_revocations(),
        }
    }

    /// Resolves when the user is disabled or removed; never for actors without a user.
    pub(crate) async fn ended(mut self, s: &AppState) {
        let Some(user) = self.user else {
            return std::future::pending().await;
        };
        let mut recheck = tokio::time::interval(SOCKET_RECHECK_INTERVAL);
        recheck.tick().await;
        loop {
            let check_now = tokio::select! {
                revoked = self.revocations.recv() => match revoked {
                    Ok(u) => u == user,
                    Err(RecvError::Lagged(_)) => true,
                    Err(RecvError::Closed) => false,
                },
                _ = recheck.tick() => true,
            };
            if check_now {
                match s.vibebox.actor_for_user(user).await {
                    Err(e) if e.kind() == ErrorKind::Unauthenticated => return,
                    // A store that is down says nothing about the user: keep the socket.
                    _ => {}
                }
            }
        }
    }
}

/// Closes a socket with 1008 (policy violation): its user's access ended.
pub(crate) async fn close_revoked(socket: &mut axum::extract::ws::WebSocket) {
    super::close_with(socket, 1008, "access revoked").await;
}
