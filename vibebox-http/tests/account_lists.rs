//! The caller's API keys and signed-in devices are lists like every other (DESIGN.md §6):
//! `{items, next_cursor}`, paged with `?limit=&cursor=` in id order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::StatusCode;
use common::pages::*;
use common::*;
use serde_json::json;

const API_KEYS: &str = "/api/v1/users/me/api-keys";
const DEVICES: &str = "/api/v1/users/me/sessions";

/// Alice with three API keys and three signed-in devices; returns her access token.
async fn alice_with_three_keys_and_devices(app: &App) -> String {
    let alice = app.signed_in("alice").await;
    for _ in 0..2 {
        let r = app.login("alice").await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    for name in ["zed", "mid", "alpha"] {
        let r = app
            .call(
                "POST",
                API_KEYS,
                &alice,
                Some(json!({"name": name, "scopes": ["read"]})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    alice
}

#[tokio::test]
async fn api_keys_and_devices_answer_items_and_next_cursor() {
    let app = App::new();
    let alice = alice_with_three_keys_and_devices(&app).await;
    for path in [API_KEYS, DEVICES] {
        let r = app.call("GET", path, &alice, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert_eq!(page_ids(path, &r.body).len(), 3, "{path}: {}", r.body);
        assert!(r.body["next_cursor"].is_null(), "{path}: {}", r.body);
        let r = app
            .call("GET", &with_query(path, "limit=2"), &alice, None)
            .await;
        assert_eq!(page_ids(path, &r.body).len(), 2, "{path}: {}", r.body);
        assert!(r.body["next_cursor"].is_string(), "{path}: {}", r.body);
    }
}

#[tokio::test]
async fn paging_api_keys_with_limit_1_walks_every_key_exactly_once() {
    let app = App::new();
    let alice = alice_with_three_keys_and_devices(&app).await;
    assert_limit_1_walks_every_item_once(&app, &alice, API_KEYS, 3).await;
}

#[tokio::test]
async fn paging_devices_with_limit_1_walks_every_device_exactly_once() {
    let app = App::new();
    let alice = alice_with_three_keys_and_devices(&app).await;
    assert_limit_1_walks_every_item_once(&app, &alice, DEVICES, 3).await;
}

#[tokio::test]
async fn another_users_keys_and_devices_are_not_in_the_pages() {
    let app = App::new();
    let alice = alice_with_three_keys_and_devices(&app).await;
    let bob = app.signed_in("bob").await;
    let keys = app.call("GET", API_KEYS, &bob, None).await;
    assert!(page_ids(API_KEYS, &keys.body).is_empty(), "{}", keys.body);
    let devices = app.call("GET", DEVICES, &bob, None).await;
    assert_eq!(
        page_ids(DEVICES, &devices.body).len(),
        1,
        "{}",
        devices.body
    );
    let mine = app.call("GET", DEVICES, &alice, None).await;
    assert_eq!(page_ids(DEVICES, &mine.body).len(), 3, "{}", mine.body);
}

#[tokio::test]
async fn a_malformed_cursor_on_api_keys_or_devices_is_422_naming_cursor() {
    let app = App::new();
    let alice = alice_with_three_keys_and_devices(&app).await;
    for path in [API_KEYS, DEVICES] {
        let r = app
            .call("GET", &with_query(path, "cursor="), &alice, None)
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{path}: an empty cursor is the first page"
        );
        let r = app
            .call("GET", &with_query(path, "cursor=nope"), &alice, None)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{path}: {}",
            r.body
        );
        assert_eq!(r.body["field"], "cursor", "{path}: {}", r.body);
    }
}

#[tokio::test]
async fn a_limit_outside_1_to_500_on_api_keys_or_devices_is_422_naming_limit() {
    let app = App::new();
    let alice = alice_with_three_keys_and_devices(&app).await;
    for path in [API_KEYS, DEVICES] {
        for limit in ["0", "501"] {
            let uri = with_query(path, &format!("limit={limit}"));
            let r = app.call("GET", &uri, &alice, None).await;
            assert_eq!(
                r.status,
                StatusCode::UNPROCESSABLE_ENTITY,
                "{uri}: {}",
                r.body
            );
            assert_eq!(r.body["field"], "limit", "{uri}: {}", r.body);
        }
    }
}
