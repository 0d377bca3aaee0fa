//! The service's test suite: every operation of the Rust API, on a fake runtime and the store
//! backend that the including test target provides as `crate::backend::fresh_store()`.
//!
//! It is compiled once per backend: `tests/service_memory.rs`, `tests/service_sqlite.rs` and
//! `tests/service_postgres.rs`.

mod harness;

mod auth;
mod collector;
mod environments;
mod exec;
mod extensions;
mod files;
mod health;
mod idle;
mod lifecycle;
mod logs;
mod networks;
mod pool;
mod properties;
mod reconcile;
mod sessions;
mod share_levels;
mod suspend;
mod teams_projects;
mod tunnels;
mod users;
