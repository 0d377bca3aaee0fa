//! What the integration tests share: a fresh store with a raw pool on the same database.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use sqlx::PgPool;
use vibebox_postgres::PgStore;

/// A store on a new database, a raw pool on the same database, and its URL.
pub struct Fresh {
    pub store: PgStore,
    pub raw: PgPool,
    pub url: String,
}

pub async fn fresh() -> Fresh {
    let url = vibebox_postgres::testing::fresh_database_url()
        .await
        .unwrap();
    let store = PgStore::connect(&url).await.unwrap();
    let raw = PgPool::connect(&url).await.unwrap();
    Fresh { store, raw, url }
}

/// The SQLSTATE and constraint of a failed raw statement.
#[track_caller]
pub fn violation<T: std::fmt::Debug>(result: Result<T, sqlx::Error>) -> (String, String) {
    match result {
        Err(sqlx::Error::Database(db)) => (
            db.code().unwrap_or_default().into_owned(),
            db.constraint().unwrap_or_default().to_owned(),
        ),
        other => panic!("expected a database error, got {other:?}"),
    }
}

/// Asserts that a raw statement broke the named constraint with the given SQLSTATE.
#[track_caller]
pub fn assert_violates<T: std::fmt::Debug>(
    result: Result<T, sqlx::Error>,
    code: &str,
    constraint: &str,
) {
    let (got_code, got_constraint) = violation(result);
    assert_eq!(
        (got_code.as_str(), got_constraint.as_str()),
        (code, constraint)
    );
}

pub const UNIQUE: &str = "23505";
pub const FOREIGN_KEY: &str = "23503";
pub const CHECK: &str = "23514";
