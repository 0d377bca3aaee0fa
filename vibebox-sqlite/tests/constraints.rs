//! The schema holds the domain rules by itself: raw SQL that bypasses the store and breaks a
//! rule fails. Through the store, violations map to errors naming the field.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use uuid::Uuid;
use vibebox_core::domain::{LogStream, Role, ShareLevel};
use vibebox_core::id::{EnvironmentId, UserId};
use vibebox_core::store::{EnvironmentsStore, LogsStore, TeamsStore, UsersStore};
use vibebox_core::testing::store_checks::fixtures::*;
use vibebox_sqlite::SqliteStore;

/// An argument of a raw statement.
enum Arg {
    Blob(Vec<u8>),
    Int(i64),
    Text(String),
    Null,
}

fn text(s: &str) -> Arg {
    Arg::Text(s.to_string())
}

fn id(u: Uuid) -> Arg {
    Arg::Blob(u.as_bytes().to_vec())
}

async fn exec(store: &SqliteStore, sql: &'static str, args: Vec<Arg>) -> Result<(), String> {
    let mut q = sqlx::query(sql);
    for a in args {
        q = match a {
            Arg::Blob(b) => q.bind(b),
            Arg::Int(i) => q.bind(i),
            Arg::Text(t) => q.bind(t),
            Arg::Null => q.bind(None::<i64>),
        };
    }
    q.execute(store.pool())
        .await
        .map(|_| ())
        .map_err(|e| match e {
            sqlx::Error::Database(db) => db.message().to_string(),
            other => other.to_string(),
        })
}

#[track_caller]
fn assert_fails(result: Result<(), String>, expected: &str) {
    let message = result.expect_err("the database accepted a row that breaks a rule");
    assert!(
        message.contains(expected),
        "{message:?} does not mention {expected:?}"
    );
}

async fn count(store: &SqliteStore, sql: &'static str) -> i64 {
    sqlx::query_scalar(sql)
        .fetch_one(store.pool())
        .await
        .unwrap()
}

const INSERT_USER: &str = "INSERT INTO users (id, email, display_name, password_hash, \
     notification_settings, is_platform_admin, created_at, updated_at) \
     VALUES (?, ?, ?, ?, ?, ?, 1, 1)";

fn user_args(email: &str) -> Vec<Arg> {
    vec![
        id(Uuid::now_v7()),
        text(email),
        text("Raw User"),
        Arg::Null,
        text("{}"),
        Arg::Int(0),
    ]
}

#[tokio::test]
async fn email_is_unique_in_any_case_even_in_raw_sql() {
    let store = common::disk_store().await;
    store
        .create_user(&user("mixed@example.com"), None)
        .await
        .unwrap();
    assert_fails(
        exec(&store, INSERT_USER, user_args("MIXED@Example.COM")).await,
        "users_email_key",
    );
}

#[tokio::test]
async fn user_columns_are_checked() {
    let store = common::disk_store().await;
    exec(&store, INSERT_USER, user_args("ok@example.com"))
        .await
        .unwrap();
    type BreaksRow = fn(&mut Vec<Arg>);
    let cases: [(BreaksRow, &str); 6] = [
        (|a| a[1] = text("no-at-sign"), "email"),
        (|a| a[2] = text(""), "display_name"),
        (|a| a[3] = text("$2b$10$bcrypt"), "password_hash"),
        (|a| a[4] = text("not json"), "notification_settings"),
        (|a| a[4] = text("[1, 2]"), "notification_settings"),
        (|a| a[5] = Arg::Int(2), "is_platform_admin"),
    ];
    for (i, (breaks, column)) in cases.into_iter().enumerate() {
        let mut args = user_args(&format!("u{i}@example.com"));
        breaks(&mut args);
        assert_fails(exec(&store, INSERT_USER, args).await, column);
    }
}

#[tokio::test]
async fn slugs_follow_the_pattern() {
    let store = common::disk_store().await;
    const INSERT: &str =
        "INSERT INTO teams (id, name, slug, created_at, updated_at) VALUES (?, 'T', ?, 1, 1)";
    for bad in [
        "Upper",
        "a--b",
        "-abc",
        "abc-",
        "ab",
        "a_b",
        "a b",
        "héllo",
        "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", // 51
    ] {
        assert_fails(
            exec(&store, INSERT, vec![id(Uuid::now_v7()), text(bad)]).await,
            "CHECK constraint failed: slug",
        );
    }
    for good in ["abc", "team-1", "a1-b2-c3"] {
        exec(&store, INSERT, vec![id(Uuid::now_v7()), text(good)])
            .await
            .unwrap();
    }
    assert_fails(
        exec(&store, INSERT, vec![id(Uuid::now_v7()), text("abc")]).await,
        "teams.slug",
    );
}

#[tokio::test]
async fn project_has_exactly_one_owner() {
    let store = common::disk_store().await;
    let u = create_user(&store).await;
    let t = create_team(&store, &u).await;
    const INSERT: &str = "INSERT INTO projects (id, name, slug, owner_user_id, owner_team_id, \
         created_at, updated_at) VALUES (?, 'P', ?, ?, ?, 1, 1)";
    assert_fails(
        exec(
            &store,
            INSERT,
            vec![id(Uuid::now_v7()), text("both"), id(u.id.0), id(t.id.0)],
        )
        .await,
        "CHECK constraint failed: owner",
    );
    assert_fails(
        exec(
            &store,
            INSERT,
            vec![id(Uuid::now_v7()), text("none"), Arg::Null, Arg::Null],
        )
        .await,
        "CHECK constraint failed: owner",
    );
    exec(
        &store,
        INSERT,
        vec![id(Uuid::now_v7()), text("mine"), id(u.id.0), Arg::Null],
    )
    .await
    .unwrap();
    assert_fails(
        exec(
            &store,
            INSERT,
            vec![id(Uuid::now_v7()), text("mine"), id(u.id.0), Arg::Null],
        )
        .await,
        "projects.owner_user_id, projects.slug",
    );
    // The same slug under another owner is fine.
    exec(
        &store,
        INSERT,
        vec![id(Uuid::now_v7()), text("mine"), Arg::Null, id(t.id.0)],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn environment_limits_and_status_are_checked() {
    let store = common::disk_store().await;
    let e = create_environment(&store).await;
    const UPDATE_CPU: &str = "UPDATE environments SET cpu_limit = ? WHERE id = ?";
    assert_fails(
        exec(&store, UPDATE_CPU, vec![Arg::Int(0), id(e.id.0)]).await,
        "cpu_limit",
    );
    for (sql, value, column) in [
        (
            "UPDATE environments SET memory_limit = ? WHERE id = ?",
            63,
            "memory_limit",
        ),
        (
            "UPDATE environments SET storage_limit = ? WHERE id = ?",
            0,
            "storage_limit",
        ),
        (
            "UPDATE environments SET version = ? WHERE id = ?",
            -1,
            "version",
        ),
    ] {
        assert_fails(
            exec(&store, sql, vec![Arg::Int(value), id(e.id.0)]).await,
            column,
        );
    }
    assert_fails(
        exec(
            &store,
            "UPDATE environments SET status = ? WHERE id = ?",
            vec![text("paused"), id(e.id.0)],
        )
        .await,
        "CHECK constraint failed: status",
    );
    assert_fails(
        exec(
            &store,
            "UPDATE environments SET project_id = ? WHERE id = ?",
            vec![id(Uuid::now_v7()), id(e.id.0)],
        )
        .await,
        "FOREIGN KEY constraint failed",
    );
}

#[tokio::test]
async fn negative_oom_kills_and_non_array_warnings_are_refused() {
    let store = common::disk_store().await;
    let e = create_environment(&store).await;
    const INSERT: &str = "INSERT INTO environment_health (environment_id, oom_kills, \
         health_warnings) VALUES (?, ?, ?)";
    assert_fails(
        exec(&store, INSERT, vec![id(e.id.0), Arg::Int(-1), text("[]")]).await,
        "CHECK constraint failed: oom_kills",
    );
    for bad in ["not json", "{}", "\"pids_limit\"", "1"] {
        assert_fails(
            exec(&store, INSERT, vec![id(e.id.0), Arg::Int(0), text(bad)]).await,
            "CHECK constraint failed: health_warnings",
        );
    }
    assert_fails(
        exec(
            &store,
            INSERT,
            vec![id(Uuid::now_v7()), Arg::Int(0), text("[]")],
        )
        .await,
        "FOREIGN KEY constraint failed",
    );
    store.record_oom_kill(e.id, fixed_time()).await.unwrap();
    assert_fails(
        exec(
            &store,
            "UPDATE environment_health SET oom_kills = ? WHERE environment_id = ?",
            vec![Arg::Int(-1), id(e.id.0)],
        )
        .await,
        "CHECK constraint failed: oom_kills",
    );

    // Through the store: the field is named and the environment is not created.
    let mut bad = environment(e.project_id, e.creator_id, &unique_slug("env"));
    bad.health.oom_kills = -1;
    assert_invalid(store.create_environment(&bad).await, "oom_kills");
    assert_not_found(store.get_environment(bad.id).await, "environment");
}

#[tokio::test]
async fn port_numbers_and_protocols_are_checked() {
    let store = common::disk_store().await;
    let a = create_environment(&store).await;
    let b = create_environment(&store).await;
    const INSERT: &str = "INSERT INTO environment_ports (id, environment_id, container_port, \
         host_port, bound_host_port, protocol, created_at, updated_at) \
         VALUES (?, ?, ?, ?, ?, ?, 1, 1)";
    let row = |env: EnvironmentId, container: i64, host: Arg, bound: Arg, proto| {
        vec![
            id(Uuid::now_v7()),
            id(env.0),
            Arg::Int(container),
            host,
            bound,
            text(proto),
        ]
    };
    assert_fails(
        exec(
            &store,
            INSERT,
            row(a.id, 70000, Arg::Null, Arg::Null, "tcp"),
        )
        .await,
        "container_port",
    );
    assert_fails(
        exec(&store, INSERT, row(a.id, 0, Arg::Null, Arg::Null, "tcp")).await,
        "container_port",
    );
    assert_fails(
        exec(
            &store,
            INSERT,
            row(a.id, 80, Arg::Int(80), Arg::Null, "tcp"),
        )
        .await,
        "host_port",
    );
    assert_fails(
        exec(
            &store,
            INSERT,
            row(a.id, 80, Arg::Null, Arg::Int(70000), "tcp"),
        )
        .await,
        "bound_host_port",
    );
    assert_fails(
        exec(&store, INSERT, row(a.id, 80, Arg::Null, Arg::Null, "sctp")).await,
        "protocol",
    );
    exec(
        &store,
        INSERT,
        row(a.id, 80, Arg::Int(30000), Arg::Null, "tcp"),
    )
    .await
    .unwrap();
    assert_fails(
        exec(&store, INSERT, row(a.id, 80, Arg::Null, Arg::Null, "tcp")).await,
        "environment_ports.container_port",
    );
    assert_fails(
        exec(
            &store,
            INSERT,
            row(b.id, 81, Arg::Int(30000), Arg::Null, "tcp"),
        )
        .await,
        "environment_ports.host_port",
    );
    // Unset host ports never clash.
    exec(&store, INSERT, row(b.id, 82, Arg::Null, Arg::Null, "tcp"))
        .await
        .unwrap();
    exec(&store, INSERT, row(b.id, 83, Arg::Null, Arg::Null, "tcp"))
        .await
        .unwrap();
}

#[tokio::test]
async fn share_levels_are_checked_and_a_port_without_one_is_private() {
    let store = common::disk_store().await;
    let e = create_environment(&store).await;
    let p = port(e.id, 8080, None);
    store.add_port(&p).await.unwrap();
    const INSERT: &str = "INSERT INTO environment_port_shares (port_id, share_level) VALUES (?, ?)";
    for bad in ["friends", "Public", ""] {
        assert_fails(
            exec(&store, INSERT, vec![id(p.id.0), text(bad)]).await,
            "CHECK constraint failed: share_level",
        );
    }
    assert_fails(
        exec(&store, INSERT, vec![id(Uuid::now_v7()), text("team")]).await,
        "FOREIGN KEY constraint failed",
    );
    assert_eq!(
        store.list_ports(e.id).await.unwrap()[0].share_level,
        ShareLevel::Private
    );
    exec(&store, INSERT, vec![id(p.id.0), text("team")])
        .await
        .unwrap();
    assert_eq!(
        store.list_ports(e.id).await.unwrap()[0].share_level,
        ShareLevel::Team
    );
    assert_fails(
        exec(
            &store,
            "UPDATE environment_port_shares SET share_level = ? WHERE port_id = ?",
            vec![text("everyone"), id(p.id.0)],
        )
        .await,
        "CHECK constraint failed: share_level",
    );
}

#[tokio::test]
async fn variable_keys_follow_the_pattern_and_secrets_are_encrypted() {
    let store = common::disk_store().await;
    let e = create_environment(&store).await;
    const INSERT: &str = "INSERT INTO environment_variables (id, environment_id, key, value, \
         is_encrypted, created_at, updated_at) VALUES (?, ?, ?, 'v', ?, 1, 1)";
    let row = |key, encrypted| {
        vec![
            id(Uuid::now_v7()),
            id(e.id.0),
            text(key),
            Arg::Int(encrypted),
        ]
    };
    for bad in ["lower", "1ABC", "A-B", "", "ÄB"] {
        assert_fails(
            exec(&store, INSERT, row(bad, 0)).await,
            "CHECK constraint failed: key",
        );
    }
    for secret in [
        "DB_PASSWORD",
        "GITHUB_TOKEN",
        "MY_SECRET",
        "OPENAI_API_KEY",
        "SSH_PRIVATE_KEY",
    ] {
        assert_fails(exec(&store, INSERT, row(secret, 0)).await, "is_encrypted");
        exec(&store, INSERT, row(secret, 1)).await.unwrap();
    }
    for good in ["_OK", "A1", "PATH"] {
        exec(&store, INSERT, row(good, 0)).await.unwrap();
    }
    assert_fails(
        exec(&store, INSERT, row("PATH", 0)).await,
        "environment_variables.environment_id, environment_variables.key",
    );
}

#[tokio::test]
async fn live_session_names_are_unique_but_terminated_ones_are_not() {
    let store = common::disk_store().await;
    let e = create_environment(&store).await;
    const INSERT: &str = "INSERT INTO sessions (id, environment_id, session_type, session_name, \
         status, idle_timeout_minutes, last_activity_at, created_at, updated_at) \
         VALUES (?, ?, 'tmux', ?, ?, 30, 1, 1, 1)";
    let row = |name, status| vec![id(Uuid::now_v7()), id(e.id.0), text(name), text(status)];
    exec(&store, INSERT, row("work", "terminated"))
        .await
        .unwrap();
    exec(&store, INSERT, row("work", "terminated"))
        .await
        .unwrap();
    exec(&store, INSERT, row("work", "active")).await.unwrap();
    assert_fails(
        exec(&store, INSERT, row("work", "idle")).await,
        "sessions.environment_id, sessions.session_type, sessions.session_name",
    );
    assert_fails(
        exec(&store, INSERT, row("bad.name", "active")).await,
        "session_name",
    );
    assert_fails(
        exec(&store, INSERT, row("other", "sleeping")).await,
        "status",
    );
}

#[tokio::test]
async fn secret_hashes_are_32_bytes() {
    let store = common::disk_store().await;
    let u = create_user(&store).await;
    assert_fails(
        exec(
            &store,
            "INSERT INTO api_keys (id, user_id, name, prefix, secret_hash, scopes, expires_at, \
             created_at, updated_at) VALUES (?, ?, 'k', 'vbx_raw', ?, '[\"read\"]', 1, 1, 1)",
            vec![id(Uuid::now_v7()), id(u.id.0), Arg::Blob(vec![7; 31])],
        )
        .await,
        "secret_hash",
    );
    assert_fails(
        exec(
            &store,
            "INSERT INTO refresh_sessions (id, user_id, family_id, token_hash, expires_at, \
             created_at, updated_at) VALUES (?, ?, ?, ?, 1, 1, 1)",
            vec![
                id(Uuid::now_v7()),
                id(u.id.0),
                id(Uuid::now_v7()),
                Arg::Blob(vec![7; 33]),
            ],
        )
        .await,
        "token_hash",
    );
}

#[tokio::test]
async fn last_admin_is_kept_even_in_raw_sql() {
    let store = common::disk_store().await;
    let admin = create_user(&store).await;
    let dev = create_user(&store).await;
    let t = create_team(&store, &admin).await;
    store
        .add_member(&membership(t.id, dev.id, Role::Developer))
        .await
        .unwrap();
    assert_fails(
        exec(
            &store,
            "UPDATE memberships SET role = 'viewer' WHERE team_id = ? AND user_id = ?",
            vec![id(t.id.0), id(admin.id.0)],
        )
        .await,
        "last_admin",
    );
    assert_fails(
        exec(
            &store,
            "DELETE FROM memberships WHERE team_id = ? AND user_id = ?",
            vec![id(t.id.0), id(admin.id.0)],
        )
        .await,
        "last_admin",
    );
    // Deleting the team itself takes its memberships along.
    exec(&store, "DELETE FROM teams WHERE id = ?", vec![id(t.id.0)])
        .await
        .unwrap();
    assert_eq!(count(&store, "SELECT COUNT(*) FROM memberships").await, 0);
}

#[tokio::test]
async fn logs_store_their_utf8_size_and_stream() {
    let store = common::disk_store().await;
    let e = create_environment(&store).await;
    const INSERT: &str = "INSERT INTO logs (environment_id, timestamp, stream, message, bytes) \
         VALUES (?, 1, ?, 'héllo', ?)";
    assert_fails(
        exec(
            &store,
            INSERT,
            vec![id(e.id.0), text("stdout"), Arg::Int(5)],
        )
        .await,
        "CHECK constraint failed: bytes",
    );
    assert_fails(
        exec(&store, INSERT, vec![id(e.id.0), text("stdin"), Arg::Int(6)]).await,
        "CHECK constraint failed: stream",
    );
    exec(
        &store,
        INSERT,
        vec![id(e.id.0), text("stdout"), Arg::Int(6)],
    )
    .await
    .unwrap();
    assert_fails(
        exec(
            &store,
            INSERT,
            vec![id(Uuid::now_v7()), text("stdout"), Arg::Int(6)],
        )
        .await,
        "FOREIGN KEY constraint failed",
    );
}

#[tokio::test]
async fn extensions_in_use_cannot_leave_the_catalog() {
    let store = common::disk_store().await;
    let e = create_environment(&store).await;
    let ext = extension(&unique_extension_id());
    vibebox_core::store::ExtensionsStore::create_extension(&store, &ext)
        .await
        .unwrap();
    vibebox_core::store::ExtensionsStore::add_environment_extension(
        &store,
        &environment_extension(e.id, ext.id),
    )
    .await
    .unwrap();
    assert_fails(
        exec(
            &store,
            "DELETE FROM extensions WHERE id = ?",
            vec![id(ext.id.0)],
        )
        .await,
        "FOREIGN KEY constraint failed",
    );
    assert_fails(
        exec(
            &store,
            "UPDATE extensions SET download_url = 'https://example.com/x.vsix' WHERE id = ?",
            vec![id(ext.id.0)],
        )
        .await,
        "CHECK constraint failed: download_url",
    );
}

#[tokio::test]
async fn audit_actor_columns_are_consistent() {
    let store = common::disk_store().await;
    const INSERT: &str = "INSERT INTO audit_events (id, actor_type, actor_user_id, actor_key_id, \
         action, resource_type, resource_id, details, at) VALUES (?, ?, ?, ?, 'x', 'team', '', '{}', 1)";
    let u = Uuid::now_v7();
    for (actor, user, key) in [
        ("user", Arg::Null, Arg::Null),
        ("system", id(u), Arg::Null),
        ("api_key", id(u), Arg::Null),
        ("user", id(u), id(u)),
    ] {
        assert_fails(
            exec(
                &store,
                INSERT,
                vec![id(Uuid::now_v7()), text(actor), user, key],
            )
            .await,
            "CHECK constraint failed: actor",
        );
    }
    exec(
        &store,
        INSERT,
        vec![id(Uuid::now_v7()), text("api_key"), id(u), id(u)],
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn check_violations_through_the_store_name_the_field() {
    let store = common::disk_store().await;
    let mut bad = user(&unique_email());
    bad.display_name = String::new();
    assert_invalid(store.create_user(&bad, None).await, "display_name");

    let u = create_user(&store).await;
    let mut t = team("Not A Slug");
    assert_invalid(
        store
            .create_team(&t, &membership(t.id, u.id, Role::Admin))
            .await,
        "slug",
    );
    t.slug = unique_slug("team");
    store
        .create_team(&t, &membership(t.id, u.id, Role::Admin))
        .await
        .unwrap();

    let p = create_project(&store, &u).await;
    let mut e = environment(p.id, u.id, &unique_slug("env"));
    e.memory_limit = 10;
    assert_invalid(store.create_environment(&e).await, "memory_limit");
    e.memory_limit = 512;
    store.create_environment(&e).await.unwrap();

    assert_invalid(store.add_port(&port(e.id, 0, None)).await, "container_port");
    assert_invalid(
        store
            .put_variable(&variable(e.id, "lower", "v", false))
            .await,
        "key",
    );
    assert_invalid(
        store
            .put_variable(&variable(e.id, "API_KEY", "plain", false))
            .await,
        "is_encrypted",
    );
    assert!(store.list_ports(e.id).await.unwrap().is_empty());
    assert!(store.list_variables(e.id).await.unwrap().is_empty());
}

#[tokio::test]
async fn duplicate_ids_through_the_store_are_already_exists() {
    let store = common::disk_store().await;
    let u = create_user(&store).await;
    let mut again = user(&unique_email());
    again.id = u.id;
    assert_already_exists(store.create_user(&again, None).await, "id");

    let e = create_environment(&store).await;
    let first = variable(e.id, "ONE", "1", false);
    store.put_variable(&first).await.unwrap();
    let mut clash = variable(e.id, "TWO", "2", false);
    clash.id = first.id;
    assert_already_exists(store.put_variable(&clash).await, "id");
}

#[tokio::test]
async fn failed_team_create_with_missing_user_creates_no_team() {
    let store = common::disk_store().await;
    let t = team(&unique_slug("team"));
    let ghost = UserId::new();
    assert_not_found(
        store
            .create_team(&t, &membership(t.id, ghost, Role::Admin))
            .await,
        "user",
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM teams").await, 0);
    assert_eq!(count(&store, "SELECT COUNT(*) FROM memberships").await, 0);
}

#[tokio::test]
async fn failed_user_create_with_taken_identity_creates_no_user() {
    let store = common::disk_store().await;
    let a = create_user(&store).await;
    store
        .create_oauth_identity(&identity(a.id, "github", "octocat"))
        .await
        .unwrap();
    let b = user(&unique_email());
    assert_already_exists(
        store
            .create_user(&b, Some(identity(b.id, "github", "octocat")))
            .await,
        "provider, subject",
    );
    assert_eq!(count(&store, "SELECT COUNT(*) FROM users").await, 1);
}

#[tokio::test]
async fn failed_log_batch_with_one_bad_environment_writes_nothing() {
    let store = common::disk_store().await;
    let e = create_environment(&store).await;
    // Several statements' worth of lines; the bad one comes last.
    let mut lines: Vec<_> = (0..600)
        .map(|i| log_line(e.id, now(), LogStream::Stdout, &format!("line {i}")))
        .collect();
    lines.push(log_line(
        EnvironmentId::new(),
        now(),
        LogStream::Stdout,
        "orphan",
    ));
    assert_not_found(store.append_logs(&lines).await, "environment");
    assert_eq!(count(&store, "SELECT COUNT(*) FROM logs").await, 0);
}

#[tokio::test]
async fn ssh_key_fingerprints_are_unique_and_keys_go_with_their_user_even_in_raw_sql() {
    use vibebox_core::store::SshKeysStore;

    let store = common::disk_store().await;
    let u = create_user(&store).await;
    let key = ssh_key(u.id, "laptop");
    store.create_ssh_key(&key).await.unwrap();
    let other = create_user(&store).await;
    const INSERT: &str = "INSERT INTO ssh_keys (id, user_id, name, algorithm, key_data, \
         fingerprint, created_at, updated_at) VALUES (?, ?, 'k', ?, 'AAAA', ?, 1, 1)";
    assert_fails(
        exec(
            &store,
            INSERT,
            vec![
                id(Uuid::now_v7()),
                id(other.id.0),
                text("ssh-ed25519"),
                text(&key.fingerprint),
            ],
        )
        .await,
        "ssh_keys.fingerprint",
    );
    let fresh = ssh_key(other.id, "x").fingerprint;
    for (algorithm, fingerprint, rule) in [
        ("ssh-dss", fresh.as_str(), "algorithm"),
        ("ssh-ed25519", "MD5:00", "fingerprint"),
    ] {
        assert_fails(
            exec(
                &store,
                INSERT,
                vec![
                    id(Uuid::now_v7()),
                    id(other.id.0),
                    text(algorithm),
                    text(fingerprint),
                ],
            )
            .await,
            rule,
        );
    }
    exec(&store, "DELETE FROM users WHERE id = ?", vec![id(u.id.0)])
        .await
        .unwrap();
    assert_eq!(count(&store, "SELECT count(*) FROM ssh_keys").await, 0);
}
