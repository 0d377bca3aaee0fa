//! Fault hooks: what a real Docker 20.10 engine does under trouble, for core's tests to meet
//! without an engine.

use super::FakeRuntime;
use crate::error::{Error, ErrorKind};
use crate::runtime::{ContainerId, RuntimeEventKind};

/// What runc answers when it cannot start a process in a container at its pids limit, as the
/// Docker adapter words an engine refusal.
const EXEC_AT_PIDS_LIMIT: &str = "the Docker engine refused: OCI runtime exec failed: exec \
    failed: container_linux.go:380: starting container process caused: read init-p: \
    connection reset by peer: unknown";

/// The error every exec (and `kill_exec`, which the Docker adapter does with an exec) gets
/// in a saturated container.
pub(super) fn exec_at_pids_limit() -> Error {
    Error::runtime(ErrorKind::Internal, EXEC_AT_PIDS_LIMIT, None)
}

impl FakeRuntime {
    /// Every log stream following this container that is open now stops yielding lines for
    /// good: it stays open and pending, even once the container stops. Follows opened
    /// afterwards work normally and see every retained line.
    ///
    /// Models Docker 20.10's `json-file` follower, which stalls this way after the engine
    /// rotates the log file (`max-size`/`max-file`). Returns whether the container exists.
    pub fn stall_log_follows(&self, id: &ContainerId) -> bool {
        self.bump_log_generation(id, |c| c.stall_generation += 1)
    }

    /// Every log stream following this container that is open now ends, while the container
    /// keeps running. Follows opened afterwards work normally. (A stalled follow stays
    /// stalled.)
    ///
    /// Models an engine that closes a follow early: a restarted daemon, a dropped
    /// connection. Returns whether the container exists.
    pub fn end_log_follows(&self, id: &ContainerId) -> bool {
        self.bump_log_generation(id, |c| c.end_generation += 1)
    }

    /// The engine's log rotation dropped the old files: reads opened from now on see only the
    /// last `keep_last` lines written so far (and every line written later). Reads already
    /// open go on as before (they hold the old file open); a stalled follow stays stalled.
    /// [`logs_of`](Self::logs_of) still returns every line.
    ///
    /// Models `json-file` with `max-size`/`max-file`, which keeps only the newest files.
    /// Returns whether the container exists.
    pub fn rotate_logs(&self, id: &ContainerId, keep_last: usize) -> bool {
        let mut st = self.inner.lock();
        let Some(c) = st.containers.get_mut(id.as_str()) else {
            return false;
        };
        let first = c.logs.len().saturating_sub(keep_last);
        c.first_retained_log = c.first_retained_log.max(first);
        drop(st);
        self.inner.bump();
        true
    }

    /// Puts a running container at its pids limit (on) or back below it (off), as a fork
    /// bomb does. While on, `stats` report `pids` equal to `pids_limit` (when the spec sets a
    /// limit), and every `exec` (and `kill_exec` of a running exec) fails with an `Internal`
    /// error carrying runc's "read init-p: connection reset by peer". `stop`, `kill` and
    /// `remove` still work; the run's end clears it, so a new start begins unsaturated.
    ///
    /// Models Docker 20.10 with a fork bomb inside: the kernel refuses every fork, runc cannot
    /// start a process, but the engine's signals still reach every process. Returns whether
    /// the container is running (only then does it take effect).
    pub fn saturate(&self, id: &ContainerId, on: bool) -> bool {
        let mut st = self.inner.lock();
        let Some(c) = st.containers.get_mut(id.as_str()) else {
            return false;
        };
        if !c.state.is_running() {
            return false;
        }
        c.saturated = on;
        drop(st);
        self.inner.bump();
        true
    }

    /// A process of a running container other than its main one is killed by the kernel for
    /// exceeding the memory limit: an `Oom` event, and the container keeps running (no exec
    /// the fake tracks is killed). When this run ends, however it ends (even a clean stop),
    /// `inspect` reports `oom_killed`; a new start clears it.
    ///
    /// Models Docker 20.10, seen on this project's engine: an exec's `tail` OOM-killed gave an
    /// `oom` event, inspect said running with `OOMKilled=false`, and after a later `docker
    /// stop` (exit code 143) inspect said `OOMKilled=true`. Returns whether it was running.
    pub fn oom_kill_process(&self, id: &ContainerId) -> bool {
        let mut st = self.inner.lock();
        let Some(c) = st.containers.get_mut(id.as_str()) else {
            return false;
        };
        if !c.state.is_running() {
            return false;
        }
        c.oom_in_run = true;
        self.inner.emit(c, RuntimeEventKind::Oom);
        drop(st);
        self.inner.bump();
        true
    }

    /// Sets what `stats` report as `pids` for the container, until set again (by default the
    /// main process plus the running execs; [`saturate`](Self::saturate) wins while on).
    ///
    /// Models the processes a real container's users start in the background. Returns whether
    /// the container exists.
    pub fn set_pids(&self, id: &ContainerId, pids: u64) -> bool {
        let mut st = self.inner.lock();
        let Some(c) = st.containers.get_mut(id.as_str()) else {
            return false;
        };
        c.pids = Some(pids);
        true
    }

    fn bump_log_generation(
        &self,
        id: &ContainerId,
        bump: impl FnOnce(&mut super::Container),
    ) -> bool {
        let mut st = self.inner.lock();
        let Some(c) = st.containers.get_mut(id.as_str()) else {
            return false;
        };
        bump(c);
        drop(st);
        self.inner.bump();
        true
    }
}
