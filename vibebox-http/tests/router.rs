//! The router's cross-cutting behaviour: health and readiness, problem documents for unknown
//! routes, request ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::App;
use tower::ServiceExt;
use vibebox_http::{PROBLEM_JSON, REQUEST_ID};

#[tokio::test]
async fn healthz_answers_while_the_process_serves() {
    let app = App::new();
    let r = app.get("/healthz", None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["status"], "ok");
}

#[tokio::test]
async fn readyz_is_503_naming_the_engine_when_it_is_unavailable() {
    let app = App::new();
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
    app.runtime.set_unavailable(true);
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.headers["content-type"], PROBLEM_JSON);
    assert_eq!(r.body["code"], "unavailable");
    assert_eq!(r.body["status"], 503);
    let detail = r.body["detail"].as_str().unwrap();
    assert!(detail.contains("container engine"), "{detail}");
    app.runtime.set_unavailable(false);
    assert_eq!(app.get("/readyz", None).await.status, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let app = App::new();
    for uri in ["/nope", "/api/v1/nope"] {
        let r = app.get(uri, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(r.headers["content-type"], PROBLEM_JSON);
        assert_eq!(r.body["type"], "urn:vibebox:problem:not_found");
        assert_eq!(r.body["title"], "Not Found");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_client_id_is_kept() {
    let app = App::new();
    let r = app.get("/healthz", None).await;
    let generated = r.headers[REQUEST_ID].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");
    let response = app
        .router
        .clone()
        .oneshot(
            Request::get("/healthz")
                .header(REQUEST_ID, "client-chosen-42")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    assert_eq!(response.headers()[REQUEST_ID], "client-chosen-42");
}

#[tokio::test]
async fn cors_allows_only_the_configured_origins() {
    let app = App::with(vibebox_http::HttpConfig {
        allowed_origins: vec!["https://app.example.com".into()],
        ..common::config()
    });
    let preflight = |origin: &str| {
        Request::builder()
            .method("OPTIONS")
            .uri("/api/v1/projects")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header(
                "access-control-request-headers",
                "authorization,content-type",
            )
            .body(Body::empty())
            .unwrap()
    };
    let ok = app.send(preflight("https://app.example.com")).await;
    assert_eq!(
        ok.headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert!(ok.headers.get("access-control-allow-credentials").is_none());
    let other = app.send(preflight("https://evil.example.net")).await;
    assert!(other.headers.get("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn an_embedder_mounts_the_api_under_its_own_router() {
    let app = App::new();
    let token = app.signed_in("alice").await;
    let outer = axum::Router::new()
        .route(
            "/own",
            axum::routing::get(|| async { "the embedder's route" }),
        )
        .nest("/platform", app.router.clone());
    let call = |uri: &str, bearer: Option<&str>| {
        let mut r = Request::get(uri);
        if let Some(b) = bearer {
            r = r.header("authorization", format!("Bearer {b}"));
        }
        outer.clone().oneshot(r.body(Body::empty()).unwrap())
    };
    assert_eq!(call("/own", None).await.unwrap().status(), StatusCode::OK);
    assert_eq!(
        call("/platform/healthz", None).await.unwrap().status(),
        StatusCode::OK
    );
    let me = call("/platform/api/v1/users/me", Some(&token))
        .await
        .unwrap();
    assert_eq!(me.status(), StatusCode::OK);
    let anonymous = call("/platform/api/v1/users/me", None).await.unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(anonymous.headers()["content-type"], PROBLEM_JSON);
}

#[tokio::test]
async fn api_responses_say_nosniff() {
    let app = App::new();
    for uri in [
        "/healthz",
        "/api/v1/users/me",
        "/api/v1/nope",
        "/api/v1/openapi.json",
    ] {
        let r = app.get(uri, None).await;
        assert_eq!(r.headers["x-content-type-options"], "nosniff", "{uri}");
    }
}
