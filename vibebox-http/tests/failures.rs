//! Failures stay inside: a panicking handler is a 500 problem without internals and the
//! server keeps serving; an engine that is down is 503.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::StatusCode;
use common::*;
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use vibebox_core::Vibebox;
use vibebox_core::runtime::MockContainerRuntime;
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox_core::testing::MemoryStore;

/// `GET path` over a real socket: the status and the body.
async fn get(addr: SocketAddr, path: &str) -> (StatusCode, String) {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let response = client
        .get(format!("http://{addr}{path}").parse().unwrap())
        .await
        .unwrap();
    let status = response.status();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    (status, String::from_utf8_lossy(&body).into_owned())
}

#[tokio::test]
async fn a_panicking_handler_is_a_500_without_internals_and_the_server_keeps_serving() {
    let mut runtime = MockContainerRuntime::new();
    runtime
        .expect_ping()
        .returning(|| panic!("engine client state corrupted at 0xdeadbeef"));
    let vibebox = Vibebox::builder()
        .store(Arc::new(MemoryStore::new()))
        .runtime(Arc::new(runtime))
        .secrets(Arc::new(AesGcmSecrets::new(
            Keyring::generate(KeyId::new("k1").unwrap()).unwrap(),
        )))
        .build()
        .unwrap();
    let app = vibebox_http::router(Arc::new(vibebox), common::config());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    // readyz pings the engine, whose client panics.
    for _ in 0..2 {
        let (status, body) = get(addr, "/readyz").await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
        let problem: serde_json::Value = serde_json::from_str(&body).unwrap();
        assert_eq!(problem["code"], "internal");
        assert!(
            !body.contains("deadbeef") && !body.contains("panic"),
            "{body}"
        );
        let (status, _) = get(addr, "/healthz").await;
        assert_eq!(status, StatusCode::OK, "the server still serves");
    }
}

#[tokio::test]
async fn starting_while_the_engine_is_down_is_503() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    app.runtime.set_unavailable(true);
    let r = app.start(&env, &alice).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert_eq!(r.body["code"], "unavailable");
}
