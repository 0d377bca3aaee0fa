//! The log collector: one task per running container reads its output, publishes every line
//! live and stores lines in batches. It resumes after the last stored line, without
//! duplicates, after a restart of VibeBox, a follow the engine ended or stalled, or a failure;
//! output the engine's log rotation removed before it was read is recorded as a gap (see
//! [`reader`]). A collector that keeps failing retries with backoff and raises a
//! `log_collection` warning on its environment.

mod metrics;
mod position;
mod reader;

pub(crate) use metrics::CollectorMetrics;
pub use metrics::LogCollectionReport;

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::Notify;

use super::Vibebox;
use crate::domain::Environment;
use crate::error::Error;
use crate::id::EnvironmentId;
use crate::runtime::ContainerId;
use reader::Reader;

/// A running collector: its task, and how to tell it that its container has stopped.
#[derive(Debug)]
pub(crate) struct CollectorTask {
    handle: tokio::task::JoinHandle<()>,
    stopped: Arc<Notify>,
}

/// How long a stopping environment waits for its collector to write its last lines.
const DRAIN_TIMEOUT: Duration = Duration::from_secs(5);
/// The first wait after a failed collection attempt; it doubles up to `RETRY_MAX`.
const RETRY_MIN: Duration = Duration::from_millis(500);
const RETRY_MAX: Duration = Duration::from_secs(30);

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
        if collectors
            .get(&env.id)
            .is_some_and(|t| !t.handle.is_finished())
        {
            return;
        }
        let this = self.clone();
        let env_id = env.id;
        let stopped = Arc::new(Notify::new());
        let told = stopped.clone();
        let handle = tokio::spawn(async move {
            this.collect_logs(env_id, ContainerId(container), told)
                .await;
        });
        collectors.insert(env.id, CollectorTask { handle, stopped });
    }

    /// Stops an environment's collector at once (the environment is being deleted).
    pub(crate) fn stop_collector(&self, env_id: EnvironmentId) {
        if let Some(task) = self.take_collector(env_id) {
            task.handle.abort();
        }
    }

    /// Waits for a collector whose container has stopped to write its last lines (its stream
    /// ends with the container), aborting it if it does not finish in time.
    pub(crate) async fn drain_collector(&self, env_id: EnvironmentId) {
        let Some(CollectorTask {
            mut handle,
            stopped,
        }) = self.take_collector(env_id)
        else {
            return;
        };
        // Its follow ends with the container; tell it too, in case the follow stalled.
        stopped.notify_one();
        if tokio::time::timeout(DRAIN_TIMEOUT, &mut handle)
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
            .map(|(_, task)| task.handle)
            .collect();
        for handle in &handles {
            handle.abort();
        }
        for handle in handles {
            // An aborted task ends with a cancellation error: that is the expected outcome.
            let _ = handle.await;
        }
    }

    fn take_collector(&self, env_id: EnvironmentId) -> Option<CollectorTask> {
        self.inner
            .collectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&env_id)
    }

    fn collector_count(&self) -> usize {
        self.inner
            .collectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .values()
            .filter(|t| !t.handle.is_finished())
            .count()
    }

    /// Whether a collector runs for the environment.
    pub fn is_collecting(&self, env_id: EnvironmentId) -> bool {
        self.inner
            .collectors
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(&env_id)
            .is_some_and(|t| !t.handle.is_finished())
    }

    async fn collect_logs(
        &self,
        env_id: EnvironmentId,
        container: ContainerId,
        stopped: Arc<Notify>,
    ) {
        let mut reader = Reader::new(self.clone(), env_id, container, stopped);
        let mut backoff = RETRY_MIN;
        loop {
            match reader.run().await {
                Ok(()) => break,
                // The environment was deleted: nothing left to collect for.
                Err(Error::NotFound {
                    resource: "environment",
                }) => break,
                Err(e) => {
                    reader.failed(&e).await;
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(RETRY_MAX);
                }
            }
        }
        if reader.failures > 0 {
            self.collector_metrics().record_recovery(env_id);
        }
    }
}
