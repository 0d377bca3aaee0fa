//! VibeBox's HTTP front (DESIGN.md §6) on axum: REST under `/api/v1`, errors as
//! `application/problem+json`, JWT access tokens, API keys and OAuth sign-in (GitHub, Google),
//! WebSockets for status, logs and terminals, rate limits, CORS and request ids. Handlers stay
//! thin; every rule lives in `vibebox-core`. Browsers may keep their refresh token in an
//! `HttpOnly` cookie through `/api/v1/auth/session` instead of handling it in script. With the
//! `console` feature (and `HttpConfig::console` set) it also serves the web console at `/`
//! (see the `console` module).
//!
//! ```no_run
//! # use std::sync::Arc;
//! # use secrecy::SecretBox;
//! # use vibebox_http::{AccessTokens, HttpConfig, SigningKey};
//! # async fn serve(vibebox: Arc<vibebox_core::Vibebox>) -> Result<(), Box<dyn std::error::Error>> {
//! let key = SigningKey::new("k1", SecretBox::new(Box::new(vec![7u8; 32])))?;
//! let app = vibebox_http::router(vibebox, HttpConfig::new(AccessTokens::new("vibebox", "vibebox-api", key)));
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
//! // No Nagle delay: small WebSocket frames (a terminal's keystrokes) go out at once.
//! let listener = axum::serve::ListenerExt::tap_io(listener, |tcp| {
//!     let _ = tcp.set_nodelay(true);
//! });
//! // The peer address drives the per-address rate limits and sign-in throttling.
//! axum::serve(listener, app.into_make_service_with_connect_info::<std::net::SocketAddr>()).await?;
//! # Ok(())
//! # }
//! ```
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
mod body_limit;
mod client;
pub mod client_ip;
#[cfg(feature = "console")]
pub mod console;
mod csrf;
mod extract;
mod health;
mod json;
pub mod oauth;
mod openapi;
mod origin;
pub mod preview;
mod problem;
mod rate_limit;
mod router;
mod routes;
mod session_cookie;
mod state;
mod ws;

pub use access_token::{
    ACCESS_TTL, ACCESS_TYPE, ALGORITHM, AccessTokens, Claims, IssuedAccessToken, LEEWAY,
    MIN_KEY_BYTES, SigningKey,
};
pub use auth::Caller;
pub use client::Client;
#[cfg(feature = "console")]
pub use console::ConsoleConfig;
pub use csrf::CSRF_HEADER;
pub use extract::{ApiPath, ApiQuery, PageQuery};
pub use json::ApiJson;
pub use openapi::{BEARER_SCHEME, OPENAPI_PATH};
pub use preview::PreviewConfig;
pub use problem::{ApiError, PROBLEM_JSON, Problem, status_of};
pub use rate_limit::{Limiter, RateLimit, RateLimiters};
pub use router::{REQUEST_ID, openapi, router};
pub use routes::ssh_gateway::{SshGateway, SshHostKey};
pub use session_cookie::{SESSION_COOKIE, SESSION_COOKIE_PATH};
pub use state::AppState;
pub use ws::{
    API_KEY_RECHECK_INTERVAL, BEARER_PROTOCOL_PREFIX, OpenSockets, PROTOCOL, SOCKET_CLOSE_TIMEOUT,
    SOCKET_QUEUE_BYTES, SOCKET_RECHECK_INTERVAL, SOCKET_WRITE_TIMEOUT, TICKET_TTL, Tickets,
    WsCaller,
};

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
    /// Origins besides the server's own that browsers may call the API and open WebSockets
    /// from (exact `scheme://host[:port]`; default none). The server's own origin (an
    /// `Origin` whose `host[:port]` equals the request's `Host`, as for the console it
    /// serves) and clients that send no `Origin` always work; other sites' pages, and preview
    /// hosts, do not. Drives CORS, the WebSocket Origin check and the Origin check of the
    /// cookie session routes. Behind a proxy that rewrites `Host`, list the public origin here.
    pub allowed_origins: Vec<String>,
    /// Cancel it when the server shuts down: open sockets close with 1001 (going away), each
    /// within [`SOCKET_CLOSE_TIMEOUT`] also when its client does not read.
    pub shutdown: tokio_util::sync::CancellationToken,
    /// The open WebSockets. `axum::serve` does not wait for upgraded connections: after
    /// cancelling `shutdown`, await [`OpenSockets::all_closed`] (with a timeout) before the
    /// process exits, so that every socket gets its 1001.
    pub sockets: OpenSockets,
    /// The OAuth providers people may sign in with (`/auth/oauth/{name}`); default none.
    pub oauth_providers: Vec<oauth::OAuthProvider>,
    /// Every API request, per client address (default 6,000 a minute, bursts of 500);
    /// `None` turns it off. Health checks are never limited.
    pub per_ip_rate_limit: Option<RateLimit>,
    /// Sign-in, registration, refresh and OAuth requests, per client address (default 60 a
    /// minute, bursts of 20), on top of `per_ip_rate_limit` and of core's sign-in throttle.
    pub auth_rate_limit: Option<RateLimit>,
    /// Every authenticated request, per user, whichever token or key it comes with (default
    /// 3,000 a minute, bursts of 300).
    pub per_user_rate_limit: Option<RateLimit>,
    /// Preview URLs of apps inside environments (default: on, at `*.vibebox.localhost`);
    /// `None` turns them off.
    pub preview: Option<preview::PreviewConfig>,
    /// Whether the session cookie (`/auth/session`, OAuth sign-ins that return to a page) is
    /// `Secure`, sent over https only (default false; set it when browsers reach the server
    /// over https, directly or through a proxy).
    pub secure_cookies: bool,
    /// The SSH gateway run beside the router (`vibebox-ssh`), as `GET /api/v1/ssh` shows it
    /// to clients (default `None`: 404, no gateway).
    pub ssh: Option<routes::ssh_gateway::SshGateway>,
    /// The proxies whose `X-Forwarded-For` is believed (default none: the TCP peer is the
    /// client). List the address blocks of the reverse proxies in front of the server; the
    /// client is then the nearest address in the header that is not one of them
    /// ([`client_ip`]). Rate limits, sign-in records and the preview proxy
    /// use that address.
    pub trusted_proxies: Vec<client_ip::Cidr>,
    /// The web console at `/` (default `None`: not served).
    #[cfg(feature = "console")]
    pub console: Option<ConsoleConfig>,
}

impl HttpConfig {
    /// The defaults, signing access tokens with `tokens`.
    pub fn new(tokens: AccessTokens) -> Self {
        Self {
            tokens: std::sync::Arc::new(tokens),
            max_body_bytes: 1024 * 1024,
            allowed_origins: Vec::new(),
            shutdown: tokio_util::sync::CancellationToken::new(),
            sockets: OpenSockets::new(),
            oauth_providers: Vec::new(),
            per_ip_rate_limit: RateLimit::per_minute(6000, 500),
            auth_rate_limit: RateLimit::per_minute(60, 20),
            per_user_rate_limit: RateLimit::per_minute(3000, 300),
            preview: Some(preview::PreviewConfig::default()),
            secure_cookies: false,
            ssh: None,
            trusted_proxies: Vec::new(),
            #[cfg(feature = "console")]
            console: None,
        }
    }
}
