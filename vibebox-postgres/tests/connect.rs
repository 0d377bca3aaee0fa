//! Connecting: unreachable servers are `Unavailable` (never a hang or a panic), and the URL's
//! password never shows in `Debug`, errors or traces.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use vibebox_core::ErrorKind;
use vibebox_core::store::{StoreHealth, UsersStore};
use vibebox_postgres::{PgStore, PgStoreOptions, URL_SCHEMES};

const CANARY: &str = "canary-pw-7f3a9";

fn one_second() -> PgStoreOptions {
    PgStoreOptions::default().acquire_timeout(Duration::from_secs(1))
}

/// Guards a test against hanging: 30 s is far above the 1 s acquire timeout.
async fn bounded<T>(fut: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(Duration::from_secs(30), fut)
        .await
        .expect("connect must return, not hang")
}

/// The test server's URL for `database` with a password added to it.
fn with_password(url: &str, password: &str) -> String {
    url.replacen(
        "postgres://postgres@",
        &format!("postgres://postgres:{password}@"),
        1,
    )
}

#[tokio::test]
async fn refused_port_is_unavailable_and_hides_the_password() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let url = format!("postgres://u:{CANARY}@127.0.0.1:{port}/db");
    let err = bounded(PgStore::connect_with(&url, one_second()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    let shown = err.to_string();
    assert!(!shown.contains(CANARY), "{shown}");
    assert!(!shown.contains(&url), "{shown}");
    assert!(
        shown.contains(&format!("postgres://u:***@127.0.0.1:{port}/db")),
        "{shown}"
    );
    assert!(!format!("{err:?}").contains(CANARY));
}

#[tokio::test]
async fn non_routable_address_is_unavailable_within_the_acquire_timeout() {
    let url = format!("postgres://u:{CANARY}@10.255.255.1:5432/db");
    let err = bounded(PgStore::connect_with(&url, one_second()))
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(!err.to_string().contains(CANARY), "{err}");
    assert!(!format!("{err:?}").contains(CANARY));
}

#[tokio::test]
async fn other_schemes_and_garbage_are_invalid_urls() {
    for url in [
        "mysql://u:p@h/db",
        "sqlite://x.db",
        "not a url",
        "postgres://u:p@h:notaport/db",
    ] {
        let err = bounded(PgStore::connect(url)).await.unwrap_err();
        assert_eq!(err.kind(), ErrorKind::InvalidInput, "{url}: {err}");
        assert_eq!(err.field(), Some("url"));
        assert!(!err.to_string().contains("u:p"), "{err}");
    }
    assert_eq!(URL_SCHEMES, ["postgres", "postgresql"]);
}

#[tokio::test]
async fn debug_hides_the_url_password() {
    let url = vibebox_postgres::testing::fresh_database_url()
        .await
        .unwrap();
    let store = PgStore::connect(&with_password(&url, CANARY))
        .await
        .unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains(CANARY), "{shown}");
    assert!(shown.contains("postgres:***@"), "{shown}");
    assert!(store.redacted_url().contains("postgres:***@"));
    assert_eq!(store.backend(), "postgres");
    store.ping().await.unwrap();
}

/// A loopback TCP proxy in front of the test server that can be shut down, closing every
/// connection and the port: to the store, the server is gone.
struct Proxy {
    port: u16,
    tasks: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    async fn start(upstream: String) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let tasks = Arc::new(Mutex::new(Vec::new()));
        let conns = tasks.clone();
        let accept = tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                let upstream = upstream.clone();
                let conn = tokio::spawn(async move {
                    if let Ok(mut server) = TcpStream::connect(upstream).await {
                        let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                    }
                });
                conns.lock().unwrap().push(conn);
            }
        });
        tasks.lock().unwrap().push(accept);
        Proxy { port, tasks }
    }

    fn stop(&self) {
        for task in self.tasks.lock().unwrap().drain(..) {
            task.abort();
        }
    }
}

#[tokio::test]
async fn ping_after_the_server_goes_away_is_unavailable() {
    let url = vibebox_postgres::testing::fresh_database_url()
        .await
        .unwrap();
    let (_, rest) = url.split_once('@').unwrap();
    let (host_port, db) = rest.split_once('/').unwrap();
    let proxy = Proxy::start(host_port.to_owned()).await;
    let proxied = format!("postgres://postgres:{CANARY}@127.0.0.1:{}/{db}", proxy.port);
    let store = PgStore::connect_with(&proxied, one_second()).await.unwrap();
    store.ping().await.unwrap();
    store.count_users().await.unwrap();

    proxy.stop();
    let err = bounded(store.ping()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
    assert!(!err.to_string().contains(CANARY), "{err}");
    let err = bounded(store.count_users()).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}
