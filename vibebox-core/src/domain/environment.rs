use serde::{Deserialize, Serialize};

use super::EnvironmentHealth;
use super::string_enum;
use crate::clock::Timestamp;
use crate::id::{EnvironmentId, PortId, ProjectId, UserId, VariableId};

/// Where an environment is in its lifecycle (see [`lifecycle`](crate::lifecycle)).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EnvironmentStatus {
    /// No container runs.
    Stopped,
    /// A container is being created or started.
    Starting,
    /// The container runs.
    Running,
    /// The container is being stopped.
    Stopping,
    /// Something failed; `error_message` says what.
    Error,
    /// The container's processes are frozen (the engine's pause), their memory kept. Any
    /// access resumes it.
    Suspended,
    /// A suspended container is being thawed.
    Resuming,
}
string_enum!(EnvironmentStatus, "status", {
    Stopped => "stopped", Starting => "starting", Running => "running",
    Stopping => "stopping", Error => "error", Suspended => "suspended",
    Resuming => "resuming",
});

/// When an idle environment is put to sleep (DESIGN.md §11): suspended after
/// `suspend_after_minutes` without activity, and stopped after `stop_after_hours` suspended.
/// `null` means never. Activity is terminal input, exec, tunnel and preview traffic, SSH, file
/// transfers, and CPU use above a small threshold; an open but silent connection is not.
///
/// On the wire both fields must be present (`null` for never), so that a client that forgets
/// one does not switch it off by accident.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct IdlePolicy {
    /// Minutes without activity before the environment is suspended (1–10080); `null`: never.
    #[serde(deserialize_with = "present_or_null")]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, minimum = 1, maximum = 10080)
    )]
    pub suspend_after_minutes: Option<i32>,
    /// Hours suspended before the environment is stopped (1–8760); `null`: never.
    #[serde(deserialize_with = "present_or_null")]
    #[cfg_attr(
        feature = "openapi",
        schema(required = true, minimum = 1, maximum = 8760)
    )]
    pub stop_after_hours: Option<i32>,
}

impl IdlePolicy {
    /// Suspend after 15 minutes without activity, stop after 24 hours suspended.
    pub const DEFAULT: IdlePolicy = IdlePolicy {
        suspend_after_minutes: Some(15),
        stop_after_hours: Some(24),
    };
    /// Never suspended or stopped for idleness.
    pub const NEVER: IdlePolicy = IdlePolicy {
        suspend_after_minutes: None,
        stop_after_hours: None,
    };
}

impl Default for IdlePolicy {
    fn default() -> Self {
        Self::DEFAULT
    }
}

/// A field that must be present but may be `null` (serde treats a missing `Option` as `None`
/// unless the field has its own deserializer).
fn present_or_null<'de, D>(d: D) -> Result<Option<i32>, D::Error>
where
    D: serde::Deserializer<'de>,
{
    Option::<i32>::deserialize(d)
}

/// A development environment: one container with limits, ports and variables.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Environment {
    /// Identity.
    pub id: EnvironmentId,
    /// The project it belongs to.
    pub project_id: ProjectId,
    /// 1–100 characters.
    pub name: String,
    /// Slug rule; unique per project.
    pub slug: String,
    /// The user who created it (developers manage only their own).
    pub creator_id: UserId,
    /// A valid image reference.
    pub base_image: String,
    /// The runtime's container id, while a container exists.
    pub container_id: Option<String>,
    /// Lifecycle state.
    pub status: EnvironmentStatus,
    /// CPU cores, > 0 (default 2.0).
    pub cpu_limit: f64,
    /// Memory in MB, ≥ 64 (default 4096).
    pub memory_limit: i64,
    /// Storage in MB (default 20480); enforced only where the engine can.
    pub storage_limit: i64,
    /// Why the environment is in `error`.
    pub error_message: Option<String>,
    /// When it is suspended and stopped for idleness.
    #[serde(default)]
    pub idle_policy: IdlePolicy,
    /// Optimistic-concurrency version; every write increments it.
    pub version: i64,
    /// OOM kills and warnings as last observed (see [`EnvironmentHealth`]); not written by
    /// `update_environment` and not versioned.
    #[serde(default)]
    pub health: EnvironmentHealth,
    /// When `status` last changed (used to find environments stuck mid-transition).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub status_changed_at: Timestamp,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// A transport protocol for a port mapping.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    /// TCP.
    Tcp,
    /// UDP.
    Udp,
}
string_enum!(Protocol, "protocol", { Tcp => "tcp", Udp => "udp" });

/// Who may open a port's preview URL (DESIGN.md §3). Ordered from the most closed to the most
/// open: each level lets in everyone the levels before it let in.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ShareLevel {
    /// Those who may exec in the environment (the default).
    #[default]
    Private,
    /// Any member of the team that owns the project, viewers included; in a personal project,
    /// the owner alone.
    Team,
    /// Any signed-in user of this server.
    Authenticated,
    /// Anyone, with no credential.
    Public,
}
string_enum!(ShareLevel, "share_level", {
    Private => "private", Team => "team", Authenticated => "authenticated", Public => "public",
});

/// A port published from an environment's container.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentPort {
    /// Identity.
    pub id: PortId,
    /// The environment.
    pub environment_id: EnvironmentId,
    /// 1–65535; unique per (environment, protocol).
    pub container_port: u16,
    /// 1024–65535, unique across all environments; `None` lets the engine choose at start.
    pub host_port: Option<u16>,
    /// The host port bound at the last start (read back from the engine); `None` when stopped.
    pub bound_host_port: Option<u16>,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// Who may open the port's preview URL ([`ShareLevel::Private`] unless changed).
    pub share_level: ShareLevel,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// An environment variable. Encrypted values hold ciphertext from [`Secrets`](crate::secrets::Secrets)
/// and are decrypted only to create the container.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentVariable {
    /// Identity.
    pub id: VariableId,
    /// The environment.
    pub environment_id: EnvironmentId,
    /// `^[A-Z_][A-Z0-9_]*$`; unique per environment.
    pub key: String,
    /// The plaintext, or the ciphertext when `is_encrypted`.
    pub value: String,
    /// Whether `value` is ciphertext.
    pub is_encrypted: bool,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

impl std::fmt::Debug for EnvironmentVariable {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EnvironmentVariable")
            .field("id", &self.id)
            .field("environment_id", &self.environment_id)
            .field("key", &self.key)
            .field(
                "value",
                &if self.is_encrypted {
                    "<ciphertext>"
                } else {
                    self.value.as_str()
                },
            )
            .field("is_encrypted", &self.is_encrypted)
            .finish()
    }
}
