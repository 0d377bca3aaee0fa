//! `Store` on PostgreSQL (sqlx): shared state for several server replicas.
//!
//! Skeleton: the PostgreSQL store lands with issue 3. Until then this crate only re-exports the
//! contract it will implement.

pub use vibebox_core::store::Store;
