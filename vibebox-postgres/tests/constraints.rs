//! Every rule SQL can hold is a constraint: raw inserts that break a rule fail even though they
//! bypass the store, and the same violations through the store name the field.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::{CHECK, FOREIGN_KEY, UNIQUE, assert_violates, fresh};
use uuid::Uuid;
use vibebox_core::ErrorKind;
use vibebox_core::domain::{ProjectOwner, Role, SessionType, ShareLevel};
use vibebox_core::store::*;
use vibebox_core::testing::store_checks::fixtures::*;

fn at() -> chrono::DateTime<chrono::Utc> {
    now()
}

async fn insert_user(raw: &sqlx::PgPool, email: &str) -> Result<Uuid, sqlx::Error> {
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO users (id, email, display_name, created_at, updated_at) \
         VALUES ($1, $2, 'Raw', $3, $3)",
    )
    .bind(id)
    .bind(email)
    .bind(at())
    .execute(raw)
    .await?;
    Ok(id)
}

#[tokio::test]
async fn duplicate_email_in_another_case_is_refused_by_the_schema() {
    let f = fresh().await;
    insert_user(&f.raw, "Dev@Example.com").await.unwrap();
    assert_violates(
        insert_user(&f.raw, "dev@EXAMPLE.COM").await,
        UNIQUE,
        "users_email_key",
    );
}

#[tokio::test]
async fn user_display_name_and_email_have_checks() {
    let f = fresh().await;
    let res = sqlx::query(
        "INSERT INTO users (id, email, display_name, created_at, updated_at) \
         VALUES ($1, 'a@b.c', '', now(), now())",
    )
    .bind(Uuid::now_v7())
    .execute(&f.raw)
    .await;
    assert_violates(res, CHECK, "users_display_name_check");
    assert_violates(
        insert_user(&f.raw, "no-at-sign").await,
        CHECK,
        "users_email_check",
    );
}

#[tokio::test]
async fn team_slug_pattern_and_length_are_checked() {
    let f = fresh().await;
    for slug in [
        "ab",
        "Upper-Case",
        "double--dash",
        "-lead",
        "trail-",
        &"x".repeat(51),
    ] {
        let res = sqlx::query(
            "INSERT INTO teams (id, name, slug, created_at, updated_at) \
             VALUES ($1, 'T', $2, now(), now())",
        )
        .bind(Uuid::now_v7())
        .bind(slug)
        .execute(&f.raw)
        .await;
        assert_violates(res, CHECK, "teams_slug_check");
    }
}

#[tokio::test]
async fn membership_role_is_checked_and_needs_existing_parents() {
    let f = fresh().await;
    let u = create_user(&f.store).await;
    let t = create_team(&f.store, &u).await;
    let other = create_user(&f.store).await;
    let insert = |team: Uuid, user: Uuid, role: &'static str| {
        sqlx::query(
            "INSERT INTO memberships (team_id, user_id, role, joined_at, updated_at) \
             VALUES ($1, $2, $3, now(), now())",
        )
        .bind(team)
        .bind(user)
        .bind(role)
        .execute(&f.raw)
    };
    assert_violates(
        insert(t.id.0, other.id.0, "owner").await,
        CHECK,
        "memberships_role_check",
    );
    assert_violates(
        insert(Uuid::now_v7(), other.id.0, "viewer").await,
        FOREIGN_KEY,
        "memberships_team_id_fkey",
    );
    assert_violates(
        insert(t.id.0, u.id.0, "viewer").await,
        UNIQUE,
        "memberships_pkey",
    );
}

#[tokio::test]
async fn project_has_exactly_one_owner() {
    let f = fresh().await;
    let u = create_user(&f.store).await;
    let t = create_team(&f.store, &u).await;
    let insert = |user: Option<Uuid>, team: Option<Uuid>| {
        sqlx::query(
            "INSERT INTO projects (id, name, slug, owner_user_id, owner_team_id, created_at, \
             updated_at) VALUES ($1, 'P', $2, $3, $4, now(), now())",
        )
        .bind(Uuid::now_v7())
        .bind(unique_slug("proj"))
        .bind(user)
        .bind(team)
        .execute(&f.raw)
    };
    assert_violates(
        insert(Some(u.id.0), Some(t.id.0)).await,
        CHECK,
        "projects_owner_check",
    );
    assert_violates(insert(None, None).await, CHECK, "projects_owner_check");
    insert(Some(u.id.0), None).await.unwrap();
    insert(None, Some(t.id.0)).await.unwrap();
}

#[tokio::test]
async fn project_slug_is_unique_per_owner_in_the_schema() {
    let f = fresh().await;
    let u = create_user(&f.store).await;
    let slug = unique_slug("proj");
    let insert = || {
        sqlx::query(
            "INSERT INTO projects (id, name, slug, owner_user_id, created_at, updated_at) \
             VALUES ($1, 'P', $2, $3, now(), now())",
        )
        .bind(Uuid::now_v7())
        .bind(&slug)
        .bind(u.id.0)
        .execute(&f.raw)
    };
    insert().await.unwrap();
    assert_violates(insert().await, UNIQUE, "projects_owner_user_slug_key");
}

#[tokio::test]
async fn environment_limits_status_and_version_are_checked() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    for (column, value, constraint) in [
        ("cpu_limit", "0", "environments_cpu_limit_check"),
        ("memory_limit", "63", "environments_memory_limit_check"),
        ("storage_limit", "0", "environments_storage_limit_check"),
        ("version", "-1", "environments_version_check"),
        ("status", "'paused'", "environments_status_check"),
    ] {
        let sql = format!("UPDATE environments SET {column} = {value} WHERE id = $1");
        let res = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(e.id.0)
            .execute(&f.raw)
            .await;
        assert_violates(res, CHECK, constraint);
    }
    let res = sqlx::query("UPDATE environments SET creator_id = $2 WHERE id = $1")
        .bind(e.id.0)
        .bind(Uuid::now_v7())
        .execute(&f.raw)
        .await;
    assert_violates(res, FOREIGN_KEY, "environments_creator_id_fkey");
}

#[tokio::test]
async fn negative_oom_kills_and_non_array_warnings_are_refused() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    for (column, value, constraint) in [
        ("oom_kills", "-1", "environments_oom_kills_check"),
        (
            "health_warnings",
            "'{}'::jsonb",
            "environments_health_warnings_check",
        ),
        (
            "health_warnings",
            "'\"pids_limit\"'::jsonb",
            "environments_health_warnings_check",
        ),
        (
            "health_warnings",
            "'null'::jsonb",
            "environments_health_warnings_check",
        ),
    ] {
        let sql = format!("UPDATE environments SET {column} = {value} WHERE id = $1");
        let res = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(e.id.0)
            .execute(&f.raw)
            .await;
        assert_violates(res, CHECK, constraint);
    }
    let res = sqlx::query("UPDATE environments SET health_warnings = NULL WHERE id = $1")
        .bind(e.id.0)
        .execute(&f.raw)
        .await;
    assert_eq!(common::violation(res).0, "23502", "not null");

    // Through the store: the field is named and the environment is not created.
    let mut bad = environment(e.project_id, e.creator_id, &unique_slug("env"));
    bad.health.oom_kills = -1;
    assert_invalid(f.store.create_environment(&bad).await, "oom_kills");
    assert_not_found(f.store.get_environment(bad.id).await, "environment");
}

#[tokio::test]
async fn port_ranges_protocol_and_host_port_uniqueness_are_constraints() {
    let f = fresh().await;
    let a = create_environment(&f.store).await;
    let b = create_environment(&f.store).await;
    let insert = |env: Uuid, container: i32, host: Option<i32>, protocol: &'static str| {
        sqlx::query(
            "INSERT INTO environment_ports (id, environment_id, container_port, host_port, \
             protocol, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, now(), now())",
        )
        .bind(Uuid::now_v7())
        .bind(env)
        .bind(container)
        .bind(host)
        .bind(protocol)
        .execute(&f.raw)
    };
    assert_violates(
        insert(a.id.0, 70000, None, "tcp").await,
        CHECK,
        "environment_ports_container_port_check",
    );
    assert_violates(
        insert(a.id.0, 0, None, "tcp").await,
        CHECK,
        "environment_ports_container_port_check",
    );
    assert_violates(
        insert(a.id.0, 80, Some(80), "tcp").await,
        CHECK,
        "environment_ports_host_port_check",
    );
    assert_violates(
        insert(a.id.0, 80, None, "sctp").await,
        CHECK,
        "environment_ports_protocol_check",
    );
    insert(a.id.0, 80, Some(30080), "tcp").await.unwrap();
    assert_violates(
        insert(b.id.0, 81, Some(30080), "tcp").await,
        UNIQUE,
        "environment_ports_host_port_key",
    );
    assert_violates(
        insert(a.id.0, 80, None, "tcp").await,
        UNIQUE,
        "environment_ports_container_port_key",
    );
    // Unset host ports never clash; the same container port over UDP is another mapping.
    insert(b.id.0, 82, None, "tcp").await.unwrap();
    insert(b.id.0, 83, None, "tcp").await.unwrap();
    insert(a.id.0, 80, None, "udp").await.unwrap();
}

#[tokio::test]
async fn share_level_is_checked_and_a_raw_port_is_private() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    let id = Uuid::now_v7();
    sqlx::query(
        "INSERT INTO environment_ports (id, environment_id, container_port, protocol, \
         created_at, updated_at) VALUES ($1, $2, 8080, 'tcp', now(), now())",
    )
    .bind(id)
    .bind(e.id.0)
    .execute(&f.raw)
    .await
    .unwrap();
    assert_eq!(
        f.store.list_ports(e.id).await.unwrap()[0].share_level,
        ShareLevel::Private
    );
    for bad in ["friends", "Public", ""] {
        let res = sqlx::query("UPDATE environment_ports SET share_level = $2 WHERE id = $1")
            .bind(id)
            .bind(bad)
            .execute(&f.raw)
            .await;
        assert_violates(res, CHECK, "environment_ports_share_level_check");
    }
    let res = sqlx::query(
        "INSERT INTO environment_ports (id, environment_id, container_port, protocol, \
         share_level, created_at, updated_at) VALUES ($1, $2, 8081, 'tcp', 'everyone', now(), \
         now())",
    )
    .bind(Uuid::now_v7())
    .bind(e.id.0)
    .execute(&f.raw)
    .await;
    assert_violates(res, CHECK, "environment_ports_share_level_check");
}

#[tokio::test]
async fn variable_key_pattern_is_checked() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    for key in ["lower", "1LEADING_DIGIT", "WITH-DASH", "", &"K".repeat(129)] {
        let res = sqlx::query(
            "INSERT INTO environment_variables (id, environment_id, key, value, is_encrypted, \
             created_at, updated_at) VALUES ($1, $2, $3, 'v', false, now(), now())",
        )
        .bind(Uuid::now_v7())
        .bind(e.id.0)
        .bind(key)
        .execute(&f.raw)
        .await;
        assert_violates(res, CHECK, "environment_variables_key_check");
    }
}

#[tokio::test]
async fn duplicate_live_session_name_is_refused_but_terminated_ones_free_it() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    let insert = |status: &'static str| {
        sqlx::query(
            "INSERT INTO sessions (id, environment_id, session_type, session_name, status, \
             idle_timeout_minutes, last_activity_at, created_at, updated_at) \
             VALUES ($1, $2, 'tmux', 'main', $3, 30, now(), now(), now())",
        )
        .bind(Uuid::now_v7())
        .bind(e.id.0)
        .bind(status)
        .execute(&f.raw)
    };
    insert("terminated").await.unwrap();
    insert("terminated").await.unwrap();
    insert("active").await.unwrap();
    assert_violates(insert("idle").await, UNIQUE, "sessions_live_name_key");
    let res = sqlx::query("UPDATE sessions SET idle_timeout_minutes = 0")
        .execute(&f.raw)
        .await;
    assert_violates(res, CHECK, "sessions_idle_timeout_minutes_check");
    let res = sqlx::query("UPDATE sessions SET status = 'zombie'")
        .execute(&f.raw)
        .await;
    assert_violates(res, CHECK, "sessions_status_check");
}

#[tokio::test]
async fn token_hashes_are_32_unique_bytes_and_scopes_are_known() {
    let f = fresh().await;
    let u = create_user(&f.store).await;
    let key = |hash: Vec<u8>, scopes: Vec<&'static str>| {
        sqlx::query(
            "INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, scopes, expires_at, \
             created_at, updated_at) VALUES ($1, $2, 'k', $3, $4, $5, now(), now(), now())",
        )
        .bind(Uuid::now_v7())
        .bind(u.id.0)
        .bind(suffix())
        .bind(hash)
        .bind(scopes)
        .execute(&f.raw)
    };
    assert_violates(
        key(vec![1; 31], vec!["read"]).await,
        CHECK,
        "api_keys_secret_hash_check",
    );
    assert_violates(
        key(vec![1; 32], vec!["read", "root"]).await,
        CHECK,
        "api_keys_scopes_check",
    );
    key(vec![1; 32], vec!["read", "admin"]).await.unwrap();
    assert_violates(
        key(vec![1; 32], vec!["read"]).await,
        UNIQUE,
        "api_keys_secret_hash_key",
    );
    let refresh = |hash: Vec<u8>| {
        sqlx::query(
            "INSERT INTO refresh_sessions (id, user_id, family_id, token_hash, expires_at, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, now(), now(), now())",
        )
        .bind(Uuid::now_v7())
        .bind(u.id.0)
        .bind(Uuid::now_v7())
        .bind(hash)
        .execute(&f.raw)
    };
    refresh(vec![2; 32]).await.unwrap();
    assert_violates(
        refresh(vec![2; 32]).await,
        UNIQUE,
        "refresh_sessions_token_hash_key",
    );
    assert_violates(
        refresh(vec![3; 33]).await,
        CHECK,
        "refresh_sessions_token_hash_check",
    );
}

#[tokio::test]
async fn log_stream_bytes_and_environment_are_constraints() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    let insert = |env: Uuid, stream: &'static str, bytes: i64| {
        sqlx::query(
            "INSERT INTO logs (environment_id, timestamp, stream, message, bytes) \
             VALUES ($1, now(), $2, 'm', $3)",
        )
        .bind(env)
        .bind(stream)
        .bind(bytes)
        .execute(&f.raw)
    };
    assert_violates(insert(e.id.0, "stdin", 1).await, CHECK, "logs_stream_check");
    assert_violates(
        insert(e.id.0, "stdout", -1).await,
        CHECK,
        "logs_bytes_check",
    );
    assert_violates(
        insert(Uuid::now_v7(), "stdout", 1).await,
        FOREIGN_KEY,
        "logs_environment_id_fkey",
    );
    // Ids are assigned by the database only.
    let res = sqlx::query(
        "INSERT INTO logs (id, environment_id, timestamp, stream, message, bytes) \
         VALUES (1, $1, now(), 'stdout', 'm', 1)",
    )
    .bind(e.id.0)
    .execute(&f.raw)
    .await;
    assert!(res.is_err(), "an explicit id is refused: {res:?}");
}

#[tokio::test]
async fn audit_actor_columns_and_details_are_checked() {
    let f = fresh().await;
    let insert =
        |actor: &'static str, user: Option<Uuid>, key: Option<Uuid>, details: &'static str| {
            sqlx::query(
                "INSERT INTO audit_events (id, actor_type, actor_user_id, actor_key_id, action, \
             resource_type, resource_id, details, at) \
             VALUES ($1, $2, $3, $4, 'a', 'r', 'x', $5::jsonb, now())",
            )
            .bind(Uuid::now_v7())
            .bind(actor)
            .bind(user)
            .bind(key)
            .bind(details)
            .execute(&f.raw)
        };
    assert_violates(
        insert("user", None, None, "{}").await,
        CHECK,
        "audit_events_actor_check",
    );
    assert_violates(
        insert("system", Some(Uuid::now_v7()), None, "{}").await,
        CHECK,
        "audit_events_actor_check",
    );
    assert_violates(
        insert("robot", None, None, "{}").await,
        CHECK,
        "audit_events_actor_type_check",
    );
    assert_violates(
        insert("system", None, None, "[1]").await,
        CHECK,
        "audit_events_details_check",
    );
    // No foreign keys: the audit log outlives what it describes.
    insert("api_key", Some(Uuid::now_v7()), Some(Uuid::now_v7()), "{}")
        .await
        .unwrap();
}

#[tokio::test]
async fn extension_id_and_download_url_are_checked() {
    let f = fresh().await;
    let insert = |ext: &'static str, custom: bool, url: Option<&'static str>| {
        sqlx::query(
            "INSERT INTO extensions (id, extension_id, name, version, publisher, is_custom, \
             download_url, created_at, updated_at) \
             VALUES ($1, $2, 'E', '1.0.0', 'p', $3, $4, now(), now())",
        )
        .bind(Uuid::now_v7())
        .bind(ext)
        .bind(custom)
        .bind(url)
        .execute(&f.raw)
    };
    assert_violates(
        insert("no-dot", false, None).await,
        CHECK,
        "extensions_extension_id_check",
    );
    assert_violates(
        insert("pub.name", false, Some("https://x.test/e.vsix")).await,
        CHECK,
        "extensions_download_url_check",
    );
    assert_violates(
        insert("pub.name", true, None).await,
        CHECK,
        "extensions_download_url_check",
    );
    insert("pub.name", false, None).await.unwrap();
    assert_violates(
        insert("pub.name", false, None).await,
        UNIQUE,
        "extensions_extension_id_key",
    );
}

// Through the store: a write that skips core's validation still fails, naming the field.

#[tokio::test]
async fn bad_team_slug_through_the_store_is_invalid_slug() {
    let f = fresh().await;
    let u = create_user(&f.store).await;
    let t = team("Not A Slug");
    let res = f
        .store
        .create_team(&t, &membership(t.id, u.id, Role::Admin))
        .await;
    assert_invalid(res, "slug");
    assert_not_found(f.store.get_team(t.id).await, "team");
}

#[tokio::test]
async fn out_of_range_values_through_the_store_name_their_field() {
    let f = fresh().await;
    let u = create_user(&f.store).await;
    let p = create_project(&f.store, &u).await;
    let mut e = environment(p.id, u.id, &unique_slug("env"));
    e.memory_limit = 10;
    assert_invalid(f.store.create_environment(&e).await, "memory_limit");
    e.memory_limit = 4096;
    e.cpu_limit = 0.0;
    assert_invalid(f.store.create_environment(&e).await, "cpu_limit");
    e.cpu_limit = 1.0;
    f.store.create_environment(&e).await.unwrap();

    assert_invalid(
        f.store.add_port(&port(e.id, 8080, Some(80))).await,
        "host_port",
    );
    assert_invalid(
        f.store
            .put_variable(&variable(e.id, "lower_case", "v", false))
            .await,
        "key",
    );
    assert_invalid(
        f.store
            .create_session(&session(e.id, SessionType::Shell, "no spaces!"))
            .await,
        "session_name",
    );
}

#[tokio::test]
async fn unique_violations_through_the_store_name_their_field() {
    let f = fresh().await;
    let u = create_user(&f.store).await;
    let mut dup = user(&u.email.to_uppercase());
    assert_already_exists(f.store.create_user(&dup, None).await, "email");
    dup.email = unique_email();
    dup.id = u.id;
    assert_already_exists(f.store.create_user(&dup, None).await, "id");
    let p = create_project(&f.store, &u).await;
    let mut again = project(ProjectOwner::User(u.id), &p.slug);
    assert_already_exists(f.store.create_project(&again).await, "slug");
    again.slug = unique_slug("proj");
    again.id = p.id;
    assert_already_exists(f.store.create_project(&again).await, "id");
    let err = f.store.create_project(&again).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::AlreadyExists);
    assert!(!err.to_string().contains("INSERT"), "{err}");
}

#[tokio::test]
async fn secret_looking_variable_must_be_encrypted_even_in_raw_sql() {
    let f = fresh().await;
    let env = create_environment(&f.store).await;
    let result = sqlx::query(
        "INSERT INTO environment_variables (id, environment_id, key, value, is_encrypted, \
         created_at, updated_at) VALUES ($1, $2, 'GITHUB_TOKEN', 'plain', false, now(), now())",
    )
    .bind(Uuid::now_v7())
    .bind(env.id.0)
    .execute(&f.raw)
    .await;
    assert_violates(result, CHECK, "environment_variables_is_encrypted_check");
}

#[tokio::test]
async fn password_hash_must_be_argon2id_and_ssh_key_a_known_type() {
    let f = fresh().await;
    let u = create_user(&f.store).await;
    let bad_hash = sqlx::query("UPDATE users SET password_hash = '$2b$12$bcrypt' WHERE id = $1")
        .bind(u.id.0)
        .execute(&f.raw)
        .await;
    assert_violates(bad_hash, CHECK, "users_password_hash_check");
    let bad_key = sqlx::query("UPDATE users SET ssh_public_key = 'ssh-dss AAAA' WHERE id = $1")
        .bind(u.id.0)
        .execute(&f.raw)
        .await;
    assert_violates(bad_key, CHECK, "users_ssh_public_key_check");
}

#[tokio::test]
async fn ssh_key_fingerprints_are_unique_and_keys_go_with_their_user_in_the_schema() {
    let f = fresh().await;
    let owner = create_user(&f.store).await;
    let key = ssh_key(owner.id, "laptop");
    f.store.create_ssh_key(&key).await.unwrap();
    let other = insert_user(&f.raw, &unique_email()).await.unwrap();
    let insert = |algorithm: &'static str, fingerprint: String| {
        let raw = f.raw.clone();
        async move {
            sqlx::query(
                "INSERT INTO ssh_keys (id, user_id, name, algorithm, key_data, fingerprint, \
                 created_at, updated_at) VALUES ($1, $2, 'k', $3, 'AAAA', $4, now(), now())",
            )
            .bind(Uuid::now_v7())
            .bind(other)
            .bind(algorithm)
            .bind(fingerprint)
            .execute(&raw)
            .await
        }
    };
    assert_violates(
        insert("ssh-ed25519", key.fingerprint.clone()).await,
        UNIQUE,
        "ssh_keys_fingerprint_key",
    );
    let fresh_fingerprint = ssh_key(owner.id, "x").fingerprint;
    assert_violates(
        insert("ssh-dss", fresh_fingerprint).await,
        CHECK,
        "ssh_keys_algorithm_check",
    );
    assert_violates(
        insert("ssh-ed25519", "MD5:00".into()).await,
        CHECK,
        "ssh_keys_fingerprint_check",
    );
    // Through the store, the duplicate names the field.
    let mut dup = ssh_key(vibebox_core::id::UserId(other), "copy");
    dup.fingerprint = key.fingerprint.clone();
    assert_already_exists(f.store.create_ssh_key(&dup).await, "public_key");
    sqlx::query("DELETE FROM users WHERE id = $1")
        .bind(owner.id.0)
        .execute(&f.raw)
        .await
        .unwrap();
    let left: i64 = sqlx::query_scalar("SELECT count(*) FROM ssh_keys")
        .fetch_one(&f.raw)
        .await
        .unwrap();
    assert_eq!(left, 0);
}
