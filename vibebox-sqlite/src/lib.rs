#![doc = include_str!("../README.md")]

mod audit;
mod auth;
mod codec;
mod environments;
mod error;
mod extensions;
mod logs;
mod ports;
mod projects;
mod retention;
mod sessions;
mod ssh_keys;
mod store;
mod teams;
mod users;
mod variables;

pub use store::{MIGRATOR, SqliteStore, SqliteStoreOptions, URL_SCHEMES};

/// Every `Store` trait is implemented, so a `SqliteStore` is a `Store`.
const _: fn() = || {
    fn is_store<T: vibebox_core::Store>() {}
    is_store::<SqliteStore>();
};
