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
    fn into_response(self) -> Response {
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

impl From<&Error> for Problem {
    fn from(e: &Error) -> Self {
        let kind = e.kind();
        let status = status_of(kind);
        let detail = match e {
            // The message is for logs only. (Runtime errors carry messages meant for users.)
            Error::Internal { .. } => "an internal error occurred".to_string(),
            _ => e.to_string(),
        };
        let problem = Problem::new(status, kind.code(), detail);
        match e.field() {
            Some(field) => problem.with_field(field),
            None => problem,
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let problem = Problem::from(&self.0);
        if problem.status >= 500 {
            tracing::error!(error = %self.0, source = ?std::error::Error::source(&self.0), "request failed");
        } else {
            tracing::debug!(error = %self.0, "request refused");
        }
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
        Ok(())
    }
}
