use serde::{Deserialize, Serialize};

use super::string_enum;
use crate::clock::Timestamp;
use crate::id::{EnvironmentId, SessionId};

/// What a session runs.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionType {
    /// A VS Code server (code-server by default).
    VscodeServer,
    /// A tmux session that survives its clients.
    Tmux,
    /// A login shell.
    Shell,
}
string_enum!(SessionType, "session_type", {
    VscodeServer => "vscode_server", Tmux => "tmux", Shell => "shell",
});

/// Where a session is in its lifecycle.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SessionStatus {
    /// Its process is being started.
    Starting,
    /// Used recently.
    Active,
    /// No activity for `idle_timeout_minutes`; the reaper will terminate it.
    Idle,
    /// Ended. Terminal.
    Terminated,
}
string_enum!(SessionStatus, "status", {
    Starting => "starting", Active => "active", Idle => "idle", Terminated => "terminated",
});

impl SessionStatus {
    /// Whether the session still counts for the (environment, type, name) uniqueness rule.
    pub fn is_live(self) -> bool {
        self != SessionStatus::Terminated
    }
}

/// A process inside an environment: a shell, a tmux session or a VS Code server.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Session {
    /// Identity.
    pub id: SessionId,
    /// The environment.
    pub environment_id: EnvironmentId,
    /// What it runs.
    pub session_type: SessionType,
    /// 1–64 characters of `[A-Za-z0-9_-]` (tmux reserves `.` and `:`); unique per
    /// (environment, type) among live sessions.
    pub session_name: String,
    /// Lifecycle state.
    pub status: SessionStatus,
    /// The process id inside the container, when known.
    pub pid: Option<i64>,
    /// Minutes without activity before the session goes idle (default 30).
    pub idle_timeout_minutes: i32,
    /// The last terminal input, output or exec.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub last_activity_at: Timestamp,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}
