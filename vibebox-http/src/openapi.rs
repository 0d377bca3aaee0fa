//! The OpenAPI 3.1 document (served at `GET /api/v1/openapi.json`).
//!
//! Routes are registered through utoipa-axum's `OpenApiRouter` and `routes!`, so every route is
//! in the document by construction (see [`router`](crate::router)); this module holds what the
//! handlers share: the document's header, the bearer security scheme and the problem responses.

use std::sync::Arc;

use axum::Extension;
use axum::http::{HeaderValue, header};
use axum::response::{IntoResponse, Response};
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{OpenApi as Document, Server};
use utoipa::{IntoResponses, Modify, OpenApi};

use crate::problem::Problem;

/// Where the document is served.
pub const OPENAPI_PATH: &str = "/api/v1/openapi.json";

/// The name of the bearer security scheme (`Authorization: Bearer <JWT or vbx_ key>`).
pub const BEARER_SCHEME: &str = "bearer";

/// The document's header; the paths come from the router.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "VibeBox API",
        description = "Multi-tenant Docker development environments. Errors are \
                       `application/problem+json` (RFC 9457). Authenticated routes take \
                       `Authorization: Bearer <token>`, the token being a JWT access token from \
                       `/api/v1/auth/login` or an API key (`vbx_…`).",
        license(name = "MIT OR Apache-2.0")
    ),
    modifiers(&Security),
    components(schemas(Problem)),
    tags(
        (name = "health", description = "Liveness and readiness"),
        (name = "auth", description = "Registration, sign-in and tokens"),
        (name = "users", description = "The caller's account, API keys, devices; account administration"),
        (name = "teams", description = "Teams and members"),
        (name = "projects", description = "Projects"),
        (name = "environments", description = "Environments, ports, variables and commands"),
        (name = "files", description = "Files inside environments: upload, download and listing"),
        (name = "sessions", description = "Shell, tmux and VS Code server sessions"),
        (name = "extensions", description = "The extension catalog and installed extensions"),
        (name = "logs", description = "Stored container logs and the audit log"),
        (name = "websockets", description = "Live status, logs, terminals and commands over WebSocket"),
        (name = "ssh", description = "The SSH gateway: address and host keys"),
        (name = "meta", description = "This document"),
    )
)]
pub(crate) struct ApiDoc;

/// Adds the bearer scheme and the server (paths in the document are absolute: `/healthz`,
/// `/api/v1/...`).
struct Security;

impl Modify for Security {
    fn modify(&self, openapi: &mut Document) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            BEARER_SCHEME,
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT access token or vbx_ API key")
                    .build(),
            ),
        );
        openapi.servers = Some(vec![Server::new("/")]);
    }
}

/// The document as served, rendered once when the router is built.
#[derive(Clone, Debug)]
pub(crate) struct SpecJson(pub Arc<[u8]>);

impl SpecJson {
    pub(crate) fn render(doc: &Document) -> Self {
        // Serializing a document of strings and maps cannot fail; an empty body would show it.
        Self(serde_json::to_vec(doc).unwrap_or_default().into())
    }
}

/// The OpenAPI 3.1 document of this API.
#[utoipa::path(
    get,
    path = "/openapi.json",
    tag = "meta",
    responses(
        (status = 200, description = "The OpenAPI 3.1 document", content_type = "application/json", body = Object),
    )
)]
pub(crate) async fn openapi_json(Extension(spec): Extension<SpecJson>) -> Response {
    let mut response = axum::body::Bytes::from_owner(spec.0).into_response();
    response.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    response
}

// The response sets below are documentation only (`IntoResponses`): handlers answer with
// `ApiError`, `Problem` and the JSON rejections, which produce exactly these documents.

/// What every authenticated route can answer besides its own outcomes.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub(crate) enum Authenticated {
    /// No credentials, or a token that is invalid, expired or revoked.
    #[response(status = 401, content_type = "application/problem+json")]
    Unauthorized(Problem),
    /// A rate limit was hit (see `Retry-After` when present), or the running-environment quota.
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Problem),
    /// The store or the container engine is unavailable.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// What every public route can answer besides its own outcomes.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub(crate) enum Public {
    /// A rate limit was hit (see `Retry-After`).
    #[response(status = 429, content_type = "application/problem+json")]
    TooManyRequests(Problem),
    /// The store is unavailable.
    #[response(status = 503, content_type = "application/problem+json")]
    Unavailable(Problem),
}

/// Routes that take a JSON body.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub(crate) enum JsonBody {
    /// The body is not valid JSON.
    #[response(status = 400, content_type = "application/problem+json")]
    BadRequest(Problem),
    /// The body is larger than the configured limit.
    #[response(status = 413, content_type = "application/problem+json")]
    TooLarge(Problem),
    /// The body is not `application/json`.
    #[response(status = 415, content_type = "application/problem+json")]
    UnsupportedMediaType(Problem),
    /// A value breaks a rule, or the JSON has the wrong shape; `field` names it.
    #[response(status = 422, content_type = "application/problem+json")]
    Invalid(Problem),
}

/// A value (body, query or path) breaks a rule; `field` names it.
#[derive(IntoResponses)]
#[response(status = 422, content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct Invalid(Problem);

/// It does not exist, or belongs to another tenant.
#[derive(IntoResponses)]
#[response(status = 404, content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct NotFound(Problem);

/// The caller's role, or the API key's scopes, do not allow it.
#[derive(IntoResponses)]
#[response(status = 403, content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct Forbidden(Problem);

/// A duplicate, a stale version, a refused state transition or the last admin of a team.
#[derive(IntoResponses)]
#[response(status = 409, content_type = "application/problem+json")]
#[allow(dead_code)]
pub(crate) struct Conflict(Problem);

/// A WebSocket route called without a valid upgrade.
#[derive(IntoResponses)]
#[allow(dead_code)]
pub(crate) enum WebSocketErrors {
    /// The request is not a WebSocket upgrade (`Connection: upgrade`, `Upgrade: websocket`,
    /// `Sec-WebSocket-Version: 13` and `Sec-WebSocket-Key` are required).
    #[response(status = 400, content_type = "application/problem+json")]
    NotAnUpgrade(Problem),
    /// The origin is not allowed, or the caller may not read the environment.
    #[response(status = 403, content_type = "application/problem+json")]
    Forbidden(Problem),
    /// The connection cannot be upgraded.
    #[response(status = 426, content_type = "application/problem+json")]
    UpgradeRequired(Problem),
}
