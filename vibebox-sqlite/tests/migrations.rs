//! Migrations: upgrade in place, idempotent scripts, failures that name the migration.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::str::FromStr;

use sqlx::sqlite::{SqliteConnectOptions, SqlitePool, SqlitePoolOptions};
use vibebox_core::ErrorKind;
use vibebox_core::domain::ProjectOwner;
use vibebox_core::store::{EnvironmentsStore, ProjectsStore, UsersStore};
use vibebox_core::testing::store_checks::fixtures::{environment, project, unique_slug};
use vibebox_sqlite::{MIGRATOR, SqliteStore};

/// A raw pool on a new database file (no migrations run), and its URL.
async fn raw_pool() -> (SqlitePool, String) {
    let url = common::fresh_url();
    let options = SqliteConnectOptions::from_str(&url)
        .unwrap()
        .create_if_missing(true)
        .foreign_keys(true);
    let pool = SqlitePoolOptions::new()
        .max_connections(1)
        .connect_with(options)
        .await
        .unwrap();
    (pool, url)
}

async fn tables(pool: &SqlitePool) -> Vec<String> {
    sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%' \
         ORDER BY name",
    )
    .fetch_all(pool)
    .await
    .unwrap()
}

#[test]
fn there_are_at_least_two_migrations_in_order() {
    let versions: Vec<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    assert!(versions.len() >= 2, "{versions:?}");
    assert!(versions.windows(2).all(|w| w[0] < w[1]));
}

#[tokio::test]
async fn older_database_upgrades_in_place() {
    let (pool, url) = raw_pool().await;
    MIGRATOR.run_to(1, &pool).await.unwrap();
    assert!(!tables(&pool).await.contains(&"environments".to_string()));
    // Data written by a build that only knew migration 1.
    let owner = vibebox_core::testing::store_checks::fixtures::user("old@example.com");
    sqlx::query(
        "INSERT INTO users (id, email, display_name, notification_settings, is_platform_admin, \
         disabled, created_at, updated_at) VALUES (?, ?, ?, '{}', 0, 0, ?, ?)",
    )
    .bind(owner.id.0)
    .bind(&owner.email)
    .bind(&owner.display_name)
    .bind(owner.created_at.timestamp_micros())
    .bind(owner.updated_at.timestamp_micros())
    .execute(&pool)
    .await
    .unwrap();
    pool.close().await;

    let store = SqliteStore::connect(&url).await.unwrap();
    let stored = store.get_user(owner.id).await.unwrap();
    assert_eq!(stored.email, "old@example.com");
    assert_eq!(stored.created_at, owner.created_at);
    let all = tables(store.pool()).await;
    for table in [
        "users",
        "teams",
        "memberships",
        "projects",
        "environments",
        "environment_ports",
        "environment_variables",
        "sessions",
        "extensions",
        "environment_extensions",
        "logs",
        "api_keys",
        "refresh_sessions",
        "audit_events",
    ] {
        assert!(all.contains(&table.to_string()), "{table} missing: {all:?}");
    }
    let applied: Vec<i64> =
        sqlx::query_scalar("SELECT version FROM _sqlx_migrations WHERE success ORDER BY version")
            .fetch_all(store.pool())
            .await
            .unwrap();
    assert_eq!(
        applied,
        MIGRATOR.iter().map(|m| m.version).collect::<Vec<_>>()
    );
    // The upgraded schema works with the old data.
    let p = project(ProjectOwner::User(owner.id), &unique_slug("proj"));
    store.create_project(&p).await.unwrap();
    store
        .create_environment(&environment(p.id, owner.id, &unique_slug("env")))
        .await
        .unwrap();
}

#[tokio::test]
async fn migration_scripts_are_idempotent() {
    let store = common::disk_store().await;
    for migration in MIGRATOR.iter() {
        sqlx::raw_sql(migration.sql.clone())
            .execute(store.pool())
            .await
            .unwrap_or_else(|e| panic!("migration {} again: {e}", migration.version));
    }
}

#[tokio::test]
async fn failing_migration_stops_connect_and_names_the_migration() {
    let (pool, url) = raw_pool().await;
    MIGRATOR.run_to(1, &pool).await.unwrap();
    // An object that migration 2 cannot build on: a view where it expects its table.
    sqlx::query("CREATE VIEW environments AS SELECT 1 AS id")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let err = SqliteStore::connect(&url).await.unwrap_err();
    let second = MIGRATOR.iter().nth(1).unwrap();
    let message = err.to_string();
    assert!(
        message.contains(&format!("migration {}", second.version)),
        "{message}"
    );
    assert!(message.contains(&*second.description), "{message}");
    assert_eq!(err.kind(), ErrorKind::Internal);
    assert!(
        !message.contains("sqlite:"),
        "no URL in the message: {message}"
    );
}

#[tokio::test]
async fn tampered_migration_checksum_names_the_migration() {
    let url = common::fresh_url();
    SqliteStore::connect(&url).await.unwrap().close().await;
    let pool = SqlitePool::connect_with(SqliteConnectOptions::from_str(&url).unwrap())
        .await
        .unwrap();
    sqlx::query("UPDATE _sqlx_migrations SET checksum = x'00' WHERE version = 1")
        .execute(&pool)
        .await
        .unwrap();
    pool.close().await;

    let err = SqliteStore::connect(&url).await.unwrap_err();
    let first = MIGRATOR.iter().next().unwrap();
    let message = err.to_string();
    assert!(message.contains("migration 1 "), "{message}");
    assert!(message.contains(&*first.description), "{message}");
    assert!(message.contains("modified"), "{message}");
}

#[tokio::test]
async fn ports_from_before_share_levels_become_private() {
    let (pool, url) = raw_pool().await;
    MIGRATOR.run_to(3, &pool).await.unwrap();
    // A user, project, environment and port written by a build that only knew migration 3.
    let (user, project, env, port) = (
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
        uuid::Uuid::now_v7(),
    );
    for (sql, id) in [
        (
            "INSERT INTO users (id, email, display_name, created_at, updated_at) \
             VALUES (?, 'old-port@example.com', 'Old', 1, 1)",
            user,
        ),
        (
            "INSERT INTO projects (id, name, slug, owner_user_id, created_at, updated_at) \
             SELECT ?, 'Old', 'old-proj', id, 1, 1 FROM users",
            project,
        ),
        (
            "INSERT INTO environments (id, project_id, name, slug, creator_id, base_image, \
             status, cpu_limit, memory_limit, storage_limit, version, status_changed_at, \
             created_at, updated_at) \
             SELECT ?, projects.id, 'Old', 'old-env', users.id, 'ubuntu:24.04', 'stopped', \
             2.0, 4096, 20480, 1, 1, 1, 1 FROM projects, users",
            env,
        ),
        (
            "INSERT INTO environment_ports (id, environment_id, container_port, protocol, \
             created_at, updated_at) SELECT ?, id, 8080, 'tcp', 1, 1 FROM environments",
            port,
        ),
    ] {
        sqlx::query(sql).bind(id).execute(&pool).await.unwrap();
    }
    pool.close().await;

    let store = SqliteStore::connect(&url).await.unwrap();
    let ports = store
        .list_ports(vibebox_core::id::EnvironmentId(env))
        .await
        .unwrap();
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].id.0, port);
    assert_eq!(
        ports[0].share_level,
        vibebox_core::domain::ShareLevel::Private
    );
    let found = store
        .find_environments_by_slugs("old-proj", "old-env")
        .await
        .unwrap();
    assert_eq!(found.len(), 1);
    assert_eq!(found[0].id.0, env);
}
