//! The `vibebox` binary end to end: a real server (SQLite on disk, the local Docker engine)
//! in this process, and the CLI run as a subprocess the way a person or a script runs it.
//! The interactive parts run under tmux (`send-keys`, `capture-pane`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

#[path = "../../../tests/docker/mod.rs"]
#[allow(unused_imports)]
mod harness;

mod common;

mod auth;
mod envs;
mod errors;
mod exec;
mod files;
mod forward;
mod prompts;
mod shell;
mod ssh;
mod tmux;
