//! The reconciler: compares what the store says with the containers the engine has, and
//! repairs the difference. Level-triggered: it recomputes from the current state each time.

use std::collections::HashMap;

use tracing::instrument;

use super::Vibebox;
use super::start_stop::exit_message;
use crate::domain::{Environment, EnvironmentStatus};
use crate::error::{ErrorKind, Result};
use crate::id::EnvironmentId;
use crate::runtime::{ContainerInfo, LABEL_ENVIRONMENT_ID};
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
}

impl Vibebox {
    /// One reconciler pass.
    ///
    /// - A running environment whose container is gone or stopped goes to `error` with a
    ///   message saying what happened (and its collector is restarted if it runs).
    /// - An environment stuck in `starting` or `stopping` past the deadline is finished or
    ///   failed, depending on the container.
    /// - A stopped environment whose container runs has the container stopped.
    /// - A container labelled for an environment that no longer exists is removed.
    ///
    /// Only containers carrying this instance's labels ([`Config::container_labels`](crate::config::Config::container_labels)) are looked at.
    ///
    /// Errors: `Unavailable` when the engine or store cannot be reached (nothing is changed).
    #[instrument(skip_all)]
    pub async fn reconcile(&self) -> Result<ReconcileReport> {
        let mut report = ReconcileReport::default();
        let containers = self.runtime().list(&self.managed_labels()).await?;
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
            ],
            ..Default::default()
        };
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let envs = self.store().list_environments(&filter, &page).await?;
            for env in &envs.items {
                report.checked += 1;
                let container = pick(env, by_env.get(&env.id));
                if self.reconcile_environment(env, container).await? {
                    report.repaired += 1;
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
                        for c in containers.iter().filter(|c| c.state.is_running()) {
                            tracing::info!(container = %c.id, "stopping a container that should not run");
                            self.runtime().stop(&c.id, self.config().stop_grace).await?;
                            report.repaired += 1;
                        }
                    }
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {
                    for c in containers {
                        tracing::info!(container = %c.id, "removing an orphan container");
                        match self.runtime().remove(&c.id).await {
                            Ok(()) => report.orphans_removed += 1,
                            Err(e) if e.kind() == ErrorKind::NotFound => {}
                            Err(e) => return Err(e),
                        }
                    }
                    self.remove_home_volume(env_id).await;
                }
                Err(e) => return Err(e),
            }
        }
        Ok(report)
    }

    async fn reconcile_environment(
        &self,
        env: &Environment,
        container: Option<&ContainerInfo>,
    ) -> Result<bool> {
        match env.status {
            EnvironmentStatus::Running => match container {
                None => {
                    self.terminate_all_sessions(env.id).await;
                    self.fail_environment(
                        env,
                        "the container was removed outside VibeBox; start the environment again"
                            .to_string(),
                    )
                    .await;
                    Ok(true)
                }
                Some(c) if !c.state.is_running() => {
                    self.terminate_all_sessions(env.id).await;
                    self.fail_environment(
                        env,
                        exit_message("the container stopped unexpectedly", c),
                    )
                    .await;
                    Ok(true)
                }
                Some(_) => {
                    self.ensure_collector(env);
                    Ok(false)
                }
            },
            EnvironmentStatus::Starting | EnvironmentStatus::Stopping => {
                let deadline = chrono::TimeDelta::from_std(self.config().transition_deadline)
                    .unwrap_or(chrono::TimeDelta::MAX);
                if self.now() - env.status_changed_at < deadline {
                    return Ok(false);
                }
                if env.status == EnvironmentStatus::Stopping {
                    self.finish_stop(env.clone()).await?;
                    return Ok(true);
                }
                match container.filter(|c| c.state.is_running()) {
                    Some(c) => {
                        let mut adopted = env.clone();
                        adopted.container_id = Some(c.id.0.clone());
                        let running = self
                            .set_status(&adopted, EnvironmentStatus::Running, None)
                            .await?;
                        self.ensure_collector(&running);
                    }
                    None => {
                        self.fail_environment(
                            env,
                            "the start was interrupted; start the environment again".to_string(),
                        )
                        .await;
                    }
                }
                Ok(true)
            }
            EnvironmentStatus::Stopped | EnvironmentStatus::Error => Ok(false),
        }
    }
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
