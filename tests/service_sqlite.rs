//! The service suite on [`SqliteStore`](vibebox_sqlite::SqliteStore), a fresh in-memory database
//! per test.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod backend {
    use std::sync::Arc;

    use vibebox_core::Store;
    use vibebox_sqlite::SqliteStore;

    pub async fn fresh_store() -> Arc<dyn Store> {
        Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap())
    }
}

mod service;
