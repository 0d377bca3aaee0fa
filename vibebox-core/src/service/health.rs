//! Health: what a `running` status does not say. Kills by the OOM killer are counted (from
//! the engine's events), and warnings are raised while an environment is at its pids or
//! memory limit, cannot start processes, or its log collection keeps failing.
//!
//! Warnings are observations, stored apart from the environment's versioned fields and
//! published as [`EventKind::Health`] only when they change. This process remembers what it
//! stored last, so repeating a warning costs no store call.

use std::time::Duration;

use futures::StreamExt;
use tracing::instrument;

use super::Vibebox;
use crate::clock::Timestamp;
use crate::domain::{
    Environment, EnvironmentHealth, EnvironmentStatus, HealthWarning, WarningCode,
};
use crate::error::{ErrorKind, Result};
use crate::events::EventKind;
use crate::id::EnvironmentId;
use crate::runtime::{ContainerId, ContainerStats, ExecSpec};
use crate::store::{EnvironmentFilter, PageRequest};

/// How long the health pass waits for an environment's resource sample or probe.
const SAMPLE_TIMEOUT: Duration = Duration::from_secs(5);
/// Environments the health pass looks at concurrently.
const CONCURRENCY: usize = 4;
/// Memory use at or above this share of the limit raises `memory_limit`.
const MEMORY_SATURATED: f64 = 0.98;

/// What a health pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct HealthReport {
    /// Running environments looked at.
    pub checked: usize,
    /// Environments with at least one warning after the pass.
    pub degraded: usize,
}

impl Vibebox {
    /// One health pass over every running environment: a resource sample raises
    /// `pids_limit` when the processes are at the pids limit (a fork bomb: nothing new can
    /// start) and `memory_limit` when memory use is at the limit, and clears them once
    /// below; execs that failed because the container could not start a process raise
    /// `exec_failing`, which a probe (`true`) clears once a process starts again. Runs
    /// periodically in the background ([`Config::health_interval`](crate::config::Config::health_interval)).
    ///
    /// Errors: `Unavailable` when the store cannot be read; an environment whose sample
    /// fails is left as it was.
    #[instrument(skip_all)]
    pub async fn check_health(&self) -> Result<HealthReport> {
        let filter = EnvironmentFilter {
            statuses: vec![EnvironmentStatus::Running],
            ..Default::default()
        };
        let mut report = HealthReport::default();
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let envs = self.store().list_environments(&filter, &page).await?;
            let checks = envs.items.into_iter().map(|env| {
                let this = self.clone();
                async move { this.check_environment(&env).await }
            });
            let degraded: Vec<bool> = futures::stream::iter(checks)
                .buffer_unordered(CONCURRENCY)
                .collect()
                .await;
            report.checked += degraded.len();
            report.degraded += degraded.into_iter().filter(|d| *d).count();
            match envs.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        Ok(report)
    }

    /// Checks one running environment; returns whether it has a warning afterwards.
    async fn check_environment(&self, env: &Environment) -> bool {
        let Some(container) = env.container_id.clone().map(ContainerId) else {
            return env.health.is_degraded();
        };
        self.seed_health(env).await;
        let sample = tokio::time::timeout(SAMPLE_TIMEOUT, async {
            self.runtime().stats(&container).next().await
        })
        .await;
        match sample {
            Ok(Some(Ok(stats))) => self.judge_sample(env.id, &stats).await,
            Ok(Some(Err(e))) => {
                tracing::debug!(error = %e, environment.id = %env.id, "no resource sample")
            }
            Ok(None) | Err(_) => {
                tracing::debug!(environment.id = %env.id, "no resource sample in time")
            }
        }
        self.judge_execs(env.id, &container).await;
        self.health_of(env.id)
            .await
            .is_some_and(|h| h.is_degraded())
    }

    async fn judge_sample(&self, env: EnvironmentId, stats: &ContainerStats) {
        match (stats.pids, stats.pids_limit) {
            (Some(pids), Some(limit))
                if limit > 0 && pids >= limit.saturating_sub((limit / 50).max(2)) =>
            {
                let message = format!(
                    "{pids} of {limit} processes: the environment is at its process limit, so \
                     nothing new (a terminal, a command) can start; restart it with force to \
                     kill every process"
                );
                self.raise_warning(env, WarningCode::PidsLimit, message)
                    .await;
            }
            (Some(_), _) => self.clear_warning(env, WarningCode::PidsLimit).await,
            (None, _) => {}
        }
        let limit = stats.memory_limit_bytes;
        #[allow(clippy::cast_precision_loss)]
        let share = if limit > 0 {
            stats.memory_bytes as f64 / limit as f64
        } else {
            0.0
        };
        if limit > 0 && share >= MEMORY_SATURATED {
            let message = format!(
                "memory use is at the limit ({} of {} MiB): processes are slowed or killed by \
                 the OOM killer; raise the memory limit or restart the environment",
                stats.memory_bytes / (1 << 20),
                limit / (1 << 20)
            );
            self.raise_warning(env, WarningCode::MemoryLimit, message)
                .await;
        } else {
            self.clear_warning(env, WarningCode::MemoryLimit).await;
        }
    }

    /// Raises `exec_failing` for a container whose last exec failed, and probes one that has
    /// the warning: it clears once a process starts again.
    async fn judge_execs(&self, env: EnvironmentId, container: &ContainerId) {
        if self.exec_failed(container) {
            let message = "commands cannot start in the environment (the engine could not start \
                           a process in it): it is saturated or broken; restart it with force"
                .to_string();
            self.raise_warning(env, WarningCode::ExecFailing, message)
                .await;
        }
        let raised = self
            .health_of(env)
            .await
            .is_some_and(|h| h.warning(WarningCode::ExecFailing).is_some());
        if !raised {
            return;
        }
        let probe = ExecSpec {
            cmd: vec!["true".into()],
            user: self.config().container_user.clone(),
            ..Default::default()
        };
        if let Ok(Ok((0, _))) =
            tokio::time::timeout(SAMPLE_TIMEOUT, self.run_to_end(container, &probe)).await
        {
            self.clear_warning(env, WarningCode::ExecFailing).await;
        }
    }

    /// Notes how starting a process in a container went, for the health pass. A failure of
    /// kind `Internal` or `Timeout` says the container cannot start processes (Docker:
    /// "read init-p: connection reset by peer" at the pids limit).
    pub(crate) fn note_exec<T>(&self, container: &ContainerId, result: &Result<T>) {
        let mut failed = self
            .inner
            .exec_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(_) => {
                failed.remove(container);
            }
            Err(e) if matches!(e.kind(), ErrorKind::Internal | ErrorKind::Timeout) => {
                failed.insert(container.clone());
            }
            Err(_) => {}
        }
    }

    fn exec_failed(&self, container: &ContainerId) -> bool {
        self.inner
            .exec_failures
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(container)
    }

    /// Counts a kill by the OOM killer in an environment, and publishes the new health.
    pub(crate) async fn record_oom_kill(&self, env: EnvironmentId, at: Timestamp) {
        let mut cache = self.inner.health.lock().await;
        match self.store().record_oom_kill(env, at).await {
            Ok(health) => {
                tracing::warn!(environment.id = %env, oom_kills = health.oom_kills, "a process was killed for exceeding the memory limit");
                cache.insert(env, health.clone());
                self.publish(env, EventKind::Health { health });
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                tracing::error!(error = %e, environment.id = %env, "could not record an OOM kill")
            }
        }
    }

    /// Raises a warning, or updates its message (keeping when it was first seen).
    pub(crate) async fn raise_warning(
        &self,
        env: EnvironmentId,
        code: WarningCode,
        message: String,
    ) {
        let since = self.now();
        self.update_warnings(env, |warnings| {
            match warnings.iter_mut().find(|w| w.code == code) {
                Some(w) if w.message == message => false,
                Some(w) => {
                    w.message = message;
                    true
                }
                None => {
                    tracing::warn!(environment.id = %env, code = %code, %message, "health warning raised");
                    warnings.push(HealthWarning {
                        code,
                        message,
                        since,
                    });
                    warnings.sort_by_key(|w| w.code);
                    true
                }
            }
        })
        .await;
    }

    /// Clears a warning if it is raised.
    pub(crate) async fn clear_warning(&self, env: EnvironmentId, code: WarningCode) {
        self.update_warnings(env, |warnings| {
            let before = warnings.len();
            warnings.retain(|w| w.code != code);
            let cleared = warnings.len() != before;
            if cleared {
                tracing::info!(environment.id = %env, code = %code, "health warning cleared");
            }
            cleared
        })
        .await;
    }

    /// Clears every warning about the running container (it stopped, or a new one starts).
    pub(crate) async fn clear_container_warnings(&self, env: &Environment) {
        if let Some(c) = &env.container_id {
            self.inner
                .exec_failures
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .remove(&ContainerId(c.clone()));
        }
        // The environment was just read with its health: no store read to learn it.
        self.seed_health(env).await;
        self.update_warnings(env.id, |warnings| {
            let had = !warnings.is_empty();
            warnings.clear();
            had
        })
        .await;
    }

    /// Forgets a deleted environment's health.
    pub(crate) async fn forget_health(&self, env: EnvironmentId) {
        self.inner.health.lock().await.remove(&env);
    }

    /// The health this process last stored or read for the environment.
    async fn health_of(&self, env: EnvironmentId) -> Option<EnvironmentHealth> {
        self.inner.health.lock().await.get(&env).cloned()
    }

    /// Takes the stored health of an environment just read, unless this process knows it.
    async fn seed_health(&self, env: &Environment) {
        self.inner
            .health
            .lock()
            .await
            .entry(env.id)
            .or_insert_with(|| env.health.clone());
    }

    /// Applies `change` to the environment's warnings; when it says it changed them, stores
    /// and publishes the result. Failures are logged: health is best effort.
    async fn update_warnings(
        &self,
        env: EnvironmentId,
        change: impl FnOnce(&mut Vec<HealthWarning>) -> bool,
    ) {
        let mut cache = self.inner.health.lock().await;
        let mut health = match cache.get(&env) {
            Some(h) => h.clone(),
            None => match self.store().get_environment(env).await {
                Ok(e) => e.health,
                Err(e) => {
                    if e.kind() != ErrorKind::NotFound {
                        tracing::warn!(error = %e, environment.id = %env, "could not read the environment's health");
                    }
                    return;
                }
            },
        };
        if !change(&mut health.warnings) {
            cache.insert(env, health);
            return;
        }
        match self
            .store()
            .set_environment_warnings(env, &health.warnings)
            .await
        {
            Ok(()) => {
                cache.insert(env, health.clone());
                self.publish(env, EventKind::Health { health });
            }
            Err(e) if e.kind() == ErrorKind::NotFound => {
                cache.remove(&env);
            }
            Err(e) => {
                tracing::warn!(error = %e, environment.id = %env, "could not store the environment's health");
            }
        }
    }
}
