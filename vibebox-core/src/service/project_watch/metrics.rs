//! The metrics streams of a watch's running environments, merged, and their throttle.

use std::collections::HashMap;
use std::time::Duration;

use futures::StreamExt;
use futures::stream::{AbortHandle, BoxStream, SelectAll};
use tokio::time::Instant;

use crate::error::Result;
use crate::id::EnvironmentId;
use crate::runtime::ContainerStats;

/// What a merged stream yields: which stream, and a sample or `None` once it ended.
type Tagged = (EnvironmentId, u64, Option<Result<ContainerStats>>);

/// At most one stream per environment, merged. A closed stream yields nothing more.
#[derive(Default)]
pub(super) struct MetricsStreams {
    merged: SelectAll<BoxStream<'static, Tagged>>,
    /// The open stream of each environment: its number and how to end it.
    open: HashMap<EnvironmentId, (u64, AbortHandle)>,
    opened: u64,
}

impl MetricsStreams {
    /// Follows `stream` for `env`, in place of the one it had.
    pub(super) fn open(
        &mut self,
        env: EnvironmentId,
        stream: BoxStream<'static, Result<ContainerStats>>,
    ) {
        self.close(env);
        self.opened += 1;
        let number = self.opened;
        let (stream, handle) = futures::stream::abortable(
            stream
                .map(Some)
                .chain(futures::stream::once(std::future::ready(None))),
        );
        self.merged
            .push(stream.map(move |sample| (env, number, sample)).boxed());
        self.open.insert(env, (number, handle));
    }

    /// Stops following `env`'s stream, if it has one.
    pub(super) fn close(&mut self, env: EnvironmentId) {
        if let Some((_, handle)) = self.open.remove(&env) {
            handle.abort();
        }
    }

    /// Whether `env` has a stream.
    pub(super) fn is_open(&self, env: EnvironmentId) -> bool {
        self.open.contains_key(&env)
    }

    /// The next sample of an open stream; pending while none is open. A stream that ends or
    /// fails is closed. Cancel-safe.
    pub(super) async fn next(&mut self) -> (EnvironmentId, ContainerStats) {
        loop {
            let Some((env, number, sample)) = self.merged.next().await else {
                return std::future::pending().await;
            };
            if self.open.get(&env).map(|(n, _)| *n) != Some(number) {
                continue;
            }
            match sample {
                Some(Ok(stats)) => return (env, stats),
                Some(Err(e)) => {
                    tracing::debug!(environment.id = %env, error = %e, "metrics stream failed");
                    self.close(env);
                }
                None => self.close(env),
            }
        }
    }
}

/// Whether a sample taken `now` may be sent, given when the last one was: at most one every
/// `every`. Records it when it may.
pub(super) fn admit(last: &mut Option<Instant>, now: Instant, every: Duration) -> bool {
    match *last {
        Some(at) if now.saturating_duration_since(at) < every => false,
        _ => {
            *last = Some(now);
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn metrics_throttle_admits_one_sample_per_interval() {
        let every = Duration::from_secs(2);
        let t0 = Instant::now();
        let mut last = None;
        let admitted: Vec<u64> = (0..=6)
            .filter(|s| admit(&mut last, t0 + Duration::from_secs(*s), every))
            .collect();
        assert_eq!(admitted, [0, 2, 4, 6]);
    }

    #[test]
    fn metrics_throttle_counts_from_the_last_sample_sent() {
        let every = Duration::from_secs(2);
        let t0 = Instant::now();
        let mut last = None;
        assert!(admit(&mut last, t0, every));
        assert!(!admit(&mut last, t0 + Duration::from_millis(1999), every));
        assert!(admit(&mut last, t0 + Duration::from_millis(2500), every));
        assert!(!admit(&mut last, t0 + Duration::from_millis(4000), every));
        assert!(admit(&mut last, t0 + Duration::from_millis(4500), every));
    }
}
