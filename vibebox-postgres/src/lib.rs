#![doc = include_str!("../README.md")]

mod audit;
mod auth;
mod connect;
mod environments;
mod error;
mod extensions;
mod logs;
mod migrate;
mod projects;
mod rows;
mod sessions;
mod ssh_keys;
mod teams;
#[cfg(feature = "testing")]
pub mod testing;
mod users;

pub use connect::{DEFAULT_STATEMENT_TIMEOUT, PgStore, PgStoreOptions, URL_SCHEMES, redact_url};
pub use migrate::MIGRATOR;
pub use vibebox_core::store::Store;
