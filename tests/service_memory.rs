//! The service suite on [`MemoryStore`](vibebox_core::testing::MemoryStore).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod backend {
    use std::sync::Arc;

    use vibebox_core::Store;
    use vibebox_core::testing::MemoryStore;

    pub async fn fresh_store() -> Arc<dyn Store> {
        Arc::new(MemoryStore::new())
    }
}

mod service;
