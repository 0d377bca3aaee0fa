//! Request rate limits: per client address on every API route, tighter on the sign-in
//! routes, and per user whichever token or key the user sends. Over a limit is 429 with
//! `Retry-After`; health checks are never limited.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::json;
use vibebox_core::domain::Scope;
use vibebox_http::{HttpConfig, RateLimit};

fn limited(limit: impl FnOnce(&mut HttpConfig)) -> App {
    let mut config = HttpConfig {
        per_ip_rate_limit: None,
        auth_rate_limit: None,
        per_user_rate_limit: None,
        ..common::config()
    };
    limit(&mut config);
    App::with(config)
}

fn from(ip: &str, mut request: Request<Body>) -> Request<Body> {
    let addr: std::net::SocketAddr = format!("{ip}:50000").parse().unwrap();
    request.extensions_mut().insert(ConnectInfo(addr));
    request
}

fn get(uri: &str, bearer: Option<&str>) -> Request<Body> {
    let mut r = Request::get(uri);
    if let Some(b) = bearer {
        r = r.header(header::AUTHORIZATION, format!("Bearer {b}"));
    }
    r.body(Body::empty()).unwrap()
}

#[tokio::test]
async fn an_address_over_its_burst_gets_429_with_retry_after_and_others_do_not() {
    let app = limited(|c| c.per_ip_rate_limit = RateLimit::per_minute(60, 3));
    for _ in 0..3 {
        let r = app
            .send(from("10.1.0.1", get("/api/v1/users/me", None)))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let over = app
        .send(from("10.1.0.1", get("/api/v1/users/me", None)))
        .await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.body);
    assert_eq!(over.body["code"], "rate_limited");
    assert_eq!(over.headers[header::RETRY_AFTER], "1");
    let other = app
        .send(from("10.1.0.2", get("/api/v1/users/me", None)))
        .await;
    assert_eq!(other.status, StatusCode::UNAUTHORIZED);
    let health = app.send(from("10.1.0.1", get("/healthz", None))).await;
    assert_eq!(health.status, StatusCode::OK);
}

#[tokio::test]
async fn sign_in_routes_have_their_own_tighter_limit_per_address() {
    let app = limited(|c| {
        c.per_ip_rate_limit = RateLimit::per_minute(6000, 100);
        c.auth_rate_limit = RateLimit::per_minute(60, 2);
    });
    let register = |n: u32| {
        from(
            "10.2.0.1",
            Request::post("/api/v1/auth/register")
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from(
                    json!({"email": format!("u{n}@example.com"), "password": PASSWORD,
                           "display_name": "U"})
                    .to_string(),
                ))
                .unwrap(),
        )
    };
    assert_eq!(app.send(register(1)).await.status, StatusCode::ACCEPTED);
    assert_eq!(app.send(register(2)).await.status, StatusCode::ACCEPTED);
    assert_eq!(
        app.send(register(3)).await.status,
        StatusCode::TOO_MANY_REQUESTS
    );
    // Other routes from the same address are not held back by it.
    let r = app
        .send(from("10.2.0.1", get("/api/v1/users/me", None)))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_user_is_limited_across_tokens_and_keys_and_other_users_are_not() {
    let app = limited(|c| c.per_user_rate_limit = RateLimit::per_minute(60, 3));
    let alice = app.signed_in("alice").await;
    let id = app
        .vibebox
        .login("alice@example.com", &PASSWORD.into())
        .await
        .unwrap()
        .id;
    let key = app.api_key(id, vec![Scope::Read]).await;
    assert_eq!(
        app.get("/api/v1/users/me", Some(&alice)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/users/me", Some(&key)).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.get("/api/v1/users/me", Some(&alice)).await.status,
        StatusCode::OK
    );
    let over = app.get("/api/v1/users/me", Some(&key)).await;
    assert_eq!(over.status, StatusCode::TOO_MANY_REQUESTS, "{}", over.body);
    assert!(over.headers.contains_key(header::RETRY_AFTER));
    let bob = app.signed_in("bob").await;
    assert_eq!(
        app.get("/api/v1/users/me", Some(&bob)).await.status,
        StatusCode::OK
    );
}
