//! `GET/POST /users/me/ssh-keys` and `DELETE /users/me/ssh-keys/{id}` (issue 17): a user's
//! SSH public keys, with fingerprints, own keys only.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::StatusCode;
use common::pages::*;
use common::*;
use serde_json::json;
use vibebox_core::domain::Scope;

const KEYS: &str = "/api/v1/users/me/ssh-keys";

// Generated with `ssh-keygen -t ed25519 -N ''`; the fingerprint is `ssh-keygen -lf`'s.
const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPTtA0C0H5qjMD7Vwo/BqPlwn0WzKHBO6P7YepGDR7TC test-ed25519";
const ED25519_FP: &str = "SHA256:8my0RNUEnKfqpswH6Td8D1zouTrmlLbVtGqPC0RDuPo";

fn random_key() -> String {
    vibebox_core::testing::store_checks::fixtures::random_ssh_public_key().to_string()
}

async fn add(app: &App, token: &str, name: &str, key: &str) -> Reply {
    app.call(
        "POST",
        KEYS,
        token,
        Some(json!({"name": name, "public_key": key})),
    )
    .await
}

#[tokio::test]
async fn a_key_is_added_with_its_fingerprint_listed_and_removed() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let r = add(&app, &alice, "laptop", ED25519).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["name"], "laptop");
    assert_eq!(r.body["fingerprint"], ED25519_FP);
    assert_eq!(r.body["algorithm"], "ssh-ed25519");
    assert_eq!(r.body["comment"], "test-ed25519");
    assert!(r.body["last_used_at"].is_null());
    assert!(r.body["created_at"].is_string());
    let id = r.body["id"].as_str().unwrap().to_string();
    let listed = app.call("GET", KEYS, &alice, None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    assert_eq!(page_ids(KEYS, &listed.body), std::slice::from_ref(&id));
    assert!(listed.body["next_cursor"].is_null());
    let r = app
        .call("DELETE", &format!("{KEYS}/{id}"), &alice, None)
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT, "{}", r.body);
    let listed = app.call("GET", KEYS, &alice, None).await;
    assert!(page_ids(KEYS, &listed.body).is_empty(), "{}", listed.body);
}

#[tokio::test]
async fn an_invalid_key_is_422_naming_public_key() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    for bad in ["", "ssh-ed25519 AAAA", "ssh-dss AAAAB3NzaC1kc3M=", "hello"] {
        let r = add(&app, &alice, "k", bad).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        assert_eq!(r.body["field"], "public_key", "{bad}: {}", r.body);
    }
    let r = add(&app, &alice, "", &random_key()).await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["field"], "name");
}

#[tokio::test]
async fn a_key_someone_else_registered_is_409_naming_public_key_without_saying_whose() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    assert_eq!(
        add(&app, &alice, "laptop", ED25519).await.status,
        StatusCode::CREATED
    );
    let r = add(&app, &bob, "mine", ED25519).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.body["field"], "public_key");
    assert!(!r.body.to_string().contains("alice"), "{}", r.body);
}

#[tokio::test]
async fn another_users_key_is_not_listed_and_its_removal_is_404() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let r = add(&app, &alice, "laptop", &random_key()).await;
    let id = r.body["id"].as_str().unwrap().to_string();
    let listed = app.call("GET", KEYS, &bob, None).await;
    assert!(page_ids(KEYS, &listed.body).is_empty(), "{}", listed.body);
    let r = app
        .call("DELETE", &format!("{KEYS}/{id}"), &bob, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let listed = app.call("GET", KEYS, &alice, None).await;
    assert_eq!(page_ids(KEYS, &listed.body), [id]);
}

#[tokio::test]
async fn paging_ssh_keys_with_limit_1_walks_every_key_exactly_once() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    for name in ["one", "two", "three"] {
        let r = add(&app, &alice, name, &random_key()).await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    assert_limit_1_walks_every_item_once(&app, &alice, KEYS, 3).await;
    let r = app
        .call("GET", &with_query(KEYS, "cursor=nope"), &alice, None)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["field"], "cursor");
}

#[tokio::test]
async fn a_read_only_api_key_lists_keys_but_cannot_change_them() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let me = app.call("GET", "/api/v1/users/me", &alice, None).await;
    let user: vibebox_core::id::UserId = me.body["id"].as_str().unwrap().parse().unwrap();
    let token = app.api_key(user, vec![Scope::Read]).await;
    let listed = app.call("GET", KEYS, &token, None).await;
    assert_eq!(listed.status, StatusCode::OK, "{}", listed.body);
    let r = add(&app, &token, "from a script", &random_key()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    let writer = app.api_key(user, vec![Scope::AccountWrite]).await;
    let r = add(&app, &writer, "from a script", &random_key()).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    let listed = app.call("GET", KEYS, &alice, None).await;
    assert_eq!(page_ids(KEYS, &listed.body).len(), 1);
}

#[tokio::test]
async fn ssh_keys_need_credentials() {
    let app = App::new();
    let r = app.get(KEYS, None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}
