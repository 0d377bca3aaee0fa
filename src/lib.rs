#![doc = include_str!("../README.md")]
//!
//! This facade re-exports [`vibebox_core`]; the adapter crates are behind the features
//! `docker`, `sqlite`, `postgres` and `http`.

pub use vibebox_core::*;
