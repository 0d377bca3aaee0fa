//! A store that cannot be reached is 503 through HTTP, for authenticated requests and for
//! readiness, without internals; liveness still answers.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use secrecy::{ExposeSecret, SecretBox, SecretString};
use tower::ServiceExt;
use vibebox::Vibebox;
use vibebox::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox::service::Registration;
use vibebox::testing::FakeRuntime;
use vibebox_http::{AccessTokens, HttpConfig, SigningKey};
use vibebox_sqlite::SqliteStore;

async fn get(app: &axum::Router, uri: &str, bearer: Option<&str>) -> (StatusCode, String) {
    let mut request = Request::get(uri);
    if let Some(token) = bearer {
        request = request.header("authorization", format!("Bearer {token}"));
    }
    let response = app
        .clone()
        .oneshot(request.body(Body::empty()).unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = axum::body::to_bytes(response.into_body(), 1 << 20)
        .await
        .unwrap();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_closed_store_is_503_for_api_calls_and_readiness_while_liveness_answers() {
    let store = Arc::new(SqliteStore::connect("sqlite::memory:").await.unwrap());
    let vibebox = Vibebox::builder()
        .store(store.clone())
        .runtime(Arc::new(FakeRuntime::new()))
        .secrets(Arc::new(AesGcmSecrets::new(
            Keyring::generate(KeyId::new("k1").unwrap()).unwrap(),
        )))
        .build()
        .unwrap();
    let user = vibebox
        .register(Registration {
            email: "alice@example.com".into(),
            password: SecretString::from("correct horse battery staple"),
            display_name: "Alice".into(),
        })
        .await
        .unwrap();
    let key = SigningKey::new("k1", SecretBox::new(Box::new(vec![1u8; 32]))).unwrap();
    let tokens = AccessTokens::new("vibebox", "vibebox-api", key);
    let token = tokens
        .issue(user.id)
        .unwrap()
        .token
        .expose_secret()
        .to_string();
    let app = vibebox_http::router(Arc::new(vibebox), HttpConfig::new(tokens));
    assert_eq!(
        get(&app, "/api/v1/users/me", Some(&token)).await.0,
        StatusCode::OK
    );

    store.close().await;
    let (status, body) = get(&app, "/api/v1/users/me", Some(&token)).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{body}");
    let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(problem["code"], "unavailable");
    assert!(!body.contains("sqlite") && !body.contains("sqlx"), "{body}");
    let (status, body) = get(&app, "/readyz", None).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert!(body.contains("store"), "{body}");
    assert_eq!(get(&app, "/healthz", None).await.0, StatusCode::OK);
}
