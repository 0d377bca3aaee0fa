//! Killing a container: SIGKILL to every process at once, then waiting until the engine
//! reports it stopped.
//!
//! What Docker 20.10 does (seen with a busybox container held at its pids limit of 48 by a
//! loop of `sleep 1000 &`):
//! - `POST /containers/{id}/kill?signal=SIGKILL` signals the container's init; the kernel then
//!   kills every process of the container's PID namespace. Nothing has to start inside the
//!   container, so one at its pids limit dies as fast as an idle one (about 0.1 s, exit code
//!   137).
//! - For SIGKILL the engine answers once it has seen the container stop, and it sets itself no
//!   time limit for that; the runtime bounds the whole call and confirms with inspect.
//! - A container that is not running (created, exited) answers 409 "Container … is not
//!   running"; an unknown one answers 404 "No such container".
//! - A paused container is killed like a running one (204, exit code 137): the engine
//!   signals it, then thaws it so that it dies.

use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::query_parameters::KillContainerOptionsBuilder;
use vibebox_core::error::{Error, ErrorKind, Result};
use vibebox_core::runtime::ContainerId;

use crate::error::{self, server_error};
use crate::runtime::DockerRuntime;

/// How long a kill may take, from the signal until inspect no longer reports the container
/// running.
const KILL_TIMEOUT: Duration = Duration::from_secs(30);
/// How often inspect is asked while waiting for the container to stop.
const POLL_INTERVAL: Duration = Duration::from_millis(50);

impl DockerRuntime {
    /// Sends SIGKILL and returns once the container no longer runs. A container that is not
    /// running is left alone.
    ///
    /// Errors: `NotFound`; `Unavailable`; `Timeout` if it still runs after [`KILL_TIMEOUT`].
    pub(crate) async fn kill_container(&self, id: &ContainerId) -> Result<()> {
        let docker = self.client().await?;
        match tokio::time::timeout(KILL_TIMEOUT, self.kill_and_wait(&docker, id)).await {
            Ok(result) => result,
            Err(_) => {
                tracing::warn!(container = %id, "the container still runs after SIGKILL");
                Err(Error::runtime(
                    ErrorKind::Timeout,
                    format!(
                        "container {id} did not stop within {} s of being killed",
                        KILL_TIMEOUT.as_secs()
                    ),
                    None,
                ))
            }
        }
    }

    async fn kill_and_wait(&self, docker: &Docker, id: &ContainerId) -> Result<()> {
        let options = KillContainerOptionsBuilder::new().signal("SIGKILL").build();
        match docker.kill_container(id.as_str(), Some(options)).await {
            Ok(()) => {}
            Err(e) if is_not_running(&e) => return Ok(()),
            Err(e) => return Err(error::map("container", e)),
        }
        loop {
            match self.inspect_container(id).await {
                // A paused container is thawed by the engine after the signal, then dies.
                Ok(info) if info.state.is_live() => {}
                Ok(_) => return Ok(()),
                // Removed since the kill (auto-remove, or someone else): it has stopped.
                Err(e) if e.kind() == ErrorKind::NotFound => return Ok(()),
                Err(e) => return Err(e),
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }
}

/// Whether the engine refused the kill because the container is not running.
fn is_not_running(e: &DockerError) -> bool {
    matches!(server_error(e), Some((409, message)) if message.contains("is not running"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::error::server;

    #[test]
    fn a_409_not_running_means_already_stopped() {
        assert!(is_not_running(&server(
            409,
            "Cannot kill container: abc: Container abc is not running\n"
        )));
    }

    #[test]
    fn other_refusals_are_not_taken_for_a_stopped_container() {
        assert!(!is_not_running(&server(
            404,
            "Cannot kill container: abc: No such container: abc"
        )));
        assert!(!is_not_running(&server(409, "Container abc is paused")));
        assert!(!is_not_running(&DockerError::RequestTimeoutError));
    }
}
