//! Migrations: an older database upgrades in place, replicas starting together are safe, each
//! migration is idempotent, and a failing one is named.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use sqlx::PgPool;
use vibebox_core::ErrorKind;
use vibebox_core::store::*;
use vibebox_core::testing::store_checks::fixtures::*;
use vibebox_postgres::{MIGRATOR, PgStore};

async fn applied(raw: &PgPool) -> Vec<i64> {
    sqlx::query_scalar("SELECT version FROM _sqlx_migrations ORDER BY version")
        .fetch_all(raw)
        .await
        .unwrap()
}

#[tokio::test]
async fn there_are_at_least_two_ordered_migrations() {
    let versions: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    assert!(versions.len() >= 2, "{versions:?}");
    assert!(versions.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn older_database_upgrades_in_place() {
    let url = vibebox_postgres::testing::fresh_database_url()
        .await
        .unwrap();
    let raw = PgPool::connect(&url).await.unwrap();
    MIGRATOR.run_to(1, &raw).await.unwrap();
    assert_eq!(applied(&raw).await, [1]);

    // Data written by a build that only knew migration 1.
    let u = user(&unique_email());
    sqlx::query(
        "INSERT INTO users (id, email, display_name, notification_settings, created_at, \
         updated_at, password_hash) VALUES ($1, $2, $3, '{}', $4, $5, $6)",
    )
    .bind(u.id.0)
    .bind(&u.email)
    .bind(&u.display_name)
    .bind(u.created_at)
    .bind(u.updated_at)
    .bind(u.password_hash.as_ref().map(|h| h.as_phc()))
    .execute(&raw)
    .await
    .unwrap();
    let p = project(
        vibebox_core::domain::ProjectOwner::User(u.id),
        &unique_slug("proj"),
    );
    sqlx::query(
        "INSERT INTO projects (id, name, slug, owner_user_id, is_archived, created_at, \
         updated_at) VALUES ($1, $2, $3, $4, false, $5, $6)",
    )
    .bind(p.id.0)
    .bind(&p.name)
    .bind(&p.slug)
    .bind(u.id.0)
    .bind(p.created_at)
    .bind(p.updated_at)
    .execute(&raw)
    .await
    .unwrap();

    let store = PgStore::connect(&url).await.unwrap();
    let all: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(applied(&raw).await, all);
    assert_eq!(store.get_user(u.id).await.unwrap(), u);
    assert_eq!(store.get_project(p.id).await.unwrap(), p);
    // The schema is complete: the newer tables work with the old rows.
    let e = environment(p.id, u.id, &unique_slug("env"));
    store.create_environment(&e).await.unwrap();
    store
        .append_logs(&[log_line(
            e.id,
            now(),
            vibebox_core::domain::LogStream::Stdout,
            "upgraded",
        )])
        .await
        .unwrap();
    assert_eq!(store.log_bytes(e.id).await.unwrap(), 8);
}

#[tokio::test]
async fn replicas_starting_together_apply_each_migration_once() {
    let url = vibebox_postgres::testing::fresh_database_url()
        .await
        .unwrap();
    let stores = futures::future::join_all((0..6).map(|_| PgStore::connect(&url))).await;
    for store in &stores {
        store.as_ref().unwrap();
    }
    let raw = PgPool::connect(&url).await.unwrap();
    let versions: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    assert_eq!(applied(&raw).await, versions);
}

#[tokio::test]
async fn every_migration_can_run_again() {
    let url = vibebox_postgres::testing::fresh_database_url()
        .await
        .unwrap();
    PgStore::connect(&url).await.unwrap();
    let raw = PgPool::connect(&url).await.unwrap();
    for migration in MIGRATOR.iter() {
        let sql = migration.sql.as_str().to_owned();
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
            .execute(&raw)
            .await
            .unwrap_or_else(|e| panic!("migration {} again: {e}", migration.version));
    }
}

#[tokio::test]
async fn failing_migration_stops_connect_and_names_the_migration() {
    let url = vibebox_postgres::testing::fresh_database_url()
        .await
        .unwrap();
    let raw = PgPool::connect(&url).await.unwrap();
    // A conflicting object: an `environments` table of another shape.
    sqlx::query("CREATE TABLE environments (id INTEGER PRIMARY KEY)")
        .execute(&raw)
        .await
        .unwrap();
    let err = PgStore::connect(&url).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    let shown = err.to_string();
    assert!(
        shown.contains("migration 2 (environments logs auth) failed"),
        "{shown}"
    );
    assert!(!shown.contains("CREATE "), "no SQL in the message: {shown}");
    // Migration 1 went in; the failed one left nothing behind.
    assert_eq!(applied(&raw).await, [1]);
    let logs: Option<String> = sqlx::query_scalar("SELECT to_regclass('logs')::text")
        .fetch_one(&raw)
        .await
        .unwrap();
    assert_eq!(logs, None);
}

#[tokio::test]
async fn tampered_migration_checksum_stops_connect_and_names_the_migration() {
    let url = vibebox_postgres::testing::fresh_database_url()
        .await
        .unwrap();
    PgStore::connect(&url).await.unwrap();
    let raw = PgPool::connect(&url).await.unwrap();
    sqlx::query("UPDATE _sqlx_migrations SET checksum = '\\x00'::bytea WHERE version = 1")
        .execute(&raw)
        .await
        .unwrap();
    let err = PgStore::connect(&url).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(
        err.to_string()
            .contains("migration 1 (accounts and projects)"),
        "{err}"
    );
}

/// The definitions of the CHECK constraints on `environments` that name `status`.
async fn status_checks(raw: &PgPool) -> Vec<(String, String)> {
    sqlx::query_as(
        "SELECT conname::text, pg_get_constraintdef(oid) FROM pg_constraint \
         WHERE conrelid = 'environments'::regclass AND contype = 'c' \
         AND pg_get_constraintdef(oid) LIKE '%status%' ORDER BY conname",
    )
    .fetch_all(raw)
    .await
    .unwrap()
}

#[tokio::test]
async fn suspend_migration_replaces_the_status_check_in_place() {
    let url = vibebox_postgres::testing::fresh_database_url()
        .await
        .unwrap();
    let raw = PgPool::connect(&url).await.unwrap();
    MIGRATOR.run_to(6, &raw).await.unwrap();
    let before = status_checks(&raw).await;
    assert_eq!(before.len(), 1, "{before:?}");
    assert_eq!(before[0].0, "environments_status_check");
    assert!(!before[0].1.contains("suspended"), "{before:?}");

    PgStore::connect(&url).await.unwrap();
    let after = status_checks(&raw).await;
    assert_eq!(after.len(), 1, "one status check, not two: {after:?}");
    assert_eq!(after[0].0, "environments_status_check");
    for status in [
        "stopped",
        "starting",
        "running",
        "stopping",
        "error",
        "suspended",
        "resuming",
    ] {
        assert!(after[0].1.contains(&format!("'{status}'")), "{after:?}");
    }
}
