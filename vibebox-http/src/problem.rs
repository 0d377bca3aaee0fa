//! Errors as `application/problem+json` (RFC 9457), as DESIGN.md §6 specifies: `{type, title,
//! status, detail, code, field?}`. Internal details never reach the client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vibebox_core::error::{Error, ErrorKind};

/// The media type of error bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

/// A problem document.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Problem {
    /// A URI naming the kind of problem: `urn:vibebox:problem:<code>`.
    #[serde(rename = "type")]
    pub type_uri: String,
    /// A short summary of the kind (the status's reason phrase).
    pub title: String,
    /// The HTTP status.
    pub status: u16,
    /// What went wrong this time, safe to show.
    pub detail: String,
    /// The stable error code (`not_found`, `invalid_input`, …).
    pub code: String,
    /// The field a validation or uniqueness error names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub field: Option<String>,
    /// On server errors (5xx): the id under which the server logged the error in full (the
    /// request's `x-request-id`), to quote to the operator.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub correlation_id: Option<String>,
}

impl Problem {
    /// A problem with the given status, code and detail.
    pub fn new(status: StatusCode, code: &str, detail: impl Into<String>) -> Self {
        Self {
            type_uri: format!("urn:vibebox:problem:{code}"),
            title: status.canonical_reason().unwrap_or("Error").to_string(),
            status: status.as_u16(),
            detail: detail.into(),
            code: code.to_string(),
            field: None,
            correlation_id: None,
        }
    }

    /// The same problem naming a field.
    pub fn with_field(mut self, field: impl Into<String>) -> Self {
        self.field = Some(field.into());
        self
    }

    /// The status as a [`StatusCode`].
    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
    }
}

impl IntoResponse for Problem {
    /// The problem as `application/problem+json`; a server error without a correlation id
    /// gets the request's (so a client can always quote one).
    fn into_response(mut self) -> Response {
        if self.status >= 500 && self.correlation_id.is_none() {
            self.correlation_id = Some(correlation_id());
        }
        let status = self.status_code();
        let body = serde_json::to_vec(&self).unwrap_or_default();
        let mut response = (status, body).into_response();
        response
            .headers_mut()
            .insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

/// The status each error kind maps to.
pub fn status_of(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::NotFound => StatusCode::NOT_FOUND,
        ErrorKind::AlreadyExists | ErrorKind::Conflict => StatusCode::CONFLICT,
        ErrorKind::InvalidInput => StatusCode::UNPROCESSABLE_ENTITY,
        ErrorKind::PermissionDenied => StatusCode::FORBIDDEN,
        ErrorKind::Unauthenticated => StatusCode::UNAUTHORIZED,
        ErrorKind::QuotaExceeded | ErrorKind::RateLimited => StatusCode::TOO_MANY_REQUESTS,
        ErrorKind::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        ErrorKind::Timeout => StatusCode::GATEWAY_TIMEOUT,
        ErrorKind::Unsupported => StatusCode::NOT_IMPLEMENTED,
        _ => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// An error from the service, answered as a problem.
#[derive(Debug)]
pub struct ApiError(pub Error);

impl From<Error> for ApiError {
    fn from(e: Error) -> Self {
        Self(e)
    }
}

/// Reports `e` (logged in full under the request's correlation id) and answers what the
/// client may be told: VibeBox's message, never a backend's text.
impl From<&Error> for Problem {
    fn from(e: &Error) -> Self {
        let public = e.report(correlation_id());
        let problem = Problem::new(status_of(public.kind), public.kind.code(), public.message);
        // A refusal says all there is; a server error's id finds what it does not say.
        let server_error = problem.status >= 500;
        let problem = Problem {
            correlation_id: server_error.then_some(public.correlation_id),
            ..problem
        };
        match public.field {
            Some(field) => problem.with_field(field),
            None => problem,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem::from(&self.0);
        let mut response = problem.into_response();
        if let Error::RateLimited { retry_after } = &self.0 {
            let secs = retry_after.as_secs().max(1).to_string();
            if let Ok(value) = HeaderValue::from_str(&secs) {
                response.headers_mut().insert(header::RETRY_AFTER, value);
            }
        }
        response
    }
}

tokio::task_local! {
    /// The `x-request-id` of the request being handled, set by [`correlate`].
    static REQUEST_ID: String;
}

/// The correlation id of an error reported now: the request's id inside a request, a fresh
/// one elsewhere (a WebSocket's task, a proxy's connection).
pub(crate) fn correlation_id() -> String {
    REQUEST_ID
        .try_with(String::clone)
        .unwrap_or_else(|_| vibebox_core::error::new_correlation_id())
}

/// Makes the request's `x-request-id` the correlation id of the errors its handler reports.
pub(crate) async fn correlate(
    request: axum::extract::Request,
    next: axum::middleware::Next,
) -> Response {
    let id = request
        .headers()
        .get(crate::router::REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    match id {
        Some(id) => REQUEST_ID.scope(id, next.run(request)).await,
        None => next.run(request).await,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn every_kind_has_the_status_design_section_6_names() {
        let cases = [
            (Error::invalid("email", "must contain @"), 422),
            (Error::not_found("environment"), 404),
            (Error::already_exists("team", "slug"), 409),
            (Error::LastAdmin, 409),
            (
                Error::PermissionDenied {
                    action: "start environment",
                },
                403,
            ),
            (Error::Unauthenticated, 401),
            (
                Error::QuotaExceeded {
                    what: "running environments per user",
                    limit: 10,
                },
                429,
            ),
            (Error::unavailable("store", "down", None), 503),
            (Error::internal("boom", None), 500),
        ];
        for (e, status) in cases {
            assert_eq!(Problem::from(&e).status, status, "{e}");
        }
    }

    #[test]
    fn validation_problems_name_the_field() {
        let p = Problem::from(&Error::invalid("ports[0].host_port", "too low"));
        assert_eq!(p.field.as_deref(), Some("ports[0].host_port"));
        assert_eq!(p.code, "invalid_input");
        assert_eq!(p.type_uri, "urn:vibebox:problem:invalid_input");
        assert_eq!(p.title, "Unprocessable Entity");
    }

    #[test]
    fn internal_errors_hide_their_message() -> TestResult {
        let p = Problem::from(&Error::internal(
            "SELECT * FROM users failed at 0xdead",
            None,
        ));
        assert_eq!(p.detail, "an internal error occurred");
        assert!(!serde_json::to_string(&p)?.contains("SELECT"));
        assert!(p.correlation_id.is_some());
        Ok(())
    }
}
