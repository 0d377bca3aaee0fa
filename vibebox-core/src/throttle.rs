//! Sign-in throttling: per address and account pair with exponential backoff, per address,
//! and per account with a cap on failures per hour that never locks the owner out.
//!
//! - An address gets a few free failures on an account; after that each failure doubles its
//!   wait (1 s, 2 s, 4 s … up to 15 min). A success clears it.
//! - An account accepts at most `account_failures_per_hour` failures from addresses it has
//!   never been signed in from. Once that budget is spent, such addresses wait until failures
//!   age out of the hour, while an address the owner signed in from keeps its own (backed-off)
//!   attempts: an attacker elsewhere cannot lock the owner out.
//! - An address accepts at most `address_failures_per_hour` failures over all accounts
//!   (password spraying).
//!
//! Accounts are keyed by the email as typed (trimmed, lowercased), so an unknown email is
//! throttled exactly like a known one and the answers reveal nothing. State is in memory, per
//! process.

use std::collections::{HashMap, HashSet, VecDeque};
use std::sync::Mutex;
use std::time::Duration;

use chrono::TimeDelta;

use crate::clock::Timestamp;

/// How sign-ins are throttled.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures an address may make on one account before backoff starts (default 5).
    pub free_failures: u32,
    /// The first backoff (default 1 s); each further failure doubles it.
    pub base_delay: Duration,
    /// The longest backoff (default 15 min).
    pub max_delay: Duration,
    /// Failures per hour an account accepts from addresses it was never signed in from
    /// (default 100).
    pub account_failures_per_hour: usize,
    /// Failures per hour an address may make over all accounts (default 1,000).
    pub address_failures_per_hour: usize,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            account_failures_per_hour: 100,
            address_failures_per_hour: 1000,
        }
    }
}

const HOUR: TimeDelta = TimeDelta::hours(1);
/// Entries kept before idle ones are swept.
const SWEEP_AT: usize = 100_000;

#[derive(Debug, Default)]
struct Pair {
    consecutive: u32,
    blocked_until: Option<Timestamp>,
}

#[derive(Debug, Default)]
struct State {
    pairs: HashMap<(String, String), Pair>,
    accounts: HashMap<String, VecDeque<Timestamp>>,
    addresses: HashMap<String, VecDeque<Timestamp>>,
    trusted: HashMap<String, HashSet<String>>,
}

/// The sign-in throttle of one process.
#[derive(Debug, Default)]
pub struct LoginThrottle {
    policy: ThrottlePolicy,
    state: Mutex<State>,
}

/// The address used when the caller's is unknown.
const UNKNOWN: &str = "unknown";

fn key(email: &str) -> String {
    email.trim().to_lowercase()
}

fn prune(window: &mut VecDeque<Timestamp>, now: Timestamp) {
    while window.front().is_some_and(|t| now - *t >= HOUR) {
        window.pop_front();
    }
}

/// How long until the oldest failure of a full window ages out.
fn until_free(window: &VecDeque<Timestamp>, now: Timestamp) -> Duration {
    window
        .front()
        .map(|oldest| {
            (*oldest + HOUR - now)
                .to_std()
                .unwrap_or(Duration::from_secs(1))
        })
        .unwrap_or(Duration::from_secs(1))
        .max(Duration::from_secs(1))
}

impl LoginThrottle {
    /// A throttle with the given policy.
    pub fn new(policy: ThrottlePolicy) -> Self {
        Self {
            policy,
            state: Mutex::new(State::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// `None` when a sign-in may be tried now, else how long to wait.
    pub fn check(&self, email: &str, address: Option<&str>, now: Timestamp) -> Option<Duration> {
        let (account, address) = (key(email), address.unwrap_or(UNKNOWN).to_string());
        let mut st = self.lock();
        let mut wait: Option<Duration> = None;
        let mut longer = |d: Duration| wait = Some(wait.map_or(d, |w| w.max(d)));
        if let Some(until) = st
            .pairs
            .get(&(account.clone(), address.clone()))
            .and_then(|p| p.blocked_until)
            .filter(|until| *until > now)
        {
            longer((until - now).to_std().unwrap_or_default());
        }
        if let Some(window) = st.addresses.get_mut(&address) {
            prune(window, now);
            if window.len() >= self.policy.address_failures_per_hour {
                longer(until_free(window, now));
            }
        }
        let trusted = st
            .trusted
            .get(&account)
            .is_some_and(|set| set.contains(&address));
        if !trusted && let Some(window) = st.accounts.get_mut(&account) {
            prune(window, now);
            if window.len() >= self.policy.account_failures_per_hour {
                longer(until_free(window, now));
            }
        }
        wait
    }

    /// Records a failed sign-in.
    pub fn failed(&self, email: &str, address: Option<&str>, now: Timestamp) {
        let (account, address) = (key(email), address.unwrap_or(UNKNOWN).to_string());
        let mut st = self.lock();
        if st.pairs.len() >= SWEEP_AT {
            st.pairs
                .retain(|_, p| p.blocked_until.is_some_and(|u| u > now - HOUR));
            st.accounts.retain(|_, w| {
                prune(w, now);
                !w.is_empty()
            });
            st.addresses.retain(|_, w| {
                prune(w, now);
                !w.is_empty()
            });
        }
        let trusted = st
            .trusted
            .get(&account)
            .is_some_and(|set| set.contains(&address));
        let pair = st
            .pairs
            .entry((account.clone(), address.clone()))
            .or_default();
        pair.consecutive = pair.consecutive.saturating_add(1);
        if pair.consecutive > self.policy.free_failures {
            let doublings = (pair.consecutive - self.policy.free_failures - 1).min(30);
            let delay = self
                .policy
                .base_delay
                .saturating_mul(1u32 << doublings)
                .min(self.policy.max_delay);
            pair.blocked_until =
                Some(now + TimeDelta::from_std(delay).unwrap_or(TimeDelta::zero()));
        }
        st.addresses.entry(address).or_default().push_back(now);
        if !trusted {
            st.accounts.entry(account).or_default().push_back(now);
        }
    }

    /// Records a successful sign-in: the pair's backoff is cleared and the address becomes
    /// one the owner signs in from.
    pub fn succeeded(&self, email: &str, address: Option<&str>) {
        let (account, address) = (key(email), address.unwrap_or(UNKNOWN).to_string());
        let mut st = self.lock();
        st.pairs.remove(&(account.clone(), address.clone()));
        if address != UNKNOWN {
            st.trusted.entry(account).or_default().insert(address);
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::{TimeZone, Utc};

    use super::*;

    fn t0() -> Timestamp {
        Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0)
            .single()
            .unwrap_or_default()
    }

    fn secs(n: i64) -> TimeDelta {
        TimeDelta::seconds(n)
    }

    #[test]
    fn backoff_starts_after_the_free_failures_and_doubles() {
        let th = LoginThrottle::new(ThrottlePolicy::default());
        let now = t0();
        for _ in 0..5 {
            assert_eq!(th.check("a@x.io", Some("1.1.1.1"), now), None);
            th.failed("a@x.io", Some("1.1.1.1"), now);
        }
        assert_eq!(th.check("a@x.io", Some("1.1.1.1"), now), None, "5 are free");
        th.failed("a@x.io", Some("1.1.1.1"), now);
        assert_eq!(
            th.check("a@x.io", Some("1.1.1.1"), now),
            Some(Duration::from_secs(1))
        );
        let later = now + secs(1);
        assert_eq!(th.check("a@x.io", Some("1.1.1.1"), later), None);
        th.failed("a@x.io", Some("1.1.1.1"), later);
        assert_eq!(
            th.check("a@x.io", Some("1.1.1.1"), later),
            Some(Duration::from_secs(2))
        );
        // Another address is not affected, and a success clears the pair.
        assert_eq!(th.check("a@x.io", Some("2.2.2.2"), later), None);
        th.succeeded("a@x.io", Some("1.1.1.1"));
        assert_eq!(th.check("a@x.io", Some("1.1.1.1"), later), None);
    }

    #[test]
    fn backoff_is_capped_at_the_maximum_delay() {
        let th = LoginThrottle::new(ThrottlePolicy::default());
        let mut now = t0();
        for _ in 0..40 {
            if let Some(wait) = th.check("a@x.io", Some("1.1.1.1"), now) {
                assert!(wait <= Duration::from_secs(900), "{wait:?}");
                now += TimeDelta::from_std(wait).unwrap_or_default();
            }
            th.failed("a@x.io", Some("1.1.1.1"), now);
        }
        assert_eq!(
            th.check("a@x.io", Some("1.1.1.1"), now),
            Some(Duration::from_secs(900))
        );
    }

    #[test]
    fn an_account_takes_at_most_100_failures_an_hour_from_unknown_addresses() {
        let th = LoginThrottle::new(ThrottlePolicy::default());
        let now = t0();
        let mut accepted = 0;
        // A botnet: every attempt from a new address, so no pair ever backs off.
        for i in 0..300 {
            let ip = format!("10.0.{}.{}", i / 256, i % 256);
            if th.check("owner@x.io", Some(&ip), now).is_none() {
                th.failed("owner@x.io", Some(&ip), now);
                accepted += 1;
            }
        }
        assert_eq!(accepted, 100);
        let wait = th.check("owner@x.io", Some("10.9.9.9"), now + secs(60));
        assert_eq!(wait, Some(Duration::from_secs(3540)));
        // An hour later the failures have aged out.
        assert_eq!(
            th.check("owner@x.io", Some("10.9.9.9"), now + secs(3600)),
            None
        );
    }

    #[test]
    fn the_owner_signs_in_from_a_known_address_while_the_account_is_under_attack() {
        let th = LoginThrottle::new(ThrottlePolicy::default());
        let now = t0();
        th.succeeded("owner@x.io", Some("192.0.2.7"));
        for i in 0..200 {
            let ip = format!("10.1.0.{i}");
            if th.check("owner@x.io", Some(&ip), now).is_none() {
                th.failed("owner@x.io", Some(&ip), now);
            }
        }
        assert!(th.check("owner@x.io", Some("10.1.0.250"), now).is_some());
        assert_eq!(th.check("owner@x.io", Some("192.0.2.7"), now), None);
    }

    #[test]
    fn an_address_spraying_many_accounts_is_stopped() {
        let th = LoginThrottle::new(ThrottlePolicy {
            address_failures_per_hour: 50,
            ..ThrottlePolicy::default()
        });
        let now = t0();
        for i in 0..50 {
            let email = format!("user{i}@x.io");
            assert_eq!(th.check(&email, Some("203.0.113.9"), now), None);
            th.failed(&email, Some("203.0.113.9"), now);
        }
        assert!(
            th.check("someone-new@x.io", Some("203.0.113.9"), now)
                .is_some()
        );
        assert_eq!(
            th.check("someone-new@x.io", Some("203.0.113.10"), now),
            None
        );
    }

    #[test]
    fn emails_are_keyed_as_typed_so_unknown_accounts_throttle_the_same() {
        let th = LoginThrottle::new(ThrottlePolicy::default());
        let now = t0();
        for _ in 0..6 {
            th.failed(" Ghost@X.io ", Some("1.1.1.1"), now);
        }
        assert!(th.check("ghost@x.io", Some("1.1.1.1"), now).is_some());
    }
}
