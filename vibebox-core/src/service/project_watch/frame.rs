//! What a project watch sends: the JSON frames of `/ws/projects/{id}/status`.

use serde::{Deserialize, Serialize};

use crate::clock::Timestamp;
use crate::domain::{Environment, EnvironmentHealth, EnvironmentStatus};
use crate::id::EnvironmentId;

/// An environment as a project watch shows it: in the snapshot and when it is created.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct WatchedEnvironment {
    /// The environment.
    pub environment_id: EnvironmentId,
    /// Its name.
    pub name: String,
    /// Its status.
    pub status: EnvironmentStatus,
    /// Why, when the status is `error`.
    pub error_message: Option<String>,
    /// Its version.
    pub version: i64,
    /// OOM kills and warnings.
    pub health: EnvironmentHealth,
}

impl From<&Environment> for WatchedEnvironment {
    fn from(env: &Environment) -> Self {
        Self {
            environment_id: env.id,
            name: env.name.clone(),
            status: env.status,
            error_message: env.error_message.clone(),
            version: env.version,
            health: env.health.clone(),
        }
    }
}

/// One message of a project watch. Serialized, it is the JSON text frame of
/// `/ws/projects/{id}/status`, tagged by `type`; `status` and `health` are the same JSON as
/// the environment's own status socket sends (its [`Event`](crate::events::Event)).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ProjectFrame {
    /// First: every environment of the project, at most
    /// [`PROJECT_WATCH_MAX_ENVIRONMENTS`](super::PROJECT_WATCH_MAX_ENVIRONMENTS).
    Snapshot {
        /// The environments, in the project's list order.
        environments: Vec<WatchedEnvironment>,
        /// Whether the project has more environments than the watch shows; those are not
        /// watched.
        truncated: bool,
    },
    /// An environment's status changed.
    Status {
        /// The environment.
        environment_id: EnvironmentId,
        /// When.
        at: Timestamp,
        /// The new status.
        status: EnvironmentStatus,
        /// Why, when the status is `error`.
        error_message: Option<String>,
        /// The environment's version after the change.
        version: i64,
    },
    /// An environment's health changed: an OOM kill, or a warning raised or cleared.
    Health {
        /// The environment.
        environment_id: EnvironmentId,
        /// When.
        at: Timestamp,
        /// The health as now stored.
        #[serde(flatten)]
        health: EnvironmentHealth,
    },
    /// A resource usage sample of a running environment, at most one per environment every
    /// [`PROJECT_WATCH_METRICS_INTERVAL`](super::PROJECT_WATCH_METRICS_INTERVAL).
    Metrics {
        /// The environment.
        environment_id: EnvironmentId,
        /// When it was sampled.
        at: Timestamp,
        /// CPU use as a percentage of one core.
        cpu_percent: f64,
        /// Memory in use, in bytes.
        memory_bytes: u64,
        /// The memory limit, in bytes.
        memory_limit_bytes: u64,
    },
    /// An environment was created in the project.
    Created {
        /// It, as the snapshot would show it.
        environment: WatchedEnvironment,
    },
    /// An environment left the project: it was deleted.
    Deleted {
        /// The environment.
        environment_id: EnvironmentId,
        /// When.
        at: Timestamp,
    },
    /// Events this watcher missed because it read too slowly; the watch re-lists the project
    /// at once, so what it shows next is current again.
    Dropped {
        /// How many.
        count: u64,
    },
    /// A frame this build does not know, read from a newer server. The watch never sends it.
    #[serde(other)]
    Unknown,
}
