//! The browser's refresh cookie: [`SESSION_COOKIE`] holds the refresh token of a sign-in made
//! through `/auth/session` (or an OAuth sign-in that returns to a page). It is `HttpOnly` (no
//! script reads it), `SameSite=Strict`, scoped to `/api/v1/auth/session` (no other route
//! receives it) and `Secure` when [`HttpConfig::secure_cookies`](crate::HttpConfig) is set.

use axum::http::{HeaderMap, HeaderValue};
use secrecy::{ExposeSecret, SecretString};
use vibebox_core::error::Error;
use vibebox_core::service::IssuedRefreshToken;

use crate::problem::ApiError;

/// The cookie's name.
pub const SESSION_COOKIE: &str = "vibebox_refresh";
/// The only path the cookie is sent to (and its sub-paths).
pub const SESSION_COOKIE_PATH: &str = "/api/v1/auth/session";

/// The `Set-Cookie` value storing `refresh` until its sign-in expires.
pub(crate) fn set(refresh: &IssuedRefreshToken, secure: bool) -> Result<HeaderValue, ApiError> {
    // The family's absolute expiry, counted from this token's creation (now).
    let max_age = (refresh.session.expires_at - refresh.session.created_at)
        .num_seconds()
        .max(0);
    value(refresh.token.expose_secret(), max_age, secure)
}

/// The `Set-Cookie` value that makes the browser forget the cookie.
pub(crate) fn clear(secure: bool) -> HeaderValue {
    HeaderValue::from_static(if secure {
        "vibebox_refresh=; Path=/api/v1/auth/session; HttpOnly; SameSite=Strict; Max-Age=0; Secure"
    } else {
        "vibebox_refresh=; Path=/api/v1/auth/session; HttpOnly; SameSite=Strict; Max-Age=0"
    })
}

/// The refresh token in the request's cookie, if any.
pub(crate) fn read(headers: &HeaderMap) -> Option<SecretString> {
    crate::oauth::cookie(headers, SESSION_COOKIE)
        .filter(|v| !v.is_empty())
        .map(|v| SecretString::from(v.to_string()))
}

fn value(token: &str, max_age: i64, secure: bool) -> Result<HeaderValue, ApiError> {
    let secure = if secure { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{SESSION_COOKIE}={token}; Path={SESSION_COOKIE_PATH}; HttpOnly; SameSite=Strict; \
         Max-Age={max_age}{secure}"
    ))
    .map_err(|_| {
        ApiError(Error::internal(
            "the session cookie is not a valid header value",
            None,
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn the_clearing_cookie_has_the_attributes_of_the_setting_one() -> TestResult {
        for secure in [false, true] {
            let set = value("", 0, secure).map_err(|e| e.0)?;
            assert_eq!(clear(secure), set);
        }
        Ok(())
    }
}
