//! The service's own test suite: every operation, on MemoryStore + FakeRuntime.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod auth;
mod environments;
mod extensions;
mod lifecycle;
mod logs;
mod properties;
mod reconcile;
mod sessions;
mod teams_projects;
mod users;
