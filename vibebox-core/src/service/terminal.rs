//! Interactive terminals: a TTY exec attached to a session.
//!
//! Terminal input and output count as session activity (idle detection follows real use, not
//! an open connection). When a terminal is closed or dropped, its process is killed; for a
//! tmux session that process is only a tmux client, so the session itself lives on and the
//! next terminal re-attaches to it.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::io::AsyncWriteExt;
use tracing::instrument;

use super::Vibebox;
use crate::clock::Timestamp;
use crate::domain::{Session, SessionType};
use crate::error::{Error, Result};
use crate::id::{EnvironmentId, SessionId};
use crate::rbac::{Action, Actor};
use crate::runtime::{ExecId, ExecSpec, TerminalSize};
use crate::validate;

/// How often terminal activity is written to the store at most.
const ACTIVITY_EVERY: Duration = Duration::from_secs(15);

/// An open terminal. Read `output`, write through `input`, control with `control`.
pub struct Terminal {
    /// The session it is attached to.
    pub session: Session,
    /// Bytes from the terminal; ends when its process ends.
    pub output: BoxStream<'static, Result<Bytes>>,
    /// Keystrokes to the terminal.
    pub input: TerminalInput,
    /// Resize, exit code and close.
    pub control: TerminalControl,
}

impl std::fmt::Debug for Terminal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Terminal")
            .field("session", &self.session.id)
            .field("exec", &self.control.shared.exec)
            .finish_non_exhaustive()
    }
}

struct Shared {
    vibebox: Vibebox,
    session: SessionId,
    exec: ExecId,
    /// Keystrokes are activity on the environment (its idle policy).
    activity: super::idle::ActivityMark,
    last_activity: Mutex<Option<Timestamp>>,
    closed: Mutex<bool>,
}

impl Shared {
    /// Records activity, at most every few seconds, without blocking the caller.
    fn touch(self: &Arc<Self>) {
        let now = self.vibebox.now();
        {
            let mut last = self.last_activity.lock().unwrap_or_else(|e| e.into_inner());
            let due = last.is_none_or(|t| {
                now - t >= chrono::TimeDelta::from_std(ACTIVITY_EVERY).unwrap_or_default()
            });
            if !due {
                return;
            }
            *last = Some(now);
        }
        let vibebox = self.vibebox.clone();
        let session = self.session;
        // Stamped now, not when the task runs.
        tokio::spawn(async move {
            if let Err(e) = vibebox.record_activity(session, now).await {
                tracing::debug!(error = %e, "could not record terminal activity");
            }
        });
    }

    fn mark_closed(&self) -> bool {
        let mut closed = self.closed.lock().unwrap_or_else(|e| e.into_inner());
        !std::mem::replace(&mut *closed, true)
    }
}

impl Drop for Shared {
    fn drop(&mut self) {
        if self.mark_closed()
            && let Ok(handle) = tokio::runtime::Handle::try_current()
        {
            let vibebox = self.vibebox.clone();
            let (session, exec) = (self.session, self.exec.clone());
            handle.spawn(async move { vibebox.close_terminal(session, &exec).await });
        }
    }
}

/// The writing half of a terminal.
pub struct TerminalInput {
    writer: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>>,
    shared: Arc<Shared>,
}

impl TerminalInput {
    /// Sends bytes (keystrokes) to the terminal.
    pub async fn write(&mut self, data: &[u8]) -> Result<()> {
        self.shared.touch();
        self.shared.activity.mark();
        self.writer.write_all(data).await.map_err(|e| {
            Error::internal(
                "could not write to the terminal",
                Some(Box::new(e) as crate::error::BoxError),
            )
        })?;
        self.writer.flush().await.map_err(|e| {
            Error::internal(
                "could not write to the terminal",
                Some(Box::new(e) as crate::error::BoxError),
            )
        })
    }
}

/// Resize, exit code and close. Cheap to clone.
#[derive(Clone)]
pub struct TerminalControl {
    shared: Arc<Shared>,
}

impl TerminalControl {
    /// Resizes the terminal. Errors: `InvalidInput` (`cols`/`rows`) outside 1–1000.
    pub async fn resize(&self, size: TerminalSize) -> Result<()> {
        check_size(size)?;
        self.shared
            .vibebox
            .runtime()
            .resize_exec(&self.shared.exec, size)
            .await
    }

    /// The process's exit code, once it has ended.
    pub async fn exit_code(&self) -> Result<Option<i64>> {
        let info = self.shared.vibebox.wait_for_exit(&self.shared.exec).await?;
        Ok(info.exit_code)
    }

    /// Closes the terminal: kills its process (for tmux, only the client: the session stays).
    pub async fn close(&self) {
        if self.shared.mark_closed() {
            self.shared
                .vibebox
                .close_terminal(self.shared.session, &self.shared.exec)
                .await;
        }
    }
}

/// Checks a terminal size (also used by the streaming exec).
pub(super) fn check_size(size: TerminalSize) -> Result<()> {
    if !(1..=1000).contains(&size.cols) {
        return Err(Error::invalid("cols", "must be between 1 and 1000"));
    }
    if !(1..=1000).contains(&size.rows) {
        return Err(Error::invalid("rows", "must be between 1 and 1000"));
    }
    Ok(())
}

impl Vibebox {
    /// Opens a terminal on a live session of a running environment. For a tmux session it
    /// attaches to (or recreates) the tmux session, so reconnecting resumes it; for a shell
    /// session it starts a login shell.
    ///
    /// Errors: `NotFound` (`session`) if no live session has that name; `InvalidInput` for a VS
    /// Code server session or a bad size; `Conflict` if the environment is not running;
    /// `PermissionDenied`; `NotFound` (`environment`).
    #[instrument(skip_all, fields(environment.id = %env_id, session = session_name))]
    pub async fn open_terminal(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        session_name: &str,
        size: TerminalSize,
    ) -> Result<Terminal> {
        check_size(size)?;
        validate::session_name(session_name)?;
        let access = self
            .environment_for(actor, env_id, Action::ExecEnvironment)
            .await?;
        let container = self.awake_container(&access.env).await?;
        let session = self
            .store()
            .list_sessions(env_id, false)
            .await?
            .into_iter()
            .filter(|s| s.session_name == session_name)
            .min_by_key(|s| s.session_type != SessionType::Tmux)
            .ok_or_else(|| Error::not_found("session"))?;
        let cmd: Vec<String> = match session.session_type {
            // The status line's clock is not redrawn: an unused client would otherwise print
            // every minute, and output counts as activity.
            SessionType::Tmux => vec![
                "tmux".into(),
                "new-session".into(),
                "-A".into(),
                "-s".into(),
                session.session_name.clone(),
                ";".into(),
                "set-option".into(),
                "-t".into(),
                format!("={}:", session.session_name),
                "status-interval".into(),
                "0".into(),
            ],
            SessionType::Shell => vec![self.login_shell(&container).await, "-l".into()],
            SessionType::VscodeServer => {
                return Err(Error::invalid(
                    "session",
                    "a vscode_server session has no terminal",
                ));
            }
        };
        let exec = self
            .runtime()
            .exec(
                &container,
                &ExecSpec {
                    cmd,
                    env: vec![("TERM".into(), "xterm-256color".into())],
                    user: self.config().container_user.clone(),
                    // The user's home, as sshd and the tmux of a login start in (the volume's
                    // mount point always exists); without one, the image's working directory.
                    working_dir: self.config().home_volume.clone(),
                    tty: Some(size),
                    stdin: true,
                },
            )
            .await?;
        self.inner
            .terminals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(session.id)
            .or_default()
            .push(exec.id.clone());
        let shared = Arc::new(Shared {
            vibebox: self.clone(),
            session: session.id,
            exec: exec.id.clone(),
            activity: self.activity_mark(session.environment_id),
            last_activity: Mutex::new(None),
            closed: Mutex::new(false),
        });
        shared.touch();
        let out_shared = shared.clone();
        let output = exec
            .output
            .map(move |chunk| {
                out_shared.touch();
                chunk.map(|c| c.data)
            })
            .boxed();
        Ok(Terminal {
            session,
            output,
            input: TerminalInput {
                writer: exec.input,
                shared: shared.clone(),
            },
            control: TerminalControl { shared },
        })
    }

    /// bash when the image has it, otherwise /bin/sh.
    async fn login_shell(&self, container: &crate::runtime::ContainerId) -> String {
        let probe = ExecSpec {
            cmd: vec!["/bin/sh".into(), "-c".into(), "command -v bash".into()],
            user: self.config().container_user.clone(),
            ..Default::default()
        };
        match self.run_to_end(container, &probe).await {
            Ok((0, out)) if out.trim().starts_with('/') => out.trim().to_string(),
            _ => "/bin/sh".to_string(),
        }
    }

    /// Kills a terminal's process and forgets it.
    async fn close_terminal(&self, session: SessionId, exec: &ExecId) {
        {
            let mut terminals = self
                .inner
                .terminals
                .lock()
                .unwrap_or_else(|e| e.into_inner());
            if let Some(list) = terminals.get_mut(&session) {
                list.retain(|e| e != exec);
                if list.is_empty() {
                    terminals.remove(&session);
                }
            }
        }
        if let Err(e) = self.runtime().kill_exec(exec).await {
            tracing::debug!(error = %e, "could not kill a terminal's process");
        }
    }

    /// Forgets a session's terminals without killing them (their container is going away,
    /// which ends them).
    pub(crate) fn forget_terminals(&self, session: SessionId) {
        self.inner
            .terminals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&session);
    }

    /// Kills every terminal of a session.
    pub(crate) async fn kill_terminals(&self, session: SessionId) {
        let execs = self
            .inner
            .terminals
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&session)
            .unwrap_or_default();
        for exec in execs {
            if let Err(e) = self.runtime().kill_exec(&exec).await {
                tracing::debug!(error = %e, "could not kill a terminal's process");
            }
        }
    }
}
