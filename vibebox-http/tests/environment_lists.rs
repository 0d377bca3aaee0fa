//! An environment's ports, variables and sessions are lists like every other (DESIGN.md §6):
//! `{items, next_cursor}`, paged with `?limit=&cursor=` in a stable order.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::StatusCode;
use common::pages::*;
use common::*;
use serde_json::json;

/// A running environment with three ports, three variables (their keys set in reverse
/// alphabetical order, so that key order is not id order) and three shell sessions, one of
/// them terminated. Returns the bearer token and the environment's base path.
async fn env_with_three_of_each(app: &App) -> (String, String) {
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let base = format!("/api/v1/environments/{env}");
    for port in [8080, 3000, 9000] {
        let r = app
            .call(
                "POST",
                &format!("{base}/ports"),
                &alice,
                Some(json!({"container_port": port})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    for key in ["ZED", "MID", "ALPHA"] {
        let r = app
            .call(
                "POST",
                &format!("{base}/variables"),
                &alice,
                Some(json!({"key": key, "value": "v"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    }
    let mut sessions = Vec::new();
    for name in ["one", "two", "three"] {
        let r = app
            .call(
                "POST",
                &format!("{base}/sessions"),
                &alice,
                Some(json!({"session_type": "shell", "session_name": name})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        sessions.push(r.body["id"].as_str().unwrap().to_string());
    }
    let r = app
        .call(
            "DELETE",
            &format!("/api/v1/sessions/{}", sessions[1]),
            &alice,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    (alice, base)
}

const LISTS: [&str; 3] = ["ports", "variables", "sessions"];

#[tokio::test]
async fn ports_variables_and_sessions_answer_items_and_next_cursor() {
    let app = App::new();
    let (alice, base) = env_with_three_of_each(&app).await;
    for list in LISTS {
        let path = format!("{base}/{list}");
        let r = app.call("GET", &path, &alice, None).await;
        assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
        assert!(!page_ids(&path, &r.body).is_empty(), "{path}: {}", r.body);
        assert!(r.body["next_cursor"].is_null(), "{path}: {}", r.body);
        let r = app
            .call("GET", &with_query(&path, "limit=2"), &alice, None)
            .await;
        assert_eq!(page_ids(&path, &r.body).len(), 2, "{path}: {}", r.body);
        assert!(r.body["next_cursor"].is_string(), "{path}: {}", r.body);
    }
}

#[tokio::test]
async fn paging_ports_with_limit_1_walks_every_port_exactly_once() {
    let app = App::new();
    let (alice, base) = env_with_three_of_each(&app).await;
    assert_limit_1_walks_every_item_once(&app, &alice, &format!("{base}/ports"), 3).await;
}

#[tokio::test]
async fn paging_variables_with_limit_1_walks_every_variable_exactly_once_in_id_order() {
    let app = App::new();
    let (alice, base) = env_with_three_of_each(&app).await;
    let path = format!("{base}/variables");
    assert_limit_1_walks_every_item_once(&app, &alice, &path, 3).await;
    // Replacing a value keeps the variable's id, hence its place.
    let r = app
        .call(
            "POST",
            &path,
            &alice,
            Some(json!({"key": "MID", "value": "changed"})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_limit_1_walks_every_item_once(&app, &alice, &path, 3).await;
}

#[tokio::test]
async fn paging_sessions_with_limit_1_walks_every_session_exactly_once() {
    let app = App::new();
    let (alice, base) = env_with_three_of_each(&app).await;
    let path = format!("{base}/sessions");
    let live = app.call("GET", &path, &alice, None).await;
    let live = page_ids(&path, &live.body).len();
    assert_limit_1_walks_every_item_once(&app, &alice, &path, live).await;
    let all = format!("{path}?include_terminated=true");
    assert_limit_1_walks_every_item_once(&app, &alice, &all, live + 1).await;
}

#[tokio::test]
async fn a_malformed_cursor_on_ports_variables_or_sessions_is_422_naming_cursor() {
    let app = App::new();
    let (alice, base) = env_with_three_of_each(&app).await;
    for list in LISTS {
        let path = format!("{base}/{list}");
        let r = app
            .call("GET", &with_query(&path, "cursor="), &alice, None)
            .await;
        assert_eq!(
            r.status,
            StatusCode::OK,
            "{path}: an empty cursor is the first page"
        );
        let r = app
            .call("GET", &with_query(&path, "cursor=nope"), &alice, None)
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
async fn a_limit_outside_1_to_500_on_ports_variables_or_sessions_is_422_naming_limit() {
    let app = App::new();
    let (alice, base) = env_with_three_of_each(&app).await;
    for list in LISTS {
        for limit in ["0", "501"] {
            let uri = format!("{base}/{list}?limit={limit}");
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

/// A stopped environment with three catalog extensions requested (alice, the first user, is a
/// platform admin and adds them to the catalog; they are requested in reverse name order, so
/// that name order is not id order). Returns the bearer token and the list's path.
async fn env_with_three_extensions(app: &App) -> (String, String) {
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let path = format!("/api/v1/environments/{env}/extensions");
    for name in ["zed", "mid", "alpha"] {
        let extension_id = format!("acme.{name}");
        let r = app
            .call(
                "POST",
                "/api/v1/extensions",
                &alice,
                Some(json!({"extension_id": extension_id, "name": name, "version": "1.0.0"})),
            )
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        let r = app
            .call(
                "POST",
                &path,
                &alice,
                Some(json!({"extension_id": extension_id})),
            )
            .await;
        assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    }
    (alice, path)
}

#[tokio::test]
async fn extensions_answer_items_and_next_cursor_and_limit_1_walks_each_exactly_once() {
    let app = App::new();
    let (alice, path) = env_with_three_extensions(&app).await;
    let r = app
        .call("GET", &with_query(&path, "limit=2"), &alice, None)
        .await;
    assert_eq!(r.status, StatusCode::OK, "{path}: {}", r.body);
    assert_eq!(page_ids(&path, &r.body).len(), 2, "{path}: {}", r.body);
    assert!(r.body["next_cursor"].is_string(), "{path}: {}", r.body);
    assert_limit_1_walks_every_item_once(&app, &alice, &path, 3).await;
}

#[tokio::test]
async fn a_malformed_cursor_or_a_limit_outside_1_to_500_on_extensions_is_422_naming_it() {
    let app = App::new();
    let (alice, path) = env_with_three_extensions(&app).await;
    for (query, field) in [
        ("cursor=nope", "cursor"),
        ("limit=0", "limit"),
        ("limit=501", "limit"),
    ] {
        let uri = with_query(&path, query);
        let r = app.call("GET", &uri, &alice, None).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{uri}: {}",
            r.body
        );
        assert_eq!(r.body["field"], field, "{uri}: {}", r.body);
    }
}
