//! Request rate limits per client address and per user (GCRA, the "virtual scheduling"
//! form of a token bucket): a key may send `burst` requests at once, then one every
//! `60 / per_minute` seconds. Over the limit is 429 with `Retry-After`.
//!
//! The state is one instant per key, kept in memory; keys that are back at a full bucket are
//! pruned, so memory follows the number of clients active in the last burst window.

use std::collections::HashMap;
use std::hash::Hash;
use std::net::IpAddr;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use vibebox_core::error::Error;
use vibebox_core::id::UserId;

use crate::client_ip::ClientIp;
use crate::problem::ApiError;
use crate::state::AppState;

/// A sustained rate and a burst.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RateLimit {
    /// Requests per minute, sustained (at least 1).
    pub per_minute: u32,
    /// Requests that may arrive at once (at least 1).
    pub burst: u32,
}

impl RateLimit {
    /// `per_minute` sustained with a burst of `burst`; `None` when `per_minute` is 0 (off).
    pub fn per_minute(per_minute: u32, burst: u32) -> Option<Self> {
        (per_minute > 0).then_some(Self {
            per_minute,
            burst: burst.max(1),
        })
    }

    fn interval(&self) -> Duration {
        Duration::from_secs(60) / self.per_minute.max(1)
    }

    /// How far ahead of now the schedule may run: `burst - 1` intervals.
    fn tolerance(&self) -> Duration {
        self.interval() * self.burst.max(1).saturating_sub(1)
    }
}

/// Prune when the table holds this many keys.
const PRUNE_AT: usize = 4096;

/// One limit applied to many keys.
#[derive(Debug)]
pub struct Limiter<K> {
    limit: RateLimit,
    /// Per key: the theoretical arrival time of the next request.
    table: Mutex<HashMap<K, Instant>>,
}

impl<K: Eq + Hash + Clone> Limiter<K> {
    /// A limiter for `limit`.
    pub fn new(limit: RateLimit) -> Self {
        Self {
            limit,
            table: Mutex::new(HashMap::new()),
        }
    }

    /// Counts a request by `key` at `now`. Errors: `RateLimited` with the time until the
    /// next request would be admitted.
    pub fn check_at(&self, key: &K, now: Instant) -> Result<(), Error> {
        let interval = self.limit.interval();
        let tolerance = self.limit.tolerance();
        // A poisoned lock only means another request panicked mid-update; the table of
        // instants stays consistent.
        let mut table = self.table.lock().unwrap_or_else(|e| e.into_inner());
        if table.len() >= PRUNE_AT {
            table.retain(|_, tat| *tat > now);
        }
        let tat = table.get(key).copied().unwrap_or(now).max(now);
        let ahead = tat - now;
        if ahead > tolerance {
            return Err(Error::RateLimited {
                retry_after: ahead - tolerance,
            });
        }
        table.insert(key.clone(), tat + interval);
        Ok(())
    }

    /// Counts a request by `key` now.
    pub fn check(&self, key: &K) -> Result<(), Error> {
        self.check_at(key, Instant::now())
    }

    /// How many keys are tracked (for tests and metrics).
    pub fn tracked(&self) -> usize {
        self.table.lock().map(|t| t.len()).unwrap_or_default()
    }
}

/// The limiters of one router.
#[derive(Debug, Default)]
pub struct RateLimiters {
    /// Every API request, by client address.
    pub per_ip: Option<Limiter<IpAddr>>,
    /// Sign-in, registration, refresh and OAuth requests, by client address.
    pub auth_per_ip: Option<Limiter<IpAddr>>,
    /// Every authenticated request, by user (API keys count for their user).
    pub per_user: Option<Limiter<UserId>>,
}

impl RateLimiters {
    /// The limiters for the configured limits.
    pub fn new(
        per_ip: Option<RateLimit>,
        auth_per_ip: Option<RateLimit>,
        per_user: Option<RateLimit>,
    ) -> Self {
        Self {
            per_ip: per_ip.map(Limiter::new),
            auth_per_ip: auth_per_ip.map(Limiter::new),
            per_user: per_user.map(Limiter::new),
        }
    }

    /// Counts an authenticated request by `user`. Errors: `RateLimited`.
    pub fn check_user(&self, user: UserId) -> Result<(), Error> {
        match &self.per_user {
            Some(limiter) => limiter.check(&user),
            None => Ok(()),
        }
    }
}

/// The middleware applying the per-address limits. Health checks are never limited, and
/// requests whose client address is unknown (the router served without `ConnectInfo`) are not
/// limited by address.
pub(crate) async fn per_ip(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let path = request.uri().path();
    let health = path.ends_with("/healthz") || path.ends_with("/readyz");
    let ip = request
        .extensions()
        .get::<ClientIp>()
        .map(|ClientIp(ip)| *ip)
        .filter(|_| !health);
    if let Some(ip) = ip {
        let limiters = &state.limiters;
        let mut result = limiters.per_ip.as_ref().map_or(Ok(()), |l| l.check(&ip));
        if result.is_ok() && is_auth_path(request.uri().path()) {
            result = limiters
                .auth_per_ip
                .as_ref()
                .map_or(Ok(()), |l| l.check(&ip));
        }
        if let Err(e) = result {
            tracing::debug!(%ip, "rate limited");
            return ApiError(e).into_response();
        }
    }
    next.run(request).await
}

/// The routes that create sign-ins (each costs a password hash or a provider round trip).
fn is_auth_path(path: &str) -> bool {
    path.contains("/auth/")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn limiter(per_minute: u32, burst: u32) -> Limiter<u8> {
        Limiter::new(RateLimit { per_minute, burst })
    }

    #[test]
    fn a_burst_is_admitted_then_the_next_request_waits_one_interval() {
        let l = limiter(60, 3);
        let t0 = Instant::now();
        for _ in 0..3 {
            assert!(l.check_at(&1, t0).is_ok());
        }
        let over = l.check_at(&1, t0);
        assert!(
            matches!(over, Err(Error::RateLimited { retry_after }) if retry_after == Duration::from_secs(1)),
            "the fourth request at once waits one interval: {over:?}"
        );
        assert!(l.check_at(&1, t0 + Duration::from_secs(1)).is_ok());
        assert!(l.check_at(&1, t0 + Duration::from_secs(1)).is_err());
    }

    #[test]
    fn keys_are_limited_separately() {
        let l = limiter(60, 1);
        let t0 = Instant::now();
        assert!(l.check_at(&1, t0).is_ok());
        assert!(l.check_at(&1, t0).is_err());
        assert!(l.check_at(&2, t0).is_ok());
    }

    #[test]
    fn the_sustained_rate_is_admitted_indefinitely() {
        let l = limiter(600, 1);
        let t0 = Instant::now();
        for i in 0..1000u32 {
            assert!(l.check_at(&1, t0 + Duration::from_millis(100) * i).is_ok());
        }
    }

    #[test]
    fn idle_keys_are_pruned_so_the_table_stays_bounded() {
        let l: Limiter<u32> = Limiter::new(RateLimit {
            per_minute: 60,
            burst: 1,
        });
        let t0 = Instant::now();
        for k in 0..PRUNE_AT as u32 {
            assert!(l.check_at(&k, t0).is_ok());
        }
        assert_eq!(l.tracked(), PRUNE_AT);
        assert!(l.check_at(&u32::MAX, t0 + Duration::from_secs(2)).is_ok());
        assert_eq!(l.tracked(), 1);
    }

    #[test]
    fn a_zero_rate_means_no_limit() {
        assert_eq!(RateLimit::per_minute(0, 10), None);
        assert_eq!(
            RateLimit::per_minute(10, 0),
            Some(RateLimit {
                per_minute: 10,
                burst: 1
            })
        );
    }
}
