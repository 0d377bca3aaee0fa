//! `Store` on SQLite (sqlx): the embedded default.
//!
//! Skeleton: the SQLite store lands with issue 3. Until then this crate only re-exports the
//! contract it will implement.

pub use vibebox_core::store::Store;
