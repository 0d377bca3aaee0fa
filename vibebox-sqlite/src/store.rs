//! [`SqliteStore`]: the pool, connecting, migrations, `Debug` and the health check.

use std::str::FromStr;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::migrate::{MigrateError, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteConnection, SqliteJournalMode, SqlitePool, SqlitePoolOptions,
    SqliteSynchronous,
};
use sqlx::{Connection, Sqlite, Transaction};
use vibebox_core::error::{Error, Result};
use vibebox_core::store::StoreHealth;

use crate::error::{DbResultExt, map};

/// The URL schemes [`SqliteStore::connect`] accepts.
pub const URL_SCHEMES: &[&str] = &["sqlite"];

/// The schema migrations, embedded at build time and run by [`SqliteStore::connect`].
///
/// Exposed so tools and tests can inspect them or migrate to a given version
/// (`MIGRATOR.run_to(1, store.pool())`).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Tuning for [`SqliteStore::connect_with`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct SqliteStoreOptions {
    /// The most connections the pool opens (default 8). SQLite allows one writer at a time;
    /// readers run in parallel thanks to WAL. An in-memory database always uses one connection.
    pub max_connections: u32,
    /// How long a statement waits for another connection's write lock (default 10 s).
    pub busy_timeout: Duration,
    /// How long a call waits for a free connection before failing with `Unavailable`
    /// (default 10 s).
    pub acquire_timeout: Duration,
}

impl Default for SqliteStoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 8,
            busy_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(10),
        }
    }
}

impl SqliteStoreOptions {
    /// Sets the pool size.
    pub fn max_connections(mut self, n: u32) -> Self {
        self.max_connections = n;
        self
    }

    /// Sets how long a statement waits for a lock held by another connection.
    pub fn busy_timeout(mut self, timeout: Duration) -> Self {
        self.busy_timeout = timeout;
        self
    }

    /// Sets how long a call waits for a free connection.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }
}

/// The VibeBox [`Store`](vibebox_core::Store) on SQLite.
///
/// Cheap to share behind an `Arc`; every method is atomic (multi-statement writes run in one
/// `BEGIN IMMEDIATE` transaction).
pub struct SqliteStore {
    pool: SqlitePool,
    /// The database, for `Debug`: a file path with any `user:password@` masked, or `:memory:`.
    database: String,
    /// For `sqlite::memory:`: a connection outside the pool that keeps the database alive
    /// whatever happens to the pooled one. Never used for queries.
    _keeper: Option<Mutex<SqliteConnection>>,
}

impl SqliteStore {
    /// Connects with default [`SqliteStoreOptions`] and brings the schema up to date.
    ///
    /// URLs: `sqlite://path/to/file.db` (relative to the working directory, or absolute with a
    /// third slash: `sqlite:///var/lib/vibebox.db`), `sqlite:relative.db`, and
    /// `sqlite::memory:` (a fresh private database for each call). The file is created if it
    /// does not exist.
    ///
    /// Errors: `InvalidInput` (`url`) for a URL that is not a SQLite URL; `Unavailable` if the
    /// database cannot be opened; `Internal` naming the migration that failed.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, SqliteStoreOptions::default()).await
    }

    /// Connects with the given options and brings the schema up to date. See
    /// [`connect`](Self::connect).
    #[tracing::instrument(skip_all)]
    pub async fn connect_with(url: &str, options: SqliteStoreOptions) -> Result<Self> {
        let Some(location) = url.strip_prefix("sqlite:") else {
            return Err(Error::invalid("url", "must start with sqlite:"));
        };
        let in_memory = is_memory(location);
        if !in_memory && file_path(location).is_empty() {
            // SQLite would open a private temporary database per connection.
            return Err(Error::invalid("url", "names no database file"));
        }
        let mut connect = SqliteConnectOptions::from_str(url)
            .map_err(|_| Error::invalid("url", "is not a valid SQLite URL"))?
            .create_if_missing(true)
            .foreign_keys(true)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(options.busy_timeout);
        if !in_memory {
            connect = connect
                .journal_mode(SqliteJournalMode::Wal)
                // Checkpoint every ~40 MB of WAL rather than 4 MB: log appends touch pages all
                // over the indexes, and fewer checkpoints copy each page fewer times.
                .pragma("wal_autocheckpoint", "10000");
        }
        let database = if in_memory {
            ":memory:".to_string()
        } else {
            mask_password(&connect.get_filename().to_string_lossy())
        };

        let pool = SqlitePoolOptions::new()
            .acquire_timeout(options.acquire_timeout)
            // A local file does not drop connections; skipping the ping saves a round trip.
            .test_before_acquire(false);
        let (pool, keeper) = if in_memory {
            // Every connection of a pool must see one database. A shared-cache in-memory
            // database locks whole tables between connections, so use one pooled connection,
            // kept forever, plus the keeper.
            let keeper = SqliteConnection::connect_with(&connect)
                .await
                .map_err(|e| map(e, "database"))?;
            let pool = pool
                .max_connections(1)
                .min_connections(1)
                .idle_timeout(None)
                .max_lifetime(None);
            (pool, Some(Mutex::new(keeper)))
        } else {
            (pool.max_connections(options.max_connections.max(1)), None)
        };
        let pool = pool
            .connect_with(connect)
            .await
            .map_err(|e| map(e, "database"))?;
        MIGRATOR.run(&pool).await.map_err(migration_error)?;
        tracing::debug!(in_memory, "sqlite store ready");
        Ok(Self {
            pool,
            database,
            _keeper: keeper,
        })
    }

    /// The connection pool, for embedders that add their own tables or inspect the database.
    /// Writes through it bypass the store's rules only as far as the schema allows.
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// Closes every connection. Later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Begins a write transaction. `BEGIN IMMEDIATE` takes the write lock up front (waiting up
    /// to `busy_timeout`), so a transaction that reads and then writes never fails with
    /// "database is locked" when it upgrades.
    pub(crate) async fn begin_write(&self) -> Result<Transaction<'static, Sqlite>> {
        self.pool.begin_with("BEGIN IMMEDIATE").await.db()
    }
}

/// Whether `sql` (`SELECT 1 FROM … WHERE id = ?`) finds a row with this id.
pub(crate) async fn exists<'c>(
    conn: impl sqlx::SqliteExecutor<'c>,
    sql: &'static str,
    id: uuid::Uuid,
) -> Result<bool> {
    let found: Option<i64> = sqlx::query_scalar(sql)
        .bind(id)
        .fetch_optional(conn)
        .await
        .db()?;
    Ok(found.is_some())
}

impl std::fmt::Debug for SqliteStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SqliteStore")
            .field("database", &self.database)
            .field("connections", &self.pool.size())
            .finish_non_exhaustive()
    }
}

#[async_trait]
impl StoreHealth for SqliteStore {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(|e| match map(e, "database") {
                unavailable @ Error::Unavailable { .. } => unavailable,
                other => {
                    Error::unavailable("store", "the database does not answer", Some(other.into()))
                }
            })
    }
}

/// The file part of what follows `sqlite:` (without `//` and query parameters).
fn file_path(location: &str) -> &str {
    let path = location.strip_prefix("//").unwrap_or(location);
    path.split_once('?').map_or(path, |(path, _)| path)
}

/// Whether the part of the URL after `sqlite:` names an in-memory database.
fn is_memory(location: &str) -> bool {
    let query = location.split_once('?').map_or("", |(_, q)| q);
    file_path(location) == ":memory:" || query.split('&').any(|p| p == "mode=memory")
}

/// Masks the password of any `user:password@` in a location, so `Debug` never shows it.
fn mask_password(location: &str) -> String {
    let mut out = String::with_capacity(location.len());
    let mut rest = location;
    while let Some(at) = rest.find('@') {
        let (before, after) = rest.split_at(at);
        let segment_start = before.rfind('/').map_or(0, |i| i + 1);
        match before[segment_start..].find(':') {
            Some(colon) => {
                out.push_str(&before[..segment_start + colon + 1]);
                out.push_str("***");
            }
            None => out.push_str(before),
        }
        out.push('@');
        rest = &after[1..];
    }
    out.push_str(rest);
    out
}

/// A migration failure, naming the migration (version and description) when known.
fn migration_error(err: MigrateError) -> Error {
    let (version, what) = match &err {
        MigrateError::ExecuteMigration(_, v) => (*v, "failed"),
        MigrateError::VersionMismatch(v) => (*v, "was modified after it was applied"),
        MigrateError::VersionMissing(v) => (*v, "is applied but unknown to this vibebox-sqlite"),
        MigrateError::Dirty(v) => (*v, "is partially applied"),
        _ => {
            return match err {
                MigrateError::Execute(e) => map(e, "database"),
                other => Error::internal("database migration failed", Some(other.into())),
            };
        }
    };
    let description = MIGRATOR
        .iter()
        .find(|m| m.version == version)
        .map_or_else(|| "unknown".to_string(), |m| m.description.to_string());
    let reason = match &err {
        MigrateError::ExecuteMigration(sqlx::Error::Database(db), _) => {
            format!(": {}", db.message())
        }
        _ => String::new(),
    };
    Error::internal(
        format!("migration {version} ({description}) {what}{reason}"),
        Some(err.into()),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn memory_urls_are_recognized() {
        assert!(is_memory(":memory:"));
        assert!(is_memory("//:memory:"));
        assert!(is_memory("//?mode=memory"));
        assert!(!is_memory("//vibebox.db"));
        assert!(!is_memory("relative.db"));
        assert_eq!(file_path("//a/b.db?mode=rwc"), "a/b.db");
        assert_eq!(file_path("///abs.db"), "/abs.db");
        assert_eq!(file_path("//"), "");
    }

    #[test]
    fn passwords_are_masked() {
        assert_eq!(mask_password("/tmp/a:secret@b/x.db"), "/tmp/a:***@b/x.db");
        assert_eq!(mask_password("/tmp/plain.db"), "/tmp/plain.db");
        assert_eq!(mask_password("/tmp/no@colon.db"), "/tmp/no@colon.db");
    }
}
