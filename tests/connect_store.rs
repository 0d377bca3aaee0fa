//! `vibebox::connect_store` picks the backend from the URL and runs its migrations.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use vibebox::{ErrorKind, StoreBackend};

#[test]
fn url_scheme_picks_the_backend() {
    assert_eq!(
        StoreBackend::for_url("sqlite::memory:").unwrap(),
        StoreBackend::Sqlite
    );
    assert_eq!(
        StoreBackend::for_url("sqlite://data/vibebox.db").unwrap(),
        StoreBackend::Sqlite
    );
    for url in ["postgres://u:p@h/db", "postgresql://h/db"] {
        assert_eq!(StoreBackend::for_url(url).unwrap(), StoreBackend::Postgres);
    }
}

#[test]
fn unknown_scheme_names_the_url_field_without_echoing_it() {
    let err = StoreBackend::for_url("mysql://root:hunter2@db/x").unwrap_err();
    assert_eq!(err.field(), Some("url"));
    assert!(!err.to_string().contains("hunter2"));
    assert!(StoreBackend::for_url("no-scheme").is_err());
}

#[tokio::test]
async fn sqlite_memory_url_connects_to_a_migrated_sqlite_store() {
    let store = vibebox::connect_store("sqlite::memory:").await.unwrap();
    assert_eq!(store.backend(), "sqlite");
    assert_eq!(store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn sqlite_file_url_creates_the_database() {
    let dir = std::env::temp_dir().join(format!("vibebox-connect-{}", uuid_like()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("vibebox.db");
    let store = vibebox::connect_store(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    store.ping().await.unwrap();
    assert!(path.exists());
    drop(store);
    std::fs::remove_dir_all(&dir).unwrap();
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn postgres_url_connects_to_a_migrated_postgres_store() {
    let url = vibebox_postgres::testing::fresh_database_url()
        .await
        .unwrap();
    let store = vibebox::connect_store(&url).await.unwrap();
    assert_eq!(store.backend(), "postgres");
    assert_eq!(store.count_users().await.unwrap(), 0);
}

#[tokio::test]
async fn unknown_scheme_is_invalid_input_naming_url() {
    let err = vibebox::connect_store("mysql://root:hunter2@localhost/db")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("url"));
    assert!(!format!("{err:?}").contains("hunter2"));
}

#[cfg(feature = "postgres")]
#[tokio::test]
async fn unreachable_postgres_is_unavailable_without_the_password() {
    // Port 1 on loopback refuses at once.
    let Err(err) = vibebox::connect_store("postgres://vibebox:hunter2@127.0.0.1:1/vibebox").await
    else {
        panic!("nothing listens on port 1");
    };
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    assert!(!err.to_string().contains("hunter2"));
    assert!(!format!("{err:?}").contains("hunter2"));
}

#[cfg(not(feature = "postgres"))]
#[tokio::test]
async fn postgres_url_without_the_feature_is_unsupported() {
    let Err(err) = vibebox::connect_store("postgres://localhost/db").await else {
        panic!("the postgres feature is off");
    };
    assert_eq!(err.kind(), ErrorKind::Unsupported);
}

fn uuid_like() -> String {
    vibebox::id::UserId::new().to_string()
}
