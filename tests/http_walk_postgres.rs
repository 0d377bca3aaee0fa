//! The end-to-end walk through HTTP (`tests/http_walk/`) on the real Docker engine and
//! [`PgStore`](vibebox_postgres::PgStore) on a fresh database of the server
//! `VIBEBOX_TEST_POSTGRES_URL` names (`scripts/test` starts a throwaway cluster). Without the
//! server or the engine the walk fails, saying so; it never skips.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

mod backend {
    use std::sync::Arc;

    use vibebox::config::Config;

    use crate::docker::D;

    pub async fn harness(tweak: impl FnOnce(&mut Config)) -> D {
        let store = match vibebox_postgres::testing::fresh_store().await {
            Ok(store) => store,
            Err(e) => panic!("the PostgreSQL walk needs a server: {e}"),
        };
        D::on_store(Arc::new(store), tweak).await
    }
}

mod http_walk;
