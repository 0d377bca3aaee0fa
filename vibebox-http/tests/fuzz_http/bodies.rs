//! Problem+json input bodies: every route with a JSON body, fed random bytes, arbitrary JSON,
//! structural mutations of a valid body, text edits of it, raw literals serde_json refuses,
//! deep nesting and oversized bodies, under several content types, through
//! `tower::ServiceExt::oneshot` on the router with a signed-in platform admin.
//!
//! The oracle: never a 5xx (nor a panic); every 4xx is `application/problem+json` with its
//! status and a code; a 422 `invalid_input` for an object body names the field; no response
//! repeats the password sent.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use http_body_util::BodyExt;
use proptest::prelude::*;
use proptest::test_runner::TestCaseResult;
use serde_json::{Value, json};
use tower::ServiceExt;
use vibebox_http::{CSRF_HEADER, PROBLEM_JSON};

use crate::common::{App, PASSWORD};
use crate::harness::{Edit, edit, fuzz, no_panic_since, panics};
use crate::json_mutation::{
    JsonEdit, RAW_LITERALS, any_json, json_edit, mutate, nested, with_raw_literal,
};
use crate::{fuzz_app, runtime};

/// A route with a JSON body and a valid body for it.
struct Route {
    method: &'static str,
    path: String,
    valid: Value,
}

/// A signed-in platform admin with a project, a running environment (with a port), a team
/// with a second user in it, and a catalog extension: enough for every body route to get
/// past its path and permission checks to the body.
struct Fixture {
    app: App,
    token: String,
    routes: Vec<Route>,
}

impl Fixture {
    async fn new() -> Self {
        let app = fuzz_app();
        let token = app.signed_in("admin").await;
        let other = app.signed_in("other").await;
        let other_id = app.call("GET", "/api/v1/users/me", &other, None).await.body["id"]
            .as_str()
            .unwrap()
            .to_string();
        let team = app
            .team(&token, "fuzz-team", &[("other", "developer")])
            .await;
        let (project, env) = app.project_with_env(&token).await;
        assert_eq!(app.start(&env, &token).await.status, StatusCode::OK);
        let port = app
            .call(
                "POST",
                &format!("/api/v1/environments/{env}/ports"),
                &token,
                Some(json!({"container_port": 8080})),
            )
            .await;
        assert_eq!(port.status, StatusCode::CREATED, "{}", port.body);
        let port = port.body["id"].as_str().unwrap().to_string();
        let extension = json!({"extension_id": "fuzz.ext", "name": "Ext", "version": "1.0.0"});
        let r = app
            .call("POST", "/api/v1/extensions", &token, Some(extension))
            .await;
        assert_eq!(r.status, StatusCode::CREATED, "{}", r.body);
        // A project of its own for the PATCH target, so archiving it stops nothing else.
        let scratch = app
            .call(
                "POST",
                "/api/v1/projects",
                &token,
                Some(json!({"name": "Scratch", "slug": "scratch"})),
            )
            .await;
        let scratch = scratch.body["id"].as_str().unwrap().to_string();
        let env_base = format!("/api/v1/environments/{env}");
        let route = |method, path: String, valid| Route {
            method,
            path,
            valid,
        };
        let routes = vec![
            route(
                "POST",
                "/api/v1/auth/register".into(),
                json!({
                "email": "new@example.com", "password": PASSWORD, "display_name": "New"}),
            ),
            route(
                "POST",
                "/api/v1/auth/login".into(),
                json!({
                "email": "admin@example.com", "password": PASSWORD}),
            ),
            route(
                "POST",
                "/api/v1/auth/session".into(),
                json!({
                "email": "admin@example.com", "password": PASSWORD}),
            ),
            route(
                "POST",
                "/api/v1/auth/refresh".into(),
                json!({"refresh_token": "0".repeat(64)}),
            ),
            route(
                "POST",
                "/api/v1/auth/logout".into(),
                json!({"refresh_token": "0".repeat(64)}),
            ),
            route(
                "POST",
                "/api/v1/projects".into(),
                json!({
                "name": "P", "slug": "p-1", "team_id": team}),
            ),
            route(
                "PATCH",
                format!("/api/v1/projects/{scratch}"),
                json!({
                "name": "Scratch", "slug": "scratch", "is_archived": false}),
            ),
            route(
                "POST",
                "/api/v1/environments".into(),
                json!({
                "project_id": project, "name": "E", "slug": "e-1",
                "base_image": "vibebox/base:bookworm", "cpu_limit": 1.5, "memory_limit": 512,
                "storage_limit": 1024,
                "idle_policy": {"suspend_after_minutes": 30, "stop_after_hours": 24},
                "start": false}),
            ),
            route(
                "PATCH",
                env_base.clone(),
                json!({
                "name": "Dev", "cpu_limit": 2.0, "memory_limit": 1024,
                "idle_policy": {"suspend_after_minutes": null, "stop_after_hours": 48},
                "expected_version": null}),
            ),
            route(
                "POST",
                format!("{env_base}/ports"),
                json!({
                "container_port": 3000, "host_port": null, "protocol": "tcp"}),
            ),
            route(
                "PATCH",
                format!("{env_base}/ports/{port}"),
                json!({"share_level": "team"}),
            ),
            route(
                "POST",
                format!("{env_base}/variables"),
                json!({
                "key": "API_TOKEN", "value": "v", "is_encrypted": true}),
            ),
            route(
                "POST",
                format!("{env_base}/exec"),
                json!({
                "command": ["echo", "hi"], "env": {"A": "b"}, "workdir": "/tmp",
                "stdin": "x", "timeout_seconds": 5, "output_encoding": "base64"}),
            ),
            route(
                "POST",
                "/api/v1/extensions".into(),
                json!({
                "extension_id": "pub.ext", "name": "Ext", "version": "1.0.0",
                "is_custom": true, "download_url": "https://example.com/x.vsix"}),
            ),
            route(
                "POST",
                format!("{env_base}/extensions"),
                json!({"extension_id": "fuzz.ext"}),
            ),
            route(
                "POST",
                format!("{env_base}/sessions"),
                json!({
                "session_type": "shell", "session_name": "s1", "idle_timeout_minutes": 30}),
            ),
            route(
                "POST",
                "/api/v1/users/me/ssh-keys".into(),
                json!({
                "name": "laptop",
                "public_key": "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPTtA0C0H5qjMD7Vwo/BqPlwn0WzKHBO6P7YepGDR7TC me"}),
            ),
            route(
                "POST",
                "/api/v1/teams".into(),
                json!({
                "name": "T", "slug": "t-1", "description": "d"}),
            ),
            route(
                "PATCH",
                format!("/api/v1/teams/{team}"),
                json!({
                "name": "Fuzz", "slug": "fuzz-team", "description": null}),
            ),
            route(
                "POST",
                format!("/api/v1/teams/{team}/members"),
                json!({
                "email": "other@example.com", "role": "viewer"}),
            ),
            route(
                "PATCH",
                format!("/api/v1/teams/{team}/members/{other_id}"),
                json!({"role": "viewer"}),
            ),
            route(
                "PATCH",
                "/api/v1/users/me".into(),
                json!({
                "display_name": "Admin", "ssh_public_key": null,
                "notification_settings": {"email": true}}),
            ),
            route(
                "POST",
                "/api/v1/users/me/api-keys".into(),
                json!({
                "name": "ci", "scopes": ["read"], "expires_at": "2099-01-01T00:00:00Z"}),
            ),
            route(
                "PATCH",
                format!("/api/v1/users/{other_id}"),
                json!({
                "disabled": false, "is_platform_admin": false}),
            ),
        ];
        Self { app, token, routes }
    }
}

/// What is sent as the body.
#[derive(Clone, Debug)]
enum Input {
    Bytes(Vec<u8>),
    Json(Value),
    /// The route's valid body, structurally edited.
    Mutated(Vec<JsonEdit>),
    /// The route's valid body's text, edited.
    Edited(Vec<Edit>),
    /// The route's valid body with a raw literal at one place.
    Literal(usize, &'static str),
    Nested(usize, bool),
    /// The valid body padded past the 1 MiB limit.
    Oversized,
}

fn input() -> impl Strategy<Value = Input> {
    prop_oneof![
        2 => proptest::collection::vec(any::<u8>(), 0..200).prop_map(Input::Bytes),
        3 => any_json().prop_map(Input::Json),
        10 => proptest::collection::vec(json_edit(), 0..4).prop_map(Input::Mutated),
        3 => proptest::collection::vec(edit(), 1..4).prop_map(Input::Edited),
        2 => (any::<usize>(), prop::sample::select(RAW_LITERALS)).prop_map(|(i, l)| Input::Literal(i, l)),
        1 => (prop_oneof![1usize..20, 100usize..140, Just(5000)], any::<bool>())
            .prop_map(|(d, a)| Input::Nested(d, a)),
        1 => Just(Input::Oversized),
    ]
}

impl Input {
    fn render(&self, valid: &Value) -> Vec<u8> {
        match self {
            Input::Bytes(b) => b.clone(),
            Input::Json(v) => v.to_string().into_bytes(),
            Input::Mutated(edits) => mutate(valid, edits).to_string().into_bytes(),
            Input::Edited(edits) => {
                crate::harness::apply_all(&valid.to_string(), edits).into_bytes()
            }
            Input::Literal(place, literal) => with_raw_literal(valid, *place, literal).into_bytes(),
            Input::Nested(depth, arrays) => nested(*depth, *arrays).into_bytes(),
            Input::Oversized => {
                let mut body = valid.clone();
                body["padding"] = Value::String("x".repeat(1024 * 1024 + 1));
                body.to_string().into_bytes()
            }
        }
    }
}

fn content_type() -> impl Strategy<Value = Option<&'static str>> {
    prop_oneof![
        24 => Just(Some("application/json")),
        2 => Just(Some("application/json; charset=utf-8")),
        1 => Just(Some("application/merge-patch+json")),
        1 => Just(Some("text/plain")),
        1 => Just(Some("application/jsonx")),
        1 => Just(None),
    ]
}

/// The oracle on one response.
fn check(
    status: StatusCode,
    content_type: Option<&str>,
    body: &[u8],
    sent: &[u8],
) -> TestCaseResult {
    let text = String::from_utf8_lossy(body);
    prop_assert!(!status.is_server_error(), "{} {}", status, text);
    prop_assert!(!text.contains(PASSWORD), "the password came back: {}", text);
    if !status.is_client_error() {
        return Ok(());
    }
    prop_assert!(
        content_type.is_some_and(|ct| ct.starts_with(PROBLEM_JSON)),
        "{} {:?} {}",
        status,
        content_type,
        text
    );
    let problem: Value = serde_json::from_slice(body).map_err(|e| {
        TestCaseError::fail(format!("{status}: the problem is not JSON ({e}): {text}"))
    })?;
    prop_assert_eq!(
        problem["status"].as_u64(),
        Some(u64::from(status.as_u16())),
        "{}",
        problem
    );
    prop_assert!(
        problem["code"].as_str().is_some_and(|c| !c.is_empty()),
        "{}",
        problem
    );
    prop_assert!(
        problem["detail"].is_string() && problem["title"].is_string(),
        "{}",
        problem
    );
    let sent_object = serde_json::from_slice::<Value>(sent).is_ok_and(|v| v.is_object());
    if status == StatusCode::UNPROCESSABLE_ENTITY
        && problem["code"] == "invalid_input"
        && sent_object
    {
        prop_assert!(
            problem["field"].as_str().is_some_and(|f| !f.is_empty()),
            "a validation error that names no field: {} for {}",
            problem,
            String::from_utf8_lossy(sent)
        );
    }
    Ok(())
}

#[test]
fn request_bodies_are_answered_with_problems_never_5xx() {
    let rt = runtime();
    let fixture = rt.block_on(Fixture::new());
    fuzz(
        "http_request_bodies",
        1000,
        move || (any::<usize>(), input(), content_type()),
        |(route, input, content_type)| {
            let route = &fixture.routes[route % fixture.routes.len()];
            let body = input.render(&route.valid);
            let mut request = Request::builder()
                .method(route.method)
                .uri(&route.path)
                .header(header::AUTHORIZATION, format!("Bearer {}", fixture.token))
                .header(CSRF_HEADER, "1");
            if let Some(ct) = content_type {
                request = request.header(header::CONTENT_TYPE, ct);
            }
            let request = request.body(Body::from(body.clone())).unwrap();
            let before = panics();
            let (status, ct, bytes) = rt.block_on(async {
                let response = fixture.app.router.clone().oneshot(request).await.unwrap();
                let status = response.status();
                let ct = response
                    .headers()
                    .get(header::CONTENT_TYPE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                (
                    status,
                    ct,
                    response.into_body().collect().await.unwrap().to_bytes(),
                )
            });
            no_panic_since(before)?;
            check(status, ct.as_deref(), &bytes, &body)
                .map_err(|e| TestCaseError::fail(format!("{} {}: {e}", route.method, route.path)))
        },
    );
}
