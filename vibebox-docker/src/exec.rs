//! Processes inside containers: exec with or without a terminal, resize, inspect and kill.
//!
//! Docker has no call to kill an exec (moby#9098). Every exec therefore carries a marker
//! variable, `VIBEBOX_EXEC=<token>`, and `kill_exec` runs a second exec, as the same user,
//! that finds the process with that marker whose parent is outside the container (PPid 0:
//! the exec's own process, not a child or a daemon it started, such as a tmux server) and
//! kills its process group. A terminal's shell then takes its foreground job with it (the
//! kernel hangs up the session), while a tmux server, a session of its own, lives on.

use bollard::container::LogOutput;
use bollard::exec::StartExecResults;
use bollard::models::ExecConfig;
use bollard::query_parameters::ResizeExecOptionsBuilder;
use futures::StreamExt;
use vibebox_core::domain::LogStream;
use vibebox_core::error::{Error, ErrorKind, Result};
use vibebox_core::runtime::{
    ContainerId, ExecId, ExecInfo, ExecOutput, ExecSession, ExecSpec, TerminalSize,
};

use crate::error::{self, server_error};
use crate::exec_registry::{ExecRecord, ExecRegistry};
use crate::runtime::DockerRuntime;

/// The variable that marks an exec's process.
pub(crate) const EXEC_MARKER: &str = "VIBEBOX_EXEC";

/// Finds the exec's own process by its marker and kills its process group (or the process
/// alone when it leads no group). `$1` is the marker line.
const KILL_SCRIPT: &str = r#"found=1
for d in /proc/[0-9]*; do
  grep -q '^PPid:[[:space:]]*0$' "$d/status" 2>/dev/null || continue
  tr '\000' '\n' < "$d/environ" 2>/dev/null | grep -qxF "$1" || continue
  p=${d#/proc/}
  kill -KILL -"$p" 2>/dev/null || kill -KILL "$p" 2>/dev/null
  found=0
done
exit $found"#;

impl DockerRuntime {
    fn registry(&self) -> std::sync::MutexGuard<'_, ExecRegistry> {
        self.inner.execs.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The execs this runtime started in the container and still remembers.
    pub(crate) fn execs_started_in(&self, container: &ContainerId) -> Vec<String> {
        self.registry().started_in(container)
    }

    pub(crate) async fn start_exec(
        &self,
        id: &ContainerId,
        spec: &ExecSpec,
    ) -> Result<ExecSession> {
        if spec.cmd.is_empty() {
            return Err(Error::invalid("cmd", "must not be empty"));
        }
        let docker = self.client().await?;
        // A pause waits for this start (see `pause.rs`): freezing a half-started exec wedges
        // the engine.
        let gate = self.inner.freeze_gates.gate(id);
        let _starting = gate.read().await;
        let token = uuid::Uuid::now_v7().simple().to_string();
        let mut env: Vec<String> = spec.env.iter().map(|(k, v)| format!("{k}={v}")).collect();
        env.push(format!("{EXEC_MARKER}={token}"));
        let created = docker
            .create_exec(
                id.as_str(),
                ExecConfig {
                    attach_stdin: Some(spec.stdin),
                    attach_stdout: Some(true),
                    attach_stderr: Some(true),
                    tty: Some(spec.tty.is_some()),
                    env: Some(env),
                    cmd: Some(spec.cmd.clone()),
                    user: spec.user.clone(),
                    working_dir: spec.working_dir.clone(),
                    ..Default::default()
                },
            )
            .await
            .map_err(|e| match server_error(&e) {
                // 409 "Container … is paused, unpause the container before exec".
                Some((409, message)) if message.contains("is paused") => {
                    Error::runtime(ErrorKind::Conflict, PAUSED_REFUSAL, Some(error::boxed(e)))
                }
                Some((409, _)) => Error::runtime(
                    ErrorKind::Conflict,
                    "the container is not running",
                    Some(error::boxed(e)),
                ),
                _ => error::map("container", e),
            })?;
        let exec_id = created.id;
        self.registry().insert(
            exec_id.clone(),
            ExecRecord {
                container: id.clone(),
                user: spec.user.clone(),
                token,
                tty: spec.tty.is_some(),
            },
        );
        // Started without the tty option even for a terminal: Docker then frames the PTY's
        // output, so bollard's frame decoder cannot mistake output bytes for a header.
        let started = match docker.start_exec(&exec_id, None).await {
            Ok(started) => started,
            Err(e) => {
                self.registry().remove(&exec_id);
                return Err(error::map("container", e));
            }
        };
        let StartExecResults::Attached { output, input } = started else {
            return Err(Error::internal("the exec started detached", None));
        };
        if let Some(size) = spec.tty
            && let Err(e) = self.resize(&exec_id, size).await
        {
            tracing::debug!(error = %e, "could not size a new terminal");
        }
        let output = output
            .filter_map(|item| async move {
                match item {
                    Ok(LogOutput::StdOut { message } | LogOutput::Console { message }) => {
                        Some(Ok(ExecOutput {
                            stream: LogStream::Stdout,
                            data: message,
                        }))
                    }
                    Ok(LogOutput::StdErr { message }) => Some(Ok(ExecOutput {
                        stream: LogStream::Stderr,
                        data: message,
                    })),
                    Ok(LogOutput::StdIn { .. }) => None,
                    Err(e) => Some(Err(error::map("exec", e))),
                }
            })
            .boxed();
        let input: std::pin::Pin<Box<dyn tokio::io::AsyncWrite + Send>> = if spec.stdin {
            input
        } else {
            Box::pin(tokio::io::sink())
        };
        Ok(ExecSession {
            id: ExecId(exec_id),
            output,
            input,
        })
    }

    async fn resize(&self, exec: &str, size: TerminalSize) -> Result<()> {
        let docker = self.client().await?;
        docker
            .resize_exec(
                exec,
                ResizeExecOptionsBuilder::new()
                    .w(i32::from(size.cols))
                    .h(i32::from(size.rows))
                    .build(),
            )
            .await
            .map_err(|e| error::map("exec", e))
    }

    pub(crate) async fn resize_terminal(&self, exec: &ExecId, size: TerminalSize) -> Result<()> {
        let known = self.registry().get(&exec.0);
        let tty = match known {
            Some(r) => r.tty,
            None => self.inspect_raw(exec).await?.1,
        };
        if !tty {
            return Err(Error::invalid("tty", "the exec has no terminal to resize"));
        }
        self.resize(&exec.0, size).await
    }

    /// The exec's info and whether it has a TTY.
    async fn inspect_raw(&self, exec: &ExecId) -> Result<(ExecInfo, bool)> {
        let docker = self.client().await?;
        let r = docker
            .inspect_exec(&exec.0)
            .await
            .map_err(|e| error::map("exec", e))?;
        let running = r.running.unwrap_or(false);
        let tty = r.process_config.and_then(|p| p.tty).unwrap_or(false);
        Ok((
            ExecInfo {
                running,
                exit_code: r.exit_code.filter(|_| !running),
                pid: r.pid.filter(|p| *p > 0),
            },
            tty,
        ))
    }

    pub(crate) async fn inspect_exec_info(&self, exec: &ExecId) -> Result<ExecInfo> {
        let (info, _) = self.inspect_raw(exec).await?;
        if !info.running {
            self.registry().remove(&exec.0);
        }
        Ok(info)
    }

    pub(crate) async fn kill_exec_process(&self, exec: &ExecId) -> Result<()> {
        let (info, _) = self.inspect_raw(exec).await?;
        if !info.running {
            self.registry().remove(&exec.0);
            return Ok(());
        }
        let known = self.registry().get(&exec.0);
        let Some(record) = known else {
            return Err(Error::Unsupported(
                "killing an exec this runtime did not start".into(),
            ));
        };
        let killer = ExecSpec {
            cmd: vec![
                "/bin/sh".into(),
                "-c".into(),
                KILL_SCRIPT.into(),
                "vibebox-kill".into(),
                format!("{EXEC_MARKER}={}", record.token),
            ],
            user: record.user.clone(),
            ..Default::default()
        };
        // The engine reports an exec running from the moment runc sets it up, before the
        // process has exec'd and carries its environment: a search that finds nothing while
        // the exec still runs is tried again a few times.
        let mut backoff = KILL_RETRY_START;
        for attempt in 1..=KILL_ATTEMPTS {
            let session = match self.start_exec(&record.container, &killer).await {
                Ok(s) => s,
                // A paused container runs no new process: the exec lives on, frozen.
                Err(e) if e.kind() == ErrorKind::Conflict && is_paused_refusal(&e) => {
                    return Err(e);
                }
                // The container stopped meanwhile, and the exec with it.
                Err(e) if matches!(e.kind(), ErrorKind::Conflict | ErrorKind::NotFound) => {
                    self.registry().remove(&exec.0);
                    return Ok(());
                }
                Err(e) => return Err(e),
            };
            let killer_id = session.id.clone();
            // The killer's output ends with it.
            session.output.for_each(|_| async {}).await;
            let (killed, _) = self.inspect_raw(&killer_id).await?;
            self.registry().remove(&killer_id.0);
            let (now, _) = self.inspect_raw(exec).await?;
            if killed.exit_code == Some(0) || !now.running {
                self.registry().remove(&exec.0);
                return Ok(());
            }
            tracing::debug!(exec = %exec, attempt, "the exec's process was not found yet");
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
        Err(Error::runtime(
            ErrorKind::Internal,
            "could not find the exec's process to kill it",
            None,
        ))
    }
}

/// Whether `start_exec` refused because the container is paused.
fn is_paused_refusal(e: &Error) -> bool {
    e.to_string() == PAUSED_REFUSAL
}

/// `start_exec`'s refusal of a paused container.
const PAUSED_REFUSAL: &str = "the container is paused";

/// How many times `kill_exec` looks for the process.
const KILL_ATTEMPTS: u32 = 6;
/// The wait after the first search that found nothing; it doubles each time (about 1.3 s
/// in all).
const KILL_RETRY_START: std::time::Duration = std::time::Duration::from_millis(20);
