#![doc = include_str!("../README.md")]
//!
//! This facade re-exports [`vibebox_core`]; the adapter crates are behind the features
//! `docker`, `sqlite`, `postgres` and `http`.

pub use vibebox_core::*;

mod connect;

pub use connect::{StoreBackend, connect_store};

/// The SQLite store (feature `sqlite`).
#[cfg(feature = "sqlite")]
pub use vibebox_sqlite as sqlite;

/// The PostgreSQL store (feature `postgres`).
#[cfg(feature = "postgres")]
pub use vibebox_postgres as postgres;

/// The Docker runtime (feature `docker`).
#[cfg(feature = "docker")]
pub use vibebox_docker as docker;

/// The HTTP front (feature `http`).
#[cfg(feature = "http")]
pub use vibebox_http as http;
