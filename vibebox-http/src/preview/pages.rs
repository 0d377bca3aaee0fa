//! The pages a preview host answers with when it cannot show the app: plain HTML, never
//! cached, saying what is wrong and what to do.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use vibebox_core::error::{Error, ErrorKind};

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

fn page(status: StatusCode, title: &str, detail: &str) -> Response {
    let body = format!(
        "<!doctype html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>{title}</title>\
         <meta name=\"viewport\" content=\"width=device-width\"></head>\
         <body style=\"font-family: system-ui, sans-serif; max-width: 40rem; margin: 4rem auto; padding: 0 1rem\">\
         <h1>{title}</h1><p>{detail}</p><p><small>VibeBox preview · {code}</small></p></body></html>\n",
        title = escape(title),
        detail = escape(detail),
        code = status.as_u16(),
    );
    let mut response = (status, body).into_response();
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    response
}

/// 404: the address names nothing the caller may see.
pub(crate) fn not_found() -> Response {
    page(
        StatusCode::NOT_FOUND,
        "No preview here",
        "This address does not name an app you can open.",
    )
}

/// 401: a credential is needed.
pub(crate) fn sign_in() -> Response {
    let mut response = page(
        StatusCode::UNAUTHORIZED,
        "Sign in to open this preview",
        "Open this app from VibeBox (its preview link signs you in), or send an \
         Authorization: Bearer header with a VibeBox token or API key.",
    );
    response.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Bearer realm=\"vibebox-preview\""),
    );
    response
}

/// 502: the app did not answer. `detail` is VibeBox's text, never a library's.
pub(crate) fn bad_gateway(detail: &str) -> Response {
    page(StatusCode::BAD_GATEWAY, "The app is not answering", detail)
}

/// The page for a core error while deciding or connecting.
pub(crate) fn for_error(e: &Error) -> Response {
    match e.kind() {
        ErrorKind::Unauthenticated => sign_in(),
        ErrorKind::NotFound | ErrorKind::PermissionDenied | ErrorKind::InvalidInput => not_found(),
        ErrorKind::Conflict | ErrorKind::Timeout => bad_gateway(&e.report_new().to_string()),
        ErrorKind::QuotaExceeded | ErrorKind::RateLimited => page(
            StatusCode::TOO_MANY_REQUESTS,
            "Too many connections",
            "Too many previews and tunnels are open right now; try again shortly.",
        ),
        _ => {
            let public = e.report_new();
            page(
                StatusCode::SERVICE_UNAVAILABLE,
                "Preview unavailable",
                &format!(
                    "VibeBox cannot reach this app right now; try again shortly (error id {}).",
                    public.correlation_id
                ),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pages_escape_what_they_show() {
        assert_eq!(
            escape("<script>alert('x') & \"y\"</script>"),
            "&lt;script&gt;alert(&#39;x&#39;) &amp; &quot;y&quot;&lt;/script&gt;"
        );
    }
}
