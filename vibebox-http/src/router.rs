//! The router: every route of DESIGN.md §6 under `/api/v1`, health checks at the root, and the
//! cross-cutting layers (request ids, tracing, body limit, panics as 500 problems).

use std::sync::Arc;

use axum::Router;
use axum::http::{HeaderName, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{delete, get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::TraceLayer;
use vibebox_core::Vibebox;

use crate::access_token::AccessTokens;
use crate::problem::Problem;
use crate::routes::environments;
use crate::state::AppState;
use crate::{HttpConfig, health, routes};

/// The header carrying each request's id (set when the client sends none, echoed back).
pub const REQUEST_ID: &str = "x-request-id";

/// The HTTP front of `vibebox`. Mount it as is, or nest it under an embedder's own router.
pub fn router(vibebox: Arc<Vibebox>, config: HttpConfig, tokens: AccessTokens) -> Router {
    let max_body = config.max_body_bytes;
    let state = AppState {
        vibebox,
        tokens: Arc::new(tokens),
        config: Arc::new(config),
    };
    let api = Router::new()
        .route("/auth/login", post(routes::auth::login))
        .route("/auth/refresh", post(routes::auth::refresh))
        .route("/auth/logout", post(routes::auth::logout))
        .route("/users/me", get(routes::users::me))
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
        .fallback(not_found);
    let request_id = HeaderName::from_static(REQUEST_ID);
    Router::new()
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .nest("/api/v1", api)
        .fallback(not_found)
        .with_state(state)
        .layer(RequestBodyLimitLayer::new(max_body))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(TraceLayer::new_for_http())
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
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
