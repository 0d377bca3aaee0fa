//! No backend text reaches a client (issue 19, item 1). Every route of the OpenAPI document is
//! called while the store, or the container engine, fails with errors that carry a canary
//! string in every place an adapter puts a backend's own text (the source of every error, the
//! message of `Internal` and `Unavailable`; a runtime error's message is VibeBox's by contract,
//! which vibebox-docker's own tests hold it to);
//! the failure is moved along the route's path one backend call at a time, so each call the
//! route makes is the failing one once. No response may carry the canary, in its body or its
//! headers; every server error names a correlation id equal to the request's `x-request-id`;
//! and the log holds the canary under that id, so the operator can find what the client was
//! spared.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum::body::Body;
use axum::http::{Method, Request};
use common::*;
use http_body_util::BodyExt;
use serde_json::{Value, json};
use tower::ServiceExt;
use vibebox_core::error::{BoxError, Error, ErrorKind};
use vibebox_core::testing::{Outage, TraceCapture};

/// What a backend says, and no client may read.
const CANARY: &str = "canary-4e1f SELECT secret_col FROM /var/lib/vibebox/db.sqlite";

fn canary_source() -> Option<BoxError> {
    Some(format!("driver said: {CANARY}").into())
}

/// The errors a store can fail with, each carrying the canary where an adapter's text goes.
fn store_failures() -> Vec<fn() -> Error> {
    vec![|| Error::internal(CANARY, canary_source()), || {
        Error::unavailable("store", CANARY, canary_source())
    }]
}

/// The errors a container engine can fail with, likewise.
fn engine_failures() -> Vec<fn() -> Error> {
    vec![
        || {
            Error::runtime(
                ErrorKind::Internal,
                "the engine call failed",
                canary_source(),
            )
        },
        || Error::unavailable("container engine", CANARY, canary_source()),
        || {
            Error::runtime(
                ErrorKind::Conflict,
                "the container is not running",
                canary_source(),
            )
        },
        || Error::internal(CANARY, canary_source()),
    ]
}

/// The failure of the counting pass, which fails nothing.
fn never() -> Error {
    Error::Unauthenticated
}

/// An outage that lets `pass` calls through, then fails every call with `fail`; it counts
/// the calls it saw.
fn after(pass: usize, fail: fn() -> Error, seen: Arc<AtomicUsize>) -> Outage {
    Arc::new(move || (seen.fetch_add(1, Ordering::SeqCst) >= pass).then(fail))
}

/// The ids a route's path parameters are filled with.
struct Seeded {
    token: String,
    team: String,
    project: String,
    env: String,
    port: String,
    user: String,
    api_key: String,
    ssh_key: String,
    device: String,
    session: String,
}

/// A fresh app with one of each resource, the environment running.
async fn seeded() -> (App, Seeded) {
    let app = App::new();
    let token = app.signed_in("alice").await;
    let user = app.get("/api/v1/users/me", Some(&token)).await.body["id"]
        .as_str()
        .unwrap()
        .to_string();
    let team = app.team(&token, "crew", &[]).await;
    let (project, env) = app.project_with_env(&token).await;
    let id = |r: Reply| -> String {
        assert!(r.status.is_success(), "{}", r.body);
        r.body["id"].as_str().unwrap_or_default().to_string()
    };
    let base = format!("/api/v1/environments/{env}");
    let port = id(app
        .call(
            "POST",
            &format!("{base}/ports"),
            &token,
            Some(json!({"container_port": 8080})),
        )
        .await);
    app.call(
        "POST",
        &format!("{base}/variables"),
        &token,
        Some(json!({"key": "API_TOKEN", "value": "v", "is_encrypted": true})),
    )
    .await;
    let started = app.start(&env, &token).await;
    assert!(started.status.is_success(), "{}", started.body);
    let session = id(app
        .call(
            "POST",
            &format!("{base}/sessions"),
            &token,
            Some(json!({"session_type": "shell", "session_name": "work"})),
        )
        .await);
    let api_key = id(app
        .call(
            "POST",
            "/api/v1/users/me/api-keys",
            &token,
            Some(json!({"name": "ci", "scopes": ["read"]})),
        )
        .await);
    let ssh_key = id(app
        .call(
            "POST",
            "/api/v1/users/me/ssh-keys",
            &token,
            Some(json!({"name": "laptop",
                "public_key": vibebox_core::testing::store_checks::fixtures::random_ssh_public_key().to_string()})),
        )
        .await);
    let devices = app
        .call("GET", "/api/v1/users/me/sessions", &token, None)
        .await;
    let device = devices.body["items"][0]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let seeded = Seeded {
        token,
        team,
        project,
        env,
        port,
        user,
        api_key,
        ssh_key,
        device,
        session,
    };
    (app, seeded)
}

/// The concrete URI of a documented path.
fn fill(path: &str, s: &Seeded) -> String {
    let resource = |prefix: &str| path.starts_with(prefix);
    let mut out = String::new();
    let mut rest = path;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let close = rest[open..].find('}').map(|c| open + c).unwrap();
        let name = &rest[open + 1..close];
        let before = &out;
        let value = match name {
            "id" if resource("/api/v1/environments") || resource("/api/v1/ws/environments") => {
                s.env.clone()
            }
            "id" if resource("/api/v1/projects") || resource("/api/v1/ws/projects") => {
                s.project.clone()
            }
            "id" if resource("/api/v1/teams") => s.team.clone(),
            "id" if resource("/api/v1/sessions") => s.session.clone(),
            "id" if before.ends_with("/api-keys/") => s.api_key.clone(),
            "id" if before.ends_with("/ssh-keys/") => s.ssh_key.clone(),
            "id" if before.ends_with("/me/sessions/") => s.device.clone(),
            "id" | "user_id" => s.user.clone(),
            "port_id" => s.port.clone(),
            "port" => "8080".to_string(),
            "key" => "API_TOKEN".to_string(),
            "provider" => "github".to_string(),
            other => format!("{other}-unknown"),
        };
        out.push_str(&value);
        rest = &rest[close + 1..];
    }
    out.push_str(rest);
    out
}

/// A body that passes validation, where the route takes one, so the request reaches the
/// backends.
fn body(method: &Method, path: &str, s: &Seeded) -> Option<Value> {
    let body = match (method.as_str(), path) {
        ("POST", "/api/v1/projects") => json!({"name": "B", "slug": "beta"}),
        ("PATCH", "/api/v1/projects/{id}") => json!({"name": "renamed"}),
        ("POST", "/api/v1/environments") => json!({"project_id": s.project, "name": "Two",
            "slug": "two", "base_image": "vibebox/base:bookworm", "start": true}),
        ("PATCH", "/api/v1/environments/{id}") => json!({"name": "renamed", "memory_limit": 1024}),
        ("POST", "/api/v1/environments/{id}/exec") => json!({"cmd": ["true"]}),
        ("POST", "/api/v1/environments/{id}/ports") => json!({"container_port": 9090}),
        ("PATCH", "/api/v1/environments/{id}/ports/{port_id}") => json!({"share_level": "team"}),
        ("POST", "/api/v1/environments/{id}/variables") => json!({"key": "B", "value": "v"}),
        ("PUT", "/api/v1/environments/{id}/variables/{key}") => json!({"value": "w"}),
        ("POST", "/api/v1/environments/{id}/sessions") => {
            json!({"session_type": "shell", "session_name": "two"})
        }
        ("POST", "/api/v1/environments/{id}/extensions") => {
            json!({"extension_id": "rust-lang.rust-analyzer"})
        }
        ("POST", "/api/v1/teams") => json!({"name": "second", "slug": "second"}),
        ("PATCH", "/api/v1/teams/{id}") => json!({"name": "renamed"}),
        ("POST", "/api/v1/teams/{id}/members") => {
            json!({"email": "alice@example.com", "role": "developer"})
        }
        ("PATCH", "/api/v1/teams/{id}/members/{user_id}") => json!({"role": "admin"}),
        ("POST", "/api/v1/users/me/api-keys") => json!({"name": "two", "scopes": ["read"]}),
        ("POST", "/api/v1/users/me/ssh-keys") => json!({"name": "two",
            "public_key": vibebox_core::testing::store_checks::fixtures::random_ssh_public_key().to_string()}),
        ("PATCH", "/api/v1/users/me") => json!({"display_name": "Alice A."}),
        ("PATCH", "/api/v1/users/{id}") => json!({"is_active": true}),
        ("POST", "/api/v1/auth/login") => {
            json!({"email": "alice@example.com", "password": PASSWORD})
        }
        ("POST", "/api/v1/auth/register") => json!({"email": "bob@example.com",
            "password": PASSWORD, "display_name": "Bob"}),
        ("POST", "/api/v1/ws-tickets") => json!({}),
        ("POST", _) | ("PUT", _) | ("PATCH", _) => json!({}),
        _ => return None,
    };
    Some(body)
}

/// Every documented operation: method and path template.
fn operations() -> Vec<(Method, String)> {
    let doc = serde_json::to_value(vibebox_http::openapi()).unwrap();
    let mut ops = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, _) in item.as_object().unwrap() {
            if let Ok(m) = Method::from_bytes(method.to_ascii_uppercase().as_bytes()) {
                ops.push((m, path.clone()));
            }
        }
    }
    ops
}

/// One request; returns the status, the correlation id the problem names (if any), and
/// whether the canary showed anywhere.
async fn probe(app: &App, method: &Method, path: &str, s: &Seeded) -> (u16, Option<String>, bool) {
    let mut request = Request::builder()
        .method(method.clone())
        .uri(fill(path, s))
        .header("authorization", format!("Bearer {}", s.token));
    let body = match body(method, path, s) {
        Some(v) => {
            request = request.header("content-type", "application/json");
            Body::from(v.to_string())
        }
        None => Body::empty(),
    };
    let response = app
        .router
        .clone()
        .oneshot(request.body(body).unwrap())
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = format!("{:?}", response.headers());
    let request_id = response
        .headers()
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let text = String::from_utf8_lossy(&bytes).into_owned();
    let leaked = text.contains("canary") || headers.contains("canary");
    let problem: Value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
    let correlation = problem["correlation_id"].as_str().map(str::to_string);
    if status >= 500 {
        assert!(
            correlation.is_some() && correlation == request_id,
            "{method} {path}: a server error names the request's id as its correlation id: {text}"
        );
    }
    (status, correlation, leaked)
}

/// Which backend fails.
#[derive(Clone, Copy, Debug)]
enum Backend {
    Store,
    Engine,
}

fn set(app: &App, backend: Backend, outage: Option<Outage>) {
    match backend {
        Backend::Store => app.store.fail_every_call_with(outage),
        Backend::Engine => app.runtime.fail_every_call_with(outage),
    }
}

#[tokio::test(flavor = "current_thread")]
async fn no_backend_text_reaches_a_client_through_any_route() {
    let (capture, _guard) = TraceCapture::install();
    let operations = operations();
    assert!(
        operations.len() >= 60,
        "the document lists every route: {}",
        operations.len()
    );
    let mut requests = 0usize;
    let mut server_errors = 0usize;
    let mut leaks = Vec::new();
    let mut logged_ids = Vec::new();
    for backend in [Backend::Store, Backend::Engine] {
        let failures = match backend {
            Backend::Store => store_failures(),
            Backend::Engine => engine_failures(),
        };
        for (method, path) in &operations {
            // How many calls of this backend the route makes when nothing fails.
            let (app, s) = seeded().await;
            let seen = Arc::new(AtomicUsize::new(0));
            set(&app, backend, Some(after(usize::MAX, never, seen.clone())));
            probe(&app, method, path, &s).await;
            let calls = seen.load(Ordering::SeqCst).clamp(1, 12);
            // One seeded app per route: a request that half-succeeded before its failure may
            // leave a later one less to reach, which weakens nothing that is asserted.
            for pass in 0..calls {
                for fail in &failures {
                    set(
                        &app,
                        backend,
                        Some(after(pass, *fail, Arc::new(AtomicUsize::new(0)))),
                    );
                    let (status, correlation, leaked) = probe(&app, method, path, &s).await;
                    set(&app, backend, None);
                    requests += 1;
                    if leaked {
                        leaks.push(format!(
                            "{backend:?} call {pass}: {method} {path} → {status}"
                        ));
                    }
                    if status >= 500 {
                        server_errors += 1;
                        logged_ids.extend(correlation.map(|id| {
                            (
                                id,
                                format!("{backend:?} call {pass}: {method} {path} → {status}"),
                            )
                        }));
                    }
                }
            }
        }
    }
    assert!(
        leaks.is_empty(),
        "the canary reached clients:\n{}",
        leaks.join("\n")
    );
    assert!(server_errors > 0, "some failures were server errors");
    // The operator's log holds the canary under the ids the clients were given.
    let log = capture.text();
    let missing: Vec<&String> = logged_ids
        .iter()
        .filter(|(id, _)| {
            !log.lines()
                .any(|l| l.contains(id.as_str()) && l.contains("canary"))
        })
        .map(|(_, what)| what)
        .collect();
    assert!(
        missing.is_empty(),
        "every server error's detail is logged under its id; not these: {missing:#?}"
    );
    eprintln!(
        "{} operations, {requests} failing requests, {server_errors} server errors, 0 leaks",
        operations.len()
    );
}
