//! [`ClientError`]: one error type for every call, with a portable [`ErrorKind`] and, for
//! answers of the server, the fields of its `application/problem+json` document.
//!
//! No variant ever holds a token, an API key, a password or a variable's value: messages are
//! built from statuses, codes, the server's `detail` (which never echoes credentials) and
//! transport errors.

use std::time::Duration;

/// The result of every client call.
pub type Result<T, E = ClientError> = std::result::Result<T, E>;

/// What kind of failure an error is, whatever its details.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 404: it does not exist, or belongs to another tenant.
    NotFound,
    /// 403: the caller's role or the API key's scopes do not allow it.
    Forbidden,
    /// 409: a duplicate, a stale version, a refused transition, the last admin of a team.
    Conflict,
    /// 400, 411, 413, 415 or 422: the request breaks a rule (`field` names it when known).
    Invalid,
    /// 401, or a refresh that failed: sign in again.
    Unauthenticated,
    /// 429: a rate limit or the running-environment quota (see
    /// [`ClientError::retry_after`]).
    RateLimited,
    /// 503 or 504: the server's store or container engine is unavailable or too slow; retry
    /// later.
    Unavailable,
    /// Another 5xx (or an unexpected status).
    Server,
    /// The server could not be reached, or the connection failed mid-way.
    Transport,
    /// The server's answer could not be read as the expected type.
    Decode,
    /// A WebSocket failed after it was opened, or sent a frame outside the protocol.
    WebSocket,
    /// The base URL (or a URL built from it) is not usable.
    InvalidUrl,
}

impl ErrorKind {
    /// The kind of an HTTP error status.
    pub fn from_status(status: u16) -> Self {
        match status {
            401 => Self::Unauthenticated,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            409 => Self::Conflict,
            400 | 405 | 411 | 413 | 415 | 422 => Self::Invalid,
            429 => Self::RateLimited,
            503 | 504 => Self::Unavailable,
            _ => Self::Server,
        }
    }
}

/// An error answer of the server, as its problem document (RFC 9457) says it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ApiProblem {
    /// The HTTP status.
    pub status: u16,
    /// The stable error code (`not_found`, `invalid_input`, `conflict`, …).
    pub code: String,
    /// The field a validation or uniqueness error names.
    pub field: Option<String>,
    /// What went wrong, safe to show.
    pub detail: String,
    /// The kind's summary (the status's reason phrase).
    pub title: String,
    /// `Retry-After`, when the server sent one (429).
    pub retry_after: Option<Duration>,
    /// The id under which the server logged the error in full: what to quote to its operator.
    pub correlation_id: Option<String>,
}

/// Any failure of a client call.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClientError {
    /// The server answered with an error.
    #[error("{}", api_message(.0))]
    Api(Box<ApiProblem>),
    /// The access token was refused and could not be refreshed: sign in again.
    #[error("not signed in: {reason}; sign in again")]
    SignInAgain {
        /// Why (never the token).
        reason: String,
    },
    /// The server could not be reached, or the connection failed.
    #[error("{message}")]
    Transport {
        /// What failed, with the server's address.
        message: String,
        /// The underlying error.
        #[source]
        source: Option<Box<dyn std::error::Error + Send + Sync>>,
    },
    /// An answer could not be decoded.
    #[error("could not read the server's answer to {what}: {reason}")]
    Decode {
        /// The request.
        what: String,
        /// Why.
        reason: String,
    },
    /// A WebSocket failed or broke its protocol.
    #[error("websocket {what}: {reason}")]
    WebSocket {
        /// The socket (its path).
        what: String,
        /// Why.
        reason: String,
    },
    /// A URL is not usable.
    #[error("invalid url: {0}")]
    InvalidUrl(String),
    /// The caller asked for something the client cannot send (a header value with a line
    /// break, a file longer than announced, …).
    #[error("invalid request: {0}")]
    InvalidRequest(String),
}

fn api_message(p: &ApiProblem) -> String {
    let field = match &p.field {
        Some(f) => format!(", field {f}"),
        None => String::new(),
    };
    // A server error's id is worth quoting; a refusal's is not.
    let id = match &p.correlation_id {
        Some(id) if p.status >= 500 => format!(", error id {id}"),
        _ => String::new(),
    };
    format!("{} ({} {}{field}{id})", p.detail, p.status, p.code)
}

impl ClientError {
    /// What kind of failure this is.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Self::Api(p) => ErrorKind::from_status(p.status),
            Self::SignInAgain { .. } => ErrorKind::Unauthenticated,
            Self::Transport { .. } => ErrorKind::Transport,
            Self::Decode { .. } => ErrorKind::Decode,
            Self::WebSocket { .. } => ErrorKind::WebSocket,
            Self::InvalidUrl(_) => ErrorKind::InvalidUrl,
            Self::InvalidRequest(_) => ErrorKind::Invalid,
        }
    }

    /// The problem document, for errors the server answered.
    pub fn problem(&self) -> Option<&ApiProblem> {
        match self {
            Self::Api(p) => Some(p),
            _ => None,
        }
    }

    /// The HTTP status, for errors the server answered.
    pub fn status(&self) -> Option<u16> {
        self.problem().map(|p| p.status)
    }

    /// The server's stable error code (`not_found`, `invalid_input`, …).
    pub fn code(&self) -> Option<&str> {
        self.problem().map(|p| p.code.as_str())
    }

    /// The field the server named.
    pub fn field(&self) -> Option<&str> {
        self.problem().and_then(|p| p.field.as_deref())
    }

    /// The server's explanation.
    pub fn detail(&self) -> Option<&str> {
        self.problem().map(|p| p.detail.as_str())
    }

    /// How long to wait before retrying, when the server said (429).
    pub fn retry_after(&self) -> Option<Duration> {
        self.problem().and_then(|p| p.retry_after)
    }

    pub(crate) fn transport(
        message: impl Into<String>,
        source: impl std::error::Error + Send + Sync + 'static,
    ) -> Self {
        Self::Transport {
            message: message.into(),
            source: Some(Box::new(source)),
        }
    }

    pub(crate) fn decode(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::Decode {
            what: what.into(),
            reason: reason.to_string(),
        }
    }

    pub(crate) fn websocket(what: impl Into<String>, reason: impl std::fmt::Display) -> Self {
        Self::WebSocket {
            what: what.into(),
            reason: reason.to_string(),
        }
    }
}

/// The innermost message of an error chain (`connection refused` rather than
/// `client error (Connect)`), joined to the outermost one.
pub(crate) fn chain_message(e: &(dyn std::error::Error + 'static)) -> String {
    let mut innermost = e;
    while let Some(next) = innermost.source() {
        innermost = next;
    }
    let outer = e.to_string();
    let inner = innermost.to_string();
    if outer == inner || outer.ends_with(&inner) {
        outer
    } else {
        format!("{outer}: {inner}")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_api_error_displays_detail_status_code_and_field_on_one_line() {
        let e = ClientError::Api(Box::new(ApiProblem {
            status: 422,
            code: "invalid_input".into(),
            field: Some("slug".into()),
            detail: "invalid slug: must be lowercase".into(),
            title: "Unprocessable Entity".into(),
            retry_after: None,
            correlation_id: Some("0190-refused".into()),
        }));
        assert_eq!(
            e.to_string(),
            "invalid slug: must be lowercase (422 invalid_input, field slug)"
        );
        assert_eq!(e.kind(), ErrorKind::Invalid);
        assert_eq!(e.field(), Some("slug"));
    }

    #[test]
    fn a_server_error_displays_its_correlation_id() {
        let e = ClientError::Api(Box::new(ApiProblem {
            status: 503,
            code: "unavailable".into(),
            field: None,
            detail: "store is unavailable".into(),
            title: "Service Unavailable".into(),
            retry_after: None,
            correlation_id: Some("0190-abc".into()),
        }));
        assert_eq!(
            e.to_string(),
            "store is unavailable (503 unavailable, error id 0190-abc)"
        );
    }

    #[test]
    fn statuses_map_to_kinds() {
        for (status, kind) in [
            (401, ErrorKind::Unauthenticated),
            (403, ErrorKind::Forbidden),
            (404, ErrorKind::NotFound),
            (409, ErrorKind::Conflict),
            (413, ErrorKind::Invalid),
            (422, ErrorKind::Invalid),
            (429, ErrorKind::RateLimited),
            (503, ErrorKind::Unavailable),
            (500, ErrorKind::Server),
        ] {
            assert_eq!(ErrorKind::from_status(status), kind, "{status}");
        }
    }
}
