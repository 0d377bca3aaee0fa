//! The embedded migrations and how their failures are reported.

use sqlx::migrate::{MigrateError, Migrator};
use vibebox_core::Error;

use crate::error;

/// The schema migrations in `migrations/`, embedded at build time. [`PgStore::connect`]
/// runs them; sqlx takes a PostgreSQL advisory lock for the run, so replicas that start at the
/// same time apply each migration once.
///
/// [`PgStore::connect`]: crate::PgStore::connect
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Names a migration by version and description (`migration 2 (environments logs auth)`).
fn name(version: i64) -> String {
    match MIGRATOR.iter().find(|m| m.version == version) {
        Some(m) => format!("migration {version} ({})", m.description),
        None => format!("migration {version}"),
    }
}

/// Maps a failed migration run; the message names the migration that failed.
pub(crate) fn map(err: MigrateError) -> Error {
    match err {
        MigrateError::Execute(e) => match error::map(e) {
            e @ Error::Unavailable { .. } => e,
            other => Error::internal(
                format!("running migrations failed: {other}"),
                Some(Box::new(other) as _),
            ),
        },
        MigrateError::ExecuteMigration(sqlx::Error::Database(db), version) => {
            let reason = format!(
                "{} (SQLSTATE {})",
                db.message(),
                db.code().unwrap_or_default()
            );
            Error::internal(
                format!("{} failed: {reason}", name(version)),
                Some(db.into_error()),
            )
        }
        MigrateError::ExecuteMigration(e, version) => match error::map(e) {
            e @ Error::Unavailable { .. } => e,
            other => Error::internal(
                format!("{} failed: {other}", name(version)),
                Some(Box::new(other) as _),
            ),
        },
        MigrateError::VersionMismatch(version) => Error::internal(
            format!(
                "{} was applied with different contents (checksum mismatch)",
                name(version)
            ),
            None,
        ),
        MigrateError::VersionMissing(version) => Error::internal(
            format!(
                "migration {version} is applied in the database but unknown to this build \
                 (is the database newer than this vibebox-postgres?)"
            ),
            None,
        ),
        MigrateError::Dirty(version) => {
            Error::internal(format!("{} is partially applied", name(version)), None)
        }
        other => Error::internal(
            format!("running migrations failed: {other}"),
            Some(Box::new(other) as _),
        ),
    }
}
