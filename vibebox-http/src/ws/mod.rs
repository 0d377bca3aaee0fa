//! WebSockets (DESIGN.md §6): `/api/v1/ws/environments/{id}/status`, `/logs`, `/terminal`,
//! `/exec` and `/ports/{port}/tunnel`, and `/api/v1/ws/projects/{id}/status`.
//!
//! Browsers cannot set headers on a WebSocket, so the token travels as the subprotocol
//! `bearer.<token>` beside `vibebox.v1`, or as a one-time ticket from `POST /ws-tickets`
//! (valid 30 s) in `?ticket=`; a long-lived token never goes in the URL. Other clients may
//! send `Authorization: Bearer <token>` as on every other route. The `Origin` header, when
//! present, must be the server's own (its `host[:port]` equals the request's `Host`, as for
//! the console this server serves) or one of
//! [`HttpConfig::allowed_origins`](crate::HttpConfig); any other origin, a preview host's
//! included, is refused with 403 (cross-site WebSocket hijacking).
//!
//! Every socket is opened through [`upgrade`]: it is counted in
//! [`HttpConfig::sockets`](crate::HttpConfig) and every frame it sends goes through one
//! bounded [`Socket`] (see the `socket` module for the bounds: a slow consumer is closed with
//! 1008 `slow consumer`, a shutdown closes every socket with 1001, neither waits forever on a
//! client that does not read).

pub(crate) mod exec;
pub(crate) mod logs;
mod open_sockets;
pub(crate) mod project_status;
mod revoked;
mod socket;
pub(crate) mod status;
pub(crate) mod terminal;
pub(crate) mod tickets;
pub(crate) mod tunnel;

pub use open_sockets::OpenSockets;
pub use revoked::{API_KEY_RECHECK_INTERVAL, SOCKET_RECHECK_INTERVAL};
pub use socket::{SOCKET_CLOSE_TIMEOUT, SOCKET_QUEUE_BYTES, SOCKET_WRITE_TIMEOUT};
pub use tickets::{TICKET_TTL, Tickets};

pub(crate) use socket::{Close, SLOW_CONSUMER, Socket, TrySendError};

use axum::extract::FromRequestParts;
use axum::extract::ws::WebSocketUpgrade;
use axum::http::request::Parts;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use vibebox_core::error::{ErrorKind, Result as CoreResult};
use vibebox_core::rbac::Actor;

use crate::auth::unauthenticated;
use crate::origin;
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// The subprotocol every VibeBox socket speaks.
pub const PROTOCOL: &str = "vibebox.v1";
/// The prefix of the subprotocol that carries a bearer token.
pub const BEARER_PROTOCOL_PREFIX: &str = "bearer.";

/// The caller of a WebSocket upgrade: authenticated by subprotocol or ticket, from the
/// server's own origin or an allowed one.
#[derive(Debug, Clone)]
pub struct WsCaller(pub Actor);

impl FromRequestParts<AppState> for WsCaller {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        if origin::check(parts, &state.config.allowed_origins) == origin::Verdict::Refused {
            return Err(Problem::new(
                StatusCode::FORBIDDEN,
                "origin_not_allowed",
                "this origin may not open sockets",
            )
            .into_response());
        }
        let ticket = parts.uri.query().and_then(|q| {
            q.split('&')
                .find_map(|kv| kv.strip_prefix("ticket="))
                .filter(|t| !t.is_empty())
                .map(str::to_string)
        });
        // Non-browser clients may send `Authorization: Bearer` as on every other route.
        let token =
            bearer_protocol(parts).or_else(|| crate::auth::bearer(parts).map(str::to_string));
        let actor: CoreResult<Actor> = match (ticket, token) {
            (Some(ticket), _) => redeem(state, &ticket).await,
            (None, Some(token)) => crate::auth::actor_for_token(state, &token).await,
            (None, None) => {
                return Err(unauthenticated(
                    "send the subprotocol bearer.<token>, ?ticket= or Authorization: Bearer <token>",
                ));
            }
        };
        match actor {
            Ok(a) => Ok(WsCaller(a)),
            Err(e) if e.kind() == ErrorKind::Unauthenticated => {
                Err(unauthenticated("the token or ticket is invalid or expired"))
            }
            Err(e) => Err(ApiError(e).into_response()),
        }
    }
}

/// Redeems a ticket, checking that its user may still sign in (the account may have been
/// disabled since the ticket was issued) and counting the request against the user's limit.
async fn redeem(state: &AppState, ticket: &str) -> CoreResult<Actor> {
    let actor = state.tickets.redeem(ticket)?;
    if let Some(user) = actor.user_id() {
        state.vibebox.actor_for_user(user).await?;
        state.limiters.check_user(user)?;
    }
    Ok(actor)
}

/// A WebSocket upgrade; a request that is not one is answered with a problem (400, or 426
/// when the connection cannot be upgraded) rather than axum's plain-text rejection. Handlers
/// take it after the caller and the path, so a missing token is 401 whatever the request.
#[derive(Debug)]
pub struct Upgrade(pub WebSocketUpgrade);

impl<S: Send + Sync> FromRequestParts<S> for Upgrade {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, Response> {
        WebSocketUpgrade::from_request_parts(parts, state)
            .await
            .map(Upgrade)
            .map_err(|rejection| {
                let status = rejection.status();
                let code = if status == StatusCode::UPGRADE_REQUIRED {
                    "upgrade_required"
                } else {
                    "not_a_websocket_upgrade"
                };
                Problem::new(status, code, rejection.body_text()).into_response()
            })
    }
}

fn bearer_protocol(parts: &Parts) -> Option<String> {
    parts
        .headers
        .get_all(header::SEC_WEBSOCKET_PROTOCOL)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(str::trim)
        .find_map(|p| p.strip_prefix(BEARER_PROTOCOL_PREFIX))
        .map(str::to_string)
}

/// Finishes an upgrade to the `vibebox.v1` subprotocol. The socket counts in
/// [`HttpConfig::sockets`](crate::HttpConfig) from now (a socket upgraded while the server
/// shuts down is waited for too) until `handler` and the socket's writer are done.
pub(crate) fn upgrade<F, Fut>(s: AppState, ws: WebSocketUpgrade, handler: F) -> Response
where
    F: FnOnce(Socket, AppState) -> Fut + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let guard = s.config.sockets.enter();
    let ws = ws
        .protocols([PROTOCOL])
        .read_buffer_size(socket::READ_BUFFER_BYTES);
    ws.on_upgrade(move |ws| async move {
        let socket = Socket::open(
            ws,
            s.config.shutdown.clone(),
            s.config.sockets.clone(),
            guard.clone(),
        );
        handler(socket, s).await;
        drop(guard);
    })
}

/// The error frame of `e`: `{"type":"error","code","message","field"?}` from its problem
/// (internal details stay in the log).
pub(crate) fn error_frame(e: &vibebox_core::error::Error) -> serde_json::Value {
    let problem = Problem::from(e);
    if problem.status >= 500 {
        tracing::error!(error = %e, "a WebSocket failed");
    }
    let mut frame =
        serde_json::json!({"type": "error", "code": problem.code, "message": problem.detail});
    if let Some(field) = problem.field {
        frame["field"] = serde_json::json!(field);
    }
    frame
}

/// The write a socket handler has in flight (keystrokes to a terminal, stdin to an exec), as
/// a `select!` branch guarded by `if writing.is_some()`: resolves with the write's result and
/// leaves `None` behind, so the handler can read the socket again.
pub(crate) async fn in_flight<T>(
    writing: &mut Option<futures::future::BoxFuture<'static, T>>,
) -> T {
    let result = match writing.as_mut() {
        Some(write) => write.await,
        None => std::future::pending().await,
    };
    *writing = None;
    result
}
