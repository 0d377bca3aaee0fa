//! The CLI's errors: one line on stderr, a hint on the next, and an exit code a script can
//! test. The codes are documented in the README and in `vibebox --help`:
//!
//! | code | meaning |
//! |---|---|
//! | 0 | success |
//! | 1 | the operation failed (the server's reason is printed) |
//! | 2 | usage: bad arguments or input (clap uses it too) |
//! | 3 | not signed in, or the sign-in expired or was revoked: run `vibebox login` |
//! | 4 | not found (or not visible to you) |
//! | 5 | permission denied |
//! | 6 | conflict: the environment is in the wrong state, or the name is taken |
//! | 7 | the server cannot be reached |
//! | 130 | interrupted (Ctrl-C) |
//!
//! `vibebox exec` exits with the remote command's code instead, and with 255 when VibeBox
//! itself failed, as `ssh` does.

use std::path::Path;

use vibebox_client::{ClientError, ErrorKind};

/// What went wrong, sorted by what the user can do about it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    /// The operation failed.
    Failed,
    /// Bad arguments or input.
    Usage,
    /// Not signed in, or the sign-in is no longer valid.
    Auth,
    /// Not found.
    NotFound,
    /// Permission denied.
    Forbidden,
    /// Wrong state or a taken name.
    Conflict,
    /// The server cannot be reached.
    Unreachable,
    /// Ctrl-C.
    Interrupted,
}

impl Kind {
    /// The process exit code.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Failed => 1,
            Self::Usage => 2,
            Self::Auth => 3,
            Self::NotFound => 4,
            Self::Forbidden => 5,
            Self::Conflict => 6,
            Self::Unreachable => 7,
            Self::Interrupted => 130,
        }
    }
}

/// An error to print: a message, a hint (may be empty) and its kind.
#[derive(Debug, thiserror::Error)]
#[error("{message}")]
pub struct CliError {
    kind: Kind,
    message: String,
    hint: String,
    exit: Option<u8>,
}

impl CliError {
    /// An error of `kind`.
    pub fn new(kind: Kind, message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            hint: hint.into(),
            exit: None,
        }
    }

    /// The same error with another exit code (`exec` uses 255 for its own failures).
    pub fn with_exit_code(mut self, code: u8) -> Self {
        self.exit = Some(code);
        self
    }

    /// The process exit code for this error.
    pub fn exit_code(&self) -> u8 {
        self.exit.unwrap_or_else(|| self.kind.exit_code())
    }

    /// Bad arguments or input.
    pub fn usage(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(Kind::Usage, message, hint)
    }

    /// A failure.
    pub fn failed(message: impl Into<String>) -> Self {
        Self::new(Kind::Failed, message, "")
    }

    /// A sign-in problem.
    pub fn auth(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(Kind::Auth, message, hint)
    }

    /// A problem with the config file.
    pub fn config(message: impl Into<String>, hint: impl Into<String>) -> Self {
        Self::new(Kind::Failed, message, hint)
    }

    /// A local I/O error on `path`.
    pub fn io(path: &Path, e: std::io::Error) -> Self {
        Self::new(Kind::Failed, format!("{}: {e}", path.display()), "")
    }

    /// Ctrl-C.
    pub fn interrupted() -> Self {
        Self::new(Kind::Interrupted, "interrupted", "")
    }

    /// The hint, or "" when there is none.
    pub fn hint(&self) -> &str {
        &self.hint
    }
}

impl From<ClientError> for CliError {
    fn from(e: ClientError) -> Self {
        let (kind, hint) = match e.kind() {
            ErrorKind::Unauthenticated => {
                (Kind::Auth, "sign in again with `vibebox login`".to_owned())
            }
            ErrorKind::NotFound => (Kind::NotFound, String::new()),
            ErrorKind::Forbidden => (
                Kind::Forbidden,
                "ask an admin of the team for the developer role".to_owned(),
            ),
            ErrorKind::Conflict => (Kind::Conflict, String::new()),
            ErrorKind::Invalid => (Kind::Usage, String::new()),
            ErrorKind::Transport => (
                Kind::Unreachable,
                "is the server running? check --url or VIBEBOX_URL".to_owned(),
            ),
            _ => (Kind::Failed, String::new()),
        };
        Self::new(kind, e.to_string(), hint)
    }
}

impl From<std::io::Error> for CliError {
    fn from(e: std::io::Error) -> Self {
        Self::failed(e.to_string())
    }
}
