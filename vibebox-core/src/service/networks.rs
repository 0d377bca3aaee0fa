//! Project networks (DESIGN.md §9): the environments of a project share one network of their
//! own, on a small subnet from [`Config::network_pool`](crate::config::Config::network_pool),
//! and reach each other by name; nothing on another network reaches them.
//!
//! A project's network is created when its first environment starts and removed when its last
//! environment is deleted; the reconciler removes networks whose project has no environment
//! left. The allocation keeps no state of its own: the engine's networks are the record, a
//! subnet is free when no network of the engine overlaps it, and the engine refuses an
//! overlapping create, so two callers racing for one subnet cannot both have it.

use std::collections::BTreeMap;

use super::Vibebox;
use crate::domain::Environment;
use crate::error::{Error, ErrorKind, Result};
use crate::id::ProjectId;
use crate::runtime::{Ipv4Subnet, LABEL_PROJECT_ID, NetworkAttachment, NetworkSpec};
use crate::store::{EnvironmentFilter, PageRequest};

/// What a pass over the engine's project networks removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct NetworkSweep {
    /// Networks removed because their project has no environment left.
    pub removed: usize,
}

impl Vibebox {
    /// The name of a project's network: the container prefix, `net-` and the project id.
    pub(crate) fn project_network_name(&self, project: ProjectId) -> String {
        format!("{}net-{project}", self.config().container_name_prefix)
    }

    /// The network an environment's container joins, answering there to the environment's
    /// slug; `None` without a network pool (the engine's default bridge).
    pub(crate) fn network_attachment(
        &self,
        env: &Environment,
        project: ProjectId,
    ) -> Option<NetworkAttachment> {
        self.config().network_pool.map(|_| NetworkAttachment {
            network: self.project_network_name(project),
            aliases: vec![env.slug.clone()],
        })
    }

    /// Makes sure the project's network exists, creating it on a free subnet of the pool.
    /// Without a pool, does nothing.
    ///
    /// Errors: `Conflict` when the pool has no free subnet left; `Unavailable`.
    pub(crate) async fn ensure_project_network(&self, project: ProjectId) -> Result<()> {
        let Some(pool) = self.config().network_pool else {
            return Ok(());
        };
        let name = self.project_network_name(project);
        if self.network_exists(&name).await? {
            return Ok(());
        }
        // One allocation at a time in this process; other processes are kept apart by the
        // engine refusing overlapping subnets.
        let _allocating = self.inner.network_allocation.lock().await;
        if self.network_exists(&name).await? {
            return Ok(());
        }
        let mut used: Vec<Ipv4Subnet> = self
            .runtime()
            .list_networks(&[])
            .await?
            .into_iter()
            .flat_map(|n| n.subnets)
            .collect();
        let mut labels: BTreeMap<String, String> = self.managed_labels().into_iter().collect();
        labels.insert(LABEL_PROJECT_ID.to_string(), project.to_string());
        let capacity = pool.capacity();
        // Start from a place derived from the project, so concurrent allocators elsewhere
        // rarely contend for the same subnet.
        let start = (project.as_uuid().as_u128() as u64) % capacity.max(1);
        for step in 0..capacity {
            let Some(subnet) = pool.subnet((start + step) % capacity) else {
                continue;
            };
            if used.iter().any(|u| u.overlaps(&subnet)) {
                continue;
            }
            let spec = NetworkSpec {
                name: name.clone(),
                subnet,
                labels: labels.clone(),
            };
            match self.runtime().create_network(&spec).await {
                Ok(_) => {
                    tracing::info!(network = %name, %subnet, %project, "created the project's network");
                    return Ok(());
                }
                Err(e) if e.kind() == ErrorKind::AlreadyExists => return Ok(()),
                Err(e) if e.kind() == ErrorKind::Conflict => {
                    // Taken meanwhile, perhaps by another server creating this very network.
                    if self.network_exists(&name).await? {
                        return Ok(());
                    }
                    used.push(subnet);
                }
                Err(e) => return Err(e),
            }
        }
        Err(Error::Conflict(
            format!(
                "the network pool {} has no free /{} subnet left for a new project network",
                pool.range(),
                pool.prefix()
            )
            .into(),
        ))
    }

    async fn network_exists(&self, name: &str) -> Result<bool> {
        match self.runtime().inspect_network(name).await {
            Ok(_) => Ok(true),
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// Removes the project's network if the project has no environment left. Best effort: a
    /// network still in use or an engine that fails is logged, and the reconciler tries again.
    pub(crate) async fn release_project_network(&self, project: ProjectId) {
        if self.config().network_pool.is_none() {
            return;
        }
        match self.project_has_environments(project).await {
            Ok(false) => {}
            Ok(true) => return,
            Err(e) => {
                tracing::warn!(%project, error = %e, "could not check whether the project's network is still needed");
                return;
            }
        }
        if let Err(e) = self.remove_project_network(project).await {
            tracing::warn!(%project, error = %e, "could not remove the project's network; the reconciler will");
        }
    }

    /// Removes the project's network; one that is gone already is fine. Returns whether it
    /// removed one. Errors: `Conflict` while a container runs on it; `Unavailable`.
    async fn remove_project_network(&self, project: ProjectId) -> Result<bool> {
        let name = self.project_network_name(project);
        match self.runtime().remove_network(&name).await {
            Ok(()) => {
                tracing::info!(network = %name, %project, "removed the project's network");
                Ok(true)
            }
            Err(e) if e.kind() == ErrorKind::NotFound => Ok(false),
            Err(e) => Err(e),
        }
    }

    async fn project_has_environments(&self, project: ProjectId) -> Result<bool> {
        let filter = EnvironmentFilter {
            project_id: Some(project),
            ..Default::default()
        };
        let page = self
            .store()
            .list_environments(&filter, &PageRequest::first(1))
            .await?;
        Ok(!page.items.is_empty())
    }

    /// The reconciler's part: removes this instance's project networks whose project has no
    /// environment left (deleted projects included). A network still in use is left for the
    /// next pass.
    ///
    /// Errors: `Unavailable` when the engine or the store cannot be reached.
    pub(crate) async fn sweep_project_networks(&self) -> Result<NetworkSweep> {
        let mut sweep = NetworkSweep::default();
        let networks = self.runtime().list_networks(&self.managed_labels()).await?;
        for network in networks {
            let Some(project) = network
                .labels
                .get(LABEL_PROJECT_ID)
                .and_then(|p| p.parse::<ProjectId>().ok())
            else {
                continue;
            };
            if network.name != self.project_network_name(project)
                || self.project_has_environments(project).await?
            {
                continue;
            }
            match self.remove_project_network(project).await {
                Ok(true) => sweep.removed += 1,
                Ok(false) => {}
                Err(e) if e.kind() == ErrorKind::Unavailable => return Err(e),
                Err(e) => {
                    tracing::debug!(network = %network.name, error = %e, "orphan network still in use; left for the next pass")
                }
            }
        }
        Ok(sweep)
    }
}
