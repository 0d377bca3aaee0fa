//! Running commands in environments (DESIGN.md §9): [`Vibebox::exec`] runs one to its end and
//! returns its exit code and output (capped, with a timeout); [`Vibebox::exec_stream`] starts
//! one and hands back its output, stdin and controls.
//!
//! Both check `ExecEnvironment` (a viewer is refused, a stranger is told the environment does
//! not exist), validate the request naming the field, need a running environment, run as the
//! configured container user, and record an `environment.exec` audit event whose details name
//! the program only: never its arguments, its variables or its stdin, which may hold secrets.
//! A process whose handles are all dropped while it runs is killed.

mod handles;
mod request;

pub use handles::{ExecControl, ExecExit, ExecResult, ExecStdin, ExecStream};
pub use request::{
    EXEC_MAX_ARGS, EXEC_MAX_ARGV_BYTES, EXEC_MAX_ENV, EXEC_MAX_STDIN_BYTES, EXEC_MAX_WORKDIR_BYTES,
    ExecRequest,
};

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use bytes::Bytes;
use futures::stream::StreamExt;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use tokio::sync::watch;
use tracing::instrument;

use super::sessions::running_container;
use super::terminal::check_size;
use super::{AuditRecord, Vibebox};
use crate::domain::EnvironmentStatus;
use crate::error::{Error, Result};
use crate::id::EnvironmentId;
use crate::rbac::{Action, Actor};
use crate::runtime::{ContainerId, ExecSession, ExecSpec, TerminalSize};
use handles::{Capped, Collected, Handle, Output};

/// How long a timed-out command's output may take to end after its process was killed.
const KILL_GRACE: Duration = Duration::from_secs(5);
use request::check_request;

impl Vibebox {
    /// Runs a command in a running environment to its end and returns its exit code and its
    /// stdout and stderr, each capped at
    /// [`Config::exec_output_cap`](crate::Config::exec_output_cap) (the rest is read and
    /// dropped, and the `…_truncated` flag set). A command still running at its timeout is
    /// killed and reported `timed_out`, with whatever exit code the engine then reports.
    /// Dropping the returned future kills the command.
    ///
    /// Errors: `InvalidInput` naming `command`, `env`, `workdir`, `stdin` or `timeout`;
    /// `Conflict` if the environment is not running; `PermissionDenied`; `NotFound`
    /// (`environment`); `Unavailable`.
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn exec(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        request: ExecRequest,
    ) -> Result<ExecResult> {
        let target = self.prepare_exec(actor, env_id, &request, None).await?;
        let timeout = request
            .timeout
            .unwrap_or(self.config().exec_default_timeout)
            .min(self.config().exec_max_timeout);
        let spec = self.exec_spec(&request, None, request.stdin.is_some());
        let session = self.launch_exec(actor, &target, &spec, &request).await?;
        let ExecSession {
            id,
            mut output,
            mut input,
        } = session;
        let handle = Handle::new(self, &id);
        let cap = self.config().exec_output_cap;
        let mut collected = Collected {
            stdout: Capped::new(cap),
            stderr: Capped::new(cap),
        };
        let started = tokio::time::Instant::now();
        let stdin = request.stdin;
        let run = async {
            let feed = async {
                if let Some(data) = stdin
                    && let Err(e) = input.write_all(&data).await
                {
                    // The process may end without reading all of it.
                    tracing::debug!(error = %e, "stdin not fully written");
                }
                if let Err(e) = input.shutdown().await {
                    tracing::debug!(error = %e, "could not close stdin");
                }
            };
            let read = async {
                while let Some(chunk) = output.next().await {
                    collected.push(&chunk?);
                }
                Ok::<(), Error>(())
            };
            let ((), read) = tokio::join!(feed, read);
            read
        };
        let timed_out = match tokio::time::timeout(timeout, run).await {
            Ok(read) => {
                read?;
                false
            }
            Err(_) => true,
        };
        if timed_out {
            tracing::info!(exec = %id, ?timeout, "a command ran out of time; killing it");
            if let Err(e) = self.runtime().kill_exec(&id).await {
                tracing::warn!(error = %e, "could not kill a command that ran out of time");
            }
            // What it wrote before it died, and the end of its output.
            let rest = async {
                while let Some(Ok(chunk)) = output.next().await {
                    collected.push(&chunk);
                }
            };
            if tokio::time::timeout(KILL_GRACE, rest).await.is_err() {
                tracing::warn!(exec = %id, "a killed command's output did not end");
            }
        }
        let duration = started.elapsed();
        let info = self.wait_for_exit(&id).await?;
        if !info.running {
            handle.finished.store(true, Ordering::SeqCst);
        }
        Ok(ExecResult {
            exit_code: info.exit_code,
            stdout: Bytes::from(collected.stdout.data),
            stderr: Bytes::from(collected.stderr.data),
            stdout_truncated: collected.stdout.truncated,
            stderr_truncated: collected.stderr.truncated,
            timed_out,
            duration,
        })
    }

    /// Starts a command in a running environment and returns its output, stdin and controls,
    /// with a terminal of `tty`'s size if given (its output is then all stdout). The process
    /// is killed when `request.timeout` passes (no limit without one; [`ExecControl::wait`]
    /// then says `timed_out`), on [`ExecControl::kill`], or when every part of the returned
    /// [`ExecStream`] is dropped. `request.stdin` must be unset: write to
    /// [`ExecStream::stdin`] instead.
    ///
    /// Errors: as [`exec`](Self::exec), and `InvalidInput` (`cols`/`rows`) for a bad size.
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn exec_stream(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        request: ExecRequest,
        tty: Option<TerminalSize>,
    ) -> Result<ExecStream> {
        let target = self.prepare_exec(actor, env_id, &request, tty).await?;
        if request.stdin.is_some() {
            return Err(Error::invalid(
                "stdin",
                "the streaming form takes stdin through its writer",
            ));
        }
        let spec = self.exec_spec(&request, tty, true);
        let session = self.launch_exec(actor, &target, &spec, &request).await?;
        let mut handle = Handle::new(self, &session.id);
        if let Some(timeout) = request.timeout {
            handle = handle.with_watchdog(timeout);
        }
        let handle = Arc::new(handle);
        let (done, output_done) = watch::channel(false);
        let output = Output {
            inner: session.output,
            done,
            _handle: handle.clone(),
        }
        .boxed();
        Ok(ExecStream {
            output,
            stdin: ExecStdin {
                writer: session.input,
                activity: self.activity_mark(target.environment),
                _handle: handle.clone(),
            },
            control: ExecControl {
                handle,
                output_done,
            },
        })
    }

    /// Checks that `actor` may run commands in the environment and that it is running,
    /// without running anything: front ends call it before they accept a connection that
    /// will ask for a command.
    ///
    /// Errors: `Conflict` if the environment is not running; `PermissionDenied`; `NotFound`
    /// (`environment`).
    pub async fn authorize_exec(&self, actor: &Actor, env_id: EnvironmentId) -> Result<()> {
        let access = self
            .environment_for(actor, env_id, Action::ExecEnvironment)
            .await?;
        match access.env.status {
            // The command will resume it.
            EnvironmentStatus::Suspended | EnvironmentStatus::Resuming => Ok(()),
            _ => running_container(&access.env).map(|_| ()),
        }
    }

    /// Authorizes, validates and finds the running container.
    async fn prepare_exec(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        request: &ExecRequest,
        tty: Option<TerminalSize>,
    ) -> Result<ExecTarget> {
        let access = self
            .environment_for(actor, env_id, Action::ExecEnvironment)
            .await?;
        check_request(request, self.config().exec_max_timeout)?;
        if let Some(size) = tty {
            check_size(size)?;
        }
        Ok(ExecTarget {
            container: self.awake_container(&access.env).await?,
            environment: env_id,
            team: access.project.owner.team_id(),
        })
    }

    fn exec_spec(&self, request: &ExecRequest, tty: Option<TerminalSize>, stdin: bool) -> ExecSpec {
        let mut env: Vec<(String, String)> = request
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        if tty.is_some() && !request.env.contains_key("TERM") {
            env.push(("TERM".into(), "xterm-256color".into()));
        }
        ExecSpec {
            cmd: request.command.clone(),
            env,
            user: self.config().container_user.clone(),
            working_dir: request.workdir.clone(),
            tty,
            stdin,
        }
    }

    /// Starts the process, notes how that went for the health pass, and audits it. It runs in
    /// a task of its own: a caller that goes away while the process starts (a dropped future)
    /// cannot leave it running unowned, since a session nobody receives is killed.
    async fn launch_exec(
        &self,
        actor: &Actor,
        target: &ExecTarget,
        spec: &ExecSpec,
        request: &ExecRequest,
    ) -> Result<ExecSession> {
        let (tx, rx) = tokio::sync::oneshot::channel();
        let (this, actor, spec) = (self.clone(), actor.clone(), spec.clone());
        let (container, environment, team) =
            (target.container.clone(), target.environment, target.team);
        let program = request.program().to_string();
        tokio::spawn(async move {
            let session = this.runtime().exec(&container, &spec).await;
            this.note_exec(&container, &session);
            if session.is_ok() {
                this.audit(
                    &actor,
                    AuditRecord::new("environment.exec", "environment", environment)
                        .team(team)
                        .details(json!({ "program": program })),
                )
                .await;
            }
            if let Err(Ok(abandoned)) = tx.send(session)
                && let Err(e) = this.runtime().kill_exec(&abandoned.id).await
            {
                tracing::debug!(error = %e, "could not kill an abandoned command");
            }
        });
        rx.await
            .map_err(|_| Error::internal("the exec task ended without an answer", None))?
    }
}

/// Where a command runs, once authorized and validated.
struct ExecTarget {
    container: ContainerId,
    environment: EnvironmentId,
    team: Option<crate::id::TeamId>,
}
