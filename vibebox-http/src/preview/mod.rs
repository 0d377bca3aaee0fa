//! Preview URLs (DESIGN.md §9): requests for `<port>--<env>--<project>.<preview-domain>` are
//! proxied to that port inside the environment, streaming both ways, WebSocket upgrades
//! included.
//!
//! - Who may open a preview is the port's share level, decided in core
//!   ([`Vibebox::authorize_preview`](vibebox_core::Vibebox::authorize_preview)) for every
//!   request.
//! - Browsers get in with a one-time ticket from `POST /api/v1/environments/{id}/ports/{port}/open`:
//!   visiting the URL it returns sets a host-only, HttpOnly, SameSite=Lax cookie (Secure
//!   under TLS) for that one preview host, and redirects to the path. Scripts may send
//!   `Authorization: Bearer <token or API key>` instead.
//! - VibeBox's own credentials (its cookie, an `Authorization` it accepted) never reach the
//!   app; `X-Forwarded-For`, `-Proto` and `-Host` are set.
//! - Every host under the preview domain is handled here and never by the API, and the API
//!   never reads the preview cookie: apps and the API never share an origin or a credential.
//! - An app that is down gets a 502 page at once, never a hang.

mod credentials;
mod pages;
mod pool;
mod proxy;

use std::time::Duration;

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;
use vibebox_core::service::PreviewTarget;

pub(crate) use credentials::PreviewCredentials;
pub(crate) use pool::UpstreamPool;

use crate::state::AppState;

/// The path on a preview host that trades a ticket for the preview cookie.
pub const AUTH_PATH: &str = "/__vibebox/auth";
/// The preview cookie's name.
pub const COOKIE: &str = "vibebox_preview";
/// How long a ticket from the open route is valid.
pub const TICKET_TTL: Duration = Duration::from_secs(60);

/// How preview URLs are served.
#[derive(Clone, Debug)]
pub struct PreviewConfig {
    /// The wildcard domain: previews live at `<label>.<domain>` (default `vibebox.localhost`,
    /// which browsers and curl resolve to loopback). Point a wildcard DNS record at the server
    /// to use a real one.
    pub domain: String,
    /// Whether previews are served over TLS (by this server or a proxy in front): URLs use
    /// `https` and the cookie is `Secure` (default false).
    pub secure: bool,
    /// How long a preview cookie stays valid (default 8 hours).
    pub session_ttl: Duration,
}

impl Default for PreviewConfig {
    fn default() -> Self {
        Self {
            domain: "vibebox.localhost".to_string(),
            secure: false,
            session_ttl: Duration::from_secs(8 * 60 * 60),
        }
    }
}

impl PreviewConfig {
    /// The URL scheme previews are served with.
    pub(crate) fn scheme(&self) -> &'static str {
        if self.secure { "https" } else { "http" }
    }
}

/// What the request's host says.
enum Host {
    /// Not under the preview domain: the API's.
    Api,
    /// A preview host, with the host as sent (lowercase, port kept) and what it names.
    Preview(String, PreviewTarget),
    /// Under the preview domain but naming nothing.
    Invalid,
}

fn classify(request: &Request, domain: &str) -> Host {
    let raw = request
        .headers()
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| request.uri().authority().map(|a| a.to_string()));
    let Some(raw) = raw else {
        return Host::Api;
    };
    let host = raw.to_ascii_lowercase();
    let name = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host.as_str(), |(name, _)| name)
        .trim_end_matches('.');
    let suffix = format!(".{}", domain.to_ascii_lowercase());
    let Some(label) = name.strip_suffix(&suffix) else {
        return Host::Api;
    };
    if label.contains('.') {
        return Host::Invalid;
    }
    match PreviewTarget::parse(label) {
        Some(target) => Host::Preview(host, target),
        None => Host::Invalid,
    }
}

/// The outermost router layer: preview hosts go to the proxy, everything else to the API.
pub(crate) async fn route_by_host(
    State(s): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(config) = s.config.preview.clone() else {
        return next.run(request).await;
    };
    match classify(&request, &config.domain) {
        Host::Api => next.run(request).await,
        Host::Invalid => pages::not_found(),
        Host::Preview(host, target) => proxy::handle(s, &config, host, target, request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn host_of(h: &str) -> Host {
        let request = Request::builder()
            .uri("/")
            .header(header::HOST, h)
            .body(axum::body::Body::empty())
            .unwrap_or_default();
        classify(&request, "vibebox.localhost")
    }

    #[test]
    fn hosts_under_the_preview_domain_are_never_the_apis() {
        assert!(matches!(host_of("127.0.0.1:3000"), Host::Api));
        assert!(matches!(host_of("vibebox.localhost:3000"), Host::Api));
        assert!(matches!(host_of("api.example.com"), Host::Api));
        assert!(matches!(
            host_of("8080--web--shop.vibebox.localhost:3000"),
            Host::Preview(h, t) if h == "8080--web--shop.vibebox.localhost:3000" && t.port() == 8080
        ));
        assert!(matches!(
            host_of("8080--WEB--Shop.VIBEBOX.localhost"),
            Host::Preview(..)
        ));
        assert!(matches!(
            host_of("nonsense.vibebox.localhost"),
            Host::Invalid
        ));
        assert!(matches!(
            host_of("a.8080--web--shop.vibebox.localhost"),
            Host::Invalid
        ));
    }
}
