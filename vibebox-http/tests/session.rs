//! Browser sign-ins with the refresh token in an HttpOnly cookie (`/api/v1/auth/session`):
//! the cookie's attributes, rotation, sign-out, and the CSRF checks every session route
//! makes.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::{Request, StatusCode, header};
use common::*;
use serde_json::json;
use vibebox_http::{HttpConfig, PROBLEM_JSON, RateLimit};

const SESSION: &str = "/api/v1/auth/session";
const REFRESH: &str = "/api/v1/auth/session/refresh";
/// The test requests' `Host`, as a browser on the console would send it.
const HOST: &str = "vibebox.example.com";

/// A session request as the console makes it: same origin, the CSRF header, and `extra`
/// headers (which replace those).
fn browser(method: &str, uri: &str, cookie: Option<&str>, extra: &[(&str, &str)]) -> Request<Body> {
    let mut headers = vec![
        ("host", HOST.to_string()),
        ("origin", format!("https://{HOST}")),
        ("sec-fetch-site", "same-origin".to_string()),
        ("x-vibebox-csrf", "1".to_string()),
    ];
    if let Some(c) = cookie {
        headers.push(("cookie", c.to_string()));
    }
    for (name, value) in extra {
        headers.retain(|(n, _)| n != name);
        if !value.is_empty() {
            headers.push((name, value.to_string()));
        }
    }
    let mut r = Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        r = r.header(name, value);
    }
    if method == "POST" && uri == SESSION {
        let body = json!({"email": "alice@example.com", "password": PASSWORD});
        r.header("content-type", "application/json")
            .body(Body::from(body.to_string()))
            .unwrap()
    } else {
        r.body(Body::empty()).unwrap()
    }
}

/// The `Set-Cookie` of a reply, and the `name=value` pair a browser sends back.
fn set_cookie(r: &Reply) -> (String, String) {
    let set = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    let pair = set.split(';').next().unwrap().to_string();
    (set, pair)
}

/// Alice, signed in through the session route; the reply and her cookie.
async fn signed_in(app: &App) -> (Reply, String) {
    app.user("alice").await;
    let r = app.send(browser("POST", SESSION, None, &[])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let (_, cookie) = set_cookie(&r);
    (r, cookie)
}

#[tokio::test]
async fn session_sign_in_sets_an_http_only_strict_cookie_scoped_to_the_session_routes() {
    let app = App::new();
    let (r, cookie) = signed_in(&app).await;
    let (set, _) = set_cookie(&r);
    let token = cookie.strip_prefix("vibebox_refresh=").unwrap();
    assert_eq!(token.len(), 64, "{set}");
    assert_eq!(
        set,
        format!(
            "vibebox_refresh={token}; Path=/api/v1/auth/session; HttpOnly; SameSite=Strict; \
             Max-Age={}",
            7 * 24 * 60 * 60
        )
    );
    assert_eq!(r.headers[header::CACHE_CONTROL], "no-store");
    assert_eq!(r.body["user"]["email"], "alice@example.com");
    assert_eq!(r.body["token_type"], "Bearer");
    assert!(r.body["expires_in"].as_u64().unwrap() > 0);
    assert!(r.body.get("refresh_token").is_none(), "{}", r.body);
    assert!(!r.body.to_string().contains(token));
    let access = r.body["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/users/me", Some(access)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_wrong_password_is_401_and_sets_no_cookie() {
    let app = App::new();
    app.user("alice").await;
    let mut request = browser("POST", SESSION, None, &[]);
    *request.body_mut() =
        Body::from(json!({"email": "alice@example.com", "password": "nope"}).to_string());
    let r = app.send(request).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert!(r.headers.get(header::SET_COOKIE).is_none());
}

#[tokio::test]
async fn refresh_rotates_the_cookie_and_the_old_cookie_is_refused_after_use() {
    let app = App::new();
    let (_, first) = signed_in(&app).await;
    let r = app.send(browser("POST", REFRESH, Some(&first), &[])).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.get("refresh_token").is_none());
    assert!(r.body["access_token"].is_string());
    let (set, second) = set_cookie(&r);
    assert_ne!(second, first);
    assert!(set.contains("HttpOnly; SameSite=Strict"), "{set}");

    let replay = app.send(browser("POST", REFRESH, Some(&first), &[])).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
    assert_eq!(replay.headers["content-type"], PROBLEM_JSON);
    let (cleared, _) = set_cookie(&replay);
    assert!(
        cleared.starts_with("vibebox_refresh=;") && cleared.contains("Max-Age=0"),
        "{cleared}"
    );
    // Reusing a rotated token revoked the whole sign-in.
    let after = app.send(browser("POST", REFRESH, Some(&second), &[])).await;
    assert_eq!(after.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn refresh_without_a_cookie_is_204_signed_out_not_an_error() {
    let app = App::new();
    for cookie in [None, Some("vibebox_refresh=")] {
        let r = app.send(browser("POST", REFRESH, cookie, &[])).await;
        assert_eq!(r.status, StatusCode::NO_CONTENT, "{cookie:?}");
        assert!(r.headers.get("set-cookie").is_none(), "{cookie:?}");
    }
}

#[tokio::test]
async fn refresh_with_an_unknown_cookie_is_401_and_clears_it() {
    let app = App::new();
    let r = app
        .send(browser(
            "POST",
            REFRESH,
            Some("vibebox_refresh=unknown"),
            &[],
        ))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["code"], "unauthenticated");
    let (cleared, _) = set_cookie(&r);
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
}

#[tokio::test]
async fn sign_out_revokes_the_sign_in_and_clears_the_cookie() {
    let app = App::new();
    let (_, cookie) = signed_in(&app).await;
    let r = app
        .send(browser("DELETE", SESSION, Some(&cookie), &[]))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let (cleared, _) = set_cookie(&r);
    assert_eq!(
        cleared,
        "vibebox_refresh=; Path=/api/v1/auth/session; HttpOnly; SameSite=Strict; Max-Age=0"
    );
    let refused = app.send(browser("POST", REFRESH, Some(&cookie), &[])).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    // Signing out without a cookie is fine too.
    let again = app.send(browser("DELETE", SESSION, None, &[])).await;
    assert_eq!(again.status, StatusCode::NO_CONTENT);
}

/// Every session route, sent with `extra` headers and a valid cookie: each must be refused
/// with 403 `csrf_failed` naming `names`, and leave the sign-in alone.
async fn assert_every_route_refuses(extra: &[(&str, &str)], names: &str) {
    let app = App::with(HttpConfig {
        allowed_origins: vec!["https://app.example.com".into()],
        ..common::config()
    });
    let (_, cookie) = signed_in(&app).await;
    for (method, uri) in [("POST", SESSION), ("POST", REFRESH), ("DELETE", SESSION)] {
        let r = app.send(browser(method, uri, Some(&cookie), extra)).await;
        assert_eq!(
            r.status,
            StatusCode::FORBIDDEN,
            "{method} {uri} {extra:?}: {}",
            r.body
        );
        assert_eq!(r.headers["content-type"], PROBLEM_JSON);
        assert_eq!(r.body["code"], "csrf_failed");
        let detail = r.body["detail"].as_str().unwrap();
        assert!(detail.contains(names), "{method} {uri}: {detail}");
        assert!(r.headers.get(header::SET_COOKIE).is_none());
    }
    let still = app.send(browser("POST", REFRESH, Some(&cookie), &[])).await;
    assert_eq!(still.status, StatusCode::OK, "the refusals spent nothing");
}

#[tokio::test]
async fn session_routes_refuse_a_request_without_the_csrf_header() {
    assert_every_route_refuses(&[("x-vibebox-csrf", "")], "X-VibeBox-CSRF").await;
    assert_every_route_refuses(&[("x-vibebox-csrf", "0")], "X-VibeBox-CSRF").await;
}

#[tokio::test]
async fn session_routes_refuse_a_foreign_origin() {
    for origin in [
        "https://evil.example.net",
        "https://vibebox.example.com:8443",
        "https://8080--dev--alpha.vibebox.localhost",
        "null",
    ] {
        assert_every_route_refuses(&[("origin", origin)], "Origin").await;
    }
}

#[tokio::test]
async fn session_routes_refuse_cross_site_fetches() {
    assert_every_route_refuses(&[("sec-fetch-site", "cross-site")], "Sec-Fetch-Site").await;
}

#[tokio::test]
async fn the_servers_own_and_allowed_origins_and_origin_less_clients_pass_the_csrf_checks() {
    let app = App::with(HttpConfig {
        allowed_origins: vec!["https://app.example.com".into()],
        ..common::config()
    });
    app.user("alice").await;
    for extra in [
        vec![],
        vec![("origin", "HTTPS://VIBEBOX.EXAMPLE.COM:443")],
        vec![
            ("origin", "https://app.example.com"),
            ("sec-fetch-site", "same-site"),
        ],
        vec![("origin", ""), ("sec-fetch-site", "")],
    ] {
        let r = app.send(browser("POST", SESSION, None, &extra)).await;
        assert_eq!(r.status, StatusCode::OK, "{extra:?}: {}", r.body);
    }
}

#[tokio::test]
async fn the_cookie_is_secure_only_with_secure_cookies() {
    let plain = App::new();
    let (r, _) = signed_in(&plain).await;
    assert!(!set_cookie(&r).0.contains("Secure"));

    let secure = App::with(HttpConfig {
        secure_cookies: true,
        ..common::config()
    });
    let (r, cookie) = signed_in(&secure).await;
    assert!(
        set_cookie(&r).0.ends_with("; Secure"),
        "{}",
        set_cookie(&r).0
    );
    let rotated = secure
        .send(browser("POST", REFRESH, Some(&cookie), &[]))
        .await;
    assert!(set_cookie(&rotated).0.ends_with("; Secure"));
    let out = secure.send(browser("DELETE", SESSION, None, &[])).await;
    assert!(set_cookie(&out).0.ends_with("Max-Age=0; Secure"));
}

#[tokio::test]
async fn session_routes_count_against_the_sign_in_rate_limit() {
    let app = App::with(HttpConfig {
        per_ip_rate_limit: None,
        auth_rate_limit: RateLimit::per_minute(60, 2),
        ..common::config()
    });
    let from = |mut request: Request<Body>| {
        let addr: std::net::SocketAddr = "10.9.0.1:50000".parse().unwrap();
        request.extensions_mut().insert(ConnectInfo(addr));
        request
    };
    let first = app.send(from(browser("POST", REFRESH, None, &[]))).await;
    assert_eq!(first.status, StatusCode::NO_CONTENT);
    let second = app.send(from(browser("DELETE", SESSION, None, &[]))).await;
    assert_eq!(second.status, StatusCode::NO_CONTENT);
    let third = app.send(from(browser("POST", SESSION, None, &[]))).await;
    assert_eq!(
        third.status,
        StatusCode::TOO_MANY_REQUESTS,
        "{}",
        third.body
    );
}

#[tokio::test]
async fn the_token_in_body_routes_keep_their_refresh_token_and_set_no_cookie() {
    let app = App::new();
    app.user("alice").await;
    let r = app.login("alice").await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body["refresh_token"].is_string());
    assert!(r.headers.get(header::SET_COOKIE).is_none());
}
