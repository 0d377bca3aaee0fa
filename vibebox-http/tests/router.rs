//! The router's cross-cutting behaviour: health and readiness, problem documents for unknown
//! routes, request ids.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use http_body_util::BodyExt;
use secrecy::SecretBox;
use tower::ServiceExt;
use vibebox_core::Vibebox;
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox_core::testing::{FakeRuntime, MemoryStore};
use vibebox_http::{AccessTokens, HttpConfig, PROBLEM_JSON, REQUEST_ID, SigningKey, router};

fn app(runtime: Arc<FakeRuntime>) -> axum::Router {
    let vibebox = Vibebox::builder()
        .store(Arc::new(MemoryStore::new()))
        .runtime(runtime)
        .secrets(Arc::new(AesGcmSecrets::new(
            Keyring::generate(KeyId::new("k1").unwrap()).unwrap(),
        )))
        .build()
        .unwrap();
    let key = SigningKey::new("k1", SecretBox::new(Box::new(vec![3u8; 32]))).unwrap();
    router(
        Arc::new(vibebox),
        HttpConfig::default(),
        AccessTokens::new("vibebox", "vibebox-api", key),
    )
}

async fn get(
    app: &axum::Router,
    uri: &str,
) -> (StatusCode, axum::http::HeaderMap, serde_json::Value) {
    let response = app
        .clone()
        .oneshot(Request::get(uri).body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let headers = response.headers().clone();
    let bytes = response.into_body().collect().await.unwrap().to_bytes();
    let json = serde_json::from_slice(&bytes).unwrap_or(serde_json::Value::Null);
    (status, headers, json)
}

#[tokio::test]
async fn healthz_answers_while_the_process_serves() {
    let app = app(Arc::new(FakeRuntime::new()));
    let (status, _, body) = get(&app, "/healthz").await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
}

#[tokio::test]
async fn readyz_is_503_naming_the_engine_when_it_is_unavailable() {
    let runtime = Arc::new(FakeRuntime::new());
    let app = app(runtime.clone());
    assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK);
    runtime.set_unavailable(true);
    let (status, headers, body) = get(&app, "/readyz").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(headers["content-type"], PROBLEM_JSON);
    assert_eq!(body["code"], "unavailable");
    assert_eq!(body["status"], 503);
    assert!(
        body["detail"]
            .as_str()
            .unwrap()
            .contains("container engine"),
        "{body}"
    );
    runtime.set_unavailable(false);
    assert_eq!(get(&app, "/readyz").await.0, StatusCode::OK);
}

#[tokio::test]
async fn unknown_routes_are_404_problems() {
    let app = app(Arc::new(FakeRuntime::new()));
    for uri in ["/nope", "/api/v1/nope"] {
        let (status, headers, body) = get(&app, uri).await;
        assert_eq!(status, StatusCode::NOT_FOUND, "{uri}");
        assert_eq!(headers["content-type"], PROBLEM_JSON);
        assert_eq!(body["type"], "urn:vibebox:problem:not_found");
        assert_eq!(body["title"], "Not Found");
    }
}

#[tokio::test]
async fn every_response_carries_a_request_id_and_a_client_id_is_kept() {
    let app = app(Arc::new(FakeRuntime::new()));
    let (_, headers, _) = get(&app, "/healthz").await;
    let generated = headers[REQUEST_ID].to_str().unwrap();
    assert!(uuid::Uuid::parse_str(generated).is_ok(), "{generated}");
    let response = app
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
