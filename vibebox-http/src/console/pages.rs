//! Which requests answer the page, and the page itself. The console routes in the browser
//! (history API), so a deep link such as `/projects/x` must load `index.html` too.

use axum::body::Bytes;
use axum::extract::Request;
use axum::http::{Method, header};

/// The prefixes that are never pages: the API, the files, the health checks.
const NOT_PAGES: &[&str] = &["/api", "/assets", "/healthz", "/readyz"];

/// Whether a request no route took answers the page: a `GET` or `HEAD` outside
/// [`NOT_PAGES`] that accepts HTML or whose last segment has no dot (`/projects/x`, not
/// `/favicon.ico`). Anything else stays a 404 problem.
pub(super) fn is_page(request: &Request) -> bool {
    let method = request.method();
    if method != Method::GET && method != Method::HEAD {
        return false;
    }
    let path = request.uri().path();
    let reserved = NOT_PAGES.iter().any(|p| {
        path.strip_prefix(p)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
    });
    if reserved {
        return false;
    }
    let accepts_html = request
        .headers()
        .get_all(header::ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .any(|v| v.contains("text/html"));
    let last = path.rsplit('/').next().unwrap_or_default();
    accepts_html || !last.contains('.')
}

/// `index.html` with `{{assets}}` set to the files' base URL and `{{terminal}}` to
/// `available` or `missing` (whether the xterm.js files are there).
pub(super) fn render(index: &[u8], version: &str, terminal: bool) -> Bytes {
    let page = String::from_utf8_lossy(index)
        .replace("{{assets}}", &format!("/assets/{version}"))
        .replace(
            "{{terminal}}",
            if terminal { "available" } else { "missing" },
        );
    Bytes::from(page)
}

#[cfg(test)]
mod tests {
    use axum::body::Body;

    use super::*;

    fn request(method: &str, path: &str, accept: Option<&str>) -> Request {
        let mut r = Request::builder().method(method).uri(path);
        if let Some(a) = accept {
            r = r.header(header::ACCEPT, a);
        }
        r.body(Body::empty()).unwrap_or_default()
    }

    #[test]
    fn deep_links_are_pages_and_the_api_files_and_health_are_not() {
        assert!(is_page(&request("GET", "/", None)));
        assert!(is_page(&request("GET", "/projects/x", None)));
        assert!(is_page(&request("HEAD", "/projects/x", None)));
        assert!(is_page(&request("GET", "/a.b/c", None)));
        assert!(is_page(&request("GET", "/v1.2", Some("text/html,*/*"))));
        assert!(is_page(&request("GET", "/apiary", None)));
        assert!(!is_page(&request("GET", "/favicon.ico", None)));
        assert!(!is_page(&request("POST", "/projects/x", Some("text/html"))));
        for reserved in ["/api", "/api/v2/x", "/assets/x", "/healthz/x", "/readyz"] {
            assert!(
                !is_page(&request("GET", reserved, Some("text/html"))),
                "{reserved}"
            );
        }
    }

    #[test]
    fn the_placeholders_are_filled() {
        let page = render(
            b"<script src=\"{{assets}}/js/main.js\"></script><meta content=\"{{terminal}}\">",
            "0123456789ab",
            false,
        );
        assert_eq!(
            &page[..],
            b"<script src=\"/assets/0123456789ab/js/main.js\"></script><meta content=\"missing\">"
        );
    }
}
