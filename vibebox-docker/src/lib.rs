//! VibeBox's [`ContainerRuntime`](vibebox_core::runtime::ContainerRuntime) on a Docker engine,
//! through bollard.
//!
//! ```no_run
//! # async fn demo() -> vibebox_core::error::Result<()> {
//! use vibebox_core::runtime::ContainerRuntime;
//! use vibebox_docker::DockerRuntime;
//!
//! // DOCKER_HOST, or unix:///var/run/docker.sock; the API version is negotiated.
//! let docker = DockerRuntime::from_env().await?;
//! docker.ping().await?;
//! println!("storage limits enforced: {}", docker.capabilities().storage_limit);
//! # Ok(()) }
//! ```
//!
//! What it does on the engine (DESIGN.md §7):
//! - containers drop every capability and add back the profile's allowlist, are never
//!   privileged, share no host namespace, mount nothing from the host, keep the default
//!   seccomp profile, run an init as PID 1 and have restart policy `no`;
//! - memory with swap equal to it, CPU as nano_cpus, a pids limit, and a disk quota only
//!   where the storage driver enforces one (`capabilities().storage_limit`, and
//!   `ContainerInfo::storage_limit_enforced` per container);
//! - ports are published on the address the spec names, and a port without a host port gets
//!   one from the engine, reported by `inspect`;
//! - an absent image is pulled once, with a timeout; if that fails, create is `NotFound` with
//!   "image … is not present and could not be pulled: …";
//! - an engine that is down is `Unavailable` ("the Docker engine is not running …").

mod container_runtime;
mod error;
mod events;
mod exec;
mod info;
mod logs;
mod runtime;
mod spec;
mod stats;

pub use runtime::{DEFAULT_DOCKER_HOST, DockerOptions, DockerRuntime, host_from_env};
pub use vibebox_core::runtime::ContainerRuntime;
