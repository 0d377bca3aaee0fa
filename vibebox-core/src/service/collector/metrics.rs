//! Counters of log collection, for operators: what [`Vibebox::log_collection_report`] shows.

use std::collections::BTreeSet;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};

use serde::Serialize;

use crate::id::EnvironmentId;
use crate::service::Vibebox;

/// How log collection goes in this process.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct LogCollectionReport {
    /// Collectors running now.
    pub collectors: usize,
    /// Environments whose collector's last attempt failed (it retries with backoff).
    #[cfg_attr(feature = "openapi", schema(value_type = Vec<String>))]
    pub failing: Vec<EnvironmentId>,
    /// Lines read from the engine and stored since the process started.
    pub lines_collected: u64,
    /// Gaps recorded: output the engine's log rotation removed before it was read.
    pub gaps: u64,
    /// Times the engine's follow stalled and was opened again.
    pub stalls: u64,
    /// Failed collection attempts.
    pub failures: u64,
}

/// The counters behind [`LogCollectionReport`].
#[derive(Debug, Default)]
pub(crate) struct CollectorMetrics {
    lines: AtomicU64,
    gaps: AtomicU64,
    stalls: AtomicU64,
    failures: AtomicU64,
    failing: Mutex<BTreeSet<EnvironmentId>>,
}

impl CollectorMetrics {
    pub(crate) fn record_lines(&self, n: usize) {
        self.lines
            .fetch_add(u64::try_from(n).unwrap_or(u64::MAX), Ordering::Relaxed);
    }

    pub(crate) fn record_gap(&self) {
        self.gaps.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_stall(&self) {
        self.stalls.fetch_add(1, Ordering::Relaxed);
    }

    pub(crate) fn record_failure(&self, env: EnvironmentId) {
        self.failures.fetch_add(1, Ordering::Relaxed);
        self.lock().insert(env);
    }

    pub(crate) fn record_recovery(&self, env: EnvironmentId) {
        self.lock().remove(&env);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, BTreeSet<EnvironmentId>> {
        self.failing.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Vibebox {
    pub(crate) fn collector_metrics(&self) -> &CollectorMetrics {
        &self.inner.collector_metrics
    }

    /// How log collection goes in this process: running collectors, those failing, lines
    /// stored, gaps, stalls of the engine's follow and failures. A health detail for
    /// operators (the HTTP front shows it in `/readyz`).
    pub fn log_collection_report(&self) -> LogCollectionReport {
        let m = &self.inner.collector_metrics;
        LogCollectionReport {
            collectors: self.collector_count(),
            failing: m.lock().iter().copied().collect(),
            lines_collected: m.lines.load(Ordering::Relaxed),
            gaps: m.gaps.load(Ordering::Relaxed),
            stalls: m.stalls.load(Ordering::Relaxed),
            failures: m.failures.load(Ordering::Relaxed),
        }
    }
}
