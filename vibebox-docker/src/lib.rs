//! `ContainerRuntime` on a Docker engine (bollard).
//!
//! Skeleton: the Docker runtime lands with issue 4. Until then this crate only re-exports the
//! contract it will implement.

pub use vibebox_core::runtime::ContainerRuntime;
