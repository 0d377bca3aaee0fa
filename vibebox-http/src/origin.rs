//! Which browser origins may act with a caller's credentials: the server's own origin (the
//! console it serves) and [`HttpConfig::allowed_origins`](crate::HttpConfig). WebSocket
//! upgrades and the cookie session routes ([`csrf`](crate::csrf)) both ask [`check`].
//!
//! "Same origin" compares the `Origin`'s `host[:port]` with the request's `Host` (HTTP/2:
//! `:authority`), ASCII case-insensitively and with the scheme's default port dropped. A
//! preview host (`<port>--<env>--<project>.<preview domain>`) is another host, so it is never
//! the API's origin. Behind a proxy that rewrites `Host`, list the public origin in
//! `allowed_origins`.

use axum::http::header;
use axum::http::request::Parts;

/// What a request's `Origin` header says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No `Origin` header: not a browser's cross-origin request (a CLI, a script).
    Absent,
    /// The server's own origin, or an allowed one.
    Allowed,
    /// Any other origin (`null` included).
    Refused,
}

/// Judges the request's `Origin` against its `Host` and the `allowed` origins.
pub(crate) fn check(parts: &Parts, allowed: &[String]) -> Verdict {
    let Some(origin) = parts.headers.get(header::ORIGIN) else {
        return Verdict::Absent;
    };
    let Ok(origin) = origin.to_str() else {
        return Verdict::Refused;
    };
    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|h| h.to_str().ok())
        .map(str::to_string)
        .or_else(|| parts.uri.authority().map(|a| a.to_string()));
    let same = host.is_some_and(|h| same_origin(origin, &h));
    if same || allowed.iter().any(|a| a.eq_ignore_ascii_case(origin)) {
        Verdict::Allowed
    } else {
        Verdict::Refused
    }
}

/// Whether `origin` (`scheme://host[:port]`, as browsers send it) names the server reached
/// at `host` (a `Host` header: `host[:port]`).
pub(crate) fn same_origin(origin: &str, host: &str) -> bool {
    let lower = origin.to_ascii_lowercase();
    let (authority, default_port) = if let Some(rest) = lower.strip_prefix("http://") {
        (rest, ":80")
    } else if let Some(rest) = lower.strip_prefix("https://") {
        (rest, ":443")
    } else {
        return false;
    };
    let host = host.to_ascii_lowercase();
    if authority.is_empty() || authority.contains(['/', '@', '?', '#']) {
        return false;
    }
    let strip = |a: &str| a.strip_suffix(default_port).map(str::to_string);
    let authority = strip(authority).unwrap_or_else(|| authority.to_string());
    let host = strip(&host).unwrap_or(host);
    authority == host
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_host_and_port_is_the_same_origin_whatever_the_case() {
        assert!(same_origin("http://127.0.0.1:3000", "127.0.0.1:3000"));
        assert!(same_origin(
            "HTTP://VibeBox.Example.com",
            "vibebox.example.com"
        ));
        assert!(same_origin(
            "https://vibebox.example.com",
            "vibebox.example.com:443"
        ));
        assert!(same_origin("http://example.com:80", "example.com"));
    }

    #[test]
    fn another_host_port_or_scheme_is_another_origin() {
        assert!(!same_origin("http://127.0.0.1:3001", "127.0.0.1:3000"));
        assert!(!same_origin(
            "http://evil.example.net",
            "vibebox.example.com"
        ));
        assert!(!same_origin(
            "http://8080--web--shop.vibebox.localhost:3000",
            "127.0.0.1:3000"
        ));
        assert!(!same_origin(
            "http://8080--web--shop.vibebox.localhost:3000",
            "vibebox.localhost:3000"
        ));
        assert!(!same_origin("null", "127.0.0.1:3000"));
        assert!(!same_origin("file://127.0.0.1:3000", "127.0.0.1:3000"));
        assert!(!same_origin("https://example.com", "example.com:80"));
        assert!(!same_origin("http://a@127.0.0.1:3000", "127.0.0.1:3000"));
    }
}
