//! Cross-site request forgery defences of the routes that act on the session cookie
//! (`/auth/session…`): a browser sends that cookie on its own, so the request must also show
//! that the server's own page made it.
//!
//! - The header [`CSRF_HEADER`]`: 1` is required. Pages cannot add a custom header to a
//!   cross-origin request without a CORS preflight, which other origins fail.
//! - `Sec-Fetch-Site: cross-site` is refused.
//! - An `Origin`, when sent, must be the server's own or an allowed one (see
//!   [`origin`](crate::origin)).

use axum::extract::FromRequestParts;
use axum::http::StatusCode;
use axum::http::request::Parts;
use axum::response::{IntoResponse, Response};

use crate::origin::{self, Verdict};
use crate::problem::Problem;
use crate::state::AppState;

/// The header the cookie session routes require, with the value `1`.
pub const CSRF_HEADER: &str = "x-vibebox-csrf";

/// A request that passed the CSRF checks; extract it before the body.
#[derive(Debug, Clone, Copy)]
pub(crate) struct CsrfChecked;

impl FromRequestParts<AppState> for CsrfChecked {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &AppState) -> Result<Self, Response> {
        match refusal(parts, &state.config.allowed_origins) {
            None => Ok(CsrfChecked),
            Some(detail) => {
                tracing::info!(detail, "cookie session request refused as cross-site");
                Err(Problem::new(StatusCode::FORBIDDEN, "csrf_failed", detail).into_response())
            }
        }
    }
}

/// Why the request may not use the session cookie, if it may not.
fn refusal(parts: &Parts, allowed: &[String]) -> Option<&'static str> {
    let header = |name: &str| parts.headers.get(name).and_then(|v| v.to_str().ok());
    if header("sec-fetch-site").is_some_and(|s| s.trim().eq_ignore_ascii_case("cross-site")) {
        return Some("cross-site requests (Sec-Fetch-Site: cross-site) may not use the session");
    }
    if header(CSRF_HEADER).map(str::trim) != Some("1") {
        return Some("send the header X-VibeBox-CSRF: 1");
    }
    if origin::check(parts, allowed) == Verdict::Refused {
        return Some("the Origin is neither this server's nor an allowed origin");
    }
    None
}
