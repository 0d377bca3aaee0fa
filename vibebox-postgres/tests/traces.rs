//! No password reaches the traces. This test has its own binary: tracing caches which callsites
//! are enabled process-wide, so a test that installs a subscriber must not share a process with
//! tests that run without one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::time::Duration;

use vibebox_core::store::{StoreHealth, UsersStore};
use vibebox_postgres::{PgStore, PgStoreOptions};

const CANARY: &str = "canary-pw-7f3a9";

fn with_password(url: &str, password: &str) -> String {
    url.replacen(
        "postgres://postgres@",
        &format!("postgres://postgres:{password}@"),
        1,
    )
}

#[tokio::test(flavor = "current_thread")]
async fn password_never_reaches_traces() {
    let (capture, _guard) = vibebox_core::testing::TraceCapture::install();

    let url = vibebox_postgres::testing::fresh_database_url()
        .await
        .unwrap();
    let store = PgStore::connect(&with_password(&url, CANARY))
        .await
        .unwrap();
    store.ping().await.unwrap();
    store.count_users().await.unwrap();
    let refused = format!("postgres://u:{CANARY}@127.0.0.1:1/db");
    let one_second = PgStoreOptions::default().acquire_timeout(Duration::from_secs(1));
    let _ = tokio::time::timeout(
        Duration::from_secs(30),
        PgStore::connect_with(&refused, one_second),
    )
    .await;

    let logs = capture.text();
    assert!(!logs.is_empty(), "the subscriber saw the store's traces");
    assert!(!logs.contains(CANARY), "{logs}");
    assert!(
        logs.contains("postgres:***@"),
        "the URL is traced, redacted: {logs}"
    );
}
