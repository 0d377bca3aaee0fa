//! Mapping bollard's errors onto VibeBox's portable error kinds.
//!
//! Messages name what failed (the container, the exec, the image) and carry the engine's own
//! reason, which never includes a variable's value: variables travel only in the create body,
//! and the engine does not echo it back.

use bollard::errors::Error as DockerError;
use vibebox_core::error::{BoxError, Error, ErrorKind};

/// What the runtime calls the engine in `Unavailable` errors.
pub(crate) const ENGINE: &str = "container engine";

/// The engine's HTTP status and message, when it answered.
pub(crate) fn server_error(e: &DockerError) -> Option<(u16, String)> {
    match e {
        DockerError::DockerResponseServerError {
            status_code,
            message,
        } => Some((*status_code, engine_reason(message).to_string())),
        _ => None,
    }
}

/// Whether the engine could not be reached at all (as opposed to answering with an error).
pub(crate) fn is_unreachable(e: &DockerError) -> bool {
    matches!(
        e,
        DockerError::IOError { .. }
            | DockerError::HyperResponseError { .. }
            | DockerError::HyperLegacyError { .. }
            | DockerError::HttpClientError { .. }
            | DockerError::SocketNotFoundError(_)
            | DockerError::RequestTimeoutError
    )
}

/// Maps an engine error about `resource` (`container`, `exec`, `image`).
///
/// 404 is `NotFound` of the resource; 409 is `Conflict` with the engine's reason; 400 (the
/// engine refuses the request as given, e.g. a CPU limit above the host's CPUs) is a runtime
/// `Conflict` carrying the engine's reason: the environment's spec cannot run on this engine as
/// it is; an engine that cannot be reached is `Unavailable`; anything else is a runtime
/// `Internal` error carrying the engine's reason.
pub(crate) fn map(resource: &'static str, e: DockerError) -> Error {
    if is_unreachable(&e) {
        return unavailable(e);
    }
    match server_error(&e) {
        Some((404, _)) => Error::not_found(resource),
        Some((409, message)) => Error::Conflict(message.into()),
        Some((400, message)) => Error::runtime(
            ErrorKind::Conflict,
            format!("the Docker engine refused the {resource}: {message}"),
            Some(boxed(e)),
        ),
        Some((_, message)) => {
            let message = format!("the Docker engine refused: {message}");
            Error::runtime(ErrorKind::Internal, message, Some(boxed(e)))
        }
        None => Error::runtime(
            ErrorKind::Internal,
            format!("the Docker engine call failed: {e}"),
            Some(boxed(e)),
        ),
    }
}

/// An `Unavailable` error for an engine that cannot be reached.
pub(crate) fn unavailable(e: DockerError) -> Error {
    let message = match &e {
        DockerError::SocketNotFoundError(path) => {
            format!("the Docker engine is not running (no socket at {path})")
        }
        DockerError::RequestTimeoutError => "the Docker engine did not answer in time".to_string(),
        other => format!("cannot reach the Docker engine: {other}"),
    };
    Error::unavailable(ENGINE, message, Some(boxed(e)))
}

/// The engine's message without its trailing newline.
pub(crate) fn engine_reason(message: &str) -> &str {
    message.trim()
}

pub(crate) fn boxed(e: DockerError) -> BoxError {
    Box::new(e)
}

/// An engine's error answer, for tests.
#[cfg(test)]
pub(crate) fn server(status_code: u16, message: &str) -> DockerError {
    DockerError::DockerResponseServerError {
        status_code,
        message: message.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn engine_404_is_not_found_of_the_resource() {
        let e = map("exec", server(404, "No such exec instance: abc"));
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.to_string(), "exec not found");
    }

    #[test]
    fn engine_409_is_conflict_with_the_engine_reason() {
        let e = map("container", server(409, "Container abc is not running\n"));
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(e.to_string(), "Container abc is not running");
    }

    #[test]
    fn missing_socket_is_unavailable_and_says_the_engine_is_not_running() {
        let e = map(
            "container",
            DockerError::SocketNotFoundError("/run/nothing.sock".into()),
        );
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(e.to_string().contains("not running"), "{e}");
        assert!(e.to_string().contains("/run/nothing.sock"), "{e}");
    }

    #[test]
    fn engine_400_is_a_conflict_naming_the_engine_reason() {
        let e = map(
            "container",
            server(
                400,
                "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available\n",
            ),
        );
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_eq!(
            e.to_string(),
            "the Docker engine refused the container: Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available"
        );
    }

    #[test]
    fn other_engine_errors_are_internal_with_the_reason() {
        let e = map("container", server(500, "driver failed programming"));
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert!(e.to_string().contains("driver failed programming"), "{e}");
    }
}
