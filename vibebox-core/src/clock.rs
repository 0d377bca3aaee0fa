//! Time. The service reads the time only through a [`Clock`], so tests can move it without
//! sleeping.

use chrono::{DateTime, DurationRound, TimeDelta, Utc};

/// A timestamp. VibeBox keeps microsecond precision so that values survive a round trip through
/// every store unchanged.
pub type Timestamp = DateTime<Utc>;

/// A source of the current time.
pub trait Clock: Send + Sync + std::fmt::Debug + 'static {
    /// The current time, truncated to microseconds.
    fn now(&self) -> Timestamp;
}

/// The system clock.
#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        truncate(Utc::now())
    }
}

/// Truncates a timestamp to microsecond precision.
pub fn truncate(t: Timestamp) -> Timestamp {
    t.duration_trunc(TimeDelta::microseconds(1)).unwrap_or(t)
}
