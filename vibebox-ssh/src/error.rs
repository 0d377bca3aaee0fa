//! The gateway's errors: one variant per thing that can fail, each with a portable kind.

use vibebox_core::ErrorKind;

/// What went wrong in the SSH gateway.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The listening socket could not be opened.
    #[error("cannot listen for SSH on {addr}: {source}")]
    Bind {
        /// The address asked for.
        addr: std::net::SocketAddr,
        /// Why.
        source: std::io::Error,
    },
    /// Accepting connections failed for good.
    #[error("the SSH listener failed: {0}")]
    Accept(#[source] std::io::Error),
    /// A host key could not be generated, read or written.
    #[error("host key: {0}")]
    HostKey(String),
    /// The SSH protocol failed on one connection (a client that sent garbage, say).
    #[error("ssh protocol: {0}")]
    Protocol(#[from] russh::Error),
    /// The service refused or failed an operation.
    #[error(transparent)]
    Core(#[from] vibebox_core::Error),
}

impl Error {
    /// The portable kind of the error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::Bind { .. } | Error::Accept(_) => ErrorKind::Unavailable,
            Error::HostKey(_) => ErrorKind::InvalidInput,
            Error::Protocol(_) => ErrorKind::InvalidInput,
            Error::Core(e) => e.kind(),
        }
    }
}

/// The result type of the gateway.
pub type Result<T, E = Error> = std::result::Result<T, E>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_core_error_keeps_its_kind() {
        let e = Error::from(vibebox_core::Error::not_found("environment"));
        assert_eq!(e.kind(), ErrorKind::NotFound);
    }

    #[test]
    fn a_bad_host_key_is_invalid_input() {
        assert_eq!(
            Error::HostKey("not a key".into()).kind(),
            ErrorKind::InvalidInput
        );
    }
}
