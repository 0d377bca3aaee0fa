//! The service suite on [`PgStore`](vibebox_postgres::PgStore), a fresh database per test on
//! the server `VIBEBOX_TEST_POSTGRES_URL` names (`scripts/test` starts one). Without it the tests
//! fail with a message saying so; they never skip quietly.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod backend {
    use std::sync::Arc;

    use vibebox_core::Store;

    pub async fn fresh_store() -> Arc<dyn Store> {
        Arc::new(vibebox_postgres::testing::fresh_store().await.unwrap())
    }
}

mod service;
