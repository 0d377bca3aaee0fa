//! A small OAuth 2.0 provider on 127.0.0.1 (the real ones cannot be reached from tests): an
//! authorization endpoint that approves at once, a token endpoint that checks the client,
//! the redirect URI, one-time codes and the PKCE S256 verifier, and GitHub- and
//! OpenID-Connect-shaped profile endpoints.
#![allow(dead_code, clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde::Deserialize;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};

pub const CLIENT_ID: &str = "vibebox-client";
pub const CLIENT_SECRET: &str = "fake-client-secret";

/// Who signs in at the provider next.
#[derive(Clone, Debug)]
pub struct Person {
    pub subject: String,
    pub login: String,
    pub name: String,
    pub email: String,
    pub email_verified: bool,
}

impl Person {
    pub fn new(subject: &str, email: &str) -> Self {
        Self {
            subject: subject.into(),
            login: email.split('@').next().unwrap().into(),
            name: format!("Person {subject}"),
            email: email.into(),
            email_verified: true,
        }
    }
}

struct Grant {
    person: Person,
    challenge: String,
    redirect_uri: String,
}

#[derive(Default)]
struct Inner {
    next: Option<Person>,
    codes: HashMap<String, Grant>,
    tokens: HashMap<String, Person>,
    counter: u64,
    /// Every `/token` request's form, in order.
    token_requests: Vec<HashMap<String, String>>,
}

/// A running fake provider.
#[derive(Clone)]
pub struct FakeProvider {
    pub addr: SocketAddr,
    inner: Arc<Mutex<Inner>>,
}

impl FakeProvider {
    pub async fn start() -> Self {
        let inner = Arc::new(Mutex::new(Inner::default()));
        let app = Router::new()
            .route("/authorize", get(authorize))
            .route("/token", post(token))
            .route("/user", get(github_user))
            .route("/user/emails", get(github_emails))
            .route("/userinfo", get(userinfo))
            .with_state(inner.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
        Self { addr, inner }
    }

    pub fn base(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// The person the next authorization signs in.
    pub fn sign_in_as(&self, person: Person) {
        self.inner.lock().unwrap().next = Some(person);
    }

    pub fn token_requests(&self) -> Vec<HashMap<String, String>> {
        self.inner.lock().unwrap().token_requests.clone()
    }
}

type Shared = State<Arc<Mutex<Inner>>>;

#[derive(Deserialize)]
struct AuthorizeQuery {
    response_type: String,
    client_id: String,
    redirect_uri: String,
    state: String,
    code_challenge: String,
    code_challenge_method: String,
}

async fn authorize(State(inner): Shared, Query(q): Query<AuthorizeQuery>) -> Response {
    if q.response_type != "code" || q.client_id != CLIENT_ID || q.code_challenge_method != "S256" {
        return (StatusCode::BAD_REQUEST, "bad authorization request").into_response();
    }
    let mut inner = inner.lock().unwrap();
    let Some(person) = inner.next.clone() else {
        return (StatusCode::BAD_REQUEST, "nobody to sign in").into_response();
    };
    inner.counter += 1;
    let code = format!("code-{}", inner.counter);
    inner.codes.insert(
        code.clone(),
        Grant {
            person,
            challenge: q.code_challenge,
            redirect_uri: q.redirect_uri.clone(),
        },
    );
    let query = form_urlencoded::Serializer::new(String::new())
        .extend_pairs([("code", code.as_str()), ("state", q.state.as_str())])
        .finish();
    Redirect::to(&format!("{}?{query}", q.redirect_uri)).into_response()
}

async fn token(State(inner): Shared, Form(form): Form<HashMap<String, String>>) -> Response {
    let mut inner = inner.lock().unwrap();
    inner.token_requests.push(form.clone());
    let field = |k: &str| form.get(k).cloned().unwrap_or_default();
    let refuse = || {
        (
            StatusCode::BAD_REQUEST,
            Json(json!({"error": "invalid_grant"})),
        )
            .into_response()
    };
    if field("grant_type") != "authorization_code"
        || field("client_id") != CLIENT_ID
        || field("client_secret") != CLIENT_SECRET
    {
        return (
            StatusCode::UNAUTHORIZED,
            Json(json!({"error": "invalid_client"})),
        )
            .into_response();
    }
    // Codes are single-use, whatever happens next.
    let Some(grant) = inner.codes.remove(&field("code")) else {
        return refuse();
    };
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(field("code_verifier").as_bytes()));
    if challenge != grant.challenge || field("redirect_uri") != grant.redirect_uri {
        return refuse();
    }
    inner.counter += 1;
    let access = format!("access-{}", inner.counter);
    inner.tokens.insert(access.clone(), grant.person);
    Json(json!({"access_token": access, "token_type": "bearer", "scope": "read:user,user:email"}))
        .into_response()
}

fn person(inner: &Shared, headers: &HeaderMap) -> Option<Person> {
    let token = headers
        .get(header::AUTHORIZATION)?
        .to_str()
        .ok()?
        .strip_prefix("Bearer ")?;
    inner.lock().unwrap().tokens.get(token).cloned()
}

fn unauthorized() -> Response {
    (
        StatusCode::UNAUTHORIZED,
        Json(json!({"message": "Bad credentials"})),
    )
        .into_response()
}

async fn github_user(inner: Shared, headers: HeaderMap) -> Response {
    // GitHub refuses API calls without a user agent.
    if headers.get(header::USER_AGENT).is_none() {
        return (StatusCode::FORBIDDEN, "user agent required").into_response();
    }
    let Some(p) = person(&inner, &headers) else {
        return unauthorized();
    };
    let id: u64 = p.subject.parse().unwrap_or(1);
    Json(json!({"id": id, "login": p.login, "name": p.name, "email": Value::Null})).into_response()
}

async fn github_emails(inner: Shared, headers: HeaderMap) -> Response {
    let Some(p) = person(&inner, &headers) else {
        return unauthorized();
    };
    Json(json!([
        {"email": format!("unverified-{}", p.email), "primary": false, "verified": false},
        {"email": p.email, "primary": true, "verified": p.email_verified},
    ]))
    .into_response()
}

async fn userinfo(inner: Shared, headers: HeaderMap) -> Response {
    let Some(p) = person(&inner, &headers) else {
        return unauthorized();
    };
    Json(json!({
        "sub": p.subject,
        "email": p.email,
        "email_verified": p.email_verified,
        "name": p.name,
    }))
    .into_response()
}
