//! Live events per environment: status changes, log lines, metrics, session and extension
//! changes. Subscribers that fall behind lose the oldest events and are told how many.

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::clock::Timestamp;
use crate::domain::{
    EnvironmentHealth, EnvironmentStatus, ExtensionStatus, LogStream, SessionStatus, SessionType,
};
use crate::id::{EnvironmentId, ExtensionId, SessionId};

/// Something that happened to an environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The environment.
    pub environment_id: EnvironmentId,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The status changed.
    Status {
        /// The new status.
        status: EnvironmentStatus,
        /// Why, when the status is `error`.
        error_message: Option<String>,
        /// The environment's version after the change.
        version: i64,
    },
    /// A line of container output.
    Log {
        /// When the container wrote it.
        timestamp: Timestamp,
        /// stdout or stderr.
        stream: LogStream,
        /// The line.
        message: String,
    },
    /// Lines of container output were lost before VibeBox could read them (the engine
    /// rotated its log files away). Also stored as a log line, so history shows it too.
    LogGap {
        /// The last line read before the gap.
        after: Timestamp,
        /// The first line read after it.
        before: Timestamp,
        /// How many lines were lost, when known.
        lines: Option<u64>,
        /// Why, for people.
        message: String,
    },
    /// The environment's health changed: an OOM kill, or a warning raised or cleared.
    Health {
        /// The health as now stored.
        #[serde(flatten)]
        health: EnvironmentHealth,
    },
    /// A resource usage sample.
    Metrics {
        /// CPU use as a percentage of one core.
        cpu_percent: f64,
        /// Memory in use, in bytes.
        memory_bytes: u64,
        /// The memory limit, in bytes.
        memory_limit_bytes: u64,
    },
    /// A session changed state.
    Session {
        /// The session.
        session_id: SessionId,
        /// Its type.
        session_type: SessionType,
        /// Its name.
        session_name: String,
        /// Its new status.
        status: SessionStatus,
    },
    /// An extension's installation changed state.
    Extension {
        /// The catalog extension.
        extension_id: ExtensionId,
        /// Its new status.
        status: ExtensionStatus,
        /// Why it failed.
        error_message: Option<String>,
    },
    /// The environment was deleted; no more events follow.
    Deleted,
}

/// A fan-out of events per environment over bounded broadcast channels.
#[derive(Debug)]
pub struct EventBus {
    capacity: usize,
    channels: Mutex<HashMap<EnvironmentId, broadcast::Sender<Event>>>,
}

impl EventBus {
    /// A bus whose channels hold `capacity` events for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            channels: Mutex::new(HashMap::new()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<EnvironmentId, broadcast::Sender<Event>>> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends an event to the environment's subscribers (if any).
    pub fn publish(&self, event: Event) {
        let mut channels = self.lock();
        let env = event.environment_id;
        let gone = match channels.get(&env) {
            Some(tx) => tx.send(event).is_err(),
            None => false,
        };
        if gone {
            channels.remove(&env);
        }
    }

    /// Subscribes to an environment's events from now on.
    pub fn subscribe(&self, env: EnvironmentId) -> broadcast::Receiver<Event> {
        let mut channels = self.lock();
        match channels.get(&env) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = broadcast::channel(self.capacity);
                channels.insert(env, tx);
                rx
            }
        }
    }

    /// Whether anyone listens to the environment.
    pub fn has_subscribers(&self, env: EnvironmentId) -> bool {
        self.lock()
            .get(&env)
            .is_some_and(|tx| tx.receiver_count() > 0)
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(1024)
    }
}
