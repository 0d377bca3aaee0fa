//! Choosing a store backend from a URL.

use std::sync::Arc;

use vibebox_core::{Error, Result, Store};

/// The backend a URL names, by scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum StoreBackend {
    /// `sqlite:…` (`sqlite://path/to/file.db`, `sqlite::memory:`).
    Sqlite,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl StoreBackend {
    /// The backend for `url`. Errors: `InvalidInput` (`url`) for any other scheme. The URL
    /// itself never appears in the error, since it may hold a password.
    pub fn for_url(url: &str) -> Result<Self> {
        let scheme = url.split_once(':').map(|(scheme, _)| scheme);
        match scheme {
            Some("sqlite") => Ok(StoreBackend::Sqlite),
            Some("postgres" | "postgresql") => Ok(StoreBackend::Postgres),
            _ => Err(Error::invalid(
                "url",
                "unsupported database URL: expected sqlite:… or postgres://…",
            )),
        }
    }
}

/// Connects to the store a URL names, running its migrations:
///
/// - `sqlite://vibebox.db`, `sqlite:relative.db` or `sqlite::memory:` (feature `sqlite`, on by
///   default);
/// - `postgres://user:password@host:5432/db` (feature `postgres`).
///
/// Errors: `InvalidInput` (`url`) for an unknown scheme; `Unsupported` when the scheme's feature
/// is off; `Unavailable` when the database cannot be reached; `Internal` when a migration fails
/// (the message names the migration).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> vibebox::Result<()> {
/// let store = vibebox::connect_store("sqlite::memory:").await?;
/// assert_eq!(store.backend(), "sqlite");
/// # Ok(()) }
/// ```
pub async fn connect_store(url: &str) -> Result<Arc<dyn Store>> {
    match StoreBackend::for_url(url)? {
        StoreBackend::Sqlite => connect_sqlite(url).await,
        StoreBackend::Postgres => connect_postgres(url).await,
    }
}

#[cfg(feature = "sqlite")]
async fn connect_sqlite(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(vibebox_sqlite::SqliteStore::connect(url).await?))
}

#[cfg(not(feature = "sqlite"))]
async fn connect_sqlite(_url: &str) -> Result<Arc<dyn Store>> {
    Err(Error::Unsupported(
        "this build of vibebox has no SQLite support (enable the `sqlite` feature)".into(),
    ))
}

#[cfg(feature = "postgres")]
async fn connect_postgres(url: &str) -> Result<Arc<dyn Store>> {
    Ok(Arc::new(vibebox_postgres::PgStore::connect(url).await?))
}

#[cfg(not(feature = "postgres"))]
async fn connect_postgres(_url: &str) -> Result<Arc<dyn Store>> {
    Err(Error::Unsupported(
        "this build of vibebox has no PostgreSQL support (enable the `postgres` feature)".into(),
    ))
}
