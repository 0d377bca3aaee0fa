//! Mapping bollard's errors onto VibeBox's portable error kinds.
//!
//! Messages name what failed (the container, the exec, the image) in VibeBox's words; the
//! engine's own answer is the error's `source`, which reaches the operator's log and never a
//! client (issue 19: no engine text in responses).

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
/// 404 is `NotFound` of the resource; 409 is a `Conflict` (the resource is not in a state
/// that allows the call); 400 (the engine refuses the request as given, e.g. a CPU limit
/// above the host's CPUs) is a runtime `Conflict`: the environment's spec cannot run on this
/// engine as it is; an engine that cannot be reached is `Unavailable`; anything else is a
/// runtime `Internal` error. The engine's answer is kept as the source.
pub(crate) fn map(resource: &'static str, e: DockerError) -> Error {
    if is_unreachable(&e) {
        return unavailable(e);
    }
    match server_error(&e) {
        Some((404, _)) => Error::not_found(resource),
        Some((409, _)) => Error::runtime(
            ErrorKind::Conflict,
            format!("the {resource} is not in a state that allows this"),
            Some(boxed(e)),
        ),
        Some((400, _)) => Error::runtime(
            ErrorKind::Conflict,
            format!(
                "the Docker engine refused the {resource} as specified (the server log has its reason)"
            ),
            Some(boxed(e)),
        ),
        _ => Error::runtime(
            ErrorKind::Internal,
            format!("the Docker engine call about the {resource} failed"),
            Some(boxed(e)),
        ),
    }
}

/// An `Unavailable` error for an engine that cannot be reached (the log says why).
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

    fn assert_no_engine_text(e: &Error, engine_text: &str) {
        assert!(!e.to_string().contains(engine_text), "{e}");
        assert!(!e.public_message().contains(engine_text), "{e}");
        let source = std::error::Error::source(e).map(ToString::to_string);
        assert!(
            source.is_some_and(|s| s.contains(engine_text)),
            "the engine's answer is kept as the source of {e}"
        );
    }

    #[test]
    fn engine_409_is_a_conflict_in_vibeboxs_words() {
        let e = map("container", server(409, "Container abc is not running\n"));
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_no_engine_text(&e, "Container abc");
    }

    #[test]
    fn missing_socket_is_unavailable_and_tells_the_client_only_that() {
        let e = map(
            "container",
            DockerError::SocketNotFoundError("/run/nothing.sock".into()),
        );
        assert_eq!(e.kind(), ErrorKind::Unavailable);
        assert!(
            e.to_string().contains("/run/nothing.sock"),
            "the log says where: {e}"
        );
        assert_eq!(e.public_message(), "container engine is unavailable");
    }

    #[test]
    fn engine_400_is_a_conflict_that_keeps_the_reason_for_the_log() {
        let reason = "Range of CPUs is from 0.01 to 2.00, as there are only 2 CPUs available";
        let e = map("container", server(400, &format!("{reason}\n")));
        assert_eq!(e.kind(), ErrorKind::Conflict);
        assert_no_engine_text(&e, reason);
    }

    #[test]
    fn other_engine_errors_are_internal_with_the_reason_in_the_source() {
        let e = map("container", server(500, "driver failed programming"));
        assert_eq!(e.kind(), ErrorKind::Internal);
        assert_no_engine_text(&e, "driver failed programming");
    }
}
