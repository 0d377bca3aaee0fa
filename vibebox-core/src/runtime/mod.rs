//! The container engine: the [`ContainerRuntime`] trait and the data it speaks.
//!
//! # Contract
//!
//! - A container is addressed by the engine's id ([`ContainerId`]). Operations on a container
//!   that does not exist return `NotFound` (resource `container`).
//! - `create` never pulls silently forever: an absent image that cannot be pulled is `NotFound`
//!   with a message naming the image.
//! - An engine that cannot be reached is `Unavailable` (what `container engine`).
//! - `start` of a running container and `stop` of a stopped one succeed (idempotent), and so
//!   do connecting a container to a network it is on and disconnecting it from one it is not.
//! - Streams (`logs`, `stats`, `events`, exec output) end when their source ends; errors are
//!   items of the stream.
//!
//! The conformance suite (`runtime_conformance!`, feature `testing`) checks all of this.

mod events;
mod exec;
mod info;
mod network;
mod spec;

pub use events::{RuntimeEvent, RuntimeEventKind};
pub use exec::{ExecId, ExecInfo, ExecOutput, ExecSession, ExecSpec, TerminalSize};
pub use info::{BoundPort, ContainerInfo, ContainerState, ContainerStats, LogChunk, LogOptions};
pub use network::{Ipv4Subnet, NetworkAttachment, NetworkInfo, NetworkSpec};
pub use spec::{
    ContainerId, ContainerSpec, HardeningProfile, LABEL_ENVIRONMENT_ID, LABEL_MANAGED,
    LABEL_PROJECT_ID, Limits, PortSpec, VolumeMount,
};

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;

use crate::error::{Error, Result};

/// What an engine can enforce or do.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Capabilities {
    /// Whether storage limits are enforced (Docker: overlay2 on XFS with pquota).
    pub storage_limit: bool,
    /// Whether an exec's process can be killed (`kill_exec`).
    pub kill_exec: bool,
    /// Whether `stats` reports live metrics.
    pub stats: bool,
    /// Whether ports the engine publishes are reachable from this process (the engine runs on
    /// this machine), so a tunnel to a published port may skip the engine.
    pub local_ports: bool,
    /// Whether containers can be frozen and thawed ([`ContainerRuntime::pause`] and
    /// [`ContainerRuntime::resume`]), so environments can be suspended.
    pub pause: bool,
}

/// A container engine.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ContainerRuntime: Send + Sync + std::fmt::Debug + 'static {
    /// What this engine can enforce, e.g. whether storage limits work.
    fn capabilities(&self) -> Capabilities;

    /// Checks that the engine answers. Errors: `Unavailable`.
    async fn ping(&self) -> Result<()>;

    /// Whether the image is present locally.
    async fn image_present(&self, image: &str) -> Result<bool>;

    /// Creates a stopped container from the spec and returns its id.
    ///
    /// Errors: `NotFound` if the image is absent and cannot be pulled (the message names the
    /// image); `AlreadyExists` if a container with the spec's name exists; `Unavailable`.
    async fn create(&self, spec: &ContainerSpec) -> Result<ContainerId>;

    /// Starts a created or stopped container; a running one is left alone.
    ///
    /// Errors: `NotFound`; `Conflict` when it is paused ([`resume`](Self::resume) it);
    /// `Internal` with the engine's reason when it cannot start (a port already bound, a bad
    /// command); `Unavailable`.
    async fn start(&self, id: &ContainerId) -> Result<()>;

    /// Stops the container: a polite signal, then a kill after `grace`. A stopped container is
    /// left alone. Errors: `NotFound`; `Unavailable`.
    async fn stop(&self, id: &ContainerId, grace: Duration) -> Result<()>;

    /// Kills every process of the container at once (SIGKILL to all of them, no grace) and
    /// returns once it has stopped. Works when the container is saturated (at its pids or
    /// memory limit) and no new process could start in it. A stopped container is left
    /// alone. Errors: `NotFound`; `Unavailable`; `Timeout` when the engine accepted the kill
    /// but the container did not stop in time.
    async fn kill(&self, id: &ContainerId) -> Result<()>;

    /// Freezes every process of a running container (the cgroup freezer: Docker's `pause`),
    /// keeping its memory; they get no CPU until [`resume`](Self::resume). A paused container
    /// is left alone. Exec into a paused container fails with `Conflict`.
    ///
    /// Errors: `NotFound`; `Conflict` when it does not run; `Unsupported` when the engine
    /// cannot freeze (the default, with [`Capabilities::pause`] false); `Unavailable`.
    async fn pause(&self, id: &ContainerId) -> Result<()> {
        let _ = id;
        Err(Error::Unsupported(
            "this container engine cannot pause containers".into(),
        ))
    }

    /// Thaws a paused container; a running one is left alone.
    ///
    /// Errors: `NotFound`; `Conflict` when it does not run; `Unsupported` (the default);
    /// `Unavailable`.
    async fn resume(&self, id: &ContainerId) -> Result<()> {
        let _ = id;
        Err(Error::Unsupported(
            "this container engine cannot resume paused containers".into(),
        ))
    }

    /// Removes the container (forcefully if it runs) with its anonymous volumes.
    /// Errors: `NotFound`; `Unavailable`.
    async fn remove(&self, id: &ContainerId) -> Result<()>;

    /// Removes a named volume. Errors: `NotFound` (`volume`); `Conflict` while a container
    /// uses it; `Unavailable`.
    async fn remove_volume(&self, name: &str) -> Result<()>;

    /// The container's state, bound ports and labels. Errors: `NotFound`; `Unavailable`.
    async fn inspect(&self, id: &ContainerId) -> Result<ContainerInfo>;

    /// Every container (running or not) carrying all of the given labels.
    async fn list(&self, labels: &[(String, String)]) -> Result<Vec<ContainerInfo>>;

    /// The container's output, stdout and stderr kept apart, with timestamps. With `follow`,
    /// the stream goes on until the container stops.
    fn logs(&self, id: &ContainerId, options: LogOptions) -> BoxStream<'static, Result<LogChunk>>;

    /// Starts a process in a running container. Errors: `NotFound`; `Conflict` if the
    /// container is not running; `Unavailable`.
    async fn exec(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession>;

    /// Resizes an exec's terminal. Errors: `NotFound` (`exec`); `InvalidInput` without a TTY.
    async fn resize_exec(&self, exec: &ExecId, size: TerminalSize) -> Result<()>;

    /// Whether the exec still runs, and its exit code once it has ended.
    /// Errors: `NotFound` (`exec`).
    async fn inspect_exec(&self, exec: &ExecId) -> Result<ExecInfo>;

    /// Kills an exec's process (the engine may have no native call for it; the adapter finds a
    /// way or returns `Unsupported`). An exec that already ended is left alone. Errors:
    /// `Conflict` while its container is paused (nothing can be signalled from inside a frozen
    /// container; resume it first).
    async fn kill_exec(&self, exec: &ExecId) -> Result<()>;

    /// Live resource usage, about once a second, until the container stops.
    fn stats(&self, id: &ContainerId) -> BoxStream<'static, Result<ContainerStats>>;

    /// Engine events about containers carrying all of the given labels, as they happen.
    fn events(&self, labels: &[(String, String)]) -> BoxStream<'static, Result<RuntimeEvent>>;

    /// Creates a bridge network of its own on the given subnet. Containers on it reach each
    /// other (by container name and alias); containers on other networks cannot reach them.
    ///
    /// Errors: `AlreadyExists` (`network`, field `name`) when a network has that name;
    /// `Conflict` when the subnet overlaps one the engine already uses (another subnet may be
    /// tried); `Unavailable`.
    async fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo>;

    /// The network with this name. Errors: `NotFound` (`network`); `Unavailable`.
    async fn inspect_network(&self, name: &str) -> Result<NetworkInfo>;

    /// Every network carrying all of the given labels; with no labels, every network of the
    /// engine (the ones VibeBox did not create too, so their subnets can be avoided).
    async fn list_networks(&self, labels: &[(String, String)]) -> Result<Vec<NetworkInfo>>;

    /// Removes a network. Stopped containers attached to it lose it (they cannot start again
    /// until it is back). Errors: `NotFound` (`network`); `Conflict` while a running container
    /// is attached; `Unavailable`.
    async fn remove_network(&self, name: &str) -> Result<()>;

    /// Attaches a container (running, paused or stopped) to the network `attachment.network`,
    /// besides the networks it is already on. Containers on that network reach it by its
    /// container name and by `attachment.aliases`; while it is live it is among the network's
    /// [`containers`](NetworkInfo::containers), and [`inspect`](Self::inspect) lists the
    /// network in [`ContainerInfo::networks`] from now on.
    ///
    /// Idempotent: a container already on the network is left alone, aliases included (they
    /// are not changed; disconnect it first to change them).
    ///
    /// Errors: `NotFound` (`container`, or `network`); `InvalidInput` (`aliases`) for aliases
    /// on the engine's default network (`bridge`), which has no names; `Unavailable`.
    async fn connect_network(&self, id: &ContainerId, attachment: &NetworkAttachment)
    -> Result<()>;

    /// Detaches a container (running, paused or stopped) from a network; `bridge` names the
    /// engine's default network. A running container keeps running, on its other networks
    /// (or on none).
    ///
    /// Idempotent: a container that is not on the network is left alone.
    ///
    /// Errors: `NotFound` (`container`, or `network`); `Unavailable`.
    async fn disconnect_network(&self, id: &ContainerId, network: &str) -> Result<()>;
}
