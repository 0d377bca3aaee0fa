//! The viewer and the stranger on the walk's team resources (DESIGN.md §3): a viewer reads
//! everything and is refused every write with 403, leaving everything as it was; someone
//! outside the team is told that none of it exists (404).

use axum::http::Method;
use serde_json::{Value, json};

use super::client::{Api, until_json};
use super::{Walk, socket_path};

/// Everything the team's members can read about the walk's resources, as the owner reads it.
async fn snapshot(api: &Api, w: &Walk) -> Value {
    let t = &w.owner_token;
    let e = |rest: &str| w.env_path(rest);
    json!({
        "team": api.read(&format!("/teams/{}", w.team), t).await,
        "members": api.read(&format!("/teams/{}/members", w.team), t).await,
        "teams": api.read("/teams", t).await,
        "projects": api.read("/projects", t).await,
        "project": api.read(&format!("/projects/{}", w.project), t).await,
        "environments": api.read(&format!("/environments?project_id={}", w.project), t).await,
        "environment": api.read(&e(""), t).await,
        "ports": api.read(&e("/ports"), t).await,
        "variables": api.read(&e("/variables"), t).await,
        "sessions": api.read(&e("/sessions?include_terminated=true"), t).await,
        "extensions": api.read(&e("/extensions"), t).await,
        "catalog": api.read("/extensions", t).await,
    })
}

/// Every write of DESIGN.md §6 on a team's project and environment, and on the team itself:
/// (method, path, body).
fn writes(w: &Walk) -> Vec<(Method, String, Option<Value>)> {
    let e = |rest: &str| w.env_path(rest);
    let team = format!("/teams/{}", w.team);
    vec![
        (
            Method::PATCH,
            format!("/projects/{}", w.project),
            Some(json!({"name": "Renamed"})),
        ),
        (
            Method::PATCH,
            format!("/projects/{}", w.project),
            Some(json!({"is_archived": true})),
        ),
        (Method::DELETE, format!("/projects/{}", w.project), None),
        (
            Method::POST,
            "/projects".into(),
            Some(json!({"name": "Mine", "slug": "mine", "team_id": w.team})),
        ),
        (
            Method::POST,
            "/environments".into(),
            Some(
                json!({"project_id": w.project, "name": "Second", "slug": "second",
                        "base_image": crate::docker::BASE_IMAGE}),
            ),
        ),
        (Method::PATCH, e(""), Some(json!({"name": "Renamed"}))),
        (Method::POST, e("/start"), None),
        (Method::POST, e("/stop"), None),
        (Method::DELETE, e(""), None),
        (
            Method::POST,
            e("/ports"),
            Some(json!({"container_port": 9090})),
        ),
        (Method::DELETE, format!("{}/{}", e("/ports"), w.port), None),
        (
            Method::POST,
            e("/variables"),
            Some(json!({"key": "API_TOKEN", "value": "viewer"})),
        ),
        (
            Method::POST,
            e("/variables"),
            Some(json!({"key": "NEW_ONE", "value": "viewer"})),
        ),
        (Method::DELETE, e("/variables/API_TOKEN"), None),
        (
            Method::POST,
            e("/sessions"),
            Some(json!({"session_type": "shell", "session_name": "viewer"})),
        ),
        (Method::DELETE, format!("/sessions/{}", w.session), None),
        (
            Method::POST,
            e("/extensions"),
            Some(json!({"extension_id": "acme.other"})),
        ),
        (
            Method::DELETE,
            format!("{}/{}", e("/extensions"), w.extension),
            None,
        ),
        (
            Method::DELETE,
            format!("{}/{}", e("/extensions"), w.other_extension),
            None,
        ),
        (
            Method::PATCH,
            team.clone(),
            Some(json!({"name": "Taken over"})),
        ),
        (Method::DELETE, team.clone(), None),
        (
            Method::POST,
            format!("{team}/members"),
            Some(json!({"email": "stranger@example.com", "role": "admin"})),
        ),
        (
            Method::PATCH,
            format!("{team}/members/{}", w.viewer),
            Some(json!({"role": "admin"})),
        ),
        (
            Method::PATCH,
            format!("{team}/members/{}", w.owner),
            Some(json!({"role": "viewer"})),
        ),
        (Method::DELETE, format!("{team}/members/{}", w.owner), None),
    ]
}

/// The viewer reads the team, project, environment, ports, variables (masked), sessions,
/// extensions, logs and the status and logs sockets.
pub async fn viewer_reads_everything(api: &Api, w: &Walk) {
    let t = &w.viewer_token;
    let e = |rest: &str| w.env_path(rest);
    for path in [
        format!("/teams/{}", w.team),
        format!("/teams/{}/members", w.team),
        format!("/projects/{}", w.project),
        format!("/environments?project_id={}", w.project),
        e(""),
        e("/ports"),
        e("/variables"),
        e("/sessions"),
        e("/extensions"),
        e("/logs"),
    ] {
        api.read(&path, t).await;
    }
    let listed = api.read("/projects", t).await;
    assert!(
        listed["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|p| p["id"] == json!(w.project)),
        "the viewer lists the team project: {listed}"
    );
    let mut status = api.socket(&socket_path(w, "status"), t).await.unwrap();
    until_json(&mut status, "the viewer's status frame", |v| {
        v["type"] == "status"
    })
    .await;
    api.socket(&socket_path(w, "logs"), t).await.unwrap();
    // Reading the team's audit log is for its admins.
    let audit = api.get(&format!("/teams/{}/audit", w.team), t).await;
    assert_eq!(audit.status, 403, "the team audit log: {}", audit.raw);
}

/// Each write answers 403 (a problem document) to the viewer, the terminal socket is
/// refused, and afterwards everything reads exactly as before.
pub async fn viewer_is_refused_every_write(api: &Api, w: &Walk) {
    let before = snapshot(api, w).await;
    for (method, path, body) in writes(w) {
        let reply = api
            .call(method.clone(), &path, Some(&w.viewer_token), body)
            .await;
        assert_eq!(
            (reply.status, reply.body["status"].as_u64()),
            (403, Some(403)),
            "the viewer's {method} {path}: {}",
            reply.raw
        );
    }
    for session in ["sh", "main"] {
        let refused = api
            .socket(
                &socket_path(w, &format!("terminal?session={session}")),
                &w.viewer_token,
            )
            .await
            .err();
        assert_eq!(refused, Some(403), "the viewer's terminal on {session}");
    }
    let after = snapshot(api, w).await;
    assert_eq!(before, after, "the viewer's refused writes changed nothing");
}

/// Someone outside the team: every team resource is 404, reads and writes alike, and so is
/// each socket.
pub async fn stranger_sees_nothing(api: &Api, w: &Walk) {
    let t = &w.stranger_token;
    let e = |rest: &str| w.env_path(rest);
    let reads = [
        format!("/teams/{}", w.team),
        format!("/teams/{}/members", w.team),
        format!("/projects/{}", w.project),
        e(""),
        e("/ports"),
        e("/variables"),
        e("/sessions"),
        e("/extensions"),
        e("/logs"),
    ];
    for path in reads {
        let reply = api.get(&path, t).await;
        assert_eq!(
            reply.status, 404,
            "the stranger's GET {path}: {}",
            reply.raw
        );
    }
    for (method, path, body) in writes(w) {
        if path == "/projects" || path == "/environments" {
            continue; // Creating in the team is checked below with the team's id.
        }
        let reply = api.call(method.clone(), &path, Some(t), body).await;
        assert_eq!(
            reply.status, 404,
            "the stranger's {method} {path}: {}",
            reply.raw
        );
    }
    let in_team = api
        .post(
            "/projects",
            t,
            json!({"name": "Mine", "slug": "mine", "team_id": w.team}),
        )
        .await;
    assert_eq!(
        in_team.status, 404,
        "the stranger's project in the team: {}",
        in_team.raw
    );
    let env = api
        .post(
            "/environments",
            t,
            json!({"project_id": w.project, "name": "X", "slug": "x",
                   "base_image": crate::docker::BASE_IMAGE}),
        )
        .await;
    assert_eq!(
        env.status, 404,
        "the stranger's environment in the project: {}",
        env.raw
    );
    for which in ["status", "logs", "terminal?session=main"] {
        let refused = api.socket(&socket_path(w, which), t).await.err();
        assert_eq!(refused, Some(404), "the stranger's {which} socket");
    }
    let listed = api.read("/environments", t).await;
    assert_eq!(
        listed["items"],
        json!([]),
        "the stranger lists no environment"
    );
}
