use std::sync::Mutex;
use std::time::Duration;

use crate::clock::{Clock, Timestamp, truncate};

/// A clock that only moves when told to.
#[derive(Debug)]
pub struct ManualClock {
    now: Mutex<Timestamp>,
}

impl ManualClock {
    /// A clock set to the current time.
    pub fn new() -> Self {
        Self::at(chrono::Utc::now())
    }

    /// A clock set to `at`.
    pub fn at(at: Timestamp) -> Self {
        Self {
            now: Mutex::new(truncate(at)),
        }
    }

    /// Moves the clock forward.
    pub fn advance(&self, by: Duration) {
        let mut now = self.now.lock().unwrap_or_else(|e| e.into_inner());
        *now += chrono::TimeDelta::from_std(by).unwrap_or(chrono::TimeDelta::zero());
    }

    /// Sets the clock.
    pub fn set(&self, at: Timestamp) {
        *self.now.lock().unwrap_or_else(|e| e.into_inner()) = truncate(at);
    }
}

impl Default for ManualClock {
    fn default() -> Self {
        Self::new()
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        *self.now.lock().unwrap_or_else(|e| e.into_inner())
    }
}
