//! A running exec's handles: its output (capped for the one-shot form), stdin and controls,
//! and the guard that kills a process whose handles were all dropped.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};
use tokio::io::AsyncWrite;
use tokio::sync::watch;
use tokio_util::sync::{CancellationToken, DropGuard};

use crate::domain::LogStream;
use crate::error::Result;
use crate::runtime::{ExecId, ExecOutput, TerminalSize};
use crate::service::Vibebox;
use crate::service::terminal::check_size;

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
    pub(super) writer: Pin<Box<dyn AsyncWrite + Send>>,
    /// Bytes written are activity on the environment (its idle policy).
    pub(super) activity: crate::service::idle::ActivityMark,
    pub(super) _handle: Arc<Handle>,
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
        let this = self.get_mut();
        let written = this.writer.as_mut().poll_write(cx, buf);
        if matches!(written, Poll::Ready(Ok(n)) if n > 0) {
            this.activity.mark();
        }
        written
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
    pub(super) handle: Arc<Handle>,
    pub(super) output_done: watch::Receiver<bool>,
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
pub(super) struct Handle {
    pub(super) vibebox: Vibebox,
    pub(super) exec: ExecId,
    pub(super) finished: AtomicBool,
    pub(super) timed_out: Arc<AtomicBool>,
    /// Stops the timeout watchdog, if any, when the handle goes.
    pub(super) _watchdog: Option<DropGuard>,
}

impl Handle {
    pub(super) fn new(vibebox: &Vibebox, exec: &ExecId) -> Self {
        Self {
            vibebox: vibebox.clone(),
            exec: exec.clone(),
            finished: AtomicBool::new(false),
            timed_out: Arc::new(AtomicBool::new(false)),
            _watchdog: None,
        }
    }

    /// Kills the process after `timeout` unless the handle goes first.
    pub(super) fn with_watchdog(mut self, timeout: Duration) -> Self {
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
pub(super) struct Output {
    pub(super) inner: BoxStream<'static, Result<ExecOutput>>,
    pub(super) done: watch::Sender<bool>,
    pub(super) _handle: Arc<Handle>,
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
pub(super) struct Capped {
    pub(super) data: Vec<u8>,
    pub(super) cap: usize,
    pub(super) truncated: bool,
}

impl Capped {
    pub(super) fn new(cap: usize) -> Self {
        Self {
            data: Vec::new(),
            cap,
            truncated: false,
        }
    }

    pub(super) fn push(&mut self, chunk: &[u8]) {
        let room = self.cap.saturating_sub(self.data.len());
        if chunk.len() > room {
            self.truncated = true;
        }
        self.data
            .extend_from_slice(chunk.get(..room).unwrap_or(chunk));
    }
}

/// Both output streams of a one-shot command.
pub(super) struct Collected {
    pub(super) stdout: Capped,
    pub(super) stderr: Capped,
}

impl Collected {
    pub(super) fn push(&mut self, chunk: &ExecOutput) {
        match chunk.stream {
            LogStream::Stdout => self.stdout.push(&chunk.data),
            LogStream::Stderr => self.stderr.push(&chunk.data),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
