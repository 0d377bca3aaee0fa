//! A failed call changes nothing: multi-statement writes are one transaction.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::fresh;
use vibebox_core::Error;
use vibebox_core::domain::{LogStream, Role};
use vibebox_core::id::{RefreshFamilyId, UserId};
use vibebox_core::store::*;
use vibebox_core::testing::store_checks::fixtures::*;

async fn count(raw: &sqlx::PgPool, table: &'static str) -> i64 {
    let sql = format!("SELECT count(*) FROM {table}");
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql))
        .fetch_one(raw)
        .await
        .unwrap()
}

#[tokio::test]
async fn team_create_with_missing_user_creates_no_team() {
    let f = fresh().await;
    let t = team(&unique_slug("team"));
    let res = f
        .store
        .create_team(&t, &membership(t.id, UserId::new(), Role::Admin))
        .await;
    assert_not_found(res, "user");
    assert_eq!(count(&f.raw, "teams").await, 0);
    assert_eq!(count(&f.raw, "memberships").await, 0);
}

#[tokio::test]
async fn user_create_with_taken_identity_creates_no_user() {
    let f = fresh().await;
    let a = create_user(&f.store).await;
    f.store
        .create_oauth_identity(&identity(a.id, "github", "42"))
        .await
        .unwrap();
    let b = user(&unique_email());
    let res = f
        .store
        .create_user(&b, Some(identity(b.id, "github", "42")))
        .await;
    assert_already_exists(res, "provider, subject");
    assert_eq!(count(&f.raw, "users").await, 1);
    assert_eq!(count(&f.raw, "oauth_identities").await, 1);
}

#[tokio::test]
async fn failed_rotation_leaves_the_old_token_unused() {
    let f = fresh().await;
    let u = create_user(&f.store).await;
    let family = RefreshFamilyId::new();
    let old = refresh_session(u.id, family);
    f.store.create_refresh_session(&old).await.unwrap();
    // The successor's hash is taken (by the old token itself): the insert fails.
    let mut clash = refresh_session(u.id, family);
    clash.token_hash = old.token_hash;
    let res = f.store.rotate_refresh_session(old.id, &clash, now()).await;
    assert_already_exists(res, "token");
    let stored = f
        .store
        .find_refresh_session(&old.token_hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored, old, "still unused, so the client can retry");
    assert!(
        f.store
            .rotate_refresh_session(old.id, &refresh_session(u.id, family), now())
            .await
            .unwrap()
    );
}

#[tokio::test]
async fn refused_demotion_and_removal_change_nothing() {
    let f = fresh().await;
    let a = create_user(&f.store).await;
    let t = create_team(&f.store, &a).await;
    let before = f.store.get_membership(t.id, a.id).await.unwrap().unwrap();
    let err = f
        .store
        .update_member_role(t.id, a.id, Role::Viewer, now())
        .await
        .unwrap_err();
    assert!(matches!(err, Error::LastAdmin), "{err:?}");
    let err = f.store.remove_member(t.id, a.id).await.unwrap_err();
    assert!(matches!(err, Error::LastAdmin), "{err:?}");
    assert_eq!(
        f.store.get_membership(t.id, a.id).await.unwrap(),
        Some(before)
    );
}

#[tokio::test]
async fn log_batch_with_one_bad_environment_writes_nothing() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    let ghost = vibebox_core::id::EnvironmentId::new();
    let res = f
        .store
        .append_logs(&[
            log_line(e.id, now(), LogStream::Stdout, "a"),
            log_line(ghost, now(), LogStream::Stdout, "b"),
        ])
        .await;
    assert_not_found(res, "environment");
    assert_eq!(count(&f.raw, "logs").await, 0);
}
