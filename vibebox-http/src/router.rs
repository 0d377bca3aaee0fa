//! The router: every route of DESIGN.md §6 under `/api/v1`, health checks at the root, the
//! OpenAPI document, the web console when it is on, and the cross-cutting layers (request ids,
//! tracing, rate limits, body limit, CORS, `X-Content-Type-Options: nosniff`, panics as 500
//! problems).

use std::sync::Arc;

use axum::http::{HeaderName, HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::{Extension, Router};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::set_header::SetResponseHeaderLayer;
use tower_http::trace::TraceLayer;
use vibebox_core::Vibebox;

use utoipa::OpenApi;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::openapi::{ApiDoc, SpecJson};
use crate::problem::Problem;
use crate::rate_limit::{self, RateLimiters};
use crate::routes::{
    auth, environments, exec, extensions, files, logs, oauth, preview, projects, session, sessions,
    teams, users,
};
use crate::routes::{ssh_gateway, ssh_keys, suspend};
use crate::state::AppState;
use crate::{HttpConfig, health, ws};

/// The header carrying each request's id (set when the client sends none, echoed back).
pub const REQUEST_ID: &str = "x-request-id";

/// The HTTP front of `vibebox`. Mount it as is, or nest it under an embedder's own router.
///
/// The OpenAPI 3.1 document of every route is served at `GET /api/v1/openapi.json` (see
/// [`openapi`]).
pub fn router(vibebox: Arc<Vibebox>, config: HttpConfig) -> Router {
    let max_body = config.max_body_bytes;
    #[cfg(feature = "console")]
    let console = config.console.clone();
    let cors = cors_layer(&config.allowed_origins);
    let state = AppState {
        vibebox,
        tickets: Arc::new(ws::Tickets::default()),
        limiters: Arc::new(RateLimiters::new(
            config.per_ip_rate_limit,
            config.auth_rate_limit,
            config.per_user_rate_limit,
        )),
        oauth_client: Arc::default(),
        preview_credentials: Arc::default(),
        preview_pool: Arc::default(),
        config: Arc::new(config),
    };
    let (routes, doc) = documented_routes().split_for_parts();
    let spec = SpecJson::render(&doc);
    let request_id = HeaderName::from_static(REQUEST_ID);
    #[cfg(feature = "console")]
    let routes = match &console {
        Some(console) => crate::console::mount(routes, console),
        None => routes.fallback(not_found),
    };
    #[cfg(not(feature = "console"))]
    let routes = routes.fallback(not_found);
    routes
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            rate_limit::per_ip,
        ))
        .with_state(state.clone())
        .layer(Extension(spec))
        .layer(axum::middleware::from_fn_with_state(
            max_body,
            crate::body_limit::limit,
        ))
        .layer(cors)
        .layer(SetResponseHeaderLayer::if_not_present(
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ))
        // Preview hosts never reach the API (nor its body limit, CORS or rate limits): their
        // requests stream to the app.
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::preview::route_by_host,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            crate::client_ip::resolve,
        ))
        .layer(CatchPanicLayer::custom(panic_response))
        .layer(axum::middleware::from_fn(crate::problem::correlate))
        .layer(TraceLayer::new_for_http().make_span_with(request_span))
        .layer(PropagateRequestIdLayer::new(request_id.clone()))
        .layer(SetRequestIdLayer::new(request_id, MakeRequestUuid))
}

/// The OpenAPI 3.1 document of [`router`]: every route, its parameters, bodies, responses
/// (errors as `application/problem+json`) and the bearer security scheme. The same document
/// is served at `GET /api/v1/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    documented_routes().into_openapi()
}

/// Every route with its documentation: health checks at the root, the API under `/api/v1`.
/// Each `routes!` call holds the handlers of one path (utoipa-axum registers a call's method
/// router on each of its paths).
fn documented_routes() -> OpenApiRouter<AppState> {
    let api = OpenApiRouter::new()
        .routes(routes!(crate::openapi::openapi_json))
        .routes(routes!(ws::tickets::create_ticket))
        .routes(routes!(ws::status::status))
        .routes(routes!(ws::project_status::project_status))
        .routes(routes!(ws::logs::logs))
        .routes(routes!(ws::terminal::terminal))
        .routes(routes!(ws::exec::exec))
        .routes(routes!(ws::tunnel::tunnel))
        .routes(routes!(auth::register))
        .routes(routes!(auth::login))
        .routes(routes!(auth::refresh))
        .routes(routes!(auth::logout))
        .routes(routes!(session::create, session::delete))
        .routes(routes!(session::refresh))
        .routes(routes!(oauth::providers))
        .routes(routes!(oauth::start))
        .routes(routes!(oauth::callback))
        .routes(routes!(users::list))
        .routes(routes!(users::update))
        .routes(routes!(users::me, users::update_me))
        .routes(routes!(users::api_keys, users::create_api_key))
        .routes(routes!(users::delete_api_key))
        .routes(routes!(users::devices))
        .routes(routes!(users::revoke_device))
        .routes(routes!(ssh_keys::list, ssh_keys::add))
        .routes(routes!(ssh_keys::remove))
        .routes(routes!(ssh_gateway::gateway))
        .routes(routes!(teams::list, teams::create))
        .routes(routes!(teams::get, teams::update, teams::delete))
        .routes(routes!(teams::members, teams::add_member))
        .routes(routes!(teams::update_member, teams::remove_member))
        .routes(routes!(teams::audit))
        .routes(routes!(logs::audit))
        .routes(routes!(projects::list, projects::create))
        .routes(routes!(projects::get, projects::update, projects::delete))
        .routes(routes!(environments::list, environments::create))
        .routes(routes!(
            environments::get,
            environments::update,
            environments::delete
        ))
        .routes(routes!(environments::start))
        .routes(routes!(environments::stop))
        .routes(routes!(suspend::suspend))
        .routes(routes!(suspend::resume))
        .routes(routes!(environments::restart))
        .routes(routes!(environments::list_ports, environments::add_port))
        .routes(routes!(
            environments::update_port,
            environments::remove_port
        ))
        .routes(routes!(
            environments::list_variables,
            environments::set_variable
        ))
        .routes(routes!(environments::delete_variable))
        .routes(routes!(exec::exec))
        .routes(routes!(files::upload, files::download))
        .routes(routes!(files::list))
        .routes(routes!(preview::open))
        .routes(routes!(sessions::list, sessions::create))
        .routes(routes!(sessions::terminate))
        .routes(routes!(extensions::catalog, extensions::add))
        .routes(routes!(extensions::list, extensions::install))
        .routes(routes!(extensions::uninstall))
        .routes(routes!(logs::query))
        .fallback(not_found);
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(health::healthz))
        .routes(routes!(health::readyz))
        .nest("/api/v1", api)
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
        .allow_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
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

/// The answer to a request no route takes: 404 "no such route".
pub(crate) async fn not_found() -> Response {
    not_found_response()
}

/// The 404 problem of [`not_found`].
pub(crate) fn not_found_response() -> Response {
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
