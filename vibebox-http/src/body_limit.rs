//! The request body limit ([`HttpConfig::max_body_bytes`](crate::HttpConfig)), for every
//! route but file upload, which streams its body into the environment and is held to the
//! service's own, larger cap instead (see [`routes::files`](crate::routes::files)).

use axum::body::Body;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use tower::{ServiceBuilder, ServiceExt};
use tower_http::body::Limited;
use tower_http::limit::RequestBodyLimitLayer;

use crate::routes::files;

/// Applies tower-http's [`RequestBodyLimitLayer`] of `max` bytes, unless the request is an
/// upload.
pub(crate) async fn limit(State(max): State<usize>, request: Request, next: Next) -> Response {
    if files::is_upload(&request) {
        return next.run(request).await;
    }
    let limited = ServiceBuilder::new()
        .layer(RequestBodyLimitLayer::new(max))
        .map_request(|r: Request<Limited<Body>>| r.map(Body::new))
        .service(next);
    match limited.oneshot(request).await {
        Ok(response) => response.map(Body::new),
        Err(never) => match never {},
    }
}
