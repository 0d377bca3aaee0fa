//! The router: every route of DESIGN.md §6 under `/api/v1`, health checks at the root, and the
//! cross-cutting layers (request ids, tracing, body limit, panics as 500 problems).

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{any, delete, get, patch, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use vibebox_core::Vibebox;

use crate::oauth::ProviderClient;
use crate::problem::Problem;
use crate::rate_limit::{self, RateLimiters};
use crate::routes::{environments, extensions, teams, users};
use crate::state::AppState;
use crate::{HttpConfig, health, routes, ws};

/// The header carrying each request's id (set when the client sends none, echoed back).
pub const REQUEST_ID: &str = "x-request-id";

/// The HTTP front of `vibebox`. Mount it as is, or nest it under an embedder's own router.
pub fn router(vibebox: Arc<Vibebox>, config: HttpConfig) -> Router {
    let max_body = config.max_body_bytes;
    let cors = cors_layer(&config.allowed_origins);
    let state = AppState {
        vibebox,
        tickets: Arc::new(ws::Tickets::default()),
        limiters: Arc::new(RateLimiters::new(
            config.per_ip_rate_limit,
            config.auth_rate_limit,
            config.per_user_rate_limit,
        )),
        oauth_client: ProviderClient::new(),
        config: Arc::new(config),
    };
    let api = Router::new()
        .route("/ws-tickets", post(ws::create_ticket))
        .route("/ws/environments/{id}/status", any(ws::status))
        .route("/ws/environments/{id}/logs", any(ws::logs))
        .route("/ws/environments/{id}/terminal", any(ws::terminal))
        .route("/auth/register", post(routes::auth::register))
        .route("/auth/login", post(routes::auth::login))
        .route("/auth/refresh", post(routes::auth::refresh))
        .route("/auth/logout", post(routes::auth::logout))
        .route("/auth/oauth/{provider}", get(routes::oauth::start))
        .route(
            "/auth/oauth/{provider}/callback",
            get(routes::oauth::callback),
        )
        .route("/users", get(users::list))
        .route("/users/{id}", patch(users::update))
        .route("/users/me", get(users::me).patch(users::update_me))
        .route(
            "/users/me/api-keys",
            get(users::api_keys).post(users::create_api_key),
        )
        .route("/users/me/api-keys/{id}", delete(users::delete_api_key))
        .route("/users/me/sessions", get(users::devices))
        .route("/users/me/sessions/{id}", delete(users::revoke_device))
        .route("/teams", get(teams::list).post(teams::create))
        .route(
            "/teams/{id}",
            get(teams::get).patch(teams::update).delete(teams::delete),
        )
        .route(
            "/teams/{id}/members",
            get(teams::members).post(teams::add_member),
        )
        .route(
            "/teams/{id}/members/{user_id}",
            patch(teams::update_member).delete(teams::remove_member),
        )
        .route("/teams/{id}/audit", get(teams::audit))
        .route("/audit", get(routes::logs::audit))
        .route(
            "/projects",
            get(routes::projects::list).post(routes::projects::create),
        )
        .route(
            "/projects/{id}",
            get(routes::projects::get)
                .patch(routes::projects::update)
                .delete(routes::projects::delete),
        )
        .route(
            "/environments",
            get(environments::list).post(environments::create),
        )
        .route(
            "/environments/{id}",
            get(environments::get)
                .patch(environments::update)
                .delete(environments::delete),
        )
        .route("/environments/{id}/start", post(environments::start))
        .route("/environments/{id}/stop", post(environments::stop))
        .route(
            "/environments/{id}/ports",
            get(environments::list_ports).post(environments::add_port),
        )
        .route(
            "/environments/{id}/ports/{port_id}",
            delete(environments::remove_port),
        )
        .route(
            "/environments/{id}/variables",
            get(environments::list_variables).post(environments::set_variable),
        )
        .route(
            "/environments/{id}/variables/{key}",
            delete(environments::delete_variable),
        )
        .route(
            "/environments/{id}/sessions",
            get(routes::sessions::list).post(routes::sessions::create),
        )
        .route("/sessions/{id}", delete(routes::sessions::terminate))
        .route(
            "/extensions",
            get(extensions::catalog).post(extensions::add),
        )
        .route(
            "/environments/{id}/extensions",
            get(extensions::list).post(extensions::install),
        )
        .route(
            "/environments/{id}/extensions/{ext_id}",
            delete(extensions::uninstall),
        )
        .route("/environments/{id}/logs", get(routes::logs::query))
        .fallback(not_found)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::per_ip,
        ));
    let request_id = HeaderName::from_static(REQUEST_ID);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .nest("/api/v1", api)
        .fallback(not_found)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(cors)
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// CORS for the configured origins only: credentials travel in `Authorization`, never in
/// cookies, so no `Allow-Credentials`.
fn cors_layer(origins: &[String]) -> CorsLayer {
    let origins: Vec<HeaderValue> = origins
        .iter()
        .filter_map(|o| match HeaderValue::from_str(o) {
            Ok(v) => Some(v),
            Err(_) => {
                tracing::warn!(origin = %o, "ignoring an allowed origin that is not a valid header value");
                None
            }
        })
        .collect();
    CorsLayer::new()
        .allow_origin(AllowOrigin::list(origins))
        .allow_methods([Method::GET, Method::POST, Method::PATCH, Method::DELETE])
        .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
        .expose_headers([HeaderName::from_static(REQUEST_ID), header::RETRY_AFTER])
        .max_age(std::time::Duration::from_secs(600))
}

/// The span of one request: method, path and request id. Never the query string, which
/// can carry one-time credentials (a WebSocket `ticket`, an OAuth `code`).
fn request_span(request: &axum::http::Request<axum::body::Body>) -> tracing::Span {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("-");
    tracing::info_span!(
        "request",
        method = %request.method(),
        path = %request.uri().path(),
        request_id = %id,
    )
}

async fn not_found() -> Response {
    Problem::new(StatusCode::NOT_FOUND, "not_found", "no such route").into_response()
}

/// A handler that panicked: a 500 without internals; the server keeps serving.
fn panic_response(_: Box<dyn std::any::Any + Send + 'static>) -> Response {
    tracing::error!("a request handler panicked");
    Problem::new(
        StatusCode::INTERNAL_SERVER_ERROR,
        "internal",
        "an internal error occurred",
    )
    .into_response()
}
