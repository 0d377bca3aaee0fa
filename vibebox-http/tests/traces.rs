//! No credential reaches the traces: not the password of a sign-in, the tokens it returns,
//! a WebSocket ticket in the URL, nor an OAuth code. This test has its own binary: tracing
//! caches which callsites are enabled process-wide.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod fake_provider;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use fake_provider::{CLIENT_ID, CLIENT_SECRET, FakeProvider};
use futures::StreamExt;
use secrecy::SecretString;
use serde_json::json;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use vibebox_core::service::Registration;
use vibebox_http::oauth::OAuthProvider;

const PASSWORD_CANARY: &str = "canary-password-5d1e77";
const CODE_CANARY: &str = "canary-oauth-code-90ab";

#[tokio::test(flavor = "current_thread")]
async fn credentials_never_reach_the_traces() {
    let (capture, _guard) = vibebox_core::testing::TraceCapture::install();

    let fake = FakeProvider::start().await;
    let github = OAuthProvider::github(
        CLIENT_ID,
        SecretString::from(CLIENT_SECRET),
        "http://vibebox.test/api/v1/auth/oauth/github/callback",
    )
    .unwrap()
    .at(&fake.base())
    .unwrap();
    let app = App::with(vibebox_http::HttpConfig {
        oauth_providers: vec![github],
        ..common::config()
    });
    app.vibebox
        .register(Registration {
            email: "alice@example.com".into(),
            password: SecretString::from(PASSWORD_CANARY),
            display_name: "Alice".into(),
        })
        .await
        .unwrap();
    let login = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": "alice@example.com", "password": PASSWORD_CANARY}),
        )
        .await;
    assert_eq!(login.status, StatusCode::OK);
    let access = login.body["access_token"].as_str().unwrap().to_string();
    let refresh = login.body["refresh_token"].as_str().unwrap().to_string();
    assert_eq!(
        app.get("/api/v1/users/me", Some(&access)).await.status,
        StatusCode::OK
    );

    // A ticket in a socket URL.
    let (_, env) = app.project_with_env(&access).await;
    let ticket = app
        .call("POST", "/api/v1/ws-tickets", &access, None)
        .await
        .body["ticket"]
        .as_str()
        .unwrap()
        .to_string();
    let addr = app.serve().await;
    let url = format!("ws://{addr}/api/v1/ws/environments/{env}/status?ticket={ticket}");
    let mut request = url.into_client_request().unwrap();
    request
        .headers_mut()
        .insert("sec-websocket-protocol", "vibebox.v1".parse().unwrap());
    let (mut ws, _) = tokio_tungstenite::connect_async(request).await.unwrap();
    assert!(ws.next().await.is_some());
    drop(ws);

    // A refresh, and an OAuth callback whose code the provider refuses.
    let rotated = app
        .post_json("/api/v1/auth/refresh", json!({"refresh_token": refresh}))
        .await;
    assert_eq!(rotated.status, StatusCode::OK);
    let start = app.get("/api/v1/auth/oauth/github", None).await;
    let location = start.headers[header::LOCATION]
        .to_str()
        .unwrap()
        .to_string();
    let state = form_urlencoded::parse(location.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "state")
        .unwrap()
        .1
        .into_owned();
    let cookie = start.headers[header::SET_COOKIE].to_str().unwrap();
    let cookie = cookie.split(';').next().unwrap().to_string();
    let callback = app
        .send(
            Request::get(format!(
                "/api/v1/auth/oauth/github/callback?code={CODE_CANARY}&state={state}"
            ))
            .header(header::COOKIE, &cookie)
            .body(Body::empty())
            .unwrap(),
        )
        .await;
    assert_eq!(callback.status, StatusCode::UNAUTHORIZED);

    let logs = capture.text();
    assert!(
        logs.contains("request_id"),
        "the request spans were captured"
    );
    let secrets = [
        ("password", PASSWORD_CANARY.to_string()),
        ("access token", access),
        ("refresh token", refresh),
        (
            "rotated refresh token",
            rotated.body["refresh_token"].as_str().unwrap().to_string(),
        ),
        ("ticket", ticket),
        ("oauth code", CODE_CANARY.to_string()),
        ("oauth state", state),
        ("flow cookie", cookie.split_once('=').unwrap().1.to_string()),
        ("client secret", CLIENT_SECRET.to_string()),
    ];
    for (what, secret) in secrets {
        assert!(!logs.contains(&secret), "the {what} reached the traces");
    }
}
