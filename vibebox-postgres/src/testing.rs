//! A fresh database per test (feature `testing`).
//!
//! Tests, the service suite and benchmarks share one PostgreSQL server, named by
//! `VIBEBOX_TEST_POSTGRES_URL` (`scripts/test` starts a throwaway cluster and sets it). Each
//! call creates a new database `vbx_test_<uuid>` on that server, so tests never see each
//! other's rows and may run in parallel. The databases are left behind for the throwaway
//! cluster to take with it.
//!
//! Without the variable the helpers fail loudly, saying how to get a server; tests never skip
//! quietly.

use std::time::Duration;

use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use uuid::Uuid;
use vibebox_core::{Error, Result};

use crate::PgStore;
use crate::connect::redact_url;

/// The variable that names the server tests create their databases on.
pub const URL_VAR: &str = "VIBEBOX_TEST_POSTGRES_URL";

/// How long creating a test database may take before it is reported as unavailable.
const ADMIN_TIMEOUT: Duration = Duration::from_secs(30);

/// Creates a new, empty database on the test server and returns its URL (no migrations run).
///
/// Errors: `Unavailable` when `VIBEBOX_TEST_POSTGRES_URL` is unset, or the server cannot be
/// reached or refuses to create the database.
pub async fn fresh_database_url() -> Result<String> {
    let admin_url = std::env::var(URL_VAR).map_err(|_| {
        Error::unavailable(
            "test database",
            format!(
                "{URL_VAR} is not set: run scripts/test (which starts a throwaway PostgreSQL), \
                 or set {URL_VAR} to a postgres:// URL of a user who may CREATE DATABASE"
            ),
            None,
        )
    })?;
    let name = format!("vbx_test_{}", Uuid::now_v7().simple());
    let redacted = redact_url(&admin_url);
    let create = async {
        let mut conn = PgConnection::connect(&admin_url).await?;
        conn.execute(AssertSqlSafe(format!("CREATE DATABASE \"{name}\"")))
            .await?;
        conn.close().await
    };
    match tokio::time::timeout(ADMIN_TIMEOUT, create).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            return Err(Error::unavailable(
                "test database",
                format!("could not create a database on {redacted}: {e}"),
                Some(Box::new(e) as _),
            ));
        }
        Err(_) => {
            return Err(Error::unavailable(
                "test database",
                format!("{redacted} did not answer within {ADMIN_TIMEOUT:?}"),
                None,
            ));
        }
    }
    with_database(&admin_url, &name)
}

/// A [`PgStore`] on a new database of the test server, with every migration applied.
///
/// Errors: as [`fresh_database_url`] and [`PgStore::connect`].
pub async fn fresh_store() -> Result<PgStore> {
    PgStore::connect(&fresh_database_url().await?).await
}

/// The store's connection pool, for tests that look at the sessions it opens (`pg_stat_ssl`,
/// `SHOW statement_timeout`).
pub fn pool(store: &PgStore) -> &sqlx::PgPool {
    &store.pool
}

/// Runs one SQL statement on the store's pool, its failure mapped as the store's own calls map
/// theirs (a statement the server cancelled is `Timeout`, a lost connection `Unavailable`).
pub async fn execute(store: &PgStore, sql: &'static str) -> Result<()> {
    sqlx::query(sql)
        .execute(&store.pool)
        .await
        .map(|_| ())
        .map_err(crate::error::map)
}

/// The same URL with its database (path) replaced by `database`; query parameters are kept.
fn with_database(url: &str, database: &str) -> Result<String> {
    let bad = || Error::invalid("url", format!("{URL_VAR} is not a postgres:// URL"));
    let (scheme, rest) = url.split_once("://").ok_or_else(bad)?;
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let query = tail.find('?').map(|i| &tail[i..]).unwrap_or_default();
    Ok(format!("{scheme}://{authority}/{database}{query}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn with_database_replaces_only_the_path() -> Result<(), Box<dyn std::error::Error>> {
        assert_eq!(
            with_database("postgres://u:p@h:5432/postgres?sslmode=disable", "x")?,
            "postgres://u:p@h:5432/x?sslmode=disable"
        );
        assert_eq!(with_database("postgres://h", "x")?, "postgres://h/x");
        assert_eq!(
            with_database("postgresql://h?a=b", "x")?,
            "postgresql://h/x?a=b"
        );
        Ok(())
    }
}
