use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ContainerId;
use crate::clock::Timestamp;
use crate::domain::{LogStream, Protocol};

/// A container's state as the engine reports it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContainerState {
    /// Created, never started.
    Created,
    /// Running.
    Running,
    /// Paused.
    Paused,
    /// Being restarted by the engine.
    Restarting,
    /// Being removed.
    Removing,
    /// Exited.
    Exited,
    /// Dead (failed to stop or remove).
    Dead,
}

impl ContainerState {
    /// Whether the container's processes run.
    pub fn is_running(self) -> bool {
        matches!(self, ContainerState::Running | ContainerState::Restarting)
    }

    /// Whether the container holds live processes: running, or frozen (paused).
    pub fn is_live(self) -> bool {
        self.is_running() || self == ContainerState::Paused
    }
}

/// A host port the engine bound.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BoundPort {
    /// The port inside the container.
    pub container_port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The host address.
    pub host_ip: String,
    /// The host port.
    pub host_port: u16,
}

/// What `inspect` and `list` report about a container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ContainerInfo {
    /// The engine's id.
    pub id: ContainerId,
    /// The name.
    pub name: String,
    /// The image reference it was created from.
    pub image: String,
    /// The state.
    pub state: ContainerState,
    /// The exit code once exited.
    pub exit_code: Option<i64>,
    /// Whether the kernel killed it for exceeding its memory limit.
    pub oom_killed: bool,
    /// The engine's error message for the last failure, if any.
    pub error: Option<String>,
    /// Labels.
    pub labels: BTreeMap<String, String>,
    /// Published ports with the host ports actually bound (empty when neither running nor
    /// paused).
    pub ports: Vec<BoundPort>,
    /// When it last started.
    pub started_at: Option<Timestamp>,
    /// When it last stopped.
    pub finished_at: Option<Timestamp>,
    /// Whether the storage limit is enforced for this container.
    pub storage_limit_enforced: bool,
    /// The names of the networks it is attached to.
    pub networks: Vec<String>,
}

/// Options for reading a container's logs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogOptions {
    /// Keep streaming new lines until the container stops.
    pub follow: bool,
    /// Only lines at or after this time.
    pub since: Option<Timestamp>,
    /// Only the last N lines (before following).
    pub tail: Option<u32>,
}

/// One line of a container's output.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct LogChunk {
    /// When the container wrote it (engine time).
    pub timestamp: Timestamp,
    /// stdout or stderr.
    pub stream: LogStream,
    /// The line, without its trailing newline (lossily decoded UTF-8).
    pub message: String,
}

/// A resource usage sample.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContainerStats {
    /// When it was sampled.
    pub at: Timestamp,
    /// CPU use as a percentage of one core (200.0 = two cores busy).
    pub cpu_percent: f64,
    /// Memory in use, in bytes.
    pub memory_bytes: u64,
    /// The memory limit, in bytes.
    pub memory_limit_bytes: u64,
    /// Processes running.
    pub pids: Option<u64>,
    /// The most processes the container may have, when the engine reports it.
    pub pids_limit: Option<u64>,
}
