//! No password reaches the traces. This test has its own binary: tracing caches which callsites
//! are enabled process-wide, so a test that installs a subscriber must not share a process with
//! tests that run without one.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, Mutex};
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

#[derive(Clone, Default)]
struct Capture(Arc<Mutex<Vec<u8>>>);

impl std::io::Write for Capture {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Capture {
    type Writer = Capture;
    fn make_writer(&'a self) -> Self::Writer {
        self.clone()
    }
}

#[tokio::test(flavor = "current_thread")]
async fn password_never_reaches_traces() {
    let capture = Capture::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_ansi(false)
        .with_writer(capture.clone())
        .finish();
    let _guard = tracing::subscriber::set_default(subscriber);
    tracing::callsite::rebuild_interest_cache();

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

    let logs = String::from_utf8(capture.0.lock().unwrap().clone()).unwrap();
    assert!(!logs.is_empty(), "the subscriber saw the store's traces");
    assert!(!logs.contains(CANARY), "{logs}");
    assert!(
        logs.contains("postgres:***@"),
        "the URL is traced, redacted: {logs}"
    );
}
