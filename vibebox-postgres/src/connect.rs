//! [`PgStore`]: the connection pool, how it is opened, its `Debug`, and the health check.

use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::Executor;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgSslMode};
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

/// [`SESSION_SETTINGS`] plus the statement timeout (`$1`, in milliseconds).
const SESSION_SETTINGS_WITH_TIMEOUT: &str =
    "SELECT set_config('jit', 'off', false), set_config('statement_timeout', $1, false)";

/// Migrations run on a connection of their own with no statement timeout: building an index on
/// a large table, or waiting for another replica's migration lock, may take minutes. The
/// connection is closed afterwards rather than returned to the pool.
const MIGRATION_SETTINGS: &str = "SET statement_timeout = 0";

/// The default [`PgStoreOptions::statement_timeout`]: the server cancels any statement of the
/// store that runs longer (SQLSTATE 57014, reported as `ErrorKind::Timeout`).
pub const DEFAULT_STATEMENT_TIMEOUT: Duration = Duration::from_secs(30);

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
    /// The longest any one statement of the store may run before the server cancels it
    /// (default [`DEFAULT_STATEMENT_TIMEOUT`], 30 s). A cancelled statement fails with
    /// `ErrorKind::Timeout`, and its connection stays usable.
    ///
    /// Set on every pooled connection (PostgreSQL's `statement_timeout`, rounded up to whole
    /// milliseconds; `Duration::ZERO` turns it off). `None` leaves the server's, database's or
    /// role's setting alone. A `statement_timeout` in the URL's `options` parameter (or in
    /// `PGOPTIONS`) takes precedence over this field, so an operator can change it without a
    /// rebuild. Migrations always run without one.
    pub statement_timeout: Option<Duration>,
}

impl Default for PgStoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 16,
            acquire_timeout: Duration::from_secs(5),
            statement_timeout: Some(DEFAULT_STATEMENT_TIMEOUT),
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

    /// Sets [`statement_timeout`](Self::statement_timeout) (`None` leaves the server's).
    pub fn statement_timeout(mut self, timeout: impl Into<Option<Duration>>) -> Self {
        self.statement_timeout = timeout.into();
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
    /// The URL's `sslmode` and `sslrootcert` parameters choose TLS (see the crate docs).
    ///
    /// Errors: `InvalidInput` (`url`) for a URL that is not a PostgreSQL URL, an unknown
    /// `sslmode`, or an `sslrootcert` file that cannot be read; `Unavailable` when the server
    /// cannot be reached within the acquire timeout, refuses the connection, does not offer TLS
    /// that the URL requires, or presents a certificate that fails verification; `Internal`
    /// naming the migration when one fails.
    pub async fn connect(url: &str) -> Result<Self> {
        Self::connect_with(url, PgStoreOptions::default()).await
    }

    /// Connects with the given options and brings the schema up to date (see [`connect`]).
    ///
    /// [`connect`]: PgStore::connect
    #[tracing::instrument(skip_all)]
    pub async fn connect_with(url: &str, options: PgStoreOptions) -> Result<Self> {
        let (connect_options, redacted) = parse_url(url)?;
        let ssl_mode = connect_options.get_ssl_mode();
        // The URL's (or PGOPTIONS') statement_timeout wins over the field.
        let url_sets_timeout = connect_options
            .get_options()
            .is_some_and(|o| o.contains("statement_timeout"));
        let timeout_ms = match options.statement_timeout {
            Some(timeout) if !url_sets_timeout => Some(millis(timeout)),
            _ => None,
        };
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
            .after_connect(move |conn, _meta| {
                let timeout_ms = timeout_ms.clone();
                Box::pin(async move {
                    match timeout_ms {
                        Some(ms) => sqlx::query(SESSION_SETTINGS_WITH_TIMEOUT)
                            .bind(ms)
                            .execute(&mut *conn)
                            .await
                            .map(|_| ()),
                        None => conn.execute(SESSION_SETTINGS).await.map(|_| ()),
                    }
                })
            })
            .connect_with(connect_options)
            .await
            .map_err(|e| connect_error(e, &redacted, ssl_mode, options.acquire_timeout))?;
        if let Err(err) = run_migrations(&pool).await {
            pool.close().await;
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
            .field("statement_timeout", &self.options.statement_timeout)
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

/// Runs the migrations on one connection with the statement timeout off, then closes it.
async fn run_migrations(pool: &PgPool) -> Result<()> {
    let mut conn = pool.acquire().await.map_err(error::map)?;
    conn.close_on_drop();
    conn.execute(MIGRATION_SETTINGS).await.map_err(error::map)?;
    MIGRATOR.run(&mut *conn).await.map_err(migrate::map)
}

/// A duration as PostgreSQL milliseconds: rounded up, at most `i32::MAX` (PostgreSQL's limit).
fn millis(timeout: Duration) -> String {
    let ms = timeout.as_nanos().div_ceil(1_000_000);
    ms.min(i32::MAX as u128).to_string()
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
    check_tls_parameters(url)?;
    let options = PgConnectOptions::from_str(url)
        .map_err(|_| Error::invalid("url", "is not a valid PostgreSQL URL"))?;
    Ok((options, redact_url(url)))
}

/// Rejects an unknown `sslmode` and, for the modes that verify the server, an `sslrootcert`
/// file that cannot be read, with messages that name the parameter (sqlx's own would say only
/// that the URL is invalid, or fail later with a bare I/O error).
fn check_tls_parameters(url: &str) -> Result<()> {
    let Some((_, query)) = url.split_once('?') else {
        return Ok(());
    };
    let params: Vec<_> = form_urlencoded::parse(query.as_bytes()).collect();
    let mut verifies = false;
    for (key, value) in &params {
        if matches!(&**key, "sslmode" | "ssl-mode") {
            let mode = PgSslMode::from_str(value).map_err(|_| {
                Error::invalid(
                    "url",
                    "sslmode must be disable, allow, prefer, require, verify-ca or verify-full",
                )
            })?;
            verifies = matches!(mode, PgSslMode::VerifyCa | PgSslMode::VerifyFull);
        }
    }
    if !verifies {
        return Ok(());
    }
    for (key, value) in &params {
        let inline = value.trim_start().starts_with("-----BEGIN");
        if matches!(&**key, "sslrootcert" | "ssl-root-cert" | "ssl-ca") && !inline {
            std::fs::File::open(&**value).map_err(|e| {
                Error::invalid("url", format!("sslrootcert {value} cannot be read: {e}"))
            })?;
        }
    }
    Ok(())
}

/// The URL spelling of an `sslmode`, for messages.
fn ssl_mode_name(mode: PgSslMode) -> &'static str {
    match mode {
        PgSslMode::Disable => "disable",
        PgSslMode::Allow => "allow",
        PgSslMode::Prefer => "prefer",
        PgSslMode::Require => "require",
        PgSslMode::VerifyCa => "verify-ca",
        PgSslMode::VerifyFull => "verify-full",
    }
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
/// and the message names the server by its redacted URL (and the `sslmode` when TLS failed).
fn connect_error(
    err: sqlx::Error,
    redacted: &str,
    ssl_mode: PgSslMode,
    timeout: Duration,
) -> Error {
    let mode = ssl_mode_name(ssl_mode);
    match err {
        sqlx::Error::PoolTimedOut => Error::unavailable(
            WHAT,
            format!("could not connect to {redacted} within {timeout:?}"),
            None,
        ),
        // sqlx: "server does not support TLS", an unreadable or invalid root certificate, ...
        sqlx::Error::Tls(tls) => Error::unavailable(
            WHAT,
            format!("could not open a TLS connection to {redacted} (sslmode={mode}): {tls}"),
            Some(tls as _),
        ),
        // rustls reports a failed handshake (an untrusted certificate, a certificate for
        // another host name) as invalid data on the socket.
        sqlx::Error::Io(io)
            if io.kind() == std::io::ErrorKind::InvalidData
                && !matches!(ssl_mode, PgSslMode::Disable | PgSslMode::Allow) =>
        {
            Error::unavailable(
                WHAT,
                format!("TLS handshake with {redacted} failed (sslmode={mode}): {io}"),
                Some(Box::new(io) as _),
            )
        }
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
    fn statement_timeouts_are_whole_milliseconds_rounded_up() {
        assert_eq!(millis(Duration::from_millis(200)), "200");
        assert_eq!(millis(Duration::from_micros(1)), "1");
        assert_eq!(millis(Duration::ZERO), "0");
        assert_eq!(millis(DEFAULT_STATEMENT_TIMEOUT), "30000");
        assert_eq!(millis(Duration::from_secs(u64::MAX)), i32::MAX.to_string());
    }

    #[test]
    fn unknown_sslmode_is_invalid_input_naming_it() -> Result<(), &'static str> {
        let err = parse_url("postgres://u:secret@h/db?sslmode=verify-everything")
            .err()
            .ok_or("an unknown sslmode was accepted")?;
        assert_eq!(err.field(), Some("url"));
        assert!(err.to_string().contains("sslmode must be"), "{err}");
        assert!(!err.to_string().contains("secret"));
        for mode in ["disable", "allow", "prefer", "require", "VERIFY-CA"] {
            let url = format!("postgres://h/db?sslmode={mode}");
            parse_url(&url).map_err(|_| "a known sslmode was refused")?;
        }
        Ok(())
    }

    #[test]
    fn unreadable_root_certificate_is_invalid_input_when_verifying() -> Result<(), &'static str> {
        let url = "postgres://u:secret@h/db?sslmode=verify-full&sslrootcert=/nonexistent/ca.crt";
        let err = parse_url(url)
            .err()
            .ok_or("a missing sslrootcert was accepted")?;
        assert_eq!(err.field(), Some("url"));
        assert!(
            err.to_string().contains("sslrootcert /nonexistent/ca.crt"),
            "{err}"
        );
        assert!(!err.to_string().contains("secret"));
        // `require` does not read it (it encrypts without verifying).
        parse_url("postgres://h/db?sslmode=require&sslrootcert=/nonexistent/ca.crt")
            .map_err(|_| "require read the root certificate")?;
        Ok(())
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
