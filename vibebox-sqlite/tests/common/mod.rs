//! Helpers shared by the integration tests: fresh stores on disk and in memory.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::time::{Duration, SystemTime};

use vibebox_sqlite::{SqliteStore, SqliteStoreOptions};

/// The directory test databases live in: `<temp dir>/vibebox-sqlite-tests`. Files older than
/// ten minutes (left by earlier runs) are removed.
fn test_dir() -> PathBuf {
    let dir = std::env::temp_dir().join("vibebox-sqlite-tests");
    std::fs::create_dir_all(&dir).unwrap();
    if let Ok(entries) = std::fs::read_dir(&dir) {
        let stale = SystemTime::now() - Duration::from_secs(600);
        for entry in entries.flatten() {
            let old = entry
                .metadata()
                .and_then(|m| m.modified())
                .is_ok_and(|t| t < stale);
            if old {
                let _ = std::fs::remove_file(entry.path());
            }
        }
    }
    dir
}

/// A path for a new database file that does not exist yet.
pub fn fresh_path() -> PathBuf {
    test_dir().join(format!("{}.db", uuid::Uuid::now_v7()))
}

/// The URL of a new database file.
pub fn fresh_url() -> String {
    format!("sqlite://{}", fresh_path().display())
}

/// A store on a new database file.
pub async fn disk_store() -> SqliteStore {
    SqliteStore::connect(&fresh_url()).await.unwrap()
}

/// A store on a new database file with options.
pub async fn disk_store_with(options: SqliteStoreOptions) -> SqliteStore {
    SqliteStore::connect_with(&fresh_url(), options)
        .await
        .unwrap()
}

/// A store on a new in-memory database.
pub async fn memory_store() -> SqliteStore {
    SqliteStore::connect("sqlite::memory:").await.unwrap()
}

/// Removes a database file with its WAL and shared-memory files.
pub fn remove_db(path: &std::path::Path) {
    for suffix in ["", "-wal", "-shm"] {
        let mut name = path.as_os_str().to_owned();
        name.push(suffix);
        let _ = std::fs::remove_file(name);
    }
}
