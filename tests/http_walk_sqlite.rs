//! The end-to-end walk through HTTP (`tests/http_walk/`) on the real Docker engine and
//! [`SqliteStore`](vibebox_sqlite::SqliteStore) on a file in the temporary directory, removed
//! with the run's containers and volumes at the end, also when the walk fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

mod backend {
    use vibebox::config::Config;

    use crate::docker::D;

    pub async fn harness(tweak: impl FnOnce(&mut Config)) -> D {
        D::with(tweak).await
    }
}

mod http_walk;
