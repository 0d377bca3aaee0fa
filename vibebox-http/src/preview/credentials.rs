//! Preview credentials: one-time tickets from the API's open route, and the cookie sessions
//! they become. Both are random 256-bit tokens bound to one preview host; only their hashes
//! are kept, in this process.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use secrecy::ExposeSecret;
use vibebox_core::domain::TokenHash;
use vibebox_core::error::{Error, Result};
use vibebox_core::id::UserId;
use vibebox_core::tokens::{generate_refresh_token, hash_token};

/// A token's owner and where and until when it is valid.
#[derive(Clone, Debug)]
struct Grant {
    user: UserId,
    host: String,
    expires: Instant,
}

/// Open tickets and live cookie sessions.
#[derive(Debug, Default)]
pub(crate) struct PreviewCredentials {
    tickets: Mutex<HashMap<TokenHash, Grant>>,
    sessions: Mutex<HashMap<TokenHash, Grant>>,
}

fn issue(
    map: &Mutex<HashMap<TokenHash, Grant>>,
    user: UserId,
    host: &str,
    ttl: Duration,
) -> Result<String> {
    let (token, hash) = generate_refresh_token()?;
    let now = Instant::now();
    let mut open = map.lock().unwrap_or_else(|e| e.into_inner());
    open.retain(|_, g| g.expires > now);
    open.insert(
        hash,
        Grant {
            user,
            host: host.to_string(),
            expires: now + ttl,
        },
    );
    Ok(token.expose_secret().to_string())
}

impl PreviewCredentials {
    /// A ticket for `user` on `host`, valid once within `ttl`.
    pub(crate) fn issue_ticket(&self, user: UserId, host: &str, ttl: Duration) -> Result<String> {
        issue(&self.tickets, user, host, ttl)
    }

    /// Redeems a ticket on `host`: once, before it expires, on the host it was issued for.
    /// Errors: `Unauthenticated`.
    pub(crate) fn redeem_ticket(&self, ticket: &str, host: &str) -> Result<UserId> {
        let mut open = self.tickets.lock().unwrap_or_else(|e| e.into_inner());
        match open.remove(&hash_token(ticket)) {
            Some(g) if g.expires > Instant::now() && g.host == host => Ok(g.user),
            _ => Err(Error::Unauthenticated),
        }
    }

    /// A cookie session for `user` on `host`.
    pub(crate) fn start_session(&self, user: UserId, host: &str, ttl: Duration) -> Result<String> {
        issue(&self.sessions, user, host, ttl)
    }

    /// The user of a cookie session valid on `host`, if any.
    pub(crate) fn session_user(&self, token: &str, host: &str) -> Option<UserId> {
        let sessions = self.sessions.lock().unwrap_or_else(|e| e.into_inner());
        sessions
            .get(&hash_token(token))
            .filter(|g| g.expires > Instant::now() && g.host == host)
            .map(|g| g.user)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ticket_works_once_and_only_on_its_host() {
        let c = PreviewCredentials::default();
        let user = UserId::new();
        let ttl = Duration::from_secs(60);
        let ticket = c
            .issue_ticket(user, "8080--a--b.vibebox.localhost", ttl)
            .unwrap_or_default();
        assert!(
            c.redeem_ticket(&ticket, "8081--a--b.vibebox.localhost")
                .is_err()
        );
        // A ticket tried on the wrong host is spent.
        assert!(
            c.redeem_ticket(&ticket, "8080--a--b.vibebox.localhost")
                .is_err()
        );
        let ticket = c.issue_ticket(user, "h", ttl).unwrap_or_default();
        assert_eq!(c.redeem_ticket(&ticket, "h").ok(), Some(user));
        assert!(c.redeem_ticket(&ticket, "h").is_err());
    }

    #[test]
    fn an_expired_ticket_or_session_is_refused() {
        let c = PreviewCredentials::default();
        let user = UserId::new();
        let ticket = c
            .issue_ticket(user, "h", Duration::ZERO)
            .unwrap_or_default();
        assert!(c.redeem_ticket(&ticket, "h").is_err());
        let session = c
            .start_session(user, "h", Duration::ZERO)
            .unwrap_or_default();
        assert_eq!(c.session_user(&session, "h"), None);
        let session = c
            .start_session(user, "h", Duration::from_secs(60))
            .unwrap_or_default();
        assert_eq!(c.session_user(&session, "h"), Some(user));
        assert_eq!(c.session_user(&session, "other"), None);
    }
}
