//! Sockets end when the access they were opened with does:
//!
//! - the user's account is disabled or removed: at once when this process does it (core's
//!   [`access_revocations`](vibebox_core::Vibebox::access_revocations)), within
//!   [`SOCKET_RECHECK_INTERVAL`] when another replica does; closed with 1008
//!   `account disabled`;
//! - the API key the socket was opened with is deleted or expires: within
//!   [`API_KEY_RECHECK_INTERVAL`]; closed with 1008 `api key deleted or expired`.
//!
//! A socket opened with an access token lives on when the token's sign-in (its refresh token
//! family) is revoked: access tokens do not name their family, and they stay valid for
//! requests too until they expire.

use std::time::Duration;

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use vibebox_core::error::ErrorKind;
use vibebox_core::id::{ApiKeyId, UserId};
use vibebox_core::rbac::Actor;

use super::Close;
use crate::state::AppState;

/// How often an open socket re-checks that its user may still sign in.
pub const SOCKET_RECHECK_INTERVAL: Duration = Duration::from_secs(30);
/// How often a socket opened with an API key re-checks that the key still exists and has not
/// expired (core announces no key deletion, so it is looked up).
pub const API_KEY_RECHECK_INTERVAL: Duration = Duration::from_secs(2);

/// 1008: the user's account was disabled or removed.
const ACCOUNT_DISABLED: Close = Close::new(1008, "account disabled");
/// 1008: the API key the socket was opened with was deleted or expired.
const API_KEY_REVOKED: Close = Close::new(1008, "api key deleted or expired");
/// 1008: the caller may no longer read what the socket shows.
pub(crate) const ACCESS_REVOKED: Close = Close::new(1008, "access revoked");

/// Watches one socket's user (and API key). Made in the upgrade handler, before the `101`, so
/// a revocation that follows the upgrade is never missed.
pub(crate) struct AccessWatch {
    user: Option<UserId>,
    key: Option<ApiKeyId>,
    revocations: broadcast::Receiver<UserId>,
}

impl AccessWatch {
    pub(crate) fn new(s: &AppState, actor: &Actor) -> Self {
        let key = match actor {
            Actor::ApiKey { key_id, .. } => Some(*key_id),
            Actor::User(_) | Actor::System => None,
        };
        Self {
            user: actor.user_id(),
            key,
            revocations: s.vibebox.access_revocations(),
        }
    }

    /// Resolves, with the close to send, when the user is disabled or removed or the API key
    /// is deleted or expires; never for actors without a user.
    pub(crate) async fn ended(mut self, s: &AppState) -> Close {
        let Some(user) = self.user else {
            return std::future::pending().await;
        };
        let mut recheck = tokio::time::interval(SOCKET_RECHECK_INTERVAL);
        recheck.tick().await;
        let mut key_recheck = tokio::time::interval(API_KEY_RECHECK_INTERVAL);
        key_recheck.tick().await;
        let mut announced = true;
        loop {
            let (check_user, check_key) = tokio::select! {
                revoked = self.revocations.recv(), if announced => match revoked {
                    Ok(u) => (u == user, false),
                    Err(RecvError::Lagged(_)) => (true, false),
                    Err(RecvError::Closed) => {
                        announced = false;
                        (false, false)
                    }
                },
                _ = recheck.tick() => (true, true),
                _ = key_recheck.tick(), if self.key.is_some() => (false, true),
            };
            if check_user && !may_sign_in(s, user).await {
                return ACCOUNT_DISABLED;
            }
            if let Some(key) = self.key.filter(|_| check_key)
                && !key_is_valid(s, user, key).await
            {
                return API_KEY_REVOKED;
            }
        }
    }
}

/// Whether the user may still sign in; a store that is down says nothing about the user.
async fn may_sign_in(s: &AppState, user: UserId) -> bool {
    match s.vibebox.actor_for_user(user).await {
        Err(e) => e.kind() != ErrorKind::Unauthenticated,
        Ok(_) => true,
    }
}

/// Whether the user's key still exists and has not expired; a store that is down says nothing
/// about the key.
async fn key_is_valid(s: &AppState, user: UserId, key: ApiKeyId) -> bool {
    match s.vibebox.api_key_is_valid(user, key).await {
        Ok(valid) => valid,
        Err(e) => {
            tracing::debug!(error = %e, "could not re-check a socket's API key");
            true
        }
    }
}
