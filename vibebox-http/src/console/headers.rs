//! The headers of every console answer: a Content-Security-Policy that lets the page load
//! only its own files (no inline script or style, no framing, no other hosts), and the usual
//! companions.

use axum::http::{HeaderName, HeaderValue, header};
use axum::response::Response;

/// The console's Content-Security-Policy.
pub const CONTENT_SECURITY_POLICY: &str = "default-src 'none'; script-src 'self'; \
     style-src 'self'; img-src 'self' data:; font-src 'self'; connect-src 'self'; \
     manifest-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'";

/// `Cache-Control` of versioned files: their URL changes with their contents.
pub(super) const IMMUTABLE: &str = "public, max-age=31536000, immutable";

/// `response` with the console's security headers.
pub(super) fn secured(mut response: Response) -> Response {
    let fixed: [(HeaderName, &'static str); 5] = [
        (header::CONTENT_SECURITY_POLICY, CONTENT_SECURITY_POLICY),
        (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        (header::REFERRER_POLICY, "no-referrer"),
        (header::X_FRAME_OPTIONS, "DENY"),
        (
            HeaderName::from_static("cross-origin-opener-policy"),
            "same-origin",
        ),
    ];
    let headers = response.headers_mut();
    for (name, value) in fixed {
        headers.insert(name, HeaderValue::from_static(value));
    }
    response
}
