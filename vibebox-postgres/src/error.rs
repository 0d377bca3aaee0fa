//! Mapping sqlx errors into VibeBox errors.
//!
//! A violated constraint is recognised by its name (the migrations name every constraint and
//! unique index), so the error names the field or parent the rule is about:
//!
//! - unique violations → `AlreadyExists` naming the field;
//! - foreign-key violations → `NotFound` naming the parent;
//! - CHECK violations → `InvalidInput` naming the column;
//! - a pool timeout, a closed pool, an I/O or TLS failure, or a server that is shutting down →
//!   `Unavailable`;
//! - everything else → `Internal`, with the SQLSTATE but never SQL text or the URL.

use sqlx::error::DatabaseError;
use vibebox_core::Error;

/// What the store is called in `Unavailable` errors.
pub(crate) const WHAT: &str = "store";

/// Maps any sqlx error from a store operation.
pub(crate) fn map(err: sqlx::Error) -> Error {
    match err {
        sqlx::Error::Database(db) => map_database(db),
        sqlx::Error::PoolTimedOut => Error::unavailable(
            WHAT,
            "no database connection became available in time",
            Some(Box::new(sqlx::Error::PoolTimedOut) as _),
        ),
        sqlx::Error::PoolClosed => Error::unavailable(WHAT, "the connection pool is closed", None),
        sqlx::Error::Io(io) => Error::unavailable(
            WHAT,
            format!("database connection failed: {io}"),
            Some(Box::new(io) as _),
        ),
        sqlx::Error::Tls(tls) => {
            Error::unavailable(WHAT, "database TLS handshake failed", Some(tls as _))
        }
        sqlx::Error::Protocol(_) => {
            Error::unavailable(WHAT, "the database connection broke (protocol error)", None)
        }
        sqlx::Error::WorkerCrashed => {
            Error::unavailable(WHAT, "the database connection worker stopped", None)
        }
        other => Error::internal(
            format!("unexpected database answer: {}", kind_of(&other)),
            Some(Box::new(other) as _),
        ),
    }
}

/// A short, SQL-free name for a non-database sqlx error.
fn kind_of(err: &sqlx::Error) -> &'static str {
    match err {
        sqlx::Error::RowNotFound => "no row",
        sqlx::Error::TypeNotFound { .. } => "unknown type",
        sqlx::Error::ColumnIndexOutOfBounds { .. } | sqlx::Error::ColumnNotFound(_) => {
            "missing column"
        }
        sqlx::Error::ColumnDecode { .. } | sqlx::Error::Decode(_) => "undecodable value",
        sqlx::Error::Encode(_) => "unencodable value",
        sqlx::Error::Configuration(_) => "configuration",
        _ => "other",
    }
}

fn map_database(db: Box<dyn DatabaseError>) -> Error {
    let code = db.code().map(|c| c.into_owned()).unwrap_or_default();
    let constraint = db.constraint().unwrap_or_default().to_owned();
    match code.as_str() {
        // unique_violation
        "23505" => {
            let (resource, field) = unique_field(&constraint);
            Error::already_exists(resource, field)
        }
        // foreign_key_violation
        "23503" => Error::not_found(parent_of(&constraint)),
        // check_violation
        "23514" => Error::invalid(
            checked_field(&constraint),
            format!("breaks the database rule {constraint}"),
        ),
        // not_null_violation
        "23502" => Error::invalid("value", "a required value is missing"),
        // character_not_in_repertoire: PostgreSQL text cannot hold NUL
        "22021" => Error::invalid("value", "text must not contain NUL characters"),
        // other data exceptions (out of range, bad encoding, ...)
        c if c.starts_with("22") => Error::invalid(
            "value",
            format!("the database refused a value (SQLSTATE {c})"),
        ),
        // serialization_failure, deadlock_detected
        "40001" | "40P01" => Error::Conflict("a concurrent change interfered; retry".into()),
        // connection exceptions, too many connections, shutdown, cannot connect now
        c if c.starts_with("08") || matches!(c, "53300" | "57P01" | "57P02" | "57P03") => {
            Error::unavailable(
                WHAT,
                format!("the database refused or dropped the connection (SQLSTATE {c})"),
                Some(db.into_error()),
            )
        }
        // query_canceled (statement timeout)
        "57014" => Error::Timeout("database statement".into()),
        c => Error::internal(
            format!("database error (SQLSTATE {c})"),
            Some(db.into_error()),
        ),
    }
}

/// The resource and field a unique constraint or index protects.
fn unique_field(constraint: &str) -> (&'static str, &'static str) {
    match constraint {
        "users_pkey" => ("user", "id"),
        "users_email_key" => ("user", "email"),
        "oauth_identities_pkey" => ("oauth_identity", "id"),
        "oauth_identities_provider_subject_key" => ("oauth_identity", "provider, subject"),
        "teams_pkey" => ("team", "id"),
        "teams_slug_key" => ("team", "slug"),
        "memberships_pkey" => ("membership", "user_id"),
        "projects_pkey" => ("project", "id"),
        "projects_owner_user_slug_key" | "projects_owner_team_slug_key" => ("project", "slug"),
        "environments_pkey" => ("environment", "id"),
        "environments_project_slug_key" => ("environment", "slug"),
        "environment_ports_pkey" => ("port", "id"),
        "environment_ports_container_port_key" => ("port", "container_port"),
        "environment_ports_host_port_key" => ("port", "host_port"),
        "environment_variables_pkey" => ("variable", "id"),
        "environment_variables_key_key" => ("variable", "key"),
        "sessions_pkey" => ("session", "id"),
        "sessions_live_name_key" => ("session", "session_name"),
        "extensions_pkey" => ("extension", "id"),
        "extensions_extension_id_key" => ("extension", "extension_id"),
        "environment_extensions_pkey" => ("environment_extension", "id"),
        "environment_extensions_extension_key" => ("environment_extension", "extension_id"),
        "logs_pkey" => ("log", "id"),
        "api_keys_pkey" => ("api_key", "id"),
        "api_keys_prefix_key" => ("api_key", "prefix"),
        "api_keys_secret_hash_key" => ("api_key", "secret_hash"),
        "refresh_sessions_pkey" => ("refresh_session", "id"),
        "refresh_sessions_token_hash_key" => ("refresh_session", "token"),
        "audit_events_pkey" => ("audit_event", "id"),
        "ssh_keys_pkey" => ("ssh_key", "id"),
        "ssh_keys_fingerprint_key" => ("ssh_key", "public_key"),
        _ => ("row", "id"),
    }
}

/// The parent resource a foreign key points at.
fn parent_of(constraint: &str) -> &'static str {
    match constraint {
        "oauth_identities_user_id_fkey"
        | "memberships_user_id_fkey"
        | "projects_owner_user_id_fkey"
        | "environments_creator_id_fkey"
        | "api_keys_user_id_fkey"
        | "refresh_sessions_user_id_fkey"
        | "ssh_keys_user_id_fkey" => "user",
        "memberships_team_id_fkey" | "projects_owner_team_id_fkey" => "team",
        "environments_project_id_fkey" => "project",
        "environment_ports_environment_id_fkey"
        | "environment_variables_environment_id_fkey"
        | "sessions_environment_id_fkey"
        | "environment_extensions_environment_id_fkey"
        | "logs_environment_id_fkey" => "environment",
        "environment_extensions_extension_id_fkey" => "extension",
        _ => "parent",
    }
}

/// The column a CHECK constraint named `<table>_<column>_check` is about.
fn checked_field(constraint: &str) -> String {
    const TABLES: &[&str] = &[
        "environment_extensions",
        "environment_variables",
        "environment_ports",
        "oauth_identities",
        "refresh_sessions",
        "audit_events",
        "environments",
        "memberships",
        "extensions",
        "api_keys",
        "ssh_keys",
        "projects",
        "sessions",
        "users",
        "teams",
        "logs",
    ];
    let column = constraint.strip_suffix("_check").unwrap_or(constraint);
    TABLES
        .iter()
        .find_map(|t| column.strip_prefix(t).and_then(|c| c.strip_prefix('_')))
        .unwrap_or(column)
        .to_owned()
}

/// An error for a row whose stored value the domain type rejects (a bug or a tampered row).
pub(crate) fn corrupt(what: &'static str, err: Error) -> Error {
    Error::internal(
        format!("stored {what} is not valid: {err}"),
        Some(Box::new(err) as _),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn check_constraints_name_their_column() {
        assert_eq!(checked_field("teams_slug_check"), "slug");
        assert_eq!(
            checked_field("environment_ports_container_port_check"),
            "container_port"
        );
        assert_eq!(checked_field("projects_owner_check"), "owner");
        assert_eq!(checked_field("sessions_session_name_check"), "session_name");
        assert_eq!(checked_field("odd"), "odd");
    }

    #[test]
    fn pool_timeouts_are_unavailable() {
        let e = map(sqlx::Error::PoolTimedOut);
        assert_eq!(e.kind(), vibebox_core::ErrorKind::Unavailable);
    }
}
