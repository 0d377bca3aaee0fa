//! Freezing and thawing a container: Docker's pause and unpause (the cgroup freezer).
//!
//! What Docker 20.10.24 (API 1.41, cgroup v1) answers, seen on this project's engine:
//! - `POST /containers/{id}/pause` of a running container: 204; of a paused one: 409
//!   "Container … is already paused"; of a created or exited one: 409 "Container … is not
//!   running"; of an unknown one: 404 "No such container".
//! - `POST /containers/{id}/unpause` of a paused container: 204; of a running, created or
//!   exited one alike: **500** "Container … is not paused"; of an unknown one: 404.
//! - A paused container refuses exec (409 "Container … is paused, unpause the container before
//!   exec") and start (409 "cannot start a paused container, try unpause instead").
//! - Now and then, under load, pause answers 500 "OCI runtime pause failed: unable to
//!   freeze": runc gave up while the freezer cgroup stayed FREEZING (a task that cannot be
//!   frozen at that moment), and thawed the container again. It runs on, unharmed; a later
//!   try succeeds, so the runtime tries a few times before it answers `Conflict`.
//! - Stop, kill (SIGKILL) and `rm -f` of a paused container work without an unpause first,
//!   as fast as on a running one: the engine signals the processes, then thaws them itself
//!   (the events read `kill`, `unpause`, `die`, `stop`).
//!
//! The contract leaves a paused container alone on pause and a running one alone on resume,
//! so "already paused" is success, and "not paused" is success only when inspect then says
//! the container runs.
//!
//! # An exec that is starting must not be frozen
//!
//! The engine answers an exec's start as soon as it has hijacked the connection, *before*
//! runc has set the process up (inspect then says `Running: true` with `Pid: 0`). A pause in
//! that window freezes `runc init` half-way: the exec never starts, and the engine wedges on
//! the container for good: unpause, inspect and `rm -f` all hang until its cgroup is thawed
//! by hand (seen on this engine within two tries of exec-then-pause). So `pause` first stops
//! this runtime's new execs into the container (a per-container gate that every exec start
//! holds while it creates and starts the exec), then waits until every exec of the container
//! has a pid or has ended, and only then freezes it. An exec started at that moment by
//! another client of the engine is not covered.

use std::time::Duration;

use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::query_parameters::InspectContainerOptions;
use vibebox_core::error::{Error, Result};
use vibebox_core::runtime::ContainerId;

use crate::error::{self, server_error};
use crate::runtime::DockerRuntime;

/// How long `pause` waits for the container's starting execs to get a pid.
const SETTLE_TIMEOUT: Duration = Duration::from_secs(10);
/// How often it looks.
const SETTLE_POLL: Duration = Duration::from_millis(20);
/// How many times `pause` asks when runc could not freeze the container.
const FREEZE_ATTEMPTS: u32 = 5;
/// The wait after the first failed freeze; it doubles each time (1.5 s in all).
const FREEZE_RETRY_START: Duration = Duration::from_millis(100);

impl DockerRuntime {
    /// Freezes a running container; a paused one is left alone.
    ///
    /// Errors: `NotFound`; `Conflict` when it does not run; `Unavailable`.
    pub(crate) async fn pause_container(&self, id: &ContainerId) -> Result<()> {
        let docker = self.client().await?;
        let gate = self.inner.freeze_gates.gate(id);
        let _no_new_execs = gate.write().await;
        self.settle_execs(&docker, id).await?;
        let mut backoff = FREEZE_RETRY_START;
        let mut attempt = 1;
        loop {
            let e = match docker.pause_container(id.as_str()).await {
                Ok(()) => return Ok(()),
                Err(e) => e,
            };
            if is_already_paused(&e) {
                return Ok(());
            }
            if is_not_running(&e) {
                return Err(not_running());
            }
            if !is_unable_to_freeze(&e) {
                return Err(error::map("container", e));
            }
            if attempt == FREEZE_ATTEMPTS {
                tracing::warn!(container = %id, "runc could not freeze the container");
                let reason = server_error(&e).map(|(_, m)| m).unwrap_or_default();
                return Err(Error::Conflict(
                    format!("container {id} could not be frozen now (it runs on): {reason}").into(),
                ));
            }
            tracing::debug!(container = %id, attempt, "runc could not freeze; trying again");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
            attempt += 1;
        }
    }

    /// Thaws a paused container; a running one is left alone.
    ///
    /// Errors: `NotFound`; `Conflict` when it does not run; `Unavailable`.
    pub(crate) async fn unpause_container(&self, id: &ContainerId) -> Result<()> {
        let docker = self.client().await?;
        match docker.unpause_container(id.as_str()).await {
            Ok(()) => Ok(()),
            // The engine says the same of a running and of a stopped container.
            Err(e) if is_not_paused(&e) => {
                let info = self.inspect_container(id).await?;
                if info.state.is_running() {
                    Ok(())
                } else {
                    Err(not_running())
                }
            }
            Err(e) => Err(error::map("container", e)),
        }
    }
}

impl DockerRuntime {
    /// Waits until no exec of the container is starting: each has a pid or has ended. The
    /// execs are the engine's list (any client's) and the ones this runtime started, whose
    /// start the engine may not have begun yet.
    ///
    /// Errors: `NotFound`; `Conflict` when one is still starting after [`SETTLE_TIMEOUT`];
    /// `Unavailable`.
    async fn settle_execs(&self, docker: &Docker, id: &ContainerId) -> Result<()> {
        let inspected = docker
            .inspect_container(id.as_str(), None::<InspectContainerOptions>)
            .await
            .map_err(|e| error::map("container", e))?;
        let ours = self.execs_started_in(id);
        let mut pending: Vec<(String, bool)> = inspected
            .exec_ids
            .unwrap_or_default()
            .into_iter()
            .map(|e| {
                let mine = ours.contains(&e);
                (e, mine)
            })
            .collect();
        for e in ours {
            if !pending.iter().any(|(p, _)| *p == e) {
                pending.push((e, true));
            }
        }
        let deadline = tokio::time::Instant::now() + SETTLE_TIMEOUT;
        loop {
            let mut starting = Vec::new();
            for (exec, mine) in pending {
                let inspected = match docker.inspect_exec(&exec).await {
                    Ok(r) => r,
                    // Gone: it ended long ago.
                    Err(e) if matches!(server_error(&e), Some((404, _))) => continue,
                    Err(e) => return Err(error::map("exec", e)),
                };
                let state = ExecStart {
                    running: inspected.running.unwrap_or(false),
                    pid: inspected.pid.unwrap_or(0),
                    ended: inspected.exit_code.is_some(),
                    mine,
                };
                if state.is_starting() {
                    starting.push((exec, mine));
                }
            }
            if starting.is_empty() {
                return Ok(());
            }
            if tokio::time::Instant::now() >= deadline {
                tracing::warn!(container = %id, execs = starting.len(), "execs still starting; not pausing");
                return Err(Error::Conflict(
                    format!(
                        "a process is still starting in container {id}; it cannot be paused now"
                    )
                    .into(),
                ));
            }
            pending = starting;
            tokio::time::sleep(SETTLE_POLL).await;
        }
    }
}

/// What inspect says of an exec, for [`DockerRuntime::settle_execs`].
#[derive(Clone, Copy, Debug)]
struct ExecStart {
    running: bool,
    pid: i64,
    ended: bool,
    /// This runtime started it (so a not-yet-running one is about to start).
    mine: bool,
}

impl ExecStart {
    /// Whether a pause now could catch it half-started.
    fn is_starting(self) -> bool {
        if self.ended || self.pid > 0 {
            return false;
        }
        // Running without a pid: runc is setting it up. Not running: never started (another
        // client's exec, left created), or started by us and not yet begun by the engine.
        self.running || self.mine
    }
}

fn not_running() -> Error {
    Error::Conflict("the container is not running".into())
}

/// 409 "Container … is already paused".
fn is_already_paused(e: &DockerError) -> bool {
    matches!(server_error(e), Some((409, message)) if message.contains("is already paused"))
}

/// 500 "Cannot pause container …: OCI runtime pause failed: unable to freeze: unknown".
fn is_unable_to_freeze(e: &DockerError) -> bool {
    matches!(server_error(e), Some((500, message)) if message.contains("unable to freeze"))
}

/// 409 "Container … is not running".
fn is_not_running(e: &DockerError) -> bool {
    matches!(server_error(e), Some((409, message)) if message.contains("is not running"))
}

/// "Container … is not paused" (500 on Docker 20.10; any status, should a later engine send
/// 409).
fn is_not_paused(e: &DockerError) -> bool {
    matches!(server_error(e), Some((_, message)) if message.contains("is not paused"))
}

#[cfg(test)]
mod tests {
    use super::*;

    use crate::error::server;

    #[test]
    fn already_paused_is_recognised_and_nothing_else_is() {
        assert!(is_already_paused(&server(
            409,
            "Container abc is already paused\n"
        )));
        assert!(!is_already_paused(&server(
            409,
            "Container abc is not running"
        )));
        assert!(!is_already_paused(&DockerError::RequestTimeoutError));
    }

    #[test]
    fn a_failed_freeze_is_recognised_and_nothing_else_is() {
        assert!(is_unable_to_freeze(&server(
            500,
            "Cannot pause container abc: OCI runtime pause failed: unable to freeze: unknown"
        )));
        assert!(!is_unable_to_freeze(&server(500, "driver failed")));
        assert!(!is_unable_to_freeze(&server(
            409,
            "Container abc is not running"
        )));
    }

    #[test]
    fn not_running_is_recognised_and_nothing_else_is() {
        assert!(is_not_running(&server(409, "Container abc is not running")));
        assert!(!is_not_running(&server(404, "No such container: abc")));
        assert!(!is_not_running(&server(
            409,
            "Container abc is already paused"
        )));
    }

    #[test]
    fn not_paused_is_recognised_whatever_the_status() {
        assert!(is_not_paused(&server(500, "Container abc is not paused\n")));
        assert!(is_not_paused(&server(409, "Container abc is not paused")));
        assert!(!is_not_paused(&server(404, "No such container: abc")));
        assert!(!is_not_paused(&server(500, "driver failed")));
    }

    #[test]
    fn an_exec_without_a_pid_is_starting_unless_it_ended_or_was_never_started() {
        let exec = |running, pid, ended, mine| ExecStart {
            running,
            pid,
            ended,
            mine,
        };
        assert!(exec(true, 0, false, false).is_starting(), "runc sets it up");
        assert!(
            exec(false, 0, false, true).is_starting(),
            "ours, start sent"
        );
        assert!(
            !exec(false, 0, false, false).is_starting(),
            "created, never started"
        );
        assert!(!exec(true, 4242, false, true).is_starting(), "running");
        assert!(!exec(false, 0, true, true).is_starting(), "ended");
    }

    #[test]
    fn not_running_is_a_conflict_in_vibeboxs_words() {
        let e = not_running();
        assert_eq!(e.kind(), vibebox_core::error::ErrorKind::Conflict);
        assert_eq!(e.to_string(), "the container is not running");
    }
}
