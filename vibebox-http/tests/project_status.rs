//! `/api/v1/ws/projects/{id}/status` with a real WebSocket client against a served router:
//! its frames, who may open it, and how it closes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::StatusCode;
use common::ws::{close_code, connect, connect_as, next_json, until};
use common::*;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use vibebox_http::HttpConfig;

fn path(project: &str) -> String {
    format!("/api/v1/ws/projects/{project}/status")
}

fn is(v: &Value, kind: &str, env: &str) -> bool {
    v["type"] == kind && v["environment_id"] == env
}

#[tokio::test]
async fn project_socket_sends_a_snapshot_then_changes_creations_deletions_and_metrics() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let (project, env) = app.project_with_env(&alice).await;
    let addr = app.serve().await;
    let mut ws = connect_as(addr, &path(&project), &alice).await;

    let snapshot = next_json(&mut ws).await;
    assert_eq!(snapshot["type"], "snapshot", "{snapshot}");
    assert_eq!(snapshot["truncated"], false);
    let entry = &snapshot["environments"][0];
    assert_eq!(entry["environment_id"], env.as_str());
    assert_eq!(entry["name"], "Dev");
    assert_eq!(entry["status"], "stopped");
    assert_eq!(entry["health"]["oom_kills"], 0);
    assert!(entry["version"].is_i64(), "{entry}");

    assert_eq!(app.start(&env, &alice).await.status, StatusCode::OK);
    let running = until(&mut ws, |v| {
        is(v, "status", &env) && v["status"] == "running"
    })
    .await;
    assert!(running["at"].is_string(), "{running}");
    let sample = until(&mut ws, |v| is(v, "metrics", &env)).await;
    assert!(
        sample["memory_limit_bytes"].as_u64().unwrap() > 0,
        "{sample}"
    );
    assert!(sample["cpu_percent"].is_number(), "{sample}");

    let created = app
        .call(
            "POST",
            "/api/v1/environments",
            &alice,
            Some(
                json!({"project_id": project, "name": "Second", "slug": "second",
                        "base_image": "vibebox/base:bookworm"}),
            ),
        )
        .await;
    assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
    let second = created.body["id"].as_str().unwrap().to_string();
    let frame = until(&mut ws, |v| v["type"] == "created").await;
    assert_eq!(frame["environment"]["environment_id"], second.as_str());
    assert_eq!(frame["environment"]["name"], "Second");
    assert_eq!(frame["environment"]["status"], "stopped");

    let deleted = app
        .call(
            "DELETE",
            &format!("/api/v1/environments/{second}"),
            &alice,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT, "{}", deleted.body);
    until(&mut ws, |v| is(v, "deleted", &second)).await;
}

#[tokio::test]
async fn project_socket_opens_for_a_team_viewer_and_hides_other_tenants_projects() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let viewer = app.signed_in("viewer").await;
    let bob = app.signed_in("bob").await;
    let team = app.team(&alice, "core", &[("viewer", "viewer")]).await;
    let project = app
        .call(
            "POST",
            "/api/v1/projects",
            &alice,
            Some(json!({"name": "Shop", "slug": "shop", "team_id": team})),
        )
        .await;
    assert_eq!(project.status, StatusCode::CREATED, "{}", project.body);
    let project = project.body["id"].as_str().unwrap().to_string();
    let addr = app.serve().await;

    let mut ws = connect_as(addr, &path(&project), &viewer).await;
    let snapshot = next_json(&mut ws).await;
    assert_eq!(snapshot["type"], "snapshot");
    assert_eq!(snapshot["environments"], json!([]));

    let bob_auth = format!("vibebox.v1, bearer.{bob}");
    assert_eq!(
        connect(addr, &path(&project), Some(&bob_auth), None)
            .await
            .err(),
        Some(404)
    );
    assert_eq!(
        connect(addr, &path(&project), None, None).await.err(),
        Some(401)
    );
    let t = app.call("POST", "/api/v1/ws-tickets", &viewer, None).await;
    let ticket = t.body["ticket"].as_str().unwrap();
    let mut by_ticket = connect(
        addr,
        &format!("{}?ticket={ticket}", path(&project)),
        None,
        None,
    )
    .await
    .unwrap();
    assert_eq!(next_json(&mut by_ticket).await["type"], "snapshot");
}

#[tokio::test]
async fn project_socket_closes_with_1001_on_shutdown() {
    let token = CancellationToken::new();
    let app = App::with(HttpConfig {
        shutdown: token.clone(),
        ..common::config()
    });
    let alice = app.signed_in("alice").await;
    let (project, _) = app.project_with_env(&alice).await;
    let addr = app.serve().await;
    let mut ws = connect_as(addr, &path(&project), &alice).await;
    next_json(&mut ws).await;
    token.cancel();
    assert_eq!(close_code(&mut ws).await, CloseCode::Away);
}

#[tokio::test]
async fn project_socket_closes_with_1008_when_its_user_is_disabled() {
    let app = App::new();
    let root = app.signed_in("root").await;
    let alice = app.signed_in("alice").await;
    let (project, _) = app.project_with_env(&alice).await;
    let addr = app.serve().await;
    let mut ws = connect_as(addr, &path(&project), &alice).await;
    next_json(&mut ws).await;
    app.disable(&root, &alice).await;
    assert_eq!(close_code(&mut ws).await, CloseCode::Policy);
}
