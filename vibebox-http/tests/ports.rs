//! Port share levels through HTTP: `PATCH /environments/{id}/ports/{port_id}`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use vibebox_core::domain::Role;
use vibebox_core::service::{NewProject, NewTeam};

/// Adds port 8080 to the environment; returns the port as JSON.
async fn add_port(app: &App, env: &str, bearer: &str) -> serde_json::Value {
    let r = app
        .call(
            "POST",
            &format!("/api/v1/environments/{env}/ports"),
            bearer,
            Some(json!({"container_port": 8080})),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    r.body
}

#[tokio::test]
async fn ports_are_private_and_patch_sets_the_share_level() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let port = add_port(&app, &env, &alice).await;
    assert_eq!(port["share_level"], "private");
    let uri = format!(
        "/api/v1/environments/{env}/ports/{}",
        port["id"].as_str().unwrap()
    );
    for level in ["team", "authenticated", "public", "private"] {
        let r = app
            .call("PATCH", &uri, &alice, Some(json!({"share_level": level})))
            .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        assert_eq!(r.body["share_level"], level);
        assert_eq!(r.body["id"], port["id"]);
        assert_eq!(r.body["container_port"], 8080);
    }
    app.call("PATCH", &uri, &alice, Some(json!({"share_level": "team"})))
        .await;
    let listed = app
        .call(
            "GET",
            &format!("/api/v1/environments/{env}/ports"),
            &alice,
            None,
        )
        .await;
    assert_eq!(
        listed.body["items"][0]["share_level"], "team",
        "{}",
        listed.body
    );
}

#[tokio::test]
async fn an_unknown_share_level_is_422_naming_the_field() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let port = add_port(&app, &env, &alice).await;
    let uri = format!(
        "/api/v1/environments/{env}/ports/{}",
        port["id"].as_str().unwrap()
    );
    for body in [
        json!({"share_level": "everyone"}),
        json!({"share_level": 3}),
        json!({"share_level": null}),
        json!({}),
    ] {
        let r = app.call("PATCH", &uri, &alice, Some(body.clone())).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{body}: {}",
            r.body
        );
        assert_eq!(r.body["field"], "share_level", "{body}: {}", r.body);
    }
    let listed = app
        .call(
            "GET",
            &format!("/api/v1/environments/{env}/ports"),
            &alice,
            None,
        )
        .await;
    assert_eq!(listed.body["items"][0]["share_level"], "private");
}

#[tokio::test]
async fn a_viewer_gets_403_and_a_stranger_404() {
    let app = App::new();
    let alice_user = app.user("alice").await;
    app.user("vera").await;
    let alice = app.vibebox.actor_for_user(alice_user.id).await.unwrap();
    let team = app
        .vibebox
        .create_team(
            &alice,
            NewTeam {
                name: "Core".into(),
                slug: "core".into(),
                description: None,
            },
        )
        .await
        .unwrap();
    app.vibebox
        .add_member(&alice, team.id, "vera@example.com", Role::Viewer)
        .await
        .unwrap();
    let project = app
        .vibebox
        .create_project(
            &alice,
            NewProject {
                name: "T".into(),
                slug: "team-proj".into(),
                team_id: Some(team.id),
            },
        )
        .await
        .unwrap();
    let alice_token = app.login("alice").await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let env = app
        .call(
            "POST",
            "/api/v1/environments",
            &alice_token,
            Some(
                json!({"project_id": project.id, "name": "Dev", "slug": "dev",
                        "base_image": "vibebox/base:bookworm"}),
            ),
        )
        .await
        .body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let port = add_port(&app, &env, &alice_token).await;
    let uri = format!(
        "/api/v1/environments/{env}/ports/{}",
        port["id"].as_str().unwrap()
    );
    let body = Some(json!({"share_level": "public"}));

    let vera = app.login("vera").await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.call("PATCH", &uri, &vera, body.clone()).await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.body);
    assert_eq!(r.body["code"], "permission_denied");

    let mallory = app.signed_in("mallory").await;
    let r = app.call("PATCH", &uri, &mallory, body.clone()).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    // A port of another environment, or no port at all, is 404 too, for the admin.
    let (_, other_env) = app.project_with_env(&alice_token).await;
    let other_uri = format!(
        "/api/v1/environments/{other_env}/ports/{}",
        port["id"].as_str().unwrap()
    );
    let r = app
        .call("PATCH", &other_uri, &alice_token, body.clone())
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);

    let listed = app
        .call(
            "GET",
            &format!("/api/v1/environments/{env}/ports"),
            &vera,
            None,
        )
        .await;
    assert_eq!(
        listed.body["items"][0]["share_level"], "private",
        "nothing changed"
    );
}
