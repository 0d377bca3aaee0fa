//! The warm pool (DESIGN.md §11; README, "The warm pool"): per configured
//! [`PoolShape`](crate::config::PoolShape), containers created, hardened and started ahead of
//! use, which a matching "create and start" claims instead of creating one.
//!
//! - Each warm container is made for an environment id chosen in advance: its name, labels
//!   and home volume carry that id, as a cold container's carry its environment's. Claiming it
//!   is inserting the environment's row under that id, so the store's primary key makes the
//!   claim atomic, also between servers sharing one database; the loser starts cold.
//! - Only "create and start" claims: a new environment has no variables or ports yet, so the
//!   warm container lacks nothing a cold one would have. The claim connects it to the
//!   project's network (under the slug's alias, as a cold one is) and leaves the engine's
//!   default one.
//! - What differs: the hostname (fixed at create: a warm container's is `vibebox`), and the
//!   spec hash, so the first start after a stop recreates the container cold, on the same
//!   home volume, as any change of image or limits does.
//! - The refill runs in the background, one create at a time. Warm containers are labelled
//!   `vibebox.pool`, never shown as environments; the reconciler (and each refill) adopts
//!   those of configured shapes it finds (after a restart) up to the shape's count and
//!   removes the rest.
//! - An empty pool, or any failure of a claim, falls back to a cold start.

use std::collections::{HashMap, VecDeque};

use tokio::sync::Notify;

use super::{AuditRecord, Vibebox};
use crate::config::PoolShape;
use crate::domain::{Environment, EnvironmentStatus, IdlePolicy, Project};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{EnvironmentId, ProjectId, UserId};
use crate::rbac::Actor;
use crate::runtime::{ContainerId, ContainerInfo, LABEL_ENVIRONMENT_ID};

/// The label of a warm pool container: its shape's key.
pub(crate) const LABEL_POOL: &str = "vibebox.pool";
/// The engine's default network, which a claimed container leaves for its project's.
const DEFAULT_NETWORK: &str = "bridge";
/// The hostname of warm containers (a cold container's is its environment's slug).
const WARM_HOSTNAME: &str = "vibebox";

/// What a refill pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PoolReport {
    /// Warm containers created.
    pub created: usize,
    /// Warm containers found on the engine and taken into the pool (after a restart).
    pub adopted: usize,
    /// Warm containers removed (of a shape no longer configured, beyond its count, or not
    /// running).
    pub removed: usize,
    /// Warm containers ready after the pass.
    pub warm: usize,
}

/// A warm container and the environment id it was made for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) struct Warm {
    pub(crate) env: EnvironmentId,
    pub(crate) container: ContainerId,
}

/// The warm containers of this process, per shape key, and the refill's wake-up.
#[derive(Debug, Default)]
pub(crate) struct WarmPool {
    slots: std::sync::Mutex<HashMap<String, VecDeque<Warm>>>,
    /// Taken by a claim that has not finished: the refill leaves them alone.
    claiming: std::sync::Mutex<std::collections::HashSet<ContainerId>>,
    pub(crate) refill: Notify,
}

impl WarmPool {
    fn slots(&self) -> std::sync::MutexGuard<'_, HashMap<String, VecDeque<Warm>>> {
        self.slots.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn holds(&self, container: &ContainerId) -> bool {
        self.slots()
            .values()
            .any(|q| q.iter().any(|w| &w.container == container))
            || self
                .claiming
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(container)
    }

    /// A claim of `container` is over (it is an environment's now, or was given up).
    pub(crate) fn claimed(&self, container: &ContainerId) {
        self.claiming
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .remove(container);
    }
}

/// The key of a shape: what a create must match to claim from it.
fn shape_key(image: &str, cpu_limit: f64, memory_limit: i64) -> String {
    format!("{image}|{cpu_limit}|{memory_limit}")
}

impl Vibebox {
    /// Creates `env` (not stored yet) running in a warm container of its shape, if the pool
    /// has one; `None` when it has none or another server claimed it first (the caller starts
    /// cold).
    pub(crate) async fn start_from_pool(
        &self,
        actor: &Actor,
        env: &Environment,
        project: &Project,
    ) -> Result<Option<Environment>> {
        let Some(warm) = self.take_warm(env) else {
            return Ok(None);
        };
        let container = warm.container.clone();
        let claimed = self.claim_warm(actor, env.clone(), project, warm).await;
        self.inner.pool.claimed(&container);
        claimed
    }

    /// Takes a warm container for an environment of this image and these limits, if the pool
    /// has one, and wakes the refill. The storage limit must be the default (a warm container
    /// has the default one).
    fn take_warm(&self, env: &Environment) -> Option<Warm> {
        if env.storage_limit != super::environments::DEFAULT_STORAGE_LIMIT {
            return None;
        }
        let key = shape_key(&env.base_image, env.cpu_limit, env.memory_limit);
        let warm = {
            // Marked as being claimed before the slots are let go, so that a refill looking
            // at the engine meanwhile sees it held.
            let mut slots = self.inner.pool.slots();
            let warm = slots.get_mut(&key)?.pop_front()?;
            self.inner
                .pool
                .claiming
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .insert(warm.container.clone());
            warm
        };
        self.inner.pool.refill.notify_one();
        Some(warm)
    }

    /// Claims `warm` for the new environment `env` (not stored yet): stores it under the warm
    /// container's id as starting, then makes the container its own and marks it running.
    /// `None` when another server claimed the container first (the caller starts cold). A
    /// container that cannot be made the environment's is replaced by a cold start.
    async fn claim_warm(
        &self,
        actor: &Actor,
        mut env: Environment,
        project: &Project,
        warm: Warm,
    ) -> Result<Option<Environment>> {
        env.id = warm.env;
        env.status = EnvironmentStatus::Starting;
        env.container_id = Some(warm.container.0.clone());
        match self.store().create_environment(&env).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::AlreadyExists && e.field() == Some("id") => {
                tracing::info!(container = %warm.container, "a warm container was claimed elsewhere");
                return Ok(None);
            }
            Err(e) => {
                // Refused (a slug taken, say): the container stays warm for the next one.
                let key = shape_key(&env.base_image, env.cpu_limit, env.memory_limit);
                self.inner
                    .pool
                    .slots()
                    .entry(key)
                    .or_default()
                    .push_front(warm);
                return Err(e);
            }
        }
        self.announce_created(actor, &env, project, true).await;
        self.publish_status(&env);
        self.audit(
            actor,
            AuditRecord::new("environment.start", "environment", env.id)
                .team(project.owner.team_id()),
        )
        .await;
        self.note_activity(env.id);
        let info = match self.adopt_warm(&env, project.id, &warm.container).await {
            Ok(info) => info,
            Err(e) => {
                tracing::warn!(container = %warm.container, error = %e, "a warm container could not be claimed; starting cold");
                return self.finish_start(env, project.clone()).await.map(Some);
            }
        };
        self.mark_running(&env, &info).await.map(Some)
    }

    /// Makes a claimed warm container the environment's: connects it to the project's
    /// network (when there are project networks) and leaves the default one. Returns the
    /// container's state, which must be running.
    async fn adopt_warm(
        &self,
        env: &Environment,
        project: ProjectId,
        container: &ContainerId,
    ) -> Result<ContainerInfo> {
        if let Some(attachment) = self.network_attachment(env, project) {
            self.ensure_project_network(project).await?;
            self.runtime()
                .connect_network(container, &attachment)
                .await?;
            self.runtime()
                .disconnect_network(container, DEFAULT_NETWORK)
                .await?;
        }
        let info = self.runtime().inspect(container).await?;
        if !info.state.is_running() {
            return Err(Error::Conflict("the warm container is not running".into()));
        }
        Ok(info)
    }

    /// One pass of the warm pool: adopts warm containers of configured shapes found on the
    /// engine, removes the others, and creates what each shape lacks, one at a time with
    /// [`Config::pool_refill_gap`](crate::config::Config::pool_refill_gap) between creates.
    ///
    /// Errors: when the engine or the store cannot be reached; a create that fails is logged
    /// and the pass goes on with the next shape.
    #[tracing::instrument(skip_all)]
    pub async fn refill_pool(&self) -> Result<PoolReport> {
        let mut report = self.sweep_pool().await?;
        let shapes = self.pool_shapes();
        for (key, shape) in &shapes {
            loop {
                let have = self.inner.pool.slots().get(key).map_or(0, VecDeque::len);
                if have >= shape.count {
                    break;
                }
                if report.created > 0 {
                    tokio::time::sleep(self.config().pool_refill_gap).await;
                }
                match self.warm_one(shape).await {
                    Ok(w) => {
                        self.inner
                            .pool
                            .slots()
                            .entry(key.clone())
                            .or_default()
                            .push_back(w);
                        report.created += 1;
                    }
                    Err(e) => {
                        tracing::warn!(image = %shape.image, error = %e, "could not make a warm container");
                        break;
                    }
                }
            }
        }
        report.warm = self.inner.pool.slots().values().map(VecDeque::len).sum();
        Ok(report)
    }

    /// The configured shapes by key.
    fn pool_shapes(&self) -> HashMap<String, &PoolShape> {
        self.config()
            .pool
            .iter()
            .map(|s| (shape_key(&s.image, s.cpu_limit, s.memory_limit), s))
            .collect()
    }

    /// The cleaning half of [`refill_pool`](Self::refill_pool) (the reconciler runs it on its
    /// own listing):
    /// adopts warm containers of configured shapes found on the engine (up to each count) and
    /// removes the rest (shapes no longer configured, beyond their count, not running);
    /// forgets warm containers removed behind its back. Creates nothing.
    async fn sweep_pool(&self) -> Result<PoolReport> {
        let listed = self.runtime().list(&self.managed_labels()).await?;
        self.sweep_listed_pool(listed, true).await
    }

    /// [`sweep_pool`](Self::sweep_pool) on the engine's containers as already listed (the
    /// reconciler's listing; containers without the pool label are passed over). Only a
    /// listing taken by the refill itself (`fresh`: no create of the pool can be in flight)
    /// says that a warm container missing from it is gone; the reconciler's may predate a
    /// create the refill is making meanwhile.
    pub(crate) async fn sweep_listed_pool(
        &self,
        containers: Vec<ContainerInfo>,
        fresh: bool,
    ) -> Result<PoolReport> {
        let mut report = PoolReport::default();
        let shapes = self.pool_shapes();
        let mut listed = std::collections::HashSet::new();
        for c in containers {
            let Some(key) = c.labels.get(LABEL_POOL) else {
                continue;
            };
            listed.insert(c.id.clone());
            let Some(env) = c
                .labels
                .get(LABEL_ENVIRONMENT_ID)
                .and_then(|id| id.parse::<EnvironmentId>().ok())
            else {
                continue;
            };
            if self.inner.pool.holds(&c.id) {
                continue;
            }
            match self.store().get_environment(env).await {
                // Claimed: an environment's container now.
                Ok(_) => continue,
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
            let wanted = shapes.get(key).map_or(0, |s| s.count);
            let adopted = c.state.is_running() && {
                let mut slots = self.inner.pool.slots();
                let queue = slots.entry(key.clone()).or_default();
                let room = queue.len() < wanted;
                if room {
                    queue.push_back(Warm {
                        env,
                        container: c.id.clone(),
                    });
                }
                room
            };
            if adopted {
                report.adopted += 1;
            } else {
                self.discard_warm(&Warm {
                    env,
                    container: c.id.clone(),
                })
                .await;
                report.removed += 1;
            }
        }
        // Forget warm containers removed behind our back; trim shapes no longer configured.
        let mut dropped = Vec::new();
        {
            let mut slots = self.inner.pool.slots();
            for (key, queue) in slots.iter_mut() {
                if fresh {
                    queue.retain(|w| listed.contains(&w.container));
                }
                let wanted = shapes.get(key).map_or(0, |s| s.count);
                while queue.len() > wanted {
                    if let Some(w) = queue.pop_back() {
                        dropped.push(w);
                    }
                }
            }
        }
        for w in &dropped {
            self.discard_warm(w).await;
            report.removed += 1;
        }
        report.warm = self.inner.pool.slots().values().map(VecDeque::len).sum();
        Ok(report)
    }

    /// Creates and starts one warm container of `shape`, hardened like an environment's.
    async fn warm_one(&self, shape: &PoolShape) -> Result<Warm> {
        let now = self.now();
        let phantom = Environment {
            id: EnvironmentId::new(),
            project_id: ProjectId(uuid::Uuid::nil()),
            name: WARM_HOSTNAME.into(),
            slug: WARM_HOSTNAME.into(),
            creator_id: UserId(uuid::Uuid::nil()),
            base_image: shape.image.clone(),
            container_id: None,
            status: EnvironmentStatus::Starting,
            cpu_limit: shape.cpu_limit,
            memory_limit: shape.memory_limit,
            storage_limit: super::environments::DEFAULT_STORAGE_LIMIT,
            error_message: None,
            idle_policy: IdlePolicy::DEFAULT,
            version: 1,
            health: Default::default(),
            status_changed_at: now,
            created_at: now,
            updated_at: now,
        };
        let mut spec = self.spec_in(&phantom, None, &[]).await?;
        spec.labels.insert(
            LABEL_POOL.to_string(),
            shape_key(&shape.image, shape.cpu_limit, shape.memory_limit),
        );
        let container = self.runtime().create(&spec).await?;
        let warm = Warm {
            env: phantom.id,
            container,
        };
        if let Err(e) = self.runtime().start(&warm.container).await {
            self.discard_warm(&warm).await;
            return Err(e);
        }
        tracing::debug!(container = %warm.container, image = %shape.image, "warm container ready");
        Ok(warm)
    }

    /// Removes a warm container and its home volume; a failure is logged (the next pass
    /// tries again).
    async fn discard_warm(&self, warm: &Warm) {
        match self.runtime().remove(&warm.container).await {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::NotFound => {}
            Err(e) => {
                tracing::warn!(container = %warm.container, error = %e, "could not remove a warm container");
                return;
            }
        }
        self.remove_home_volume(warm.env).await;
    }
}
