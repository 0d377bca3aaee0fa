//! OAuth sign-in, the whole flow against a fake provider on 127.0.0.1: the redirect with
//! state and PKCE S256, the browser's trip to the provider, the callback, the code exchange,
//! the profile, and the account found by (provider, subject).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod fake_provider;

use std::collections::HashMap;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use common::*;
use fake_provider::{CLIENT_ID, CLIENT_SECRET, FakeProvider, Person};
use http_body_util::{BodyExt, Empty};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use secrecy::SecretString;
use vibebox_http::oauth::OAuthProvider;

const CALLBACK_BASE: &str = "http://vibebox.test/api/v1/auth/oauth";

/// An app whose `github` and `google` providers live at `fake`.
fn app_with(fake: &str) -> App {
    let secret = || SecretString::from(CLIENT_SECRET);
    let github = OAuthProvider::github(
        CLIENT_ID,
        secret(),
        format!("{CALLBACK_BASE}/github/callback"),
    )
    .unwrap()
    .at(fake)
    .unwrap();
    let google = OAuthProvider::google(
        CLIENT_ID,
        secret(),
        format!("{CALLBACK_BASE}/google/callback"),
    )
    .unwrap()
    .at(fake)
    .unwrap();
    App::with(vibebox_http::HttpConfig {
        oauth_providers: vec![github, google],
        ..common::config()
    })
}

/// A sign-in left for the provider: the query of the authorization URL and the flow cookie.
struct Started {
    location: String,
    params: HashMap<String, String>,
    cookie: String,
    set_cookie: String,
}

async fn start(app: &App, provider: &str) -> Started {
    start_at(app, &format!("/api/v1/auth/oauth/{provider}")).await
}

/// A sign-in started at `uri` (a start route with its query).
async fn start_at(app: &App, uri: &str) -> Started {
    let r = app.get(uri, None).await;
    assert_eq!(r.status, StatusCode::FOUND, "{}", r.body);
    let location = r.headers[header::LOCATION].to_str().unwrap().to_string();
    let query = location.split_once('?').unwrap().1;
    let params = form_urlencoded::parse(query.as_bytes())
        .into_owned()
        .collect();
    let set_cookie = r.headers[header::SET_COOKIE].to_str().unwrap().to_string();
    let cookie = set_cookie.split(';').next().unwrap().to_string();
    Started {
        location,
        params,
        cookie,
        set_cookie,
    }
}

/// The browser at the provider: follows the authorization URL and returns where the
/// provider sends it back (path and query of the callback).
async fn visit_provider(started: &Started) -> String {
    let client = Client::builder(TokioExecutor::new()).build_http::<Empty<bytes::Bytes>>();
    let response = client.get(started.location.parse().unwrap()).await.unwrap();
    assert_eq!(response.status(), StatusCode::SEE_OTHER);
    let back = response.headers()[header::LOCATION].to_str().unwrap();
    let back = back
        .strip_prefix("http://vibebox.test")
        .unwrap()
        .to_string();
    let _ = response.into_body().collect().await;
    back
}

async fn callback(app: &App, path_and_query: &str, cookie: Option<&str>) -> Reply {
    let mut request = Request::get(path_and_query);
    if let Some(cookie) = cookie {
        request = request.header(header::COOKIE, cookie);
    }
    app.send(request.body(Body::empty()).unwrap()).await
}

/// The whole flow for whoever the provider signs in next.
async fn sign_in(app: &App, provider: &str) -> Reply {
    let started = start(app, provider).await;
    let back = visit_provider(&started).await;
    callback(app, &back, Some(&started.cookie)).await
}

#[tokio::test]
async fn github_sign_in_creates_the_account_then_finds_it_by_subject_not_email() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    fake.sign_in_as(Person::new("4242", "octo@example.com"));
    let first = sign_in(&app, "github").await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.body);
    assert_eq!(first.body["user"]["email"], "octo@example.com");
    assert_eq!(first.body["user"]["display_name"], "Person 4242");
    assert_eq!(first.body["token_type"], "Bearer");
    let access = first.body["access_token"].as_str().unwrap();
    let me = app.get("/api/v1/users/me", Some(access)).await;
    assert_eq!(me.body["email"], "octo@example.com");
    assert!(first.body["refresh_token"].as_str().unwrap().len() >= 64);

    // The same GitHub account with another email is the same VibeBox account.
    fake.sign_in_as(Person::new("4242", "renamed@example.com"));
    let again = sign_in(&app, "github").await;
    assert_eq!(again.status, StatusCode::OK, "{}", again.body);
    assert_eq!(again.body["user"]["id"], first.body["user"]["id"]);
    assert_eq!(again.body["user"]["email"], "octo@example.com");
}

#[tokio::test]
async fn the_authorization_redirect_carries_state_and_an_s256_challenge() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    let started = start(&app, "github").await;
    assert!(
        started
            .location
            .starts_with(&format!("{}/authorize?", fake.base()))
    );
    let p = &started.params;
    assert_eq!(p["response_type"], "code");
    assert_eq!(p["client_id"], CLIENT_ID);
    assert_eq!(
        p["redirect_uri"],
        format!("{CALLBACK_BASE}/github/callback")
    );
    assert_eq!(p["scope"], "read:user user:email");
    assert_eq!(p["code_challenge_method"], "S256");
    assert_eq!(p["code_challenge"].len(), 43);
    assert_eq!(p["state"].len(), 43);
    assert!(
        !started.location.contains(CLIENT_SECRET),
        "the client secret never goes to the browser"
    );
    let set = &started.set_cookie;
    assert!(
        set.contains("HttpOnly") && set.contains("SameSite=Lax"),
        "{set}"
    );
    assert!(
        set.contains("Path=/api/v1/auth/oauth/github/callback"),
        "{set}"
    );
    let other = start(&app, "github").await;
    assert_ne!(other.params["state"], p["state"]);
    assert_ne!(other.params["code_challenge"], p["code_challenge"]);
}

#[tokio::test]
async fn the_code_is_exchanged_with_the_verifier_of_its_challenge_and_the_client_secret() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    fake.sign_in_as(Person::new("7", "seven@example.com"));
    let started = start(&app, "github").await;
    let back = visit_provider(&started).await;
    assert_eq!(
        callback(&app, &back, Some(&started.cookie)).await.status,
        StatusCode::OK
    );
    let requests = fake.token_requests();
    let form = requests.last().unwrap();
    assert_eq!(form["grant_type"], "authorization_code");
    assert_eq!(form["client_secret"], CLIENT_SECRET);
    assert_eq!(
        form["redirect_uri"],
        format!("{CALLBACK_BASE}/github/callback")
    );
    use base64::Engine;
    use sha2::Digest;
    let challenge = base64::engine::general_purpose::URL_SAFE_NO_PAD
        .encode(sha2::Sha256::digest(form["code_verifier"].as_bytes()));
    assert_eq!(challenge, started.params["code_challenge"]);
}

#[tokio::test]
async fn a_callback_without_its_cookie_or_with_another_state_is_refused() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    fake.sign_in_as(Person::new("1", "one@example.com"));
    let started = start(&app, "github").await;
    let back = visit_provider(&started).await;

    let no_cookie = callback(&app, &back, None).await;
    assert_eq!(no_cookie.status, StatusCode::UNAUTHORIZED);
    let state = &started.params["state"];
    let forged = back.replace(state.as_str(), "forged-state");
    let wrong_state = callback(&app, &forged, Some(&started.cookie)).await;
    assert_eq!(wrong_state.status, StatusCode::UNAUTHORIZED);
    let tampered = format!("{}x", started.cookie);
    assert_eq!(
        callback(&app, &back, Some(&tampered)).await.status,
        StatusCode::UNAUTHORIZED
    );
    // None of those spent the code: the real browser still signs in.
    let ok = callback(&app, &back, Some(&started.cookie)).await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    // The cookie is cleared, and the code cannot be replayed.
    assert!(
        ok.headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
    let replay = callback(&app, &back, Some(&started.cookie)).await;
    assert_eq!(replay.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_stolen_code_fails_in_another_flow_because_its_verifier_does_not_match() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    fake.sign_in_as(Person::new("99", "victim@example.com"));
    let victim = start(&app, "github").await;
    let victim_back = visit_provider(&victim).await;
    let code = form_urlencoded::parse(victim_back.split_once('?').unwrap().1.as_bytes())
        .find(|(k, _)| k == "code")
        .unwrap()
        .1
        .into_owned();
    // The attacker starts their own flow and presents the victim's code in it.
    let attacker = start(&app, "github").await;
    let path = format!(
        "/api/v1/auth/oauth/github/callback?code={code}&state={}",
        attacker.params["state"]
    );
    let r = callback(&app, &path, Some(&attacker.cookie)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED, "{}", r.body);
}

#[tokio::test]
async fn google_sign_in_takes_the_email_only_when_the_provider_verified_it() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    let mut unverified = Person::new("google-sub-1", "maybe@example.com");
    unverified.email_verified = false;
    fake.sign_in_as(unverified);
    let refused = sign_in(&app, "google").await;
    assert_eq!(
        refused.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "{}",
        refused.body
    );
    assert_eq!(refused.body["field"], "email");

    fake.sign_in_as(Person::new("google-sub-1", "maybe@example.com"));
    let ok = sign_in(&app, "google").await;
    assert_eq!(ok.status, StatusCode::OK, "{}", ok.body);
    assert_eq!(ok.body["user"]["email"], "maybe@example.com");
}

#[tokio::test]
async fn an_identity_is_never_linked_to_an_existing_account_by_email() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    app.user("alice").await;
    fake.sign_in_as(Person::new("5150", "alice@example.com"));
    let r = sign_in(&app, "github").await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.body);
    assert!(r.body.get("access_token").is_none());
    // Nothing was linked: the provider's account still cannot sign in, the owner still can.
    assert_eq!(sign_in(&app, "github").await.status, StatusCode::CONFLICT);
    assert_eq!(app.login("alice").await.status, StatusCode::OK);
}

#[tokio::test]
async fn a_sign_in_declined_at_the_provider_is_401() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    let started = start(&app, "github").await;
    let path = format!(
        "/api/v1/auth/oauth/github/callback?error=access_denied&state={}",
        started.params["state"]
    );
    let r = callback(&app, &path, Some(&started.cookie)).await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
    assert_eq!(r.body["code"], "unauthenticated");
}

#[tokio::test]
async fn an_unreachable_provider_is_503_without_details() {
    let closed = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let app = app_with(&base);
    let started = start(&app, "github").await;
    let path = format!(
        "/api/v1/auth/oauth/github/callback?code=anything&state={}",
        started.params["state"]
    );
    let r = callback(&app, &path, Some(&started.cookie)).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.body);
    assert!(!r.body.to_string().contains("127.0.0.1"), "{}", r.body);
}

#[tokio::test]
async fn the_provider_list_names_each_configured_provider_for_its_button() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    let r = app.get("/api/v1/auth/providers", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(
        r.body,
        serde_json::json!({"items": [
            {"name": "github", "display_name": "GitHub"},
            {"name": "google", "display_name": "Google"},
        ]})
    );
    let none = App::new().get("/api/v1/auth/providers", None).await;
    assert_eq!(none.body, serde_json::json!({"items": []}));
}

#[tokio::test]
async fn an_unconfigured_provider_is_404() {
    let app = App::new();
    let r = app.get("/api/v1/auth/oauth/github", None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn a_disabled_account_cannot_sign_in_with_its_provider() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    let root = app.user("root").await;
    fake.sign_in_as(Person::new("31337", "gone@example.com"));
    let first = sign_in(&app, "github").await;
    assert_eq!(first.status, StatusCode::OK);
    let id: vibebox_core::id::UserId = first.body["user"]["id"].as_str().unwrap().parse().unwrap();
    let admin = app.vibebox.actor_for_user(root.id).await.unwrap();
    app.vibebox
        .set_user_disabled(&admin, id, true)
        .await
        .unwrap();
    assert_eq!(
        sign_in(&app, "github").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_sign_in_started_with_return_to_comes_back_to_it_with_the_session_cookie() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    fake.sign_in_as(Person::new("808", "page@example.com"));
    let started = start_at(
        &app,
        "/api/v1/auth/oauth/github?return_to=%2Fprojects%2Fx%3Ftab%3Denvs",
    )
    .await;
    let back = visit_provider(&started).await;
    let r = callback(&app, &back, Some(&started.cookie)).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    assert_eq!(r.headers[header::LOCATION], "/projects/x?tab=envs");
    assert!(r.body.is_null(), "no tokens in the body: {}", r.body);
    let cookies: Vec<&str> = r
        .headers
        .get_all(header::SET_COOKIE)
        .iter()
        .map(|v| v.to_str().unwrap())
        .collect();
    let session = cookies
        .iter()
        .find(|c| c.starts_with("vibebox_refresh="))
        .unwrap_or_else(|| panic!("no session cookie: {cookies:?}"));
    assert!(
        session.contains("; Path=/api/v1/auth/session; HttpOnly; SameSite=Strict; Max-Age="),
        "{session}"
    );
    assert!(
        cookies
            .iter()
            .any(|c| c.starts_with("vibebox_oauth_github=;") && c.contains("Max-Age=0")),
        "the flow cookie is cleared: {cookies:?}"
    );
    // The page trades the cookie for an access token.
    let cookie = session.split(';').next().unwrap();
    let refreshed = app
        .send(
            Request::post("/api/v1/auth/session/refresh")
                .header(header::COOKIE, cookie)
                .header("x-vibebox-csrf", "1")
                .body(Body::empty())
                .unwrap(),
        )
        .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{}", refreshed.body);
    assert_eq!(refreshed.body["user"]["email"], "page@example.com");
}

#[tokio::test]
async fn a_sign_in_started_without_return_to_still_answers_json() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    fake.sign_in_as(Person::new("809", "json@example.com"));
    let r = sign_in(&app, "github").await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body["refresh_token"].is_string());
    assert!(r.headers.get(header::LOCATION).is_none());
    let cookies: Vec<_> = r.headers.get_all(header::SET_COOKIE).iter().collect();
    assert_eq!(
        cookies.len(),
        1,
        "only the flow cookie, cleared: {cookies:?}"
    );
}

#[tokio::test]
async fn return_to_must_be_a_path_on_this_server() {
    let fake = FakeProvider::start().await;
    let app = app_with(&fake.base());
    for bad in [
        "https%3A%2F%2Fevil.example%2F",
        "%2F%2Fevil.example",
        "%2F%5Cevil.example",
        "%2F%09%2Fevil.example",
        "projects",
        "",
        "%2Fa%20b",
    ] {
        let r = app
            .get(&format!("/api/v1/auth/oauth/github?return_to={bad}"), None)
            .await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{bad}: {}",
            r.body
        );
        assert_eq!(r.body["field"], "return_to", "{bad}");
        assert!(r.headers.get(header::SET_COOKIE).is_none(), "{bad}");
    }
}
