#![doc = include_str!("../README.md")]

pub mod clock;
pub mod config;
pub mod domain;
pub mod error;
pub mod events;
pub mod id;
pub mod lifecycle;
pub mod password;
pub mod rbac;
pub mod runtime;
pub mod secrets;
pub mod service;
pub mod ssh;
pub mod store;
pub mod throttle;
pub mod tokens;
pub mod validate;

#[cfg(feature = "testing")]
pub mod testing;

pub use config::Config;
pub use error::{Error, ErrorKind, Result};
pub use rbac::Actor;
pub use runtime::ContainerRuntime;
pub use secrets::Secrets;
pub use service::{Vibebox, VibeboxBuilder};
pub use store::Store;
