#![doc = include_str!("../README.md")]

mod container_runtime;
mod error;
mod events;
mod exec;
mod exec_registry;
mod freeze_gates;
mod info;
mod kill;
mod logs;
mod network;
mod pause;
mod runtime;
mod spec;
mod stats;

pub use runtime::{DEFAULT_DOCKER_HOST, DockerOptions, DockerRuntime, host_from_env};
pub use vibebox_core::runtime::ContainerRuntime;
