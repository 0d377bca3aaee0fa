//! One collector's reading of one container's output.
//!
//! The engine's follow cannot be trusted with the lines themselves: Docker 20.10's json-file
//! follower, when the log rotates while it is behind, skips the rest of a file, sends lines
//! again and then stalls for good, with the container still running (seen here: a 200,000-line
//! burst delivered lines 1–78,897, then 157,257–200,000, then 157,257–199,960 again, then
//! nothing). Reads that do not follow are consistent snapshots of the retained files. So:
//!
//! - a follow that asks for no history (`tail 0`) serves only as a doorbell: a line on it
//!   says that there is new output;
//! - each ring is answered by a catch-up: a read of the last lines (the doorbell's count plus
//!   a margin) that must reach back to the position; when it does not, a read of everything
//!   since the position. Only catch-ups publish and store lines;
//! - while the doorbell is quiet, a catch-up also runs after 1 s, then at doubling intervals
//!   up to 30 s. One that finds lines means the doorbell stalled: it is opened again;
//! - a read since the position whose first line comes after it means the engine no longer
//!   holds the position's line: the rotation removed it, and whatever followed it, before
//!   VibeBox read them. That gap is stored as a log line and published as an event.

use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::Notify;
use tokio::time::Instant;

use super::position::{Position, Replay};
use crate::clock::{Timestamp, truncate};
use crate::domain::{LogStream, NewLogEntry, WarningCode};
use crate::error::{Error, ErrorKind, Result};
use crate::events::EventKind;
use crate::id::EnvironmentId;
use crate::runtime::{ContainerId, LogChunk, LogOptions};
use crate::service::Vibebox;

/// The first catch-up check after the last line.
const QUIET_CHECK_MIN: Duration = Duration::from_secs(1);
/// The longest time between catch-up checks while the output stays quiet.
const QUIET_CHECK_MAX: Duration = Duration::from_secs(30);
/// Catch-ups while output flows are at least this far apart; rings in between add up. It
/// caps the engine requests of a chatty environment at 200 a second, and delays a line by at
/// most this much.
const CATCH_UP_SPACING: Duration = Duration::from_millis(5);
/// Lines a catch-up reads beyond the doorbell's count, to reach back to the position.
const WINDOW_MARGIN: usize = 256;
/// A follow that ends sooner than this after it was opened is opened again only after it.
const REOPEN_PAUSE: Duration = Duration::from_millis(200);
/// Failures in a row after which the environment carries a `log_collection` warning.
pub(super) const WARN_AFTER_FAILURES: u32 = 3;

/// Reads one container's output into the store and the event bus.
pub(super) struct Reader {
    vibebox: Vibebox,
    env_id: EnvironmentId,
    container: ContainerId,
    /// Loaded from the store on the first run.
    position: Option<Position>,
    /// Lines stamped before this belong to an earlier container of the environment, whose
    /// log this container's engine never held.
    log_start: Option<Timestamp>,
    batch: Vec<NewLogEntry>,
    flush_at: Instant,
    /// Failed runs in a row.
    pub(super) failures: u32,
    /// Lines the last catch-up took: the next one's window is sized from it too.
    last_taken: usize,
    /// Notified when the container has stopped (a stalled follow may not end by itself).
    stopped: Arc<Notify>,
}

/// Why following stopped.
enum FollowEnd {
    /// The engine ended the follow (the container stopped, or the engine broke it off).
    Ended,
    /// The follow went quiet while the container wrote lines.
    Stalled,
}

impl Reader {
    pub(super) fn new(
        vibebox: Vibebox,
        env_id: EnvironmentId,
        container: ContainerId,
        stopped: Arc<Notify>,
    ) -> Self {
        let batch_size = vibebox.config().log_batch_size.max(1);
        Self {
            vibebox,
            env_id,
            container,
            position: None,
            log_start: None,
            batch: Vec::with_capacity(batch_size),
            flush_at: Instant::now(),
            failures: 0,
            last_taken: 0,
            stopped,
        }
    }

    /// Collects until the container has stopped and its last lines are stored. Errors end
    /// the run with what was read kept (in memory, or in the store); the next run goes on
    /// from there.
    pub(super) async fn run(&mut self) -> Result<()> {
        self.flush().await?;
        if self.position.is_none() {
            self.position = Some(Position::load(self.vibebox.store().as_ref(), self.env_id).await?);
        }
        loop {
            let info = match self.vibebox.runtime().inspect(&self.container).await {
                Ok(info) => info,
                Err(e) if is_container_gone(&e) => return self.flush().await,
                Err(e) => return Err(e),
            };
            self.log_start = info.started_at.or(self.log_start);
            // A paused (suspended) container goes on: its follow resumes with it.
            if !info.state.is_live() {
                // Its last lines, which a follow that stalled before the stop never sent.
                return match self.catch_up(0).await {
                    Ok(_) => self.flush().await,
                    Err(e) if is_container_gone(&e) => self.flush().await,
                    Err(e) => Err(e),
                };
            }
            let opened = Instant::now();
            let end = match self.follow().await {
                Ok(end) => end,
                Err(e) if is_container_gone(&e) => return self.flush().await,
                Err(e) => return Err(e),
            };
            match end {
                FollowEnd::Stalled => {
                    self.vibebox.collector_metrics().record_stall();
                    tracing::info!(environment.id = %self.env_id, "the engine's log follow stalled; opened a new one");
                }
                FollowEnd::Ended => {
                    tracing::debug!(environment.id = %self.env_id, "the engine ended the log follow");
                    if opened.elapsed() < REOPEN_PAUSE {
                        tokio::time::sleep(REOPEN_PAUSE).await;
                    }
                }
            }
        }
    }

    /// Follows the doorbell until it ends or stalls, catching up on each ring.
    async fn follow(&mut self) -> Result<FollowEnd> {
        let mut doorbell = self.vibebox.runtime().logs(
            &self.container,
            LogOptions {
                follow: true,
                since: None,
                tail: Some(0),
            },
        );
        // What was written before the doorbell opened.
        self.catch_up(0).await?;
        let mut rung = 0usize;
        let mut catch_up_at: Option<Instant> = None;
        let mut last_catch_up = Instant::now();
        let mut quiet = QUIET_CHECK_MIN;
        let mut check_at = Instant::now() + quiet;
        loop {
            let flush_due = !self.batch.is_empty();
            tokio::select! {
                item = doorbell.next() => match item {
                    Some(Ok(_)) => {
                        rung += 1;
                        catch_up_at.get_or_insert_with(|| {
                            (last_catch_up + CATCH_UP_SPACING).max(Instant::now())
                        });
                    }
                    Some(Err(e)) => {
                        tracing::debug!(error = %e, environment.id = %self.env_id, "the log follow failed");
                        return Ok(FollowEnd::Ended);
                    }
                    None => return Ok(FollowEnd::Ended),
                },
                _ = sleep_until(catch_up_at) , if catch_up_at.is_some() => {
                    self.catch_up(rung).await?;
                    rung = 0;
                    catch_up_at = None;
                    last_catch_up = Instant::now();
                    quiet = QUIET_CHECK_MIN;
                    check_at = last_catch_up + quiet;
                }
                _ = tokio::time::sleep_until(self.flush_at), if flush_due => self.flush().await?,
                _ = self.stopped.notified() => return Ok(FollowEnd::Ended),
                _ = tokio::time::sleep_until(check_at) => {
                    if self.catch_up(0).await? > 0 && rung == 0 {
                        return Ok(FollowEnd::Stalled);
                    }
                    quiet = (quiet * 2).min(QUIET_CHECK_MAX);
                    check_at = Instant::now() + quiet;
                }
            }
        }
    }

    /// Reads what the engine holds after the position, publishing and batching every new
    /// line. Returns how many there were.
    async fn catch_up(&mut self, rung: usize) -> Result<usize> {
        let position = self.position.unwrap_or_default();
        let taken = match position.last {
            Some(last) => {
                // The doorbell's count, or the last catch-up's when the doorbell lags behind
                // a flood; a window that falls short is tried once eight times as large
                // before everything since the position is read.
                let window = rung
                    .max(self.last_taken)
                    .saturating_mul(2)
                    .saturating_add(WINDOW_MARGIN);
                let mut taken = None;
                for size in [window, window.saturating_mul(8)] {
                    let mut lines =
                        self.read(Some(last), Some(u32::try_from(size).unwrap_or(u32::MAX)));
                    match lines.next().await.transpose()? {
                        None => taken = Some(0),
                        // The window starts before the position: it holds every line after it.
                        Some(first) if truncate(first.timestamp) < last => {
                            taken = Some(self.take(first, lines, position.replay()).await?);
                        }
                        Some(_) => continue,
                    }
                    break;
                }
                match taken {
                    Some(n) => n,
                    None => self.catch_up_from(position).await?,
                }
            }
            None => self.catch_up_from(position).await?,
        };
        self.last_taken = taken;
        if taken > 0 {
            self.vibebox.collector_metrics().record_lines(taken);
        }
        if self.failures > 0 {
            self.recovered().await;
        }
        Ok(taken)
    }

    /// Reads everything the engine holds since the position, recording a gap when the
    /// position's own line is no longer there.
    async fn catch_up_from(&mut self, position: Position) -> Result<usize> {
        let mut lines = self.read(position.last, None);
        let Some(first) = lines.next().await.transpose()? else {
            return Ok(0);
        };
        let first_ts = truncate(first.timestamp);
        if let Some(last) = position.last
            && first_ts > last
            && self.log_start.is_none_or(|start| last >= start)
        {
            self.record_gap(last, first_ts).await?;
        }
        self.take(first, lines, position.replay()).await
    }

    fn read(
        &self,
        since: Option<Timestamp>,
        tail: Option<u32>,
    ) -> BoxStream<'static, Result<LogChunk>> {
        self.vibebox.runtime().logs(
            &self.container,
            LogOptions {
                follow: false,
                since,
                tail,
            },
        )
    }

    async fn take(
        &mut self,
        first: LogChunk,
        mut rest: BoxStream<'static, Result<LogChunk>>,
        mut replay: Replay,
    ) -> Result<usize> {
        let mut taken = 0;
        let mut next = Some(first);
        while let Some(chunk) = next {
            let ts = truncate(chunk.timestamp);
            if replay.is_new(ts) {
                self.admit(ts, chunk.stream, chunk.message).await?;
                taken += 1;
            }
            next = rest.next().await.transpose()?;
        }
        Ok(taken)
    }

    /// Publishes a new line, moves the position past it and batches it for the store.
    async fn admit(&mut self, ts: Timestamp, stream: LogStream, message: String) -> Result<()> {
        self.vibebox.publish(
            self.env_id,
            EventKind::Log {
                timestamp: ts,
                stream,
                message: message.clone(),
            },
        );
        self.position.get_or_insert_default().advance(ts);
        if self.batch.is_empty() {
            self.flush_at = Instant::now()
                + self
                    .vibebox
                    .config()
                    .log_batch_delay
                    .max(Duration::from_millis(1));
        }
        self.batch.push(NewLogEntry {
            environment_id: self.env_id,
            timestamp: ts,
            stream,
            message,
        });
        if self.batch.len() >= self.vibebox.config().log_batch_size.max(1) {
            self.flush().await?;
        }
        Ok(())
    }

    /// Stores and announces lines lost between two read lines.
    async fn record_gap(&mut self, after: Timestamp, before: Timestamp) -> Result<()> {
        let message = format!(
            "vibebox: output written after {} and before {} was lost: the engine rotated its log \
             files away before VibeBox could read them",
            after.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
            before.to_rfc3339_opts(chrono::SecondsFormat::Micros, true),
        );
        tracing::warn!(environment.id = %self.env_id, %after, %before, "container output was lost to log rotation");
        self.vibebox.collector_metrics().record_gap();
        self.vibebox.publish(
            self.env_id,
            EventKind::LogGap {
                after,
                before,
                lines: None,
                message: message.clone(),
            },
        );
        // Stamped inside the gap, so it sorts between the lines around it.
        let step = chrono::TimeDelta::microseconds(1);
        let at = if after + step < before {
            after + step
        } else {
            after
        };
        self.position.get_or_insert_default().advance(at);
        self.batch.push(NewLogEntry {
            environment_id: self.env_id,
            timestamp: at,
            stream: LogStream::Stderr,
            message,
        });
        self.flush().await
    }

    /// Writes the batch. A deleted environment ends collection (`NotFound`, `environment`).
    pub(super) async fn flush(&mut self) -> Result<()> {
        if self.batch.is_empty() {
            return Ok(());
        }
        self.vibebox.store().append_logs(&self.batch).await?;
        self.batch.clear();
        Ok(())
    }

    /// Counts a failed run, and raises the warning once failures keep coming.
    pub(super) async fn failed(&mut self, error: &Error) {
        self.failures = self.failures.saturating_add(1);
        self.vibebox.collector_metrics().record_failure(self.env_id);
        tracing::warn!(error = %error, environment.id = %self.env_id, failures = self.failures, "log collection failed; retrying");
        if self.failures == WARN_AFTER_FAILURES {
            let message = format!(
                "log collection has failed {} times in a row ({error}): new output is not being \
                 stored; it is retried, and the engine keeps the output until its log rotates",
                self.failures
            );
            self.vibebox
                .raise_warning(self.env_id, WarningCode::LogCollection, message)
                .await;
        }
    }

    async fn recovered(&mut self) {
        tracing::info!(environment.id = %self.env_id, failures = self.failures, "log collection recovered");
        self.failures = 0;
        self.vibebox
            .collector_metrics()
            .record_recovery(self.env_id);
        self.vibebox
            .clear_warning(self.env_id, WarningCode::LogCollection)
            .await;
    }
}

/// Whether an error says the container is gone (nothing left to read).
fn is_container_gone(e: &Error) -> bool {
    matches!(
        e,
        Error::NotFound {
            resource: "container"
        }
    ) || (e.kind() == ErrorKind::NotFound && matches!(e, Error::Runtime { .. }))
}

async fn sleep_until(at: Option<Instant>) {
    match at {
        Some(at) => tokio::time::sleep_until(at).await,
        None => std::future::pending().await,
    }
}
