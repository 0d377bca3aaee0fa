#![doc = include_str!("../README.md")]

mod activity;
mod channels;
mod config;
mod connection;
mod error;
mod gatekeeper;
mod handler;
mod host_key;
mod readiness;
mod server;
mod service_gatekeeper;

pub use activity::SSH_SESSION;
pub use config::SshConfig;
pub use error::{Error, Result};
pub use gatekeeper::{Gatekeeper, Grant, PublicKeyInfo, Refusal};
pub use host_key::HostKey;
pub use server::SshServer;
pub use service_gatekeeper::ServiceGatekeeper;
