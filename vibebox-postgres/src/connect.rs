//! [`PgStore`]: the connection pool, how it is opened, its `Debug`, and the health check.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Executor;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use vibebox_core::store::StoreHealth;
use vibebox_core::{Error, Result};

use crate::error::{self, WHAT};
use crate::migrate::{self, MIGRATOR};

/// The URL schemes this backend accepts (`postgres://…` and `postgresql://…`).
pub const URL_SCHEMES: &[&str] = &["postgres", "postgresql"];

/// Connections idle at least this long are pinged before use.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(10);

/// Settings of every pooled connection: no JIT. The store's statements are short, and
/// compiling them costs far more than it saves (hundreds of milliseconds for a large append or
/// a retention batch whose estimated cost is high).
///
/// Statements with optional filters (`$1 IS NULL OR …`) are sent unnamed (`persistent(false)`),
/// so PostgreSQL plans each for its actual values and the unused filters fold away. A
/// session-wide `plan_cache_mode = force_custom_plan` would do the same but would also re-plan
/// the foreign-key checks of every inserted row.
const SESSION_SETTINGS: &str = "SELECT set_config('jit', 'off', false)";

/// How [`PgStore`] sizes and waits on its connection pool.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PgStoreOptions {
    /// The most connections the pool opens (default 16).
    pub max_connections: u32,
    /// How long an operation waits for a connection, including opening a new one (default
    /// 5 s). Opening a connection never takes longer, so an unreachable server is reported as
    /// `Unavailable` within this time.
    pub acquire_timeout: Duration,
}

impl Default for PgStoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
        }
    }
}

impl PgStoreOptions {
    /// Sets [`max_connections`](Self::max_connections) (at least 1).
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = max.max(1);
        self
    }

    /// Sets [`acquire_timeout`](Self::acquire_timeout).
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout = timeout;
        self
    }
}

/// The VibeBox [`Store`](vibebox_core::Store) on PostgreSQL, shared by several server replicas.
///
/// Cloning is cheap: clones share the pool. `Debug` shows the URL with its password replaced by
/// `***`.
#[derive(Clone)]
pub struct PgStore {
    pub(crate) pool: PgPool,
    url: Arc<str>,
    options: PgStoreOptions,
}

impl PgStore {
    /// Connects with the default [`PgStoreOptions`] and brings the schema up to date.
    ///
    /// Errors: `InvalidInput` (`url`) for a URL that is not a PostgreSQL URL; `Unavailable`
    /// when the server cannot be reached within the acquire timeout or refuses the
    /// connection; `Internal` naming the migration when one fails.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, PgStoreOptions::default()).await
    }

    /// Connects with the given options and brings the schema up to date (see [`connect`]).
    ///
    /// [`connect`]: PgStore::connect
    #[tracing::instrument(skip_all)]
    pub async fn connect_with(url: &str, options: PgStoreOptions) -> Result<Self> {
        let (connect_options, redacted) = parse_url(url)?;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            // sqlx pings every connection before handing it out, a second round trip on every
            // call. Ping only connections that sat idle long enough to have gone stale (a
            // server restart or a dropped link); a failed ping discards the connection.
            .test_before_acquire(false)
            .before_acquire(|conn, meta| {
                Box::pin(async move {
                    if meta.idle_for < PING_IF_IDLE_FOR {
                        return Ok(true);
                    }
                    Ok(sqlx::Connection::ping(conn).await.is_ok())
                })
            })
            .after_connect(|conn, _meta| {
                Box::pin(async move { conn.execute(SESSION_SETTINGS).await.map(|_| ()) })
            })
            .connect_with(connect_options)
            .await
            .map_err(|e| connect_error(e, &redacted, options.acquire_timeout))?;
        if let Err(err) = MIGRATOR.run(&pool).await {
            pool.close().await;
            let err = migrate::map(err);
            tracing::error!(url = %redacted, error = %err, "migrations failed");
            return Err(err);
        }
        tracing::debug!(url = %redacted, "connected to PostgreSQL");
        Ok(Self {
            pool,
            url: redacted.into(),
            options,
        })
    }

    /// The URL the store connected to, with its password replaced by `***`.
    pub fn redacted_url(&self) -> &str {
        &self.url
    }

    /// The options the store was opened with.
    pub fn options(&self) -> &PgStoreOptions {
        &self.options
    }

    /// Closes every connection; later calls fail with `Unavailable`.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}

impl std::fmt::Debug for PgStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgStore")
            .field("url", &self.url)
            .field("max_connections", &self.options.max_connections)
            .field("acquire_timeout", &self.options.acquire_timeout)
            .field("open_connections", &self.pool.size())
            .finish()
    }
}

#[async_trait]
impl StoreHealth for PgStore {
    fn backend(&self) -> &'static str {
        "postgres"
    }

    #[tracing::instrument(skip_all)]
    async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1")
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(error::map)
    }
}

/// Checks the scheme, parses the URL and returns its options with a redacted copy for logs.
fn parse_url(url: &str) -> Result<(PgConnectOptions, String)> {
    let scheme = url.split_once("://").map(|(s, _)| s);
    if !scheme.is_some_and(|s| URL_SCHEMES.contains(&s)) {
        return Err(Error::invalid(
            "url",
            "must start with postgres:// or postgresql://",
        ));
    }
    let options = PgConnectOptions::from_str(url)
        .map_err(|_| Error::invalid("url", "is not a valid PostgreSQL URL"))?;
    Ok((options, redact_url(url)))
}

/// `scheme://user:***@host:port/db`: the password (and any query parameters, which may carry
/// one) removed.
pub fn redact_url(url: &str) -> String {
    let Some((scheme, rest)) = url.split_once("://") else {
        return "<unparsable url>".into();
    };
    let end = rest.find(['/', '?']).unwrap_or(rest.len());
    let (authority, tail) = rest.split_at(end);
    let path = tail.split('?').next().unwrap_or_default();
    let authority = match authority.rsplit_once('@') {
        Some((userinfo, host)) => match userinfo.split_once(':') {
            Some((user, _password)) => format!("{user}:***@{host}"),
            None => format!("{userinfo}@{host}"),
        },
        None => authority.to_owned(),
    };
    format!("{scheme}://{authority}{path}")
}

/// Maps a failure to open the pool: every way of not getting a connection is `Unavailable`,
/// and the message names the server by its redacted URL.
fn connect_error(err: sqlx::Error, redacted: &str, timeout: Duration) -> Error {
    match err {
        sqlx::Error::PoolTimedOut => Error::unavailable(
            WHAT,
            format!("could not connect to {redacted} within {timeout:?}"),
            None,
        ),
        sqlx::Error::Io(io) => Error::unavailable(
            WHAT,
            format!("could not connect to {redacted}: {io}"),
            Some(Box::new(io) as _),
        ),
        sqlx::Error::Database(db) => Error::unavailable(
            WHAT,
            format!("{redacted} refused the connection: {}", db.message()),
            Some(db.into_error()),
        ),
        sqlx::Error::Configuration(_) => Error::invalid("url", "is not a valid PostgreSQL URL"),
        other => match error::map(other) {
            e @ Error::Unavailable { .. } => e,
            e => Error::unavailable(
                WHAT,
                format!("could not connect to {redacted}: {e}"),
                Some(Box::new(e) as _),
            ),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redaction_hides_the_password_and_query() {
        assert_eq!(
            redact_url("postgres://user:s3cret@db.example:5432/vibebox?sslmode=disable&password=x"),
            "postgres://user:***@db.example:5432/vibebox"
        );
        assert_eq!(
            redact_url("postgresql://user@localhost/db"),
            "postgresql://user@localhost/db"
        );
        assert_eq!(redact_url("postgres://h:1"), "postgres://h:1");
        assert_eq!(
            redact_url("postgres://u:p@ss:w@rd@h/d"),
            "postgres://u:***@h/d"
        );
    }

    #[test]
    fn other_schemes_are_invalid_input() -> Result<(), &'static str> {
        let err = parse_url("mysql://u:secret@h/db")
            .err()
            .ok_or("a mysql URL was accepted")?;
        assert_eq!(err.field(), Some("url"));
        assert!(!err.to_string().contains("secret"));
        Ok(())
    }
}
