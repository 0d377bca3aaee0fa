//! Sign-in, refresh, sign-out and bearer authentication through HTTP.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use common::*;
use secrecy::ExposeSecret;
use serde_json::json;
use vibebox_core::domain::Scope;
use vibebox_core::service::NewApiKey;
use vibebox_http::{HttpConfig, PROBLEM_JSON};

#[tokio::test]
async fn login_returns_a_token_pair_whose_access_token_authenticates() {
    let app = App::new();
    app.user("alice").await;
    let r = app.login("alice").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["token_type"], "Bearer");
    assert_eq!(r.body["expires_in"], 900);
    assert_eq!(r.body["user"]["email"], "alice@example.com");
    assert!(r.body["user"].get("password_hash").is_none());
    let access = r.body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/users/me", Some(access)).await;
    assert_eq!(me.status, StatusCode::OK);
    assert_eq!(me.body["email"], "alice@example.com");
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_email_get_the_same_answer() {
    let app = App::new();
    app.user("alice").await;
    let wrong = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": "alice@example.com", "password": "not the password at all"}),
        )
        .await;
    let unknown = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": "nobody@example.com", "password": "not the password at all"}),
        )
        .await;
    assert_eq!(wrong.status, StatusCode::UNAUTHORIZED);
    assert_eq!(wrong.status, unknown.status);
    assert_eq!(wrong.body, unknown.body);
    assert_eq!(wrong.headers["content-type"], PROBLEM_JSON);
}

#[tokio::test]
async fn refresh_rotates_and_reusing_a_rotated_token_revokes_the_family() {
    let app = App::new();
    app.user("alice").await;
    let first = app.login("alice").await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post_json("/api/v1/auth/refresh", json!({"refresh_token": first}))
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let second = r.body["refresh_token"].as_str().unwrap().to_string();
    assert_ne!(first, second);
    assert!(r.body["access_token"].is_string());
    // The rotated token again: refused, and the family with it.
    let reuse = app
        .post_json("/api/v1/auth/refresh", json!({"refresh_token": first}))
        .await;
    assert_eq!(reuse.status, StatusCode::UNAUTHORIZED);
    let after = app
        .post_json("/api/v1/auth/refresh", json!({"refresh_token": second}))
        .await;
    assert_eq!(
        after.status,
        StatusCode::UNAUTHORIZED,
        "the family is revoked"
    );
}

#[tokio::test]
async fn logout_revokes_the_refresh_token() {
    let app = App::new();
    app.user("alice").await;
    let token = app.login("alice").await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app
        .post_json("/api/v1/auth/logout", json!({"refresh_token": token}))
        .await;
    assert_eq!(r.status, StatusCode::NO_CONTENT);
    let refreshed = app
        .post_json("/api/v1/auth/refresh", json!({"refresh_token": token}))
        .await;
    assert_eq!(refreshed.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_refresh_token_is_refused_as_a_bearer_token() {
    let app = App::new();
    app.user("alice").await;
    let refresh = app.login("alice").await.body["refresh_token"]
        .as_str()
        .unwrap()
        .to_string();
    let r = app.get("/api/v1/users/me", Some(&refresh)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn requests_without_credentials_get_401_with_a_bearer_challenge() {
    let app = App::new();
    let r = app.get("/api/v1/users/me", None).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.headers["www-authenticate"], "Bearer realm=\"vibebox\"");
    assert_eq!(r.body["code"], "unauthenticated");
    let garbage = app.get("/api/v1/users/me", Some("not.a.jwt")).await;
    assert_eq!(garbage.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn an_api_key_authenticates_as_its_user() {
    let app = App::new();
    let alice = app.user("alice").await;
    let actor = app.vibebox.actor_for_user(alice.id).await.unwrap();
    let key = app
        .vibebox
        .create_api_key(
            &actor,
            NewApiKey {
                name: "ci".into(),
                scopes: vec![Scope::Read],
                expires_at: None,
            },
        )
        .await
        .unwrap();
    let token = key.token.expose_secret();
    assert!(token.starts_with("vbx_"));
    let r = app.get("/api/v1/users/me", Some(token)).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.body["id"], alice.id.to_string());
    app.vibebox
        .delete_api_key(&actor, key.key.id)
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/v1/users/me", Some(token)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn disabling_a_user_ends_their_access_tokens_at_once() {
    let app = App::new();
    let admin = app.user("admin").await;
    let bob = app.user("bob").await;
    let access = app.login("bob").await.body["access_token"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(
        app.get("/api/v1/users/me", Some(&access)).await.status,
        StatusCode::OK
    );
    let admin = app.vibebox.actor_for_user(admin.id).await.unwrap();
    app.vibebox
        .set_user_disabled(&admin, bob.id, true)
        .await
        .unwrap();
    assert_eq!(
        app.get("/api/v1/users/me", Some(&access)).await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn malformed_json_is_400_and_a_missing_field_is_422_naming_it() {
    let app = App::new();
    let bad = app
        .send(
            Request::post("/api/v1/auth/login")
                .header("content-type", "application/json")
                .body(Body::from("{\"email\": "))
                .unwrap(),
        )
        .await;
    assert_eq!(bad.status, StatusCode::BAD_REQUEST);
    assert_eq!(bad.body["code"], "malformed_json");
    let missing = app
        .post_json("/api/v1/auth/login", json!({"email": "a@example.com"}))
        .await;
    assert_eq!(missing.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(missing.body["field"], "password");
    let no_type = app
        .send(
            Request::post("/api/v1/auth/login")
                .body(Body::from("{}"))
                .unwrap(),
        )
        .await;
    assert_eq!(no_type.status, StatusCode::UNSUPPORTED_MEDIA_TYPE);
}

#[tokio::test]
async fn an_oversized_body_is_413() {
    let app = App::with(HttpConfig {
        max_body_bytes: 1024,
        ..common::config()
    });
    let big = json!({"email": "a@example.com", "password": "x".repeat(4096)});
    let r = app.post_json("/api/v1/auth/login", big).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.body["code"], "payload_too_large");
}

/// A login request from the given peer address (as `into_make_service_with_connect_info`
/// provides it).
fn login_from(ip: &str, email: &str, password: &str) -> Request<Body> {
    let mut request = Request::post("/api/v1/auth/login")
        .header("content-type", "application/json")
        .body(Body::from(
            json!({"email": email, "password": password}).to_string(),
        ))
        .unwrap();
    let addr: std::net::SocketAddr = format!("{ip}:40000").parse().unwrap();
    request
        .extensions_mut()
        .insert(axum::extract::ConnectInfo(addr));
    request
}

#[tokio::test]
async fn repeated_failures_from_an_address_are_429_with_retry_after() {
    let app = App::new();
    app.user("alice").await;
    for _ in 0..6 {
        let r = app
            .send(login_from(
                "198.51.100.4",
                "alice@example.com",
                "wrong password!!",
            ))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let r = app
        .send(login_from("198.51.100.4", "alice@example.com", PASSWORD))
        .await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    assert_eq!(r.body["code"], "rate_limited");
    assert_eq!(r.headers["retry-after"], "1");
    // The same throttle for an email that does not exist: nothing is revealed.
    for _ in 0..6 {
        app.send(login_from(
            "198.51.100.4",
            "ghost@example.com",
            "wrong password!!",
        ))
        .await;
    }
    let ghost = app
        .send(login_from(
            "198.51.100.4",
            "ghost@example.com",
            "wrong password!!",
        ))
        .await;
    assert_eq!(ghost.status, StatusCode::TOO_MANY_REQUESTS);
}

#[tokio::test]
async fn the_owner_still_signs_in_from_a_known_address_while_others_are_throttled() {
    let app = App::new();
    app.user("alice").await;
    let ok = app
        .send(login_from("192.0.2.7", "alice@example.com", PASSWORD))
        .await;
    assert_eq!(ok.status, StatusCode::OK);
    // 100 failures from 100 addresses spend the account's hourly budget.
    for i in 0..100 {
        let r = app
            .send(login_from(
                &format!("10.0.0.{i}"),
                "alice@example.com",
                "guess guess guess",
            ))
            .await;
        assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    }
    let stranger = app
        .send(login_from("10.0.1.1", "alice@example.com", PASSWORD))
        .await;
    assert_eq!(stranger.status, StatusCode::TOO_MANY_REQUESTS);
    let owner = app
        .send(login_from("192.0.2.7", "alice@example.com", PASSWORD))
        .await;
    assert_eq!(owner.status, StatusCode::OK, "{}", owner.body);
}

async fn register(app: &App, email: &str, password: &str) -> Reply {
    app.post_json(
        "/api/v1/auth/register",
        json!({"email": email, "password": password, "display_name": "Someone"}),
    )
    .await
}

#[tokio::test]
async fn register_creates_the_account_which_then_signs_in_the_first_as_platform_admin() {
    let app = App::new();
    let r = register(&app, "first@example.com", PASSWORD).await;
    assert_eq!(r.status, StatusCode::ACCEPTED, "{}", r.body);
    assert!(r.body.get("access_token").is_none());
    let first = app.login("first").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["user"]["is_platform_admin"], true);
    let access = first.body["access_token"].as_str().unwrap();
    assert_eq!(
        app.get("/api/v1/users/me", Some(access)).await.body["email"],
        "first@example.com"
    );
    register(&app, "second@example.com", PASSWORD).await;
    assert_eq!(
        app.login("second").await.body["user"]["is_platform_admin"],
        false
    );
    let weak = register(&app, "third@example.com", "short").await;
    assert_eq!(weak.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert_eq!(weak.body["field"], "password");
    assert!(
        !weak.body.to_string().contains("short"),
        "the password is never echoed"
    );
}

#[tokio::test]
async fn registering_a_taken_email_answers_exactly_like_a_new_one() {
    let app = App::new();
    let new = register(&app, "alice@example.com", PASSWORD).await;
    let taken = register(&app, "ALICE@example.com", "another long password").await;
    assert_eq!(new.status, StatusCode::ACCEPTED);
    assert_eq!(taken.status, new.status);
    assert_eq!(taken.body, new.body);
    let header_names = |r: &Reply| {
        let mut names: Vec<String> = r
            .headers
            .keys()
            .map(|k| k.as_str().to_string())
            .filter(|k| k != "x-request-id")
            .collect();
        names.sort();
        names
    };
    assert_eq!(header_names(&taken), header_names(&new));
    // The account kept its password: the second registration changed nothing.
    assert_eq!(app.login("alice").await.status, StatusCode::OK);
    let hijack = app
        .post_json(
            "/api/v1/auth/login",
            json!({"email": "alice@example.com", "password": "another long password"}),
        )
        .await;
    assert_eq!(hijack.status, StatusCode::UNAUTHORIZED);
}
