//! Running commands in environments (DESIGN.md §9): [`Vibebox::exec`] runs one to its end and
//! returns its exit code and output (capped, with a timeout); [`Vibebox::exec_stream`] starts
//! one and hands back its output, stdin and controls.
//!
//! Both check `ExecEnvironment` (a viewer is refused, a stranger is told the environment does
//! not exist), validate the request naming the field, need a running environment, run as the
//! configured container user, and record an `environment.exec` audit event whose details name
//! the program only: never its arguments, its variables or its stdin, which may hold secrets.
//! A process whose handles are all dropped while it runs is killed.

use std::collections::BTreeMap;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};
use serde_json::json;
use tokio::io::{AsyncWrite, AsyncWriteExt};
use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, DropGuard};
use tracing::instrument;

use super::sessions::running_container;
use super::terminal::check_size;
use super::{AuditRecord, Vibebox};
use crate::domain::LogStream;
use crate::error::{Error, Result};
use crate::id::EnvironmentId;
use crate::rbac::{Action, Actor};
use crate::runtime::{ContainerId, ExecId, ExecOutput, ExecSession, ExecSpec, TerminalSize};
use crate::validate;

/// Most arguments a command may have (the program included).
pub const EXEC_MAX_ARGS: usize = 4096;
/// Most bytes a command's arguments may add up to.
pub const EXEC_MAX_ARGV_BYTES: usize = 256 * 1024;
/// Most environment variables a command may be given.
pub const EXEC_MAX_ENV: usize = 256;
/// Longest working directory, in bytes.
pub const EXEC_MAX_WORKDIR_BYTES: usize = 4096;
/// Most bytes of stdin a one-shot command may be given.
pub const EXEC_MAX_STDIN_BYTES: usize = 16 * 1024 * 1024;

/// How long a timed-out command's output may take to end after its process was killed.
const KILL_GRACE: Duration = Duration::from_secs(5);

/// A command to run in an environment.
///
/// ```
/// # use std::time::Duration;
/// # use vibebox_core::service::ExecRequest;
/// let request = ExecRequest::new(["cat"])
///     .with_stdin("hello")
///     .with_timeout(Duration::from_secs(5));
/// # let _ = request;
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    /// The program and its arguments (argv, not a shell line).
    pub command: Vec<String>,
    /// Variables added to the environment's own (keys as for environment variables).
    pub env: BTreeMap<String, String>,
    /// The working directory, an absolute path (default: the image's).
    pub workdir: Option<String>,
    /// Bytes written to the process's stdin, which is then closed (one-shot form only; the
    /// streaming form has a writer). Without it the process gets no stdin.
    pub stdin: Option<Bytes>,
    /// How long the process may run before it is killed. One-shot: default
    /// [`Config::exec_default_timeout`](crate::Config::exec_default_timeout); streaming: no
    /// limit unless given. At most [`Config::exec_max_timeout`](crate::Config::exec_max_timeout).
    pub timeout: Option<Duration>,
}

impl ExecRequest {
    /// A request to run `command` (program first) with everything else by default.
    pub fn new<S: Into<String>>(command: impl IntoIterator<Item = S>) -> Self {
        Self {
            command: command.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Sets the bytes written to stdin.
    pub fn with_stdin(mut self, stdin: impl Into<Bytes>) -> Self {
        self.stdin = Some(stdin.into());
        self
    }

    /// Sets the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Adds a variable.
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets the working directory.
    pub fn with_workdir(mut self, workdir: impl Into<String>) -> Self {
        self.workdir = Some(workdir.into());
        self
    }

    /// The program's base name, as the audit log records it.
    fn program(&self) -> &str {
        let program = self.command.first().map(String::as_str).unwrap_or("");
        program.rsplit('/').next().unwrap_or(program)
    }
}

/// Arguments, variable values and stdin may hold secrets: only their shape is shown.
impl std::fmt::Debug for ExecRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecRequest")
            .field("program", &self.program())
            .field("args", &self.command.len().saturating_sub(1))
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("workdir", &self.workdir)
            .field("stdin_bytes", &self.stdin.as_ref().map(Bytes::len))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// What a one-shot command did.
#[derive(Clone, PartialEq, Eq)]
pub struct ExecResult {
    /// The exit code the engine reports; `None` if it reported none (a process killed on
    /// timeout that the engine still showed as running).
    pub exit_code: Option<i64>,
    /// Its stdout, up to [`Config::exec_output_cap`](crate::Config::exec_output_cap) bytes.
    pub stdout: Bytes,
    /// Its stderr, up to the same cap.
    pub stderr: Bytes,
    /// Whether stdout went past the cap (the rest was read and dropped).
    pub stdout_truncated: bool,
    /// Whether stderr went past the cap.
    pub stderr_truncated: bool,
    /// Whether it ran out of time and was killed.
    pub timed_out: bool,
    /// How long it ran, from its start to the end of its output.
    pub duration: Duration,
}

/// Output may hold secrets: only its size is shown.
impl std::fmt::Debug for ExecResult {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecResult")
            .field("exit_code", &self.exit_code)
            .field("stdout_bytes", &self.stdout.len())
            .field("stderr_bytes", &self.stderr.len())
            .field("stdout_truncated", &self.stdout_truncated)
            .field("stderr_truncated", &self.stderr_truncated)
            .field("timed_out", &self.timed_out)
            .field("duration", &self.duration)
            .finish()
    }
}

/// How a streamed command ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize)]
pub struct ExecExit {
    /// The exit code the engine reports, if it reports one.
    pub exit_code: Option<i64>,
    /// Whether it ran out of time and was killed.
    pub timed_out: bool,
}

/// A running command: read `output`, write `stdin`, and `control` it. Dropping every part
/// while the process runs kills it.
pub struct ExecStream {
    /// What the process writes, stdout and stderr kept apart (with a TTY, everything is
    /// stdout); ends when the process ends.
    pub output: BoxStream<'static, Result<ExecOutput>>,
    /// The process's stdin; shutting it down closes stdin.
    pub stdin: ExecStdin,
    /// Resize, kill, and the exit.
    pub control: ExecControl,
}

impl std::fmt::Debug for ExecStream {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecStream")
            .field("exec", &self.control.handle.exec)
            .finish_non_exhaustive()
    }
}

/// The stdin of a streamed command, an [`AsyncWrite`]. Shutting it down closes stdin.
pub struct ExecStdin {
    writer: Pin<Box<dyn AsyncWrite + Send>>,
    _handle: Arc<Handle>,
}

impl std::fmt::Debug for ExecStdin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecStdin").finish_non_exhaustive()
    }
}

impl AsyncWrite for ExecStdin {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        self.get_mut().writer.as_mut().poll_write(cx, buf)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().writer.as_mut().poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        self.get_mut().writer.as_mut().poll_shutdown(cx)
    }
}

/// Resize, kill and the exit of a streamed command. Cheap to clone.
#[derive(Clone)]
pub struct ExecControl {
    handle: Arc<Handle>,
    output_done: watch::Receiver<bool>,
}

impl std::fmt::Debug for ExecControl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecControl")
            .field("exec", &self.handle.exec)
            .finish_non_exhaustive()
    }
}

impl ExecControl {
    /// The engine's id of the process.
    pub fn exec_id(&self) -> &ExecId {
        &self.handle.exec
    }

    /// Resizes the terminal. Errors: `InvalidInput` (`cols`/`rows`) outside 1–1000, or
    /// (`tty`) when the command has no terminal.
    pub async fn resize(&self, size: TerminalSize) -> Result<()> {
        check_size(size)?;
        self.handle
            .vibebox
            .runtime()
            .resize_exec(&self.handle.exec, size)
            .await
    }

    /// Kills the process (its output then ends). One that already ended is left alone.
    pub async fn kill(&self) -> Result<()> {
        self.handle
            .vibebox
            .runtime()
            .kill_exec(&self.handle.exec)
            .await
    }

    /// Waits for the output to end (or to be dropped), then reports how the process ended.
    /// If the output was dropped while the process runs, `exit_code` is `None`.
    pub async fn wait(&self) -> Result<ExecExit> {
        let mut done = self.output_done.clone();
        // An error means the output is gone, which also ends the wait.
        let _ = done.wait_for(|d| *d).await;
        let info = self.handle.vibebox.wait_for_exit(&self.handle.exec).await?;
        if !info.running {
            self.handle.finished.store(true, Ordering::SeqCst);
        }
        Ok(ExecExit {
            exit_code: info.exit_code,
            timed_out: self.handle.timed_out.load(Ordering::SeqCst),
        })
    }
}

/// What the parts of one command share. When the last part goes and the process was not
/// seen to end, it is killed.
struct Handle {
    vibebox: Vibebox,
    exec: ExecId,
    finished: AtomicBool,
    timed_out: Arc<AtomicBool>,
    /// Stops the timeout watchdog, if any, when the handle goes.
    _watchdog: Option<DropGuard>,
}

impl Handle {
    fn new(vibebox: &Vibebox, exec: &ExecId) -> Self {
        Self {
            vibebox: vibebox.clone(),
            exec: exec.clone(),
            finished: AtomicBool::new(false),
            timed_out: Arc::new(AtomicBool::new(false)),
            _watchdog: None,
        }
    }

    /// Kills the process after `timeout` unless the handle goes first.
    fn with_watchdog(mut self, timeout: Duration) -> Self {
        let stop = CancellationToken::new();
        let (vibebox, exec, timed_out) = (
            self.vibebox.clone(),
            self.exec.clone(),
            self.timed_out.clone(),
        );
        let stopped = stop.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = stopped.cancelled() => {}
                () = tokio::time::sleep(timeout) => {
                    timed_out.store(true, Ordering::SeqCst);
                    tracing::info!(exec = %exec, "a command ran out of time; killing it");
                    if let Err(e) = vibebox.runtime().kill_exec(&exec).await {
                        tracing::warn!(error = %e, "could not kill a command that ran out of time");
                    }
                }
            }
        });
        self._watchdog = Some(stop.drop_guard());
        self
    }
}

impl Drop for Handle {
    fn drop(&mut self) {
        if !self.finished.load(Ordering::SeqCst)
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let (vibebox, exec) = (self.vibebox.clone(), self.exec.clone());
            rt.spawn(async move {
                if let Err(e) = vibebox.runtime().kill_exec(&exec).await {
                    tracing::debug!(error = %e, "could not kill an abandoned command");
                }
            });
        }
    }
}

/// A streamed command's output: says when it ends or is dropped, and keeps the handle.
struct Output {
    inner: BoxStream<'static, Result<ExecOutput>>,
    done: watch::Sender<bool>,
    _handle: Arc<Handle>,
}

impl Stream for Output {
    type Item = Result<ExecOutput>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let next = self.inner.poll_next_unpin(cx);
        if let Poll::Ready(None) = next {
            self.done.send_replace(true);
        }
        next
    }
}

impl Drop for Output {
    fn drop(&mut self) {
        self.done.send_replace(true);
    }
}

/// One output stream of a one-shot command, kept up to a cap.
struct Capped {
    data: Vec<u8>,
    cap: usize,
    truncated: bool,
}

impl Capped {
    fn new(cap: usize) -> Self {
        Self {
            data: Vec::new(),
            cap,
            truncated: false,
        }
    }

    fn push(&mut self, chunk: &[u8]) {
        let room = self.cap.saturating_sub(self.data.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        self.data
            .extend_from_slice(chunk.get(..room).unwrap_or(chunk));
    }
}

/// Both output streams of a one-shot command.
struct Collected {
    stdout: Capped,
    stderr: Capped,
}

impl Collected {
    fn push(&mut self, chunk: &ExecOutput) {
        match chunk.stream {
            LogStream::Stdout => self.stdout.push(&chunk.data),
            LogStream::Stderr => self.stderr.push(&chunk.data),
        }
    }
}

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
        running_container(&access.env).map(|_| ())
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
            container: running_container(&access.env)?,
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

    /// Starts the process, notes how that went for the health pass, and audits it.
    async fn launch_exec(
        &self,
        actor: &Actor,
        target: &ExecTarget,
        spec: &ExecSpec,
        request: &ExecRequest,
    ) -> Result<ExecSession> {
        let session = self.runtime().exec(&target.container, spec).await;
        self.note_exec(&target.container, &session);
        let session = session?;
        self.audit(
            actor,
            AuditRecord::new("environment.exec", "environment", target.environment)
                .team(target.team)
                .details(json!({ "program": request.program() })),
        )
        .await;
        Ok(session)
    }
}

/// Where a command runs, once authorized and validated.
struct ExecTarget {
    container: ContainerId,
    environment: EnvironmentId,
    team: Option<crate::id::TeamId>,
}

/// The rules of an exec request, each failure naming its field.
fn check_request(request: &ExecRequest, max_timeout: Duration) -> Result<()> {
    check_command(&request.command)?;
    check_env(&request.env)?;
    if let Some(dir) = &request.workdir {
        check_workdir(dir)?;
    }
    if let Some(stdin) = &request.stdin
        && stdin.len() > EXEC_MAX_STDIN_BYTES
    {
        return Err(Error::invalid(
            "stdin",
            format!("must be at most {EXEC_MAX_STDIN_BYTES} bytes"),
        ));
    }
    if let Some(timeout) = request.timeout {
        if timeout.is_zero() {
            return Err(Error::invalid("timeout", "must be more than zero"));
        }
        if timeout > max_timeout {
            return Err(Error::invalid(
                "timeout",
                format!("must be at most {} s", max_timeout.as_secs()),
            ));
        }
    }
    Ok(())
}

/// Arguments are never echoed in a reason: they may hold secrets.
fn check_command(command: &[String]) -> Result<()> {
    let Some(program) = command.first() else {
        return Err(Error::invalid("command", "must not be empty"));
    };
    if program.is_empty() {
        return Err(Error::invalid("command", "the program must not be empty"));
    }
    if command.len() > EXEC_MAX_ARGS {
        return Err(Error::invalid(
            "command",
            format!("must have at most {EXEC_MAX_ARGS} arguments"),
        ));
    }
    if let Some(i) = command.iter().position(|a| a.contains('\0')) {
        return Err(Error::invalid(
            "command",
            format!("argument {i} contains a NUL byte"),
        ));
    }
    let total: usize = command.iter().map(|a| a.len() + 1).sum();
    if total > EXEC_MAX_ARGV_BYTES {
        return Err(Error::invalid(
            "command",
            format!("must add up to at most {EXEC_MAX_ARGV_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Keys follow the environment-variable rule; values are never echoed.
fn check_env(env: &BTreeMap<String, String>) -> Result<()> {
    if env.len() > EXEC_MAX_ENV {
        return Err(Error::invalid(
            "env",
            format!("must have at most {EXEC_MAX_ENV} variables"),
        ));
    }
    for (key, value) in env {
        if key.contains('\0') {
            return Err(Error::invalid("env", "a key contains a NUL byte"));
        }
        if let Err(e) = validate::variable_key(key) {
            let reason = match e {
                Error::InvalidInput { reason, .. } => reason,
                other => other.to_string().into(),
            };
            return Err(Error::invalid("env", format!("key {key:?}: {reason}")));
        }
        if value.contains('\0') {
            return Err(Error::invalid(
                "env",
                format!("the value of {key} contains a NUL byte"),
            ));
        }
        if value.len() > validate::VARIABLE_VALUE_MAX {
            return Err(Error::invalid(
                "env",
                format!(
                    "the value of {key} must be at most {} bytes",
                    validate::VARIABLE_VALUE_MAX
                ),
            ));
        }
    }
    Ok(())
}

fn check_workdir(dir: &str) -> Result<()> {
    if dir.contains('\0') {
        return Err(Error::invalid("workdir", "must not contain a NUL byte"));
    }
    if !dir.starts_with('/') {
        return Err(Error::invalid("workdir", "must be an absolute path"));
    }
    if dir.len() > EXEC_MAX_WORKDIR_BYTES {
        return Err(Error::invalid(
            "workdir",
            format!("must be at most {EXEC_MAX_WORKDIR_BYTES} bytes"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn field(request: &ExecRequest) -> Option<String> {
        check_request(request, HOUR)
            .err()
            .and_then(|e| e.field().map(str::to_string))
    }

    #[test]
    fn a_plain_command_passes() {
        assert_eq!(field(&ExecRequest::new(["ls", "-l", "/"])), None);
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases = [
            (ExecRequest::new(Vec::<String>::new()), "command"),
            (ExecRequest::new([""]), "command"),
            (ExecRequest::new(["echo", "a\0b"]), "command"),
            (ExecRequest::new(vec!["x"; EXEC_MAX_ARGS + 1]), "command"),
            (
                ExecRequest::new(["echo".to_string(), "x".repeat(EXEC_MAX_ARGV_BYTES)]),
                "command",
            ),
            (ExecRequest::new(["env"]).with_env("lower", "v"), "env"),
            (ExecRequest::new(["env"]).with_env("A\0", "v"), "env"),
            (ExecRequest::new(["env"]).with_env("A", "v\0"), "env"),
            (ExecRequest::new(["pwd"]).with_workdir("tmp"), "workdir"),
            (ExecRequest::new(["pwd"]).with_workdir("/t\0"), "workdir"),
            (
                ExecRequest::new(["true"]).with_timeout(Duration::ZERO),
                "timeout",
            ),
            (
                ExecRequest::new(["true"]).with_timeout(HOUR + Duration::from_secs(1)),
                "timeout",
            ),
            (
                ExecRequest::new(["cat"]).with_stdin(vec![0u8; EXEC_MAX_STDIN_BYTES + 1]),
                "stdin",
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(field(&request).as_deref(), Some(expected), "{request:?}");
        }
    }

    #[test]
    fn reasons_never_echo_arguments_or_values() {
        let e = check_request(&ExecRequest::new(["echo", "canary-arg\0"]), HOUR).err();
        assert!(e.is_some_and(|e| !e.to_string().contains("canary-arg")));
        let e = check_request(
            &ExecRequest::new(["env"]).with_env("K", "canary-value\0"),
            HOUR,
        )
        .err();
        assert!(e.is_some_and(|e| !e.to_string().contains("canary-value")));
    }

    #[test]
    fn the_audited_program_is_the_base_name_and_debug_hides_arguments() {
        let r = ExecRequest::new(["/usr/bin/env", "SECRET=canary"]).with_stdin("canary-in");
        assert_eq!(r.program(), "env");
        let shown = format!("{r:?}");
        assert!(!shown.contains("canary"), "{shown}");
    }

    #[test]
    fn output_past_the_cap_is_dropped_and_flagged() {
        let mut c = Capped::new(4);
        c.push(b"ab");
        assert!(!c.truncated);
        c.push(b"cd");
        assert!(!c.truncated);
        c.push(b"e");
        assert_eq!((c.data.as_slice(), c.truncated), (&b"abcd"[..], true));
    }
}
