//! What VibeBox observed about an environment beyond its lifecycle status: kills by the
//! kernel's OOM killer and the warnings that say a `running` environment is not well.
//!
//! Health is observed, not desired state: it is written by the service's watchers (engine
//! events, the health pass, the log collector) through its own store calls, never through
//! the compare-and-set of [`update_environment`](crate::store::EnvironmentsStore::update_environment),
//! and it does not change the environment's `version`.

use serde::{Deserialize, Serialize};

use super::string_enum;
use crate::clock::Timestamp;

/// An environment's health as last observed.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentHealth {
    /// Processes the kernel killed for exceeding the memory limit, since the environment was
    /// created (the main process or any other).
    pub oom_kills: i64,
    /// When the last of them was killed.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub last_oom_kill_at: Option<Timestamp>,
    /// What is wrong now; empty when nothing is known to be wrong.
    pub warnings: Vec<HealthWarning>,
}

impl EnvironmentHealth {
    /// Whether a warning is raised.
    pub fn is_degraded(&self) -> bool {
        !self.warnings.is_empty()
    }

    /// The warning with this code, if raised.
    pub fn warning(&self, code: WarningCode) -> Option<&HealthWarning> {
        self.warnings.iter().find(|w| w.code == code)
    }
}

/// Something wrong with an environment that its status does not say.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HealthWarning {
    /// What kind of trouble.
    pub code: WarningCode,
    /// What was seen and what to do, for people.
    pub message: String,
    /// When it was first seen (kept while the warning stays raised).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub since: Timestamp,
}

/// The kinds of health warning.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WarningCode {
    /// The processes are at the environment's pids limit: nothing new can start.
    PidsLimit,
    /// Memory use is at the environment's limit.
    MemoryLimit,
    /// Commands can no longer be started in the environment.
    ExecFailing,
    /// The log collector keeps failing: new output is not being stored.
    LogCollection,
}
string_enum!(WarningCode, "code", {
    PidsLimit => "pids_limit", MemoryLimit => "memory_limit",
    ExecFailing => "exec_failing", LogCollection => "log_collection",
});
