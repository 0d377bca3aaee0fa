//! Mapping sqlx errors into [`vibebox_core::Error`].
//!
//! - A unique violation becomes `AlreadyExists` naming the field, chosen by the constraint SQLite
//!   reports (the columns of a unique index, or the name of an expression index).
//! - A foreign-key violation becomes `NotFound` naming the parent the caller expects to be
//!   missing (SQLite does not say which key failed).
//! - A CHECK violation becomes `InvalidInput` naming the column: every CHECK in the schema is
//!   named after the field it guards. A NOT NULL violation names its column.
//! - The triggers that keep a team's last admin raise `LastAdmin`.
//! - A busy or unreachable database, or a pool timeout, becomes `Unavailable`.
//! - Everything else is `Internal`, with a message that never contains SQL or the URL (the
//!   sqlx error is kept as the source, for logs).

use std::borrow::Cow;

use sqlx::error::{DatabaseError, ErrorKind as DbErrorKind};
use vibebox_core::error::Error;

/// What a `store` failure is called in `Unavailable` errors.
const WHAT: &str = "store";

/// Unique constraints that are not a table's `id`, by what SQLite reports after
/// `UNIQUE constraint failed: `, with the resource and field they protect.
const UNIQUE: &[(&str, &str, &str)] = &[
    ("index 'users_email_key'", "user", "email"),
    (
        "oauth_identities.provider, oauth_identities.subject",
        "oauth_identity",
        "provider, subject",
    ),
    ("teams.slug", "team", "slug"),
    (
        "memberships.team_id, memberships.user_id",
        "membership",
        "user_id",
    ),
    ("projects.owner_user_id, projects.slug", "project", "slug"),
    ("projects.owner_team_id, projects.slug", "project", "slug"),
    (
        "environments.project_id, environments.slug",
        "environment",
        "slug",
    ),
    (
        "environment_ports.environment_id, environment_ports.container_port, \
         environment_ports.protocol",
        "port",
        "container_port",
    ),
    ("environment_ports.host_port", "port", "host_port"),
    (
        "environment_variables.environment_id, environment_variables.key",
        "variable",
        "key",
    ),
    (
        "sessions.environment_id, sessions.session_type, sessions.session_name",
        "session",
        "session_name",
    ),
    ("extensions.extension_id", "extension", "extension_id"),
    (
        "environment_extensions.environment_id, environment_extensions.extension_id",
        "environment_extension",
        "extension_id",
    ),
    ("api_keys.prefix", "api_key", "prefix"),
    ("api_keys.secret_hash", "api_key", "secret_hash"),
    ("refresh_sessions.token_hash", "refresh_session", "token"),
    ("ssh_keys.fingerprint", "ssh_key", "public_key"),
];

/// The resource each table holds, for primary-key violations.
const TABLES: &[(&str, &str)] = &[
    ("users", "user"),
    ("oauth_identities", "oauth_identity"),
    ("teams", "team"),
    ("projects", "project"),
    ("environments", "environment"),
    ("environment_ports", "port"),
    ("environment_variables", "variable"),
    ("sessions", "session"),
    ("extensions", "extension"),
    ("environment_extensions", "environment_extension"),
    ("logs", "log"),
    ("api_keys", "api_key"),
    ("refresh_sessions", "refresh_session"),
    ("audit_events", "audit_event"),
    ("ssh_keys", "ssh_key"),
];

/// SQLite's extended result code for a `RAISE(ABORT, …)` in a trigger.
const SQLITE_CONSTRAINT_TRIGGER: i32 = 1811;

/// Converts sqlx results into VibeBox results.
pub(crate) trait DbResultExt<T> {
    /// Maps the error; a foreign-key violation is reported as `NotFound` of a generic parent.
    fn db(self) -> Result<T, Error>;

    /// Maps the error; a foreign-key violation means `parent` does not exist.
    fn db_parent(self, parent: &'static str) -> Result<T, Error>;
}

impl<T> DbResultExt<T> for Result<T, sqlx::Error> {
    fn db(self) -> Result<T, Error> {
        self.map_err(|e| map(e, "parent"))
    }

    fn db_parent(self, parent: &'static str) -> Result<T, Error> {
        self.map_err(|e| map(e, parent))
    }
}

/// Maps an sqlx error; a foreign-key violation is `NotFound(parent)`.
pub(crate) fn map(err: sqlx::Error, parent: &'static str) -> Error {
    match err {
        sqlx::Error::Database(db) => map_database(db, parent),
        sqlx::Error::PoolTimedOut => Error::unavailable(
            WHAT,
            "timed out waiting for a database connection",
            boxed(sqlx::Error::PoolTimedOut),
        ),
        sqlx::Error::PoolClosed => Error::unavailable(WHAT, "the connection pool is closed", None),
        sqlx::Error::Io(io) => Error::unavailable(WHAT, "cannot reach the database", boxed(io)),
        sqlx::Error::WorkerCrashed => Error::unavailable(
            WHAT,
            "the database connection worker stopped",
            boxed(sqlx::Error::WorkerCrashed),
        ),
        other => Error::internal("store query failed", boxed(other)),
    }
}

fn boxed(
    e: impl std::error::Error + Send + Sync + 'static,
) -> Option<vibebox_core::error::BoxError> {
    Some(Box::new(e))
}

fn map_database(db: Box<dyn DatabaseError>, parent: &'static str) -> Error {
    let code: i32 = db.code().and_then(|c| c.parse().ok()).unwrap_or(0);
    match db.kind() {
        DbErrorKind::UniqueViolation => {
            let detail = db
                .message()
                .strip_prefix("UNIQUE constraint failed: ")
                .unwrap_or_default();
            let (resource, field) = unique_field(detail);
            Error::already_exists(resource, field)
        }
        DbErrorKind::ForeignKeyViolation => Error::not_found(parent),
        DbErrorKind::CheckViolation => {
            let name = db
                .message()
                .strip_prefix("CHECK constraint failed: ")
                .unwrap_or("value")
                .to_string();
            Error::invalid(name, "violates a rule of the database schema")
        }
        DbErrorKind::NotNullViolation => {
            let column = db
                .message()
                .strip_prefix("NOT NULL constraint failed: ")
                .and_then(|c| c.rsplit('.').next())
                .unwrap_or("value")
                .to_string();
            Error::invalid(column, "must not be null")
        }
        _ if code == SQLITE_CONSTRAINT_TRIGGER && db.message() == "last_admin" => Error::LastAdmin,
        _ => match code & 0xff {
            // SQLITE_BUSY, SQLITE_LOCKED: another connection holds the lock past busy_timeout.
            5 | 6 => Error::unavailable(WHAT, "the database is busy", Some(db.into_error())),
            // SQLITE_READONLY, SQLITE_IOERR, SQLITE_FULL, SQLITE_CANTOPEN.
            8 | 10 | 13 | 14 => Error::unavailable(
                WHAT,
                "the database file cannot be used",
                Some(db.into_error()),
            ),
            _ => Error::internal("store query failed", Some(db.into_error())),
        },
    }
}

/// The resource and field a unique violation is about.
fn unique_field(detail: &str) -> (&'static str, Cow<'static, str>) {
    if let Some((_, resource, field)) = UNIQUE.iter().find(|(d, _, _)| *d == detail) {
        return (resource, Cow::Borrowed(*field));
    }
    if let Some(table) = detail.strip_suffix(".id")
        && let Some((_, resource)) = TABLES.iter().find(|(t, _)| *t == table)
    {
        return (resource, Cow::Borrowed("id"));
    }
    ("record", Cow::Borrowed("unique key"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unique_constraints_name_their_fields() {
        assert_eq!(unique_field("index 'users_email_key'").1, "email");
        assert_eq!(unique_field("teams.slug"), ("team", "slug".into()));
        assert_eq!(unique_field("sessions.id"), ("session", "id".into()));
        assert_eq!(unique_field("nonsense").0, "record");
    }

    #[test]
    fn pool_timeouts_are_unavailable() {
        let e = map(sqlx::Error::PoolTimedOut, "parent");
        assert_eq!(e.kind(), vibebox_core::ErrorKind::Unavailable);
    }
}
