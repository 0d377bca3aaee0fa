//! The error type every VibeBox crate maps into, and the portable [`ErrorKind`].

mod public;

use std::borrow::Cow;

pub use public::{PublicError, new_correlation_id};

/// A boxed error used as the source of adapter failures.
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// The result type of VibeBox operations.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// What went wrong, independent of the backend that failed.
///
/// The HTTP front maps each kind to one status code; embedders match on it to decide whether to
/// retry, report or give up.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The resource does not exist, or the actor may not know that it does.
    NotFound,
    /// A uniqueness rule would be broken.
    AlreadyExists,
    /// A stale version, a refused state transition, or removing a team's last admin.
    Conflict,
    /// A value breaks a validation rule; the error names the field.
    InvalidInput,
    /// The actor may see the resource but its role or scope does not allow the action.
    PermissionDenied,
    /// Credentials are missing, wrong, expired or revoked.
    Unauthenticated,
    /// A quota (such as running environments per user) would be exceeded.
    QuotaExceeded,
    /// Too many attempts (sign-ins); retry later.
    RateLimited,
    /// The store or the container engine cannot be reached.
    Unavailable,
    /// The operation did not finish in time.
    Timeout,
    /// The backend cannot do this (for example, a store scheme whose feature is off).
    Unsupported,
    /// A bug or an unexpected backend answer.
    Internal,
}

impl ErrorKind {
    /// A short, stable, snake_case code for the kind (used as the problem `code` over HTTP).
    pub fn code(self) -> &'static str {
        match self {
            ErrorKind::NotFound => "not_found",
            ErrorKind::AlreadyExists => "already_exists",
            ErrorKind::Conflict => "conflict",
            ErrorKind::InvalidInput => "invalid_input",
            ErrorKind::PermissionDenied => "permission_denied",
            ErrorKind::Unauthenticated => "unauthenticated",
            ErrorKind::QuotaExceeded => "quota_exceeded",
            ErrorKind::RateLimited => "rate_limited",
            ErrorKind::Unavailable => "unavailable",
            ErrorKind::Timeout => "timeout",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Internal => "internal",
        }
    }
}

impl std::fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.code())
    }
}

/// A VibeBox error. Every variant has a [`kind`](Error::kind); messages are lowercase and never
/// contain secrets.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// A value breaks a rule.
    #[error("invalid {field}: {reason}")]
    InvalidInput {
        /// The offending field, as named in the API (`email`, `ports[0].host_port`, …).
        field: Cow<'static, str>,
        /// What the rule requires.
        reason: Cow<'static, str>,
    },
    /// The resource does not exist or is not visible to the actor.
    #[error("{resource} not found")]
    NotFound {
        /// The kind of resource (`environment`, `team`, …).
        resource: &'static str,
    },
    /// A uniqueness rule would be broken.
    #[error("{resource} already exists: {field} is taken")]
    AlreadyExists {
        /// The kind of resource.
        resource: &'static str,
        /// The field (or fields) whose value is taken.
        field: Cow<'static, str>,
    },
    /// A compare-and-set lost: the row changed since it was read.
    #[error("{resource} was changed concurrently; reload and retry")]
    StaleVersion {
        /// The kind of resource.
        resource: &'static str,
    },
    /// A state machine refused a transition.
    #[error("{machine} cannot go from {from} to {to}")]
    InvalidTransition {
        /// Which machine (`environment`, `session`, `extension`).
        machine: &'static str,
        /// The current state.
        from: String,
        /// The requested state.
        to: String,
    },
    /// The change would leave a team without an admin.
    #[error("a team must keep at least one admin")]
    LastAdmin,
    /// Another conflict, described in the message.
    #[error("{0}")]
    Conflict(Cow<'static, str>),
    /// The actor's role or key scope does not allow the action.
    #[error("permission denied: {action}")]
    PermissionDenied {
        /// The refused action.
        action: &'static str,
    },
    /// Credentials are missing, wrong, expired or revoked.
    #[error("authentication failed")]
    Unauthenticated,
    /// A quota would be exceeded.
    #[error("quota exceeded: {what} (limit {limit})")]
    QuotaExceeded {
        /// What is counted.
        what: &'static str,
        /// The configured limit.
        limit: u64,
    },
    /// Too many attempts; the caller may retry after the given time.
    #[error("too many attempts; retry in {} s", retry_after.as_secs().max(1))]
    RateLimited {
        /// How long to wait.
        retry_after: std::time::Duration,
    },
    /// A backend cannot be reached.
    #[error("{what} is unavailable: {message}")]
    Unavailable {
        /// Which backend (`store`, `container engine`); the only part a client is told.
        what: &'static str,
        /// What happened, for the operator's log (it may quote the backend).
        message: String,
        /// The underlying error, for logs.
        #[source]
        source: Option<BoxError>,
    },
    /// The operation did not finish in time.
    #[error("{0} timed out")]
    Timeout(Cow<'static, str>),
    /// The operation is not supported by this backend or build.
    #[error("unsupported: {0}")]
    Unsupported(Cow<'static, str>),
    /// The container runtime failed; the message is meant for the user.
    #[error("{message}")]
    Runtime {
        /// The kind of failure (usually `Internal`, `NotFound` or `Unavailable`).
        kind: ErrorKind,
        /// A message a user can act on, written by VibeBox: never the engine's own text, which
        /// belongs in `source`.
        message: String,
        /// The underlying error (the engine's answer), for logs.
        #[source]
        source: Option<BoxError>,
    },
    /// An unexpected failure. The message is for logs; the HTTP front does not show it.
    #[error("internal error: {message}")]
    Internal {
        /// What failed.
        message: String,
        /// The underlying error, for logs.
        #[source]
        source: Option<BoxError>,
    },
}

impl Error {
    /// The portable kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidInput { .. } => ErrorKind::InvalidInput,
            Error::NotFound { .. } => ErrorKind::NotFound,
            Error::AlreadyExists { .. } => ErrorKind::AlreadyExists,
            Error::StaleVersion { .. }
            | Error::InvalidTransition { .. }
            | Error::LastAdmin
            | Error::Conflict(_) => ErrorKind::Conflict,
            Error::PermissionDenied { .. } => ErrorKind::PermissionDenied,
            Error::Unauthenticated => ErrorKind::Unauthenticated,
            Error::QuotaExceeded { .. } => ErrorKind::QuotaExceeded,
            Error::RateLimited { .. } => ErrorKind::RateLimited,
            Error::Unavailable { .. } => ErrorKind::Unavailable,
            Error::Timeout(_) => ErrorKind::Timeout,
            Error::Unsupported(_) => ErrorKind::Unsupported,
            Error::Runtime { kind, .. } => *kind,
            Error::Internal { .. } => ErrorKind::Internal,
        }
    }

    /// The field an `InvalidInput` or `AlreadyExists` error names, if any.
    pub fn field(&self) -> Option<&str> {
        match self {
            Error::InvalidInput { field, .. } | Error::AlreadyExists { field, .. } => Some(field),
            _ => None,
        }
    }

    /// An `InvalidInput` error for `field`.
    pub fn invalid(
        field: impl Into<Cow<'static, str>>,
        reason: impl Into<Cow<'static, str>>,
    ) -> Self {
        Error::InvalidInput {
            field: field.into(),
            reason: reason.into(),
        }
    }

    /// A `NotFound` error for a kind of resource.
    pub fn not_found(resource: &'static str) -> Self {
        Error::NotFound { resource }
    }

    /// An `AlreadyExists` error naming the taken field.
    pub fn already_exists(resource: &'static str, field: impl Into<Cow<'static, str>>) -> Self {
        Error::AlreadyExists {
            resource,
            field: field.into(),
        }
    }

    /// An `Unavailable` error for a backend.
    pub fn unavailable(
        what: &'static str,
        message: impl Into<String>,
        source: impl Into<Option<BoxError>>,
    ) -> Self {
        Error::Unavailable {
            what,
            message: message.into(),
            source: source.into(),
        }
    }

    /// An `Internal` error.
    pub fn internal(message: impl Into<String>, source: impl Into<Option<BoxError>>) -> Self {
        Error::Internal {
            message: message.into(),
            source: source.into(),
        }
    }

    /// A runtime error of the given kind with a message meant for the user.
    pub fn runtime(
        kind: ErrorKind,
        message: impl Into<String>,
        source: impl Into<Option<BoxError>>,
    ) -> Self {
        Error::Runtime {
            kind,
            message: message.into(),
            source: source.into(),
        }
    }

    /// Prefixes an `InvalidInput` field with a parent path (`ports[0]` + `host_port`).
    pub fn within(self, parent: &str) -> Self {
        match self {
            Error::InvalidInput { field, reason } => Error::InvalidInput {
                field: Cow::Owned(format!("{parent}.{field}")),
                reason,
            },
            other => other,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn invalid_input_names_the_field_in_message_and_accessor() {
        let e = Error::invalid("email", "must contain @");
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.field(), Some("email"));
        assert_eq!(e.to_string(), "invalid email: must contain @");
    }

    #[test]
    fn conflicts_share_the_conflict_kind() {
        for e in [
            Error::LastAdmin,
            Error::StaleVersion {
                resource: "environment",
            },
            Error::InvalidTransition {
                machine: "environment",
                from: "stopped".into(),
                to: "running".into(),
            },
        ] {
            assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
        }
    }

    #[test]
    fn within_prefixes_the_field_path() {
        let e = Error::invalid("host_port", "too low").within("ports[0]");
        assert_eq!(e.field(), Some("ports[0].host_port"));
    }
}
