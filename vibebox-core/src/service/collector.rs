//! The log collector: follows each running container's output, publishes every line live and
//! persists lines in batches. After a restart it resumes after the last stored line, without
//! duplicates or gaps.

use std::time::Duration;

use futures::StreamExt;

use super::Vibebox;
use crate::clock::truncate;
use crate::domain::{Environment, NewLogEntry};
use crate::error::{Error, Result};
use crate::events::EventKind;
use crate::id::EnvironmentId;
use crate::runtime::{ContainerId, LogOptions};
use crate::store::LogQuery;

/// How long a stopping environment waits for its collector to write its last lines.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);

impl Vibebox {
    /// Starts a collector for a running environment unless one is already running.
    pub(crate) fn ensure_collector(&self, env: &Environment) {
        let Some(container) = env.container_id.clone() else {
            return;
        };
        let mut collectors = self
            .inner
            .collectors
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        if collectors.get(&env.id).is_some_and(|h| !h.is_finished()) {
            return;
        }
        let this = self.clone();
        let env_id = env.id;
        let task = tokio::spawn(async move {
            if let Err(e) = this.collect_logs(env_id, ContainerId(container)).await {
                tracing::warn!(error = %e, environment.id = %env_id, "log collector stopped");
            }
        });
        collectors.insert(env.id, task);
    }

    /// Stops an environment's collector at once (the environment is being deleted).
    pub(crate) fn stop_collector(&self, env_id: EnvironmentId) {
        if let Some(handle) = self.take_collector(env_id) {
            handle.abort();
        }
    }

    /// Waits for a collector whose container has stopped to write its last lines (its stream
    /// ends with the container), aborting it if it does not finish in time.
    pub(crate) async fn drain_collector(&self, env_id: EnvironmentId) {
        if let Some(mut handle) = self.take_collector(env_id)
            && tokio::time::timeout(DRAIN_TIMEOUT, &mut handle)
                .await
                .is_err()
        {
            tracing::warn!(environment.id = %env_id, "log collector did not finish; aborting it");
            handle.abort();
        }
    }

    /// Stops every log collector of this instance and waits until they have ended, e.g. when
    /// the embedding application shuts down. Nothing is written after it returns. Lines read
    /// but not yet persisted are dropped: the next collector for the environment (after a
    /// restart, started by the reconciler) reads them again, since it resumes after the last
    /// stored line. A collector started afterwards (by a start or a reconcile) runs as usual.
    pub async fn shutdown_collectors(&self) {
        let handles: Vec<_> = self
            .inner
            .collectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .drain()
            .map(|(_, handle)| handle)
            .collect();
        for handle in &handles {
            handle.abort();
        }
        for handle in handles {
            // An aborted task ends with a cancellation error: that is the expected outcome.
            let _ = handle.await;
        }
    }

    fn take_collector(&self, env_id: EnvironmentId) -> Option<tokio::task::JoinHandle<()>> {
        self.inner
            .collectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&env_id)
    }

    /// Whether a collector runs for the environment.
    pub fn is_collecting(&self, env_id: EnvironmentId) -> bool {
        self.inner
            .collectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&env_id)
            .is_some_and(|h| !h.is_finished())
    }

    async fn collect_logs(&self, env_id: EnvironmentId, container: ContainerId) -> Result<()> {
        // Resume after the last stored line. Lines stamped with exactly its timestamp may have
        // been stored already: skip as many of them as the store holds.
        let latest = self.store().latest_log(env_id).await?;
        let since = latest.as_ref().map(|l| l.timestamp);
        let mut skip_at_since = match since {
            Some(ts) => {
                let mut q = LogQuery::all(env_id, 10_000);
                q.since = Some(ts);
                q.until = Some(ts + chrono::TimeDelta::microseconds(1));
                self.store().query_logs(&q).await?.items.len()
            }
            None => 0,
        };
        let mut stream = self.runtime().logs(
            &container,
            LogOptions {
                follow: true,
                since,
                tail: None,
            },
        );
        let batch_size = self.config().log_batch_size.max(1);
        let delay = self.config().log_batch_delay.max(Duration::from_millis(1));
        let mut batch: Vec<NewLogEntry> = Vec::with_capacity(batch_size);
        let mut flush_at = tokio::time::Instant::now() + delay;
        loop {
            let next = tokio::select! {
                item = stream.next() => item,
                _ = tokio::time::sleep_until(flush_at), if !batch.is_empty() => {
                    self.flush_logs(&mut batch).await?;
                    continue;
                }
            };
            let Some(item) = next else { break };
            let chunk = match item {
                Ok(c) => c,
                Err(e) => {
                    self.flush_logs(&mut batch).await?;
                    return Err(e);
                }
            };
            let timestamp = truncate(chunk.timestamp);
            if let Some(since) = since {
                if timestamp < since {
                    continue;
                }
                if timestamp == since && skip_at_since > 0 {
                    skip_at_since -= 1;
                    continue;
                }
            }
            self.publish(
                env_id,
                EventKind::Log {
                    timestamp,
                    stream: chunk.stream,
                    message: chunk.message.clone(),
                },
            );
            if batch.is_empty() {
                flush_at = tokio::time::Instant::now() + delay;
            }
            batch.push(NewLogEntry {
                environment_id: env_id,
                timestamp,
                stream: chunk.stream,
                message: chunk.message,
            });
            if batch.len() >= batch_size {
                self.flush_logs(&mut batch).await?;
            }
        }
        self.flush_logs(&mut batch).await
    }

    async fn flush_logs(&self, batch: &mut Vec<NewLogEntry>) -> Result<()> {
        if batch.is_empty() {
            return Ok(());
        }
        match self.store().append_logs(batch).await {
            Ok(()) => {
                batch.clear();
                Ok(())
            }
            // The environment was deleted: nothing left to collect for.
            Err(Error::NotFound { .. }) => {
                batch.clear();
                Err(Error::not_found("environment"))
            }
            Err(e) => Err(e),
        }
    }
}
