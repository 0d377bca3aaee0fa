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

/// Every script can run again, except those that add columns (SQLite has no `ADD COLUMN IF
/// NOT EXISTS`): they say so in a `-- once:` line, and a second run fails only because the
/// column is there, changing nothing.
#[tokio::test]
async fn migration_scripts_are_idempotent() {
    let store = common::disk_store().await;
    for migration in MIGRATOR.iter() {
        let again = sqlx::raw_sql(migration.sql.clone())
            .execute(store.pool())
            .await;
        if migration.sql.as_str().contains("\n-- once:") {
            let e = again.expect_err("a column added twice");
            assert!(
                e.to_string().contains("duplicate column name"),
                "migration {}: {e}",
                migration.version
            );
        } else {
            again.unwrap_or_else(|e| panic!("migration {} again: {e}", migration.version));
        }
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

/// How many rows of `table` belong to the environment `env` (through `column`).
async fn rows_of(pool: &SqlitePool, table: &str, column: &str, env: uuid::Uuid) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(format!(
        "SELECT count(*) FROM {table} WHERE {column} = ?"
    )))
    .bind(env)
    .fetch_one(pool)
    .await
    .unwrap()
}

/// The rows an environment owns, table by table, for the rebuild test.
const CHILD_TABLES: [(&str, &str); 6] = [
    ("environment_ports", "environment_id"),
    ("environment_variables", "environment_id"),
    ("sessions", "environment_id"),
    ("logs", "environment_id"),
    ("environment_health", "environment_id"),
    ("environments", "id"),
];

#[tokio::test]
async fn environments_from_before_suspend_keep_every_row_and_still_cascade() {
    let (pool, url) = raw_pool().await;
    MIGRATOR.run_to(5, &pool).await.unwrap();
    // Two environments with children, written by a build that only knew migration 5.
    let user = uuid::Uuid::now_v7();
    let project = uuid::Uuid::now_v7();
    let envs = [uuid::Uuid::now_v7(), uuid::Uuid::now_v7()];
    sqlx::query(
        "INSERT INTO users (id, email, display_name, created_at, updated_at) \
         VALUES (?, 'before-suspend@example.com', 'Old', 1, 1)",
    )
    .bind(user)
    .execute(&pool)
    .await
    .unwrap();
    sqlx::query(
        "INSERT INTO projects (id, name, slug, owner_user_id, created_at, updated_at) \
         VALUES (?, 'Old', 'old-proj', ?, 1, 1)",
    )
    .bind(project)
    .bind(user)
    .execute(&pool)
    .await
    .unwrap();
    for (i, env) in envs.into_iter().enumerate() {
        let port = uuid::Uuid::now_v7();
        let rows: [(&str, Vec<uuid::Uuid>); 7] = [
            (
                "INSERT INTO environments (id, project_id, name, slug, creator_id, base_image, \
                 container_id, status, cpu_limit, memory_limit, storage_limit, error_message, \
                 version, status_changed_at, created_at, updated_at) \
                 SELECT ?, projects.id, 'Old', 'old-env-' || (SELECT count(*) FROM environments), \
                 users.id, 'vibebox/base:bookworm', 'c0ffee', 'running', 1.5, 2048, 10240, \
                 'was fine', 7, 2, 3, 4 FROM projects, users",
                vec![env],
            ),
            (
                "INSERT INTO environment_ports (id, environment_id, container_port, host_port, \
                 bound_host_port, protocol, created_at, updated_at) \
                 VALUES (?, ?, 8080, NULL, 49153, 'tcp', 1, 1)",
                vec![port, env],
            ),
            (
                "INSERT INTO environment_port_shares (port_id, share_level) VALUES (?, 'team')",
                vec![port],
            ),
            (
                "INSERT INTO environment_variables (id, environment_id, key, value, \
                 is_encrypted, created_at, updated_at) VALUES (?, ?, 'GREETING', 'hello', 0, 1, 1)",
                vec![uuid::Uuid::now_v7(), env],
            ),
            (
                "INSERT INTO sessions (id, environment_id, session_type, session_name, status, \
                 pid, idle_timeout_minutes, last_activity_at, created_at, updated_at) \
                 VALUES (?, ?, 'tmux', 'main', 'active', 42, 30, 5, 1, 1)",
                vec![uuid::Uuid::now_v7(), env],
            ),
            (
                "INSERT INTO logs (environment_id, timestamp, stream, message, bytes) \
                 VALUES (?, 5, 'stdout', 'hello', 5)",
                vec![env],
            ),
            (
                "INSERT INTO environment_health (environment_id, oom_kills, last_oom_kill_at) \
                 VALUES (?, 2, 6)",
                vec![env],
            ),
        ];
        for (sql, ids) in rows {
            let mut q = sqlx::query(sql);
            for id in ids {
                q = q.bind(id);
            }
            let done = q.execute(&pool).await.unwrap();
            assert_eq!(done.rows_affected(), 1, "environment {i}: {sql}");
        }
    }
    // Before 0006 the schema refuses the new statuses.
    let refused = sqlx::query("UPDATE environments SET status = 'suspended' WHERE id = ?")
        .bind(envs[0])
        .execute(&pool)
        .await;
    assert!(refused.is_err(), "{refused:?}");
    let mut before = Vec::new();
    for (table, column) in CHILD_TABLES {
        for env in envs {
            before.push(rows_of(&pool, table, column, env).await);
        }
    }
    assert!(before.iter().all(|n| *n == 1), "{before:?}");
    pool.close().await;

    // connect runs 0006.
    let store = SqliteStore::connect(&url).await.unwrap();
    let p = store.pool();
    let mut after = Vec::new();
    for (table, column) in CHILD_TABLES {
        for env in envs {
            after.push(rows_of(p, table, column, env).await);
        }
    }
    assert_eq!(after, before);
    let shares: i64 = sqlx::query_scalar("SELECT count(*) FROM environment_port_shares")
        .fetch_one(p)
        .await
        .unwrap();
    assert_eq!(shares, 2);
    // Every column came across.
    let first = vibebox_core::id::EnvironmentId(envs[0]);
    let env = store.get_environment(first).await.unwrap();
    assert_eq!(
        (
            env.container_id.as_deref(),
            env.status,
            env.cpu_limit,
            env.memory_limit,
            env.error_message.as_deref(),
            env.version,
        ),
        (
            Some("c0ffee"),
            vibebox_core::domain::EnvironmentStatus::Running,
            1.5,
            2048,
            Some("was fine"),
            7,
        )
    );
    assert_eq!(env.health.oom_kills, 2);
    // 0007: environments from before the idle policy have the default one.
    assert_eq!(env.idle_policy, vibebox_core::domain::IdlePolicy::DEFAULT);
    let ports = store.list_ports(first).await.unwrap();
    assert_eq!(ports.len(), 1);
    assert_eq!(ports[0].share_level, vibebox_core::domain::ShareLevel::Team);
    assert_eq!(store.list_variables(first).await.unwrap().len(), 1);
    // The rebuilt table has its indexes, and the schema its foreign keys.
    let indexes: Vec<String> = sqlx::query_scalar(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'environments' \
         AND sql IS NOT NULL ORDER BY name",
    )
    .fetch_all(p)
    .await
    .unwrap();
    assert_eq!(
        indexes,
        [
            "environments_container_id_idx",
            "environments_creator_id_idx",
            "environments_project_id_idx",
            "environments_status_idx",
        ]
    );
    let violations: i64 = sqlx::query_scalar("SELECT count(*) FROM pragma_foreign_key_check")
        .fetch_one(p)
        .await
        .unwrap();
    assert_eq!(violations, 0);
    let foreign_keys: i64 = sqlx::query_scalar("PRAGMA foreign_keys")
        .fetch_one(p)
        .await
        .unwrap();
    assert_eq!(foreign_keys, 1, "foreign keys are back on");
    let leftovers: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM sqlite_master WHERE name = 'environments_rebuilt'",
    )
    .fetch_one(p)
    .await
    .unwrap();
    assert_eq!(leftovers, 0);

    // The new statuses are accepted now.
    let mut suspended = env.clone();
    suspended.status = vibebox_core::domain::EnvironmentStatus::Suspended;
    let suspended = store
        .update_environment(&suspended, env.status, env.version)
        .await
        .unwrap();
    assert_eq!(
        store.get_environment(first).await.unwrap().status,
        vibebox_core::domain::EnvironmentStatus::Suspended
    );
    assert_eq!(suspended.version, 8);

    // Deleting an environment still cascades to its children, and only to its own.
    store.delete_environment(first).await.unwrap();
    for (table, column) in CHILD_TABLES {
        assert_eq!(rows_of(p, table, column, envs[0]).await, 0, "{table}");
        assert_eq!(rows_of(p, table, column, envs[1]).await, 1, "{table}");
    }
    let shares: i64 = sqlx::query_scalar("SELECT count(*) FROM environment_port_shares")
        .fetch_one(p)
        .await
        .unwrap();
    assert_eq!(shares, 1);
}
