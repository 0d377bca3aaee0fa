//! Connecting: URL forms, file creation, WAL, in-memory databases, `Debug`, availability.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use vibebox_core::ErrorKind;
use vibebox_core::store::{StoreHealth, UsersStore};
use vibebox_core::testing::store_checks::fixtures::{create_user, unique_email, user};
use vibebox_sqlite::{SqliteStore, SqliteStoreOptions, URL_SCHEMES};

#[tokio::test]
async fn connect_creates_a_missing_file_in_wal_mode() {
    let path = common::fresh_path();
    assert!(!path.exists());
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    assert!(path.exists(), "the database file was created");
    let mode: String = sqlx::query_scalar("PRAGMA journal_mode")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(mode, "wal");
    let fk: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(store.pool())
        .await
        .unwrap();
    assert_eq!(fk, 1);
    assert_eq!(store.backend(), "sqlite");
    store.ping().await.unwrap();
}

#[tokio::test]
async fn single_colon_url_names_a_file_too() {
    let path = common::fresh_path();
    let store = SqliteStore::connect(&format!("sqlite:{}", path.display()))
        .await
        .unwrap();
    create_user(&store).await;
    assert!(path.exists());
}

#[tokio::test]
async fn reconnecting_to_a_file_keeps_its_data() {
    let url = common::fresh_url();
    let first = SqliteStore::connect(&url).await.unwrap();
    let u = create_user(&first).await;
    first.close().await;
    let second = SqliteStore::connect(&url).await.unwrap();
    assert_eq!(second.get_user(u.id).await.unwrap(), u);
}

#[tokio::test]
async fn other_schemes_and_empty_paths_are_invalid_urls() {
    assert_eq!(URL_SCHEMES, ["sqlite"]);
    let err = SqliteStore::connect("postgres://localhost/vibebox")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
    assert_eq!(err.field(), Some("url"));
    for empty in ["sqlite://", "sqlite:", "sqlite://?mode=rwc"] {
        let err = SqliteStore::connect(empty).await.unwrap_err();
        assert_eq!(err.field(), Some("url"), "{empty}");
    }
}

#[tokio::test]
async fn unopenable_file_is_unavailable() {
    let err = SqliteStore::connect("sqlite:///nonexistent-vibebox-dir/sub/x.db")
        .await
        .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable, "{err}");
}

#[tokio::test]
async fn each_memory_connect_is_a_fresh_database() {
    let a = common::memory_store().await;
    let b = common::memory_store().await;
    let u = create_user(&a).await;
    assert_eq!(a.count_users().await.unwrap(), 1);
    assert_eq!(b.count_users().await.unwrap(), 0);
    assert_eq!(
        b.get_user(u.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_callers_see_one_memory_database() {
    let store = Arc::new(
        SqliteStore::connect_with(
            "sqlite::memory:",
            SqliteStoreOptions::default().max_connections(8),
        )
        .await
        .unwrap(),
    );
    let u = create_user(&*store).await;
    let readers: Vec<_> = (0..16)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.get_user(u.id).await })
        })
        .collect();
    for r in readers {
        assert_eq!(r.await.unwrap().unwrap().id, u.id);
    }
}

#[tokio::test]
async fn memory_database_outlives_its_pooled_connection() {
    let store = common::memory_store().await;
    let options = store.pool().options();
    assert_eq!(
        options.get_min_connections(),
        1,
        "one connection is kept open"
    );
    assert_eq!(
        options.get_idle_timeout(),
        None,
        "idle connections are never closed"
    );
    assert_eq!(
        options.get_max_lifetime(),
        None,
        "connections are never recycled"
    );

    let u = create_user(&store).await;
    // Close the pooled connection itself: the pool opens a new one to the same database.
    let conn = store.pool().acquire().await.unwrap();
    conn.close().await.unwrap();
    assert_eq!(store.get_user(u.id).await.unwrap(), u);
    store
        .create_user(&user(&unique_email()), None)
        .await
        .unwrap();
    assert_eq!(store.count_users().await.unwrap(), 2);
}

#[tokio::test]
async fn debug_hides_a_password_in_the_url() {
    // SQLite URLs have no credentials, but a path may look like one; Debug must not show it.
    let dir = std::env::temp_dir()
        .join("vibebox-sqlite-tests")
        .join(format!("alice:hunter2@{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let store = SqliteStore::connect(&format!("sqlite://{}/db.sqlite", dir.display()))
        .await
        .unwrap();
    let shown = format!("{store:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(shown.contains("alice:***@"), "{shown}");
    assert!(shown.starts_with("SqliteStore"), "{shown}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn closed_store_is_unavailable() {
    let store = common::disk_store().await;
    store.close().await;
    let err = store.ping().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
    let err = store.count_users().await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Unavailable);
}
