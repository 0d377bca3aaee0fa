use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::ContainerId;
use crate::clock::Timestamp;

/// What happened to a container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum RuntimeEventKind {
    /// Created.
    Create,
    /// Started.
    Start,
    /// Its main process ended.
    Die {
        /// The exit code, when reported.
        exit_code: Option<i64>,
    },
    /// Stopped on request.
    Stop,
    /// Killed by the kernel for exceeding its memory limit.
    Oom,
    /// Removed.
    Destroy,
    /// Frozen (paused).
    Pause,
    /// Thawed (unpaused).
    Unpause,
    /// Anything else (the engine's action name).
    Other {
        /// The engine's name for the action.
        action: String,
    },
}

/// An engine event about a container.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RuntimeEvent {
    /// The container.
    pub container_id: ContainerId,
    /// What happened.
    pub kind: RuntimeEventKind,
    /// The container's labels.
    pub labels: BTreeMap<String, String>,
    /// When it happened.
    pub at: Timestamp,
}
