use std::collections::BTreeMap;

use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use super::NetworkAttachment;
use crate::domain::Protocol;

/// Label marking containers VibeBox manages.
pub const LABEL_MANAGED: &str = "vibebox.managed";
/// Label carrying the environment id.
pub const LABEL_ENVIRONMENT_ID: &str = "vibebox.environment_id";
/// Label carrying the project id.
pub const LABEL_PROJECT_ID: &str = "vibebox.project_id";

/// An engine's container id.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ContainerId(pub String);

impl ContainerId {
    /// The id as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Display for ContainerId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

/// How much a container may use.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Limits {
    /// CPU in billionths of a core.
    pub nano_cpus: i64,
    /// Memory in bytes; swap is set equal to it (no extra swap).
    pub memory_bytes: i64,
    /// The largest number of processes.
    pub pids_limit: i64,
    /// Disk in bytes, applied only where the engine supports it.
    pub storage_bytes: Option<i64>,
}

/// The security profile of a container. Both drop every capability, are never privileged,
/// share no host namespace, never mount the engine's socket and keep the default seccomp.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum HardeningProfile {
    /// Adds back the capabilities sudo and package managers need (CHOWN, DAC_OVERRIDE,
    /// FOWNER, SETUID, SETGID, KILL); setuid binaries work.
    #[default]
    Dev,
    /// No capabilities added back, and `no-new-privileges`.
    Strict,
}

impl HardeningProfile {
    /// The capabilities added back after dropping all.
    pub fn cap_add(self) -> &'static [&'static str] {
        match self {
            HardeningProfile::Dev => &[
                "CHOWN",
                "DAC_OVERRIDE",
                "FOWNER",
                "SETUID",
                "SETGID",
                "KILL",
            ],
            HardeningProfile::Strict => &[],
        }
    }

    /// Whether `no-new-privileges` is set.
    pub fn no_new_privileges(self) -> bool {
        matches!(self, HardeningProfile::Strict)
    }
}

/// A port to publish.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortSpec {
    /// The port inside the container.
    pub container_port: u16,
    /// TCP or UDP.
    pub protocol: Protocol,
    /// The host address to bind (127.0.0.1 by default).
    pub host_ip: String,
    /// The host port; `None` lets the engine choose.
    pub host_port: Option<u16>,
}

/// A named volume mounted into a container. The engine creates it on first use (filled with
/// what the image has at `target`) and keeps it when the container is removed, until
/// [`ContainerRuntime::remove_volume`](super::ContainerRuntime::remove_volume).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VolumeMount {
    /// The volume's name (unique on the engine).
    pub name: String,
    /// The absolute path inside the container.
    pub target: String,
}

/// Everything needed to create an environment's container. `Debug` never shows variable
/// values.
#[derive(Clone, Debug)]
pub struct ContainerSpec {
    /// The container's name (unique on the engine).
    pub name: String,
    /// The image reference.
    pub image: String,
    /// The command; `None` uses the image's.
    pub cmd: Option<Vec<String>>,
    /// The user to run as (`1000`); `None` uses the image's.
    pub user: Option<String>,
    /// The hostname inside the container.
    pub hostname: Option<String>,
    /// Environment variables, decrypted only for this call.
    pub env: Vec<(String, SecretString)>,
    /// Resource limits.
    pub limits: Limits,
    /// Ports to publish.
    pub ports: Vec<PortSpec>,
    /// Named volumes to mount (never host paths).
    pub volumes: Vec<VolumeMount>,
    /// Labels (always including the `vibebox.*` ones).
    pub labels: BTreeMap<String, String>,
    /// The security profile.
    pub hardening: HardeningProfile,
    /// The network to join instead of the engine's default bridge; it must exist.
    pub network: Option<NetworkAttachment>,
}
