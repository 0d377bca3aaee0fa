//! Running the file scripts: starting one as the environment's user, feeding an upload's
//! body into its stdin with backpressure, and reading its output in bounded memory.

use std::io;
use std::pin::Pin;

use bytes::Bytes;
use futures::stream::{BoxStream, Stream, StreamExt};
use tokio::io::{AsyncWrite, AsyncWriteExt};

use super::entry::FIELDS;
use super::scripts::{SCRIPT_NAME, Script};
use crate::domain::LogStream;
use crate::error::{Error, Result};
use crate::runtime::{ContainerId, ExecId, ExecOutput, ExecSession, ExecSpec};
use crate::service::Vibebox;

/// Most stderr kept for an error message.
const STDERR_KEPT: usize = 4096;

/// Longest record header a download may start with (a name, a link target, numbers).
const HEADER_MAX: usize = 16 * 1024;

impl Vibebox {
    /// Starts `script` with `args` in the container, as the environment's user.
    pub(super) async fn start_script(
        &self,
        container: &ContainerId,
        script: Script,
        args: Vec<String>,
        stdin: bool,
    ) -> Result<ExecSession> {
        let mut cmd = vec![
            "/bin/sh".to_string(),
            "-c".to_string(),
            script.text(),
            SCRIPT_NAME.to_string(),
        ];
        cmd.extend(args);
        let spec = ExecSpec {
            cmd,
            user: self.config().container_user.clone(),
            stdin,
            ..ExecSpec::default()
        };
        let session = self.runtime().exec(container, &spec).await;
        self.note_exec(container, &session);
        session
    }
}

/// Kills an exec that is dropped before it was seen to end (a download whose reader went
/// away). Never used for uploads: a killed upload script could not remove its temporary
/// file, while one whose stdin closes early removes it itself.
pub(super) struct KillOnDrop {
    vibebox: Vibebox,
    exec: ExecId,
    armed: bool,
}

impl KillOnDrop {
    pub(super) fn new(vibebox: &Vibebox, exec: &ExecId) -> Self {
        Self {
            vibebox: vibebox.clone(),
            exec: exec.clone(),
            armed: true,
        }
    }

    /// The process ended by itself: nothing to kill.
    pub(super) fn disarm(&mut self) {
        self.armed = false;
    }

    pub(super) fn vibebox(&self) -> &Vibebox {
        &self.vibebox
    }

    pub(super) fn exec(&self) -> &ExecId {
        &self.exec
    }
}

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if self.armed
            && let Ok(rt) = tokio::runtime::Handle::try_current()
        {
            let (vibebox, exec) = (self.vibebox.clone(), self.exec.clone());
            rt.spawn(async move {
                if let Err(e) = vibebox.runtime().kill_exec(&exec).await {
                    tracing::debug!(error = %e, "could not kill an abandoned file transfer");
                }
            });
        }
    }
}

/// The start of a script's stderr, for error messages.
#[derive(Default)]
pub(super) struct Stderr(Vec<u8>);

impl Stderr {
    pub(super) fn push(&mut self, data: &[u8]) {
        let room = STDERR_KEPT.saturating_sub(self.0.len());
        self.0.extend_from_slice(data.get(..room).unwrap_or(data));
    }

    /// Its last non-empty line, or `fallback`.
    pub(super) fn last_line(&self, fallback: &str) -> String {
        String::from_utf8_lossy(&self.0)
            .lines()
            .rev()
            .map(str::trim)
            .find(|l| !l.is_empty())
            .map(|l| l.chars().take(300).collect())
            .unwrap_or_else(|| fallback.to_string())
    }

    /// Whether every line says only that a file changed while tar read it (GNU tar's exit 1).
    fn only_changed_files(&self) -> bool {
        String::from_utf8_lossy(&self.0)
            .lines()
            .filter(|l| !l.trim().is_empty())
            .all(|l| l.contains("changed as we read it"))
    }
}

/// How feeding an upload's body ended.
#[derive(Debug)]
pub(super) enum FeedEnd {
    /// Exactly the announced number of bytes, then end of stream.
    Complete,
    /// The body ended early.
    Short,
    /// The body went on past the announced length (the script then sees a wrong count).
    Long,
    /// Reading the body failed.
    BodyFailed(io::Error),
    /// The script stopped reading (it refused, or died).
    StdinClosed,
}

/// What was fed, and how it ended.
#[derive(Debug)]
pub(super) struct Fed {
    pub(super) sent: u64,
    pub(super) end: FeedEnd,
}

/// Copies `body` into `input` chunk by chunk (each write waits for the engine to take it),
/// then closes stdin, whatever happened: the script counts what it got and removes its
/// temporary file unless that is exactly `expected` bytes.
pub(super) async fn feed<S>(
    body: S,
    mut input: Pin<Box<dyn AsyncWrite + Send>>,
    expected: u64,
) -> Fed
where
    S: Stream<Item = io::Result<Bytes>> + Send,
{
    let mut body = std::pin::pin!(body);
    let mut sent: u64 = 0;
    let end = loop {
        match body.next().await {
            None if sent == expected => break FeedEnd::Complete,
            None => break FeedEnd::Short,
            Some(Err(e)) => break FeedEnd::BodyFailed(e),
            Some(Ok(chunk)) => {
                if let Err(e) = input.write_all(&chunk).await {
                    tracing::debug!(error = %e, "the upload script stopped reading");
                    break FeedEnd::StdinClosed;
                }
                sent = sent.saturating_add(chunk.len() as u64);
                if sent > expected {
                    break FeedEnd::Long;
                }
            }
        }
    };
    if let Err(e) = input.shutdown().await {
        tracing::debug!(error = %e, "could not close the upload script's stdin");
    }
    Fed { sent, end }
}

/// Reads a script's output to its end: stdout up to `cap` bytes (the rest is dropped) and
/// the start of stderr.
pub(super) async fn collect(
    output: &mut BoxStream<'static, Result<ExecOutput>>,
    cap: usize,
) -> Result<(Vec<u8>, Stderr)> {
    let mut stdout = Vec::new();
    let mut stderr = Stderr::default();
    while let Some(chunk) = output.next().await {
        let chunk = chunk?;
        match chunk.stream {
            LogStream::Stdout => {
                let room = cap.saturating_sub(stdout.len());
                stdout.extend_from_slice(chunk.data.get(..room).unwrap_or(&chunk.data));
            }
            LogStream::Stderr => stderr.push(&chunk.data),
        }
    }
    Ok((stdout, stderr))
}

/// What a listing script printed, read until it ended or until `max_records` records or
/// `max_bytes` bytes, whichever came first (then `stopped` is set and the rest is unread).
pub(super) struct Listing {
    pub(super) stdout: Vec<u8>,
    pub(super) stderr: Stderr,
    pub(super) stopped: bool,
}

pub(super) async fn read_listing(
    output: &mut BoxStream<'static, Result<ExecOutput>>,
    max_records: usize,
    max_bytes: usize,
) -> Result<Listing> {
    let mut listing = Listing {
        stdout: Vec::new(),
        stderr: Stderr::default(),
        stopped: false,
    };
    let max_nuls = max_records.saturating_mul(FIELDS);
    let mut nuls = 0usize;
    while let Some(chunk) = output.next().await {
        let chunk = chunk?;
        match chunk.stream {
            LogStream::Stdout => {
                nuls += chunk.data.iter().filter(|b| **b == 0).count();
                listing.stdout.extend_from_slice(&chunk.data);
                if nuls >= max_nuls || listing.stdout.len() >= max_bytes {
                    listing.stopped = true;
                    break;
                }
            }
            LogStream::Stderr => listing.stderr.push(&chunk.data),
        }
    }
    Ok(listing)
}

/// A download's header (its real path and the record of what it sends, `FIELDS + 1`
/// NUL-terminated fields) and the bytes after it; `None` when the output ended before a whole
/// header (the script refused: see its exit code).
pub(super) async fn read_header(
    output: &mut BoxStream<'static, Result<ExecOutput>>,
    stderr: &mut Stderr,
) -> Result<Option<(Vec<u8>, Bytes)>> {
    let mut header = Vec::new();
    while let Some(chunk) = output.next().await {
        let chunk = chunk?;
        if chunk.stream == LogStream::Stderr {
            stderr.push(&chunk.data);
            continue;
        }
        let before = header.len();
        header.extend_from_slice(&chunk.data);
        if let Some(end) = header_end(&header) {
            let rest = chunk
                .data
                .slice(end.saturating_sub(before).min(chunk.data.len())..);
            header.truncate(end);
            return Ok(Some((header, rest)));
        }
        if header.len() > HEADER_MAX {
            return Err(Error::internal(
                "a download began with an over-long header",
                None,
            ));
        }
    }
    Ok(None)
}

/// Where the header ends (just past its last NUL).
fn header_end(bytes: &[u8]) -> Option<usize> {
    bytes
        .iter()
        .enumerate()
        .filter(|(_, b)| **b == 0)
        .nth(FIELDS)
        .map(|(i, _)| i + 1)
}

/// The state of a download's body.
pub(super) struct Body {
    pub(super) output: BoxStream<'static, Result<ExecOutput>>,
    /// Stdout read past the header, not yet passed on.
    pub(super) pending: Bytes,
    /// Bytes still to send of a file; `None` for an archive (sent until tar ends).
    pub(super) remaining: Option<u64>,
    pub(super) stderr: Stderr,
    pub(super) guard: KillOnDrop,
    pub(super) path: String,
    pub(super) done: bool,
}

impl Body {
    /// The body as a stream: a file's bytes stop at the size it had when the download began
    /// (the exec is then killed if it still runs); an archive ends with an error if tar failed,
    /// so an incomplete archive never looks complete.
    pub(super) fn into_stream(mut self) -> BoxStream<'static, Result<Bytes>> {
        if self.remaining == Some(0) {
            self.done = true;
        }
        futures::stream::unfold(self, |mut body| async move {
            let item = body.next_chunk().await?;
            Some((item, body))
        })
        .boxed()
    }

    async fn next_chunk(&mut self) -> Option<Result<Bytes>> {
        if self.done {
            return None;
        }
        loop {
            let chunk = if self.pending.is_empty() {
                match self.output.next().await {
                    Some(Ok(c)) if c.stream == LogStream::Stdout => c.data,
                    Some(Ok(c)) => {
                        self.stderr.push(&c.data);
                        continue;
                    }
                    Some(Err(e)) => {
                        self.done = true;
                        return Some(Err(e));
                    }
                    None => {
                        self.done = true;
                        return self.finish().await.err().map(Err);
                    }
                }
            } else {
                std::mem::take(&mut self.pending)
            };
            if chunk.is_empty() {
                continue;
            }
            let Some(remaining) = self.remaining.as_mut() else {
                return Some(Ok(chunk));
            };
            let n = usize::try_from(*remaining)
                .unwrap_or(usize::MAX)
                .min(chunk.len());
            *remaining -= n as u64;
            if *remaining == 0 {
                self.done = true;
            }
            return Some(Ok(chunk.slice(..n)));
        }
    }

    /// The output ended: a file must have sent all its bytes; tar must have succeeded.
    async fn finish(&mut self) -> Result<()> {
        if let Some(remaining) = self.remaining {
            self.guard.disarm();
            return Err(Error::Conflict(
                format!(
                    "{:?} ended {remaining} bytes short of its size ({}); it changed while it \
                     was read",
                    self.path,
                    self.stderr.last_line("no error reported"),
                )
                .into(),
            ));
        }
        let info = self
            .guard
            .vibebox()
            .wait_for_exit(self.guard.exec())
            .await?;
        if !info.running {
            self.guard.disarm();
        }
        match info.exit_code {
            Some(0) => Ok(()),
            Some(1) if self.stderr.only_changed_files() => Ok(()),
            code => Err(Error::Conflict(
                format!(
                    "the archive of {:?} is incomplete: {}",
                    self.path,
                    self.stderr
                        .last_line(&format!("tar ended with exit code {code:?}")),
                )
                .into(),
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_header_ends_after_the_seventh_nul() {
        let header: Vec<u8> = ["/a", "a", "f", "644", "1", "2", ""]
            .iter()
            .flat_map(|f| f.bytes().chain([0]))
            .collect();
        let mut with_rest = header.clone();
        with_rest.extend(b"rest");
        assert_eq!(header_end(&with_rest), Some(header.len()));
        assert_eq!(header_end(&header[..header.len() - 1]), None);
    }

    #[test]
    fn stderr_keeps_its_start_and_names_its_last_line() {
        let mut s = Stderr::default();
        s.push(b"tar: a: Cannot open: Permission denied\n\n");
        assert_eq!(s.last_line("-"), "tar: a: Cannot open: Permission denied");
        s.push(&vec![b'x'; 2 * STDERR_KEPT]);
        assert_eq!(s.0.len(), STDERR_KEPT);
        assert_eq!(Stderr::default().last_line("none"), "none");
    }

    #[test]
    fn only_changed_file_warnings_are_forgiven() {
        let mut s = Stderr::default();
        s.push(b"tar: sub/log: file changed as we read it\n");
        assert!(s.only_changed_files());
        s.push(b"tar: sub/secret: Cannot open: Permission denied\n");
        assert!(!s.only_changed_files());
    }
}
