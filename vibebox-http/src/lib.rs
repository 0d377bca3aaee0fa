//! VibeBox's HTTP front (DESIGN.md §6) on axum: REST under `/api/v1`, errors as
//! `application/problem+json`, JWT access tokens and API keys. Handlers stay thin; every rule
//! lives in `vibebox-core`.
//!
//! Problem documents, access tokens, bearer authentication (JWT or API key),
//! registration, sign-in/refresh/sign-out, the REST routes and WebSockets of DESIGN.md §6,
//! health and readiness and the cross-cutting layers are here; OAuth and rate limits follow.
//!
//! # OpenAPI
//!
//! [`router`] registers every route through utoipa-axum's `OpenApiRouter`, so each one is in
//! the OpenAPI 3.1 document by construction. The document is served without credentials at
//! `GET /api/v1/openapi.json` ([`OPENAPI_PATH`]) and returned by [`openapi()`]. Errors are
//! documented as `application/problem+json` ([`Problem`]); authenticated routes name the
//! [`BEARER_SCHEME`] security scheme (a JWT access token or a `vbx_` API key).
//! `scripts/schemathesis` fuzzes the live server against it.

mod access_token;
mod auth;
mod client;
mod extract;
mod health;
mod json;
mod openapi;
mod problem;
mod router;
mod routes;
mod state;
mod ws;

pub use access_token::{
    ACCESS_TTL, ACCESS_TYPE, ALGORITHM, AccessTokens, Claims, IssuedAccessToken, LEEWAY,
    MIN_KEY_BYTES, SigningKey,
};
pub use auth::Caller;
pub use client::Client;
pub use extract::{ApiPath, ApiQuery, PageQuery};
pub use json::ApiJson;
pub use openapi::{BEARER_SCHEME, OPENAPI_PATH};
pub use problem::{ApiError, PROBLEM_JSON, Problem, status_of};
pub use router::{REQUEST_ID, openapi, router};
pub use state::AppState;
pub use ws::{BEARER_PROTOCOL_PREFIX, PROTOCOL, TICKET_TTL, Tickets, WsCaller};

/// How the HTTP front behaves. [`HttpConfig::new`] takes the one thing without a default,
/// the access-token keys; every other field has a default and is public:
///
/// ```
/// # use secrecy::SecretBox;
/// # use vibebox_http::{AccessTokens, HttpConfig, SigningKey};
/// let key = SigningKey::new("k1", SecretBox::new(Box::new(vec![7u8; 32])))?;
/// let config = HttpConfig {
///     allowed_origins: vec!["https://app.example.com".into()],
///     ..HttpConfig::new(AccessTokens::new("vibebox", "vibebox-api", key))
/// };
/// # let _ = config;
/// # Ok::<(), vibebox_core::error::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct HttpConfig {
    /// Issues and verifies access tokens (the signing keys).
    pub tokens: std::sync::Arc<AccessTokens>,
    /// The largest request body accepted, in bytes (default 1 MiB); larger is 413.
    pub max_body_bytes: usize,
    /// Origins browsers may call the API and open WebSockets from (exact
    /// `scheme://host[:port]`; default none: same-origin pages and clients that send no
    /// `Origin` work, other sites' pages do not). Drives both CORS and the WebSocket Origin
    /// check.
    pub allowed_origins: Vec<String>,
    /// Cancel it when the server shuts down: open sockets close with 1001 (going away).
    pub shutdown: tokio_util::sync::CancellationToken,
}

impl HttpConfig {
    /// The defaults, signing access tokens with `tokens`.
    pub fn new(tokens: AccessTokens) -> Self {
        Self {
            tokens: std::sync::Arc::new(tokens),
            max_body_bytes: 1024 * 1024,
            allowed_origins: Vec::new(),
            shutdown: tokio_util::sync::CancellationToken::new(),
        }
    }
}
