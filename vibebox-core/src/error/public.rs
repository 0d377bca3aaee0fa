//! What a client is told about an error: one shape for HTTP, WebSocket and SSH clients.
//!
//! A client learns the [`ErrorKind`], a message VibeBox wrote, the field a validation error
//! names, and a correlation id. Everything else (the engine's or the database's own text, file
//! paths, the chain of sources) goes to the operator's log under that id, so a user who quotes
//! the id lets the operator find the cause.

use std::borrow::Cow;

use super::{Error, ErrorKind};

/// The client-facing view of an [`Error`], made by [`Error::report`].
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct PublicError {
    /// The portable kind.
    pub kind: ErrorKind,
    /// A message written by VibeBox; never a backend's text.
    pub message: String,
    /// The field a validation or uniqueness error names.
    pub field: Option<String>,
    /// The id under which the whole error was logged.
    pub correlation_id: String,
}

/// `message (error id …)`: how a text-only client (an SSH session) shows it.
impl std::fmt::Display for PublicError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (error id {})", self.message, self.correlation_id)
    }
}

impl Error {
    /// [`report`](Error::report)s the error under a fresh correlation id: for clients outside
    /// an HTTP request (SSH sessions, WebSocket tasks).
    pub fn report_new(&self) -> PublicError {
        self.report(new_correlation_id())
    }
}

/// A fresh correlation id (a UUID v7, so ids sort by time in the log).
pub fn new_correlation_id() -> String {
    uuid::Uuid::now_v7().to_string()
}

impl Error {
    /// The message a client may see: VibeBox's own words for this error.
    ///
    /// Backend failures are named by kind and backend only (`store is unavailable`,
    /// `an internal error occurred`); their details are for [`report`](Error::report)'s log.
    /// A runtime error shows its message, which adapters write in VibeBox's words and never
    /// fill with the engine's own text (that is the error's source).
    pub fn public_message(&self) -> Cow<'_, str> {
        match self {
            Error::Internal { .. } => Cow::Borrowed("an internal error occurred"),
            Error::Unavailable { what, .. } => Cow::Owned(format!("{what} is unavailable")),
            // A runtime error's message is VibeBox's by contract; the engine's text is its
            // source.
            other => Cow::Owned(other.to_string()),
        }
    }

    /// Logs the whole error (its message and every source) under `correlation_id` and returns
    /// what the client may be told. Server-side failures log at `error`, refusals at `debug`.
    pub fn report(&self, correlation_id: impl Into<String>) -> PublicError {
        let correlation_id = correlation_id.into();
        let kind = self.kind();
        let chain = source_chain(self);
        if is_server_side(kind) {
            tracing::error!(%correlation_id, %kind, error = %self, sources = %chain, "request failed");
        } else {
            tracing::debug!(%correlation_id, %kind, error = %self, sources = %chain, "request refused");
        }
        PublicError {
            kind,
            message: self.public_message().into_owned(),
            field: self.field().map(str::to_string),
            correlation_id,
        }
    }
}

/// Whether a kind is a failure on VibeBox's side (logged as an error) rather than a refusal.
fn is_server_side(kind: ErrorKind) -> bool {
    matches!(
        kind,
        ErrorKind::Internal | ErrorKind::Unavailable | ErrorKind::Timeout
    )
}

/// Every source of `e`, joined with `: `.
fn source_chain(e: &Error) -> String {
    let mut chain = String::new();
    let mut next = std::error::Error::source(e);
    while let Some(source) = next {
        if !chain.is_empty() {
            chain.push_str(": ");
        }
        chain.push_str(&source.to_string());
        next = source.source();
    }
    chain
}

#[cfg(test)]
mod tests {
    use super::*;

    const CANARY: &str = "canary-7f3a /var/lib/docker sqlx SELECT";

    fn canary_source() -> Option<crate::error::BoxError> {
        Some(CANARY.into())
    }

    #[test]
    fn backend_text_never_reaches_the_public_message() {
        let errors = [
            Error::internal(CANARY, canary_source()),
            Error::unavailable("store", CANARY, canary_source()),
            Error::unavailable("container engine", CANARY, canary_source()),
            Error::runtime(
                ErrorKind::Internal,
                "the engine call failed",
                canary_source(),
            ),
            Error::runtime(
                ErrorKind::Conflict,
                "the container is not running",
                canary_source(),
            ),
        ];
        for e in errors {
            let public = e.report("id-1");
            assert!(!public.message.contains("canary"), "{public:?}");
            assert_eq!(public.kind, e.kind());
            assert_eq!(public.correlation_id, "id-1");
        }
    }

    #[test]
    fn refusals_keep_their_message_and_field() {
        let public = Error::invalid("email", "must contain @").report(new_correlation_id());
        assert_eq!(public.message, "invalid email: must contain @");
        assert_eq!(public.field.as_deref(), Some("email"));
        assert_eq!(public.kind, ErrorKind::InvalidInput);
    }

    #[test]
    fn unavailable_names_only_the_backend() {
        let e = Error::unavailable("store", "connection refused at 10.0.0.3:5432", None);
        assert_eq!(e.public_message(), "store is unavailable");
    }

    #[test]
    fn correlation_ids_are_distinct() {
        assert_ne!(new_correlation_id(), new_correlation_id());
    }
}
