//! `X-Forwarded-For` is believed only from the proxies `HttpConfig::trusted_proxies` lists
//! (issue 19, item 8): from anyone else it cannot dodge a per-address limit, and behind a
//! trusted proxy each client gets its own limit and its own address on its sign-ins.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::json;
use vibebox_http::{HttpConfig, RateLimit};

/// An app whose only limit is 3 requests per address, trusting `proxies`.
fn app(proxies: &[&str]) -> App {
    App::with(HttpConfig {
        per_ip_rate_limit: RateLimit::per_minute(60, 3),
        auth_rate_limit: None,
        per_user_rate_limit: None,
        trusted_proxies: proxies.iter().map(|p| p.parse().unwrap()).collect(),
        ..common::config()
    })
}

/// `GET /api/v1/users/me` from TCP peer `peer`, forwarded for `forwarded` when given.
fn get(peer: &str, forwarded: Option<&str>) -> Request<Body> {
    let mut r = Request::get("/api/v1/users/me");
    if let Some(f) = forwarded {
        r = r.header("x-forwarded-for", f);
    }
    let mut r = r.body(Body::empty()).unwrap();
    let addr: std::net::SocketAddr = format!("{peer}:50000").parse().unwrap();
    r.extensions_mut().insert(ConnectInfo(addr));
    r
}

#[tokio::test]
async fn forwarded_for_from_an_untrusted_peer_does_not_escape_the_per_address_limit() {
    let app = app(&[]);
    let mut statuses = Vec::new();
    for i in 0..4 {
        let spoofed = format!("203.0.113.{i}");
        statuses.push(app.send(get("10.1.0.1", Some(&spoofed))).await.status);
    }
    assert_eq!(
        statuses,
        [
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::UNAUTHORIZED,
            StatusCode::TOO_MANY_REQUESTS
        ],
        "four requests from one peer share its limit, whatever they claim"
    );
}

#[tokio::test]
async fn a_trusted_proxys_forwarded_for_gives_each_client_its_own_limit() {
    let app = app(&["127.0.0.0/8"]);
    // Six clients behind the proxy: none is limited by the others.
    for i in 0..6 {
        let client = format!("203.0.113.{i}");
        let r = app.send(get("127.0.0.1", Some(&client))).await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED, "client {client}");
    }
    // One client over its burst is limited.
    let mut last = StatusCode::OK;
    for _ in 0..4 {
        last = app
            .send(get("127.0.0.1", Some("198.51.100.9")))
            .await
            .status;
    }
    assert_eq!(last, StatusCode::TOO_MANY_REQUESTS);
    // A client that prepends an address of its choice is still itself: the proxy appended
    // the real one, and that is what is read.
    let spoofed = app
        .send(get("127.0.0.1", Some("192.0.2.1, 198.51.100.9")))
        .await;
    assert_eq!(spoofed.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn a_sign_in_through_a_trusted_proxy_records_the_client_it_names() {
    for (proxies, expected) in [
        (&["127.0.0.1"][..], "198.51.100.23"),
        (&[][..], "127.0.0.1"),
    ] {
        let app = App::with(HttpConfig {
            trusted_proxies: proxies.iter().map(|p| p.parse().unwrap()).collect(),
            ..common::config()
        });
        app.user("alice").await;
        let mut login = Request::post("/api/v1/auth/login")
            .header(header::CONTENT_TYPE, "application/json")
            .header("x-forwarded-for", "198.51.100.23")
            .body(Body::from(
                json!({"email": "alice@example.com", "password": PASSWORD}).to_string(),
            ))
            .unwrap();
        login.extensions_mut().insert(ConnectInfo(
            "127.0.0.1:50000".parse::<std::net::SocketAddr>().unwrap(),
        ));
        let r = app.send(login).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
        let token = r.body["access_token"].as_str().unwrap();
        let devices = app
            .call("GET", "/api/v1/users/me/sessions", token, None)
            .await;
        assert_eq!(
            devices.body["items"][0]["ip"], expected,
            "trusting {proxies:?}: {}",
            devices.body
        );
    }
}

#[test]
fn a_malformed_trusted_proxy_names_the_field() {
    let e = "10.0.0.0/40"
        .parse::<vibebox_http::client_ip::Cidr>()
        .unwrap_err();
    assert_eq!(e.field(), Some("trusted_proxies"));
}
