//! Projects and environments through HTTP: the thin handlers over core's rules.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::json;
use vibebox_core::domain::Role;
use vibebox_core::service::{NewProject, NewTeam};

#[tokio::test]
async fn a_project_and_environment_walk_from_create_to_delete() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let p = app
        .call(
            "POST",
            "/api/v1/projects",
            &alice,
            Some(json!({"name": "API", "slug": "api"})),
        )
        .await;
    assert_eq!(p.status, StatusCode::CREATED, "{}", p.body);
    let project = p.body["id"].as_str().unwrap().to_string();
    let listed = app.call("GET", "/api/v1/projects", &alice, None).await;
    assert_eq!(listed.body["items"][0]["id"], project.as_str());
    assert!(listed.body.get("next_cursor").is_some());
    let e = app
        .call(
            "POST",
            "/api/v1/environments",
            &alice,
            Some(json!({"project_id": project, "name": "Dev", "slug": "dev",
                        "base_image": "vibebox/base:bookworm", "memory_limit": 512})),
        )
        .await;
    assert_eq!(e.status, StatusCode::CREATED, "{}", e.body);
    assert_eq!(e.body["status"], "stopped");
    let env = e.body["id"].as_str().unwrap().to_string();
    let base = format!("/api/v1/environments/{env}");
    let port = app
        .call(
            "POST",
            &format!("{base}/ports"),
            &alice,
            Some(json!({"container_port": 8080})),
        )
        .await;
    assert_eq!(port.status, StatusCode::CREATED, "{}", port.body);
    let var = app
        .call(
            "POST",
            &format!("{base}/variables"),
            &alice,
            Some(json!({"key": "API_TOKEN", "value": "s3cret-value", "is_encrypted": true})),
        )
        .await;
    assert_eq!(var.status, StatusCode::CREATED, "{}", var.body);
    let vars = app
        .call("GET", &format!("{base}/variables"), &alice, None)
        .await;
    assert!(
        !vars.body.to_string().contains("s3cret-value"),
        "masked: {}",
        vars.body
    );
    let started = app
        .call("POST", &format!("{base}/start"), &alice, None)
        .await;
    assert_eq!(started.status, StatusCode::OK, "{}", started.body);
    assert_eq!(started.body["status"], "running");
    let ports = app
        .call("GET", &format!("{base}/ports"), &alice, None)
        .await;
    assert!(
        ports.body["items"][0]["bound_host_port"].is_u64(),
        "{}",
        ports.body
    );
    let stopped = app
        .call("POST", &format!("{base}/stop"), &alice, None)
        .await;
    assert_eq!(stopped.body["status"], "stopped");
    let deleted = app.call("DELETE", &base, &alice, None).await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    assert_eq!(
        app.call("GET", &base, &alice, None).await.status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn another_tenants_environment_is_404_for_every_method() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let (_, env) = app.project_with_env(&alice).await;
    let base = format!("/api/v1/environments/{env}");
    for (method, uri) in [
        ("GET", base.clone()),
        ("DELETE", base.clone()),
        ("POST", format!("{base}/start")),
        ("GET", format!("{base}/variables")),
    ] {
        let r = app.call(method, &uri, &bob, None).await;
        assert_eq!(
            r.status,
            StatusCode::NOT_FOUND,
            "{method} {uri}: {}",
            r.body
        );
    }
}

#[tokio::test]
async fn a_viewer_reads_but_every_write_is_403() {
    let app = App::new();
    let alice_user = app.user("alice").await;
    app.user("bob").await;
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
        .add_member(&alice, team.id, "bob@example.com", Role::Viewer)
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
    let bob = app.login("bob").await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    let base = format!("/api/v1/environments/{env}");
    assert_eq!(
        app.call("GET", &base, &bob, None).await.status,
        StatusCode::OK
    );
    for (method, uri, body) in [
        ("POST", format!("{base}/start"), None),
        ("PATCH", base.clone(), Some(json!({"name": "renamed"}))),
        ("DELETE", base.clone(), None),
        (
            "POST",
            format!("{base}/ports"),
            Some(json!({"container_port": 3000})),
        ),
    ] {
        let r = app.call(method, &uri, &bob, body).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {uri}: {}",
            r.body
        );
        assert_eq!(r.body["code"], "permission_denied");
    }
}

#[tokio::test]
async fn bad_values_are_422_naming_the_field_and_bad_ids_are_404() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let project = app
        .call(
            "POST",
            "/api/v1/projects",
            &alice,
            Some(json!({"name": "A", "slug": "alpha"})),
        )
        .await
        .body["id"]
        .clone();
    let r = app
        .call(
            "POST",
            "/api/v1/environments",
            &alice,
            Some(json!({"project_id": project, "name": "Dev", "slug": "dev",
                        "base_image": "vibebox/base:bookworm", "cpu_limit": 1000.0})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["field"], "cpu_limit");
    let r = app
        .call("GET", "/api/v1/projects?limit=0", &alice, None)
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(r.body["field"], "limit");
    let r = app
        .call("GET", "/api/v1/environments/not-an-id", &alice, None)
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

// Found by schemathesis (scripts/schemathesis).

#[tokio::test]
async fn a_json_array_body_is_422_not_read_as_an_object() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let r = app
        .call(
            "PATCH",
            "/api/v1/users/me",
            &alice,
            Some(json!([null, null])),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["code"], "invalid_input");
    let r = app
        .call("PATCH", "/api/v1/users/me", &alice, Some(json!({})))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
}

#[tokio::test]
async fn an_empty_cursor_is_the_first_page_and_a_malformed_one_is_422() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    for list in ["projects", "teams", "environments"] {
        let r = app
            .call("GET", &format!("/api/v1/{list}?cursor="), &alice, None)
            .await;
        assert_eq!(r.status, StatusCode::OK, "{list}: {}", r.body);
        let r = app
            .call("GET", &format!("/api/v1/{list}?cursor=nope"), &alice, None)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{list}: {}",
            r.body
        );
        assert_eq!(r.body["field"], "cursor");
    }
}

#[tokio::test]
async fn starting_with_an_absent_image_is_409_naming_the_image_not_404() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    app.runtime.remove_image("vibebox/base:bookworm");
    let r = app.start(&env, &alice).await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    let detail = r.body["detail"].as_str().unwrap();
    assert!(
        detail.contains("image vibebox/base:bookworm is not present"),
        "{detail}"
    );
    let got = app
        .call("GET", &format!("/api/v1/environments/{env}"), &alice, None)
        .await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body["status"], "error");
}

#[tokio::test]
async fn the_idle_policy_is_shown_set_and_refused_naming_the_field() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let path = format!("/api/v1/environments/{env}");
    let r = app.call("GET", &path, &alice, None).await;
    assert_eq!(
        r.body["idle_policy"],
        json!({"suspend_after_minutes": 15, "stop_after_hours": 24}),
        "the default"
    );
    let never = json!({"suspend_after_minutes": null, "stop_after_hours": 48});
    let r = app
        .call(
            "PATCH",
            &path,
            &alice,
            Some(json!({ "idle_policy": never })),
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["idle_policy"], never);
    // A policy missing a field is refused rather than read as "never".
    let r = app
        .call(
            "PATCH",
            &path,
            &alice,
            Some(json!({"idle_policy": {"suspend_after_minutes": 30}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        r.body["field"], "idle_policy.stop_after_hours",
        "{}",
        r.body
    );
    let r = app
        .call(
            "PATCH",
            &path,
            &alice,
            Some(json!({"idle_policy": {"suspend_after_minutes": 0, "stop_after_hours": null}})),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["field"], "idle_policy.suspend_after_minutes");
    let r = app.call("GET", &path, &alice, None).await;
    assert_eq!(
        r.body["idle_policy"], never,
        "nothing of a refused patch is kept"
    );
}

#[tokio::test]
async fn a_create_with_start_answers_the_running_environment_and_a_bad_one_creates_nothing() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let (project, _) = app.project_with_env(&alice).await;
    let body = |slug: &str, start: serde_json::Value| {
        json!({"project_id": project, "name": "Now", "slug": slug,
               "base_image": "vibebox/base:bookworm", "start": start})
    };
    let r = app
        .call(
            "POST",
            "/api/v1/environments",
            &alice,
            Some(body("now", json!(true))),
        )
        .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
    assert_eq!(r.body["status"], "running");
    let r = app
        .call(
            "POST",
            "/api/v1/environments",
            &alice,
            Some(body("bad", json!("yes"))),
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(r.body["field"], "start");
    let r = app
        .call(
            "GET",
            &format!("/api/v1/environments?project_id={project}"),
            &alice,
            None,
        )
        .await;
    let slugs: Vec<_> = r.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["slug"].as_str().unwrap().to_string())
        .collect();
    assert_eq!(slugs.len(), 2, "{slugs:?}");
    assert!(!slugs.contains(&"bad".to_string()));
}
