//! The reconciler: compares what the store says with the containers the engine has, and
//! repairs the difference. Level-triggered: it recomputes from the current state each time.

use std::collections::HashMap;

use tracing::instrument;

use super::Vibebox;
use super::start_stop::{StopMode, exit_message};
use crate::domain::{Environment, EnvironmentStatus};
use crate::error::{Error, ErrorKind, Result};
use crate::id::EnvironmentId;
use crate::runtime::{ContainerId, ContainerInfo, ContainerState, LABEL_ENVIRONMENT_ID};
use crate::store::{EnvironmentFilter, PageRequest};

/// What a reconciler pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReconcileReport {
    /// Environments looked at.
    pub checked: usize,
    /// Environments whose state was corrected.
    pub repaired: usize,
    /// Containers removed because their environment no longer exists.
    pub orphans_removed: usize,
    /// Project networks removed because their project has no environment left.
    pub networks_removed: usize,
    /// Warm pool containers removed (of shapes no longer configured, beyond their count, or
    /// not running).
    pub warm_removed: usize,
}

impl Vibebox {
    /// One reconciler pass.
    ///
    /// - A running environment whose container is gone or stopped goes to `error` with a
    ///   message saying what happened, and its sessions are ended.
    /// - An environment stuck in `starting` past the deadline is adopted as running when its
    ///   container runs (and the rest of the start is done), else it goes to `error`.
    /// - An environment stuck in `stopping` past the deadline is stopped.
    /// - A stopped environment whose container runs has the container stopped.
    /// - A container labelled for an environment that no longer exists is removed, except
    ///   warm pool containers (made for environments that do not exist yet): those of
    ///   configured shapes are kept up to each shape's count, the rest removed.
    /// - A project network whose project has no environment left is removed.
    ///
    /// Only containers carrying this instance's labels ([`Config::container_labels`](crate::config::Config::container_labels)) are looked at.
    /// A container that looks stopped is inspected again before its environment is failed,
    /// and every repair is a compare-and-set on the environment as read: an environment that
    /// changed meanwhile (a start or stop in flight) is left for the next pass.
    ///
    /// A repair that fails for another reason is logged and skipped; the pass goes on.
    ///
    /// Errors: `Unavailable` when the engine or store cannot be reached; nothing is changed
    /// by the call that failed.
    #[instrument(skip_all)]
    pub async fn reconcile(&self) -> Result<ReconcileReport> {
        let mut report = ReconcileReport::default();
        let containers = self.runtime().list(&self.managed_labels()).await?;
        // The warm pool's share of the same listing, swept at the end.
        let warm: Vec<ContainerInfo> = containers
            .iter()
            .filter(|c| c.labels.contains_key(super::pool::LABEL_POOL))
            .cloned()
            .collect();
        let mut by_env: HashMap<EnvironmentId, Vec<ContainerInfo>> = HashMap::new();
        for c in containers {
            match c
                .labels
                .get(LABEL_ENVIRONMENT_ID)
                .and_then(|id| id.parse::<EnvironmentId>().ok())
            {
                Some(id) => by_env.entry(id).or_default().push(c),
                None => {
                    tracing::warn!(container = %c.id, "managed container without an environment label")
                }
            }
        }
        let filter = EnvironmentFilter {
            statuses: vec![
                EnvironmentStatus::Starting,
                EnvironmentStatus::Running,
                EnvironmentStatus::Stopping,
                EnvironmentStatus::Suspended,
                EnvironmentStatus::Resuming,
            ],
            ..Default::default()
        };
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let envs = self.store().list_environments(&filter, &page).await?;
            for env in &envs.items {
                report.checked += 1;
                let container = pick(env, by_env.get(&env.id));
                match self.reconcile_environment(env, container).await {
                    Ok(true) => report.repaired += 1,
                    Ok(false) => {}
                    Err(e) if changed_meanwhile(&e) => {
                        tracing::debug!(environment.id = %env.id, "changed during the pass; left for the next one");
                    }
                    Err(e) => skip_or_abort(e, "environment", &env.id.to_string())?,
                }
            }
            match envs.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        for (env_id, containers) in by_env {
            match self.store().get_environment(env_id).await {
                Ok(env) => {
                    // Desired state is stopped: a container running behind our back is stopped.
                    if matches!(
                        env.status,
                        EnvironmentStatus::Stopped | EnvironmentStatus::Error
                    ) {
                        for c in containers.iter().filter(|c| c.state.is_live()) {
                            match self.stop_stray(c).await {
                                Ok(true) => report.repaired += 1,
                                Ok(false) => {}
                                Err(e) => skip_or_abort(e, "container", c.id.as_str())?,
                            }
                        }
                    }
                }
                // Warm pool containers wait for their environment: the pool's refill keeps
                // or removes them.
                Err(e)
                    if e.kind() == ErrorKind::NotFound
                        && containers
                            .iter()
                            .all(|c| c.labels.contains_key(super::pool::LABEL_POOL)) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    for c in containers {
                        tracing::info!(container = %c.id, "removing an orphan container");
                        match self.runtime().remove(&c.id).await {
                            Ok(()) => report.orphans_removed += 1,
                            Err(e) if e.kind() == ErrorKind::NotFound => {}
                            Err(e) => skip_or_abort(e, "container", c.id.as_str())?,
                        }
                    }
                    self.remove_home_volume(env_id).await;
                }
                Err(e) => return Err(e),
            }
        }
        report.networks_removed = self.sweep_project_networks().await?.removed;
        report.warm_removed = self.sweep_listed_pool(warm, false).await?.removed;
        Ok(report)
    }

    /// Repairs one environment given the container the listing found for it. Returns whether
    /// it changed anything.
    async fn reconcile_environment(
        &self,
        env: &Environment,
        listed: Option<&ContainerInfo>,
    ) -> Result<bool> {
        match env.status {
            EnvironmentStatus::Resuming if !self.past_deadline(env) => Ok(false),
            EnvironmentStatus::Running
            | EnvironmentStatus::Suspended
            | EnvironmentStatus::Resuming => self.reconcile_live(env, listed).await,
            EnvironmentStatus::Starting | EnvironmentStatus::Stopping => {
                if !self.past_deadline(env) {
                    return Ok(false);
                }
                if env.status == EnvironmentStatus::Stopping {
                    tracing::info!(environment.id = %env.id, "finishing an interrupted stop");
                    // Like a stop, except that an engine that cannot be reached leaves the
                    // environment stopping for the next pass instead of failing it.
                    self.terminate_all_sessions(env.id).await;
                    if let Err(e) = self.bring_down(env, StopMode::Graceful).await {
                        if e.kind() == ErrorKind::Unavailable {
                            return Err(e);
                        }
                        let message = format!("could not stop the environment: {}", e.report_new());
                        tracing::warn!(environment.id = %env.id, %message, "environment failed");
                        self.fail_unchanged(env, message).await?;
                        return Ok(true);
                    }
                    self.drain_collector(env.id).await;
                    self.set_status(env, EnvironmentStatus::Stopped, None)
                        .await?;
                    return Ok(true);
                }
                let container = match listed.filter(|c| c.state.is_running()) {
                    Some(c) => Some(c.clone()),
                    None => self.container_now(env, listed).await?,
                };
                match container.filter(|c| c.state.is_running()) {
                    Some(c) => {
                        tracing::info!(environment.id = %env.id, container = %c.id, "adopting an interrupted start whose container runs");
                        let mut adopted = env.clone();
                        adopted.container_id = Some(c.id.0.clone());
                        let running = self
                            .set_status(&adopted, EnvironmentStatus::Running, None)
                            .await?;
                        self.complete_start(&running, &c).await?;
                    }
                    None => {
                        let message = "the start was interrupted; start the environment again";
                        tracing::warn!(environment.id = %env.id, message, "environment failed");
                        self.fail_unchanged(env, message.to_string()).await?;
                    }
                }
                Ok(true)
            }
            EnvironmentStatus::Stopped | EnvironmentStatus::Error => Ok(false),
        }
    }

    /// Whether a transitional state has lasted past `Config::transition_deadline`.
    fn past_deadline(&self, env: &Environment) -> bool {
        let deadline = chrono::TimeDelta::from_std(self.config().transition_deadline)
            .unwrap_or(chrono::TimeDelta::MAX);
        self.now() - env.status_changed_at >= deadline
    }

    /// Repairs an environment that should have a live container (running, suspended, or
    /// resuming past its deadline): the status follows the engine. A container paused behind
    /// VibeBox's back makes the environment suspended, one thawed makes it running (an engine
    /// restart thaws everything it restarts), and one gone or exited fails it.
    async fn reconcile_live(
        &self,
        env: &Environment,
        listed: Option<&ContainerInfo>,
    ) -> Result<bool> {
        let agrees = |c: &ContainerInfo| match env.status {
            EnvironmentStatus::Running => c.state.is_running(),
            EnvironmentStatus::Suspended => c.state == ContainerState::Paused,
            _ => false,
        };
        if listed.is_some_and(agrees) {
            if env.status == EnvironmentStatus::Running {
                self.ensure_collector(env);
            }
            return Ok(false);
        }
        // The listing predates the read of the environment: a start, suspend or resume that
        // finished in between looks like a mismatch. Look again.
        match self.container_now(env, listed).await? {
            Some(c) if agrees(&c) => {
                if env.status == EnvironmentStatus::Running {
                    self.ensure_collector(env);
                }
                Ok(false)
            }
            Some(c) if c.state.is_running() => {
                tracing::info!(environment.id = %env.id, from = %env.status, "the container runs: the environment is running");
                let running = self
                    .set_status(env, EnvironmentStatus::Running, None)
                    .await?;
                self.ensure_collector(&running);
                Ok(true)
            }
            Some(c) if c.state == ContainerState::Paused => {
                tracing::info!(environment.id = %env.id, from = %env.status, "the container is paused: the environment is suspended");
                self.set_status(env, EnvironmentStatus::Suspended, None)
                    .await?;
                Ok(true)
            }
            gone => {
                let message = match gone {
                    Some(c) => format!(
                        "{}; start the environment again",
                        exit_message("the container stopped unexpectedly", &c)
                    ),
                    None => {
                        "the container was removed outside VibeBox; start the environment again"
                            .to_string()
                    }
                };
                tracing::warn!(environment.id = %env.id, %message, "environment failed");
                self.fail_unchanged(env, message).await?;
                self.terminate_all_sessions(env.id).await;
                Ok(true)
            }
        }
    }

    /// Stops a container whose environment should not run, if it still runs (the listing may
    /// predate a repair earlier in the pass). Returns whether it stopped it.
    async fn stop_stray(&self, listed: &ContainerInfo) -> Result<bool> {
        match self.runtime().inspect(&listed.id).await {
            Ok(now) if now.state.is_live() => {}
            Ok(_) => return Ok(false),
            Err(e) if e.kind() == ErrorKind::NotFound => return Ok(false),
            Err(e) => return Err(e),
        }
        tracing::info!(container = %listed.id, "stopping a container that should not run");
        match self
            .runtime()
            .stop(&listed.id, self.config().stop_grace)
            .await
        {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The environment's container as the engine reports it now: the one it records, else
    /// the one the listing found. `None` when there is none, or when it is being removed
    /// (`docker rm -f` kills it first: its `die` event arrives while the removal runs).
    async fn container_now(
        &self,
        env: &Environment,
        listed: Option<&ContainerInfo>,
    ) -> Result<Option<ContainerInfo>> {
        let id = match (&env.container_id, listed) {
            (Some(id), _) => ContainerId(id.clone()),
            (None, Some(c)) => c.id.clone(),
            (None, None) => return Ok(None),
        };
        match self.runtime().inspect(&id).await {
            Ok(info) if info.state == ContainerState::Removing => Ok(None),
            Ok(info) => Ok(Some(info)),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e),
        }
    }
}

/// After a failed repair: an engine or store that cannot be reached ends the pass (the
/// following repairs would fail too); any other failure is logged, and the pass goes on with
/// the rest, so that one broken environment does not hold up the others.
fn skip_or_abort(e: Error, what: &str, id: &str) -> Result<()> {
    if e.kind() == ErrorKind::Unavailable {
        return Err(e);
    }
    tracing::warn!(error = %e, %what, %id, "could not reconcile; going on with the others");
    Ok(())
}

/// Whether a repair failed because the environment changed after it was read.
pub(crate) fn changed_meanwhile(e: &Error) -> bool {
    matches!(
        e,
        Error::StaleVersion { .. } | Error::InvalidTransition { .. }
    )
}

/// The container that belongs to the environment: the one it records, else any labelled one.
fn pick<'a>(
    env: &Environment,
    containers: Option<&'a Vec<ContainerInfo>>,
) -> Option<&'a ContainerInfo> {
    let containers = containers?;
    containers
        .iter()
        .find(|c| Some(c.id.as_str()) == env.container_id.as_deref())
        .or_else(|| containers.iter().find(|c| c.state.is_running()))
        .or_else(|| containers.first())
}
