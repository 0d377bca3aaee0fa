//! Auto-suspend (DESIGN.md §11): each environment's [`IdlePolicy`] suspends it after some
//! minutes without activity, and stops it after some hours suspended.
//!
//! - Activity is recorded in memory, per environment, where people reach it: every access
//!   that asks for the container ([`Vibebox::awake_container`]: exec, terminals, sessions,
//!   tunnels, preview URLs, files, SSH through those), every keystroke into a terminal, every
//!   byte through a tunnel or a preview, every byte written to a streamed exec's stdin. An
//!   open connection that carries nothing is not activity.
//! - CPU counts too: an environment that looks idle is sampled once more before it is
//!   suspended, and a build or a server busy above [`Config::idle_cpu_percent`] keeps it
//!   awake.
//! - After a restart nothing is known, so every environment counts as active from the first
//!   pass that sees it: a restart never suspends anyone early. A start or a resume counts as
//!   activity (the status's change time).
//! - The stop after hours suspended is measured from the stored status change, so it holds
//!   across restarts.
//! - The pass runs as [`Actor::System`], and its suspends (with the reason and the idle time)
//!   and stops are audited like anyone's.
//!
//! [`IdlePolicy`]: crate::domain::IdlePolicy
//! [`Config::idle_cpu_percent`]: crate::config::Config::idle_cpu_percent

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use serde_json::json;
use tokio::sync::RwLock;
use tracing::instrument;

use super::{StopMode, Vibebox};
use crate::clock::Timestamp;
use crate::domain::{Environment, EnvironmentStatus};
use crate::error::Result;
use crate::id::EnvironmentId;
use crate::rbac::{Action, Actor};
use crate::store::EnvironmentFilter;

/// How many environments one pass samples for CPU at once.
const CPU_CHECKS_AT_ONCE: usize = 8;
/// The CPU samples taken before a suspend: the engine's first sample of a stream may have no
/// baseline to measure from, so the busier of the first two counts.
const CPU_SAMPLES: usize = 2;

/// What one pass of the idle policy did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct IdleReport {
    /// Running environments looked at.
    pub checked: usize,
    /// Suspended for idleness.
    pub suspended: usize,
    /// Kept awake by their CPU use although nobody touched them.
    pub kept_busy: usize,
    /// Stopped after too long suspended.
    pub stopped: usize,
}

/// The last activity of each environment this process has seen, and the lock that keeps an
/// access from slipping under a freeze.
#[derive(Debug, Default)]
pub(crate) struct ActivityLog {
    last: std::sync::Mutex<HashMap<EnvironmentId, Timestamp>>,
    /// Per environment: what keeps an access from slipping under a freeze.
    freezes: std::sync::Mutex<HashMap<EnvironmentId, Arc<FreezeLock>>>,
}

/// A suspend holds `lock` for writing while it freezes; an access holds it for reading while
/// it decides whether the container is awake. `frozen` says this process froze the container
/// and has not seen it thawed since: an access that read `running` before a freeze it did not
/// wait for reads the status again.
#[derive(Debug, Default)]
pub(crate) struct FreezeLock {
    pub(crate) lock: RwLock<()>,
    pub(crate) frozen: std::sync::atomic::AtomicBool,
}

impl ActivityLog {
    /// The freeze lock of `env`.
    pub(crate) fn freeze_lock(&self, env: EnvironmentId) -> Arc<FreezeLock> {
        self.freezes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(env)
            .or_default()
            .clone()
    }

    fn note(&self, env: EnvironmentId, at: Timestamp) {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        let t = last.entry(env).or_insert(at);
        if at > *t {
            *t = at;
        }
    }

    /// The last activity known, or `None` when this process has seen none (it is then
    /// recorded as `now`, so the environment's idle time starts counting).
    fn last_or_start(&self, env: EnvironmentId, now: Timestamp) -> Option<Timestamp> {
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match last.get(&env) {
            Some(t) => Some(*t),
            None => {
                last.insert(env, now);
                None
            }
        }
    }

    fn forget(&self, env: EnvironmentId) {
        self.last
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&env);
        self.freezes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(&env);
    }
}

/// A handle that records activity on one environment: held by streams (tunnels, exec stdin,
/// terminals) that mark every transfer. It writes the shared log at most once a second (of
/// the service's clock), so a busy stream does not take the log's lock per chunk.
pub(crate) struct ActivityMark {
    vibebox: Vibebox,
    env: EnvironmentId,
    /// The second (Unix time) last written to the log.
    written: std::sync::atomic::AtomicI64,
}

impl std::fmt::Debug for ActivityMark {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ActivityMark")
            .field("env", &self.env)
            .finish()
    }
}

impl ActivityMark {
    /// Records activity now.
    pub(crate) fn mark(&self) {
        let now = self.vibebox.now();
        let second = now.timestamp();
        if self
            .written
            .swap(second, std::sync::atomic::Ordering::Relaxed)
            != second
        {
            self.vibebox.inner.activity.note(self.env, now);
        }
    }
}

impl Vibebox {
    /// Records that someone used the environment now (see the module docs).
    pub(crate) fn note_activity(&self, env: EnvironmentId) {
        self.inner.activity.note(env, self.now());
    }

    /// A handle that records activity on `env`.
    pub(crate) fn activity_mark(&self, env: EnvironmentId) -> ActivityMark {
        ActivityMark {
            vibebox: self.clone(),
            env,
            written: std::sync::atomic::AtomicI64::new(i64::MIN),
        }
    }

    /// Forgets a deleted environment's activity.
    pub(crate) fn forget_activity(&self, env: EnvironmentId) {
        self.inner.activity.forget(env);
    }

    /// One pass of the idle policies: running environments idle for longer than their policy
    /// allows (and not busy on the CPU) are suspended; environments suspended for longer than
    /// theirs allows are stopped. Errors only when the environments cannot be listed; one
    /// environment's failure is logged and the pass goes on.
    #[instrument(skip_all)]
    pub async fn apply_idle_policies(&self) -> Result<IdleReport> {
        let mut report = IdleReport::default();
        let now = self.now();
        let mut due = Vec::new();
        for env in self.environments_in(EnvironmentStatus::Running).await? {
            report.checked += 1;
            if let Some(idle_for) = self.idle_beyond_policy(&env, now) {
                due.push((env, idle_for));
            }
        }
        if !due.is_empty() && !self.runtime().capabilities().pause {
            tracing::debug!(
                due = due.len(),
                "the engine cannot suspend: idle environments stay running"
            );
            due.clear();
        }
        let mut checks = futures::stream::iter(due)
            .map(|(env, idle_for)| async move {
                let busy = self.busy_on_cpu(&env).await;
                (env, idle_for, busy)
            })
            .buffer_unordered(CPU_CHECKS_AT_ONCE);
        while let Some((env, idle_for, busy)) = checks.next().await {
            if let Some(cpu) = busy {
                tracing::debug!(environment.id = %env.id, cpu, "idle but busy on the CPU");
                self.note_activity(env.id);
                report.kept_busy += 1;
                continue;
            }
            match self.suspend_for_idleness(&env, idle_for).await {
                Ok(()) => report.suspended += 1,
                Err(e) => {
                    tracing::warn!(environment.id = %env.id, error = %e, "could not suspend an idle environment")
                }
            }
        }
        for env in self.environments_in(EnvironmentStatus::Suspended).await? {
            let Some(hours) = env.idle_policy.stop_after_hours else {
                continue;
            };
            if now - env.status_changed_at < chrono::TimeDelta::hours(i64::from(hours)) {
                continue;
            }
            match self.stop_for_idleness(&env, hours).await {
                Ok(()) => report.stopped += 1,
                Err(e) => {
                    tracing::warn!(environment.id = %env.id, error = %e, "could not stop a long-suspended environment")
                }
            }
        }
        Ok(report)
    }

    /// How long a running environment has been idle, when that is at least its policy's
    /// limit.
    fn idle_beyond_policy(&self, env: &Environment, now: Timestamp) -> Option<Duration> {
        let minutes = env.idle_policy.suspend_after_minutes?;
        let last = self.inner.activity.last_or_start(env.id, now)?;
        // A start or a resume is activity, even one made by another process.
        let last = last.max(env.status_changed_at);
        let idle_for = (now - last).to_std().ok()?;
        (idle_for >= Duration::from_secs(u64::try_from(minutes).ok()? * 60)).then_some(idle_for)
    }

    /// The environment's CPU use, as a percentage of one core, when it is at or above the
    /// threshold; `None` when it is below, or the engine gave no sample (a container the
    /// engine cannot measure is judged by its activity alone).
    async fn busy_on_cpu(&self, env: &Environment) -> Option<f64> {
        let container = crate::runtime::ContainerId(env.container_id.clone()?);
        let window = self.config().idle_cpu_window;
        let samples: Vec<_> = tokio::time::timeout(
            window,
            self.runtime().stats(&container).take(CPU_SAMPLES).collect(),
        )
        .await
        .unwrap_or_default();
        let busiest = samples
            .into_iter()
            .filter_map(|s: Result<crate::runtime::ContainerStats>| s.ok())
            .map(|s| s.cpu_percent)
            .reduce(f64::max)?;
        (busiest >= self.config().idle_cpu_percent).then_some(busiest)
    }

    async fn suspend_for_idleness(&self, env: &Environment, idle_for: Duration) -> Result<()> {
        // Held through the freeze: an access that comes now waits, then finds the environment
        // suspended and resumes it; one that came before is seen by the check below.
        let lock = self.inner.activity.freeze_lock(env.id);
        let _freezing = lock.lock.write().await;
        let access = self
            .environment_for(&Actor::System, env.id, Action::StartStopEnvironment)
            .await?;
        // Touched since the pass read it: someone is back.
        if access.env.status != EnvironmentStatus::Running
            || self.idle_beyond_policy(&access.env, self.now()).is_none()
        {
            return Ok(());
        }
        let minutes = idle_for.as_secs() / 60;
        self.freeze(
            &Actor::System,
            access,
            Some(json!({ "reason": "idle", "idle_minutes": minutes })),
        )
        .await?;
        tracing::info!(environment.id = %env.id, idle_minutes = minutes, "suspended for idleness");
        Ok(())
    }

    async fn stop_for_idleness(&self, env: &Environment, hours: i32) -> Result<()> {
        let access = self
            .environment_for(&Actor::System, env.id, Action::StartStopEnvironment)
            .await?;
        if access.env.status != EnvironmentStatus::Suspended {
            return Ok(());
        }
        // Audited as `environment.stop` by the system.
        self.stop_with(&Actor::System, access, StopMode::Graceful)
            .await?;
        tracing::info!(environment.id = %env.id, hours, "stopped after too long suspended");
        Ok(())
    }

    /// Every environment in one status.
    async fn environments_in(&self, status: EnvironmentStatus) -> Result<Vec<Environment>> {
        self.all_environments(&EnvironmentFilter {
            statuses: vec![status],
            ..Default::default()
        })
        .await
    }
}
