//! Watching a project, for a list of its environments such as the web console's: a snapshot,
//! then every status and health change, creation and deletion, and throttled metrics of the
//! running ones, over one subscription however many environments the project has.
//!
//! How the watch stays current:
//! - Events come from the project's channel on the [`EventBus`](crate::events::EventBus).
//!   Creation, status changes and deletion are published there by the code that makes them
//!   ([`EventBus::publish_in`](crate::events::EventBus::publish_in)); health changes reach it
//!   for the environments the watch listed or saw created.
//! - Every [`PROJECT_WATCH_RESYNC_INTERVAL`], and at once after the watcher fell behind, the
//!   watch re-lists the project and sends what changed behind its back: another replica's
//!   changes, events it missed. That listing re-checks access too: once the actor may no
//!   longer read the project, or it is gone, the watch ends.
//! - One metrics stream per running environment, opened when it is (or becomes) running and
//!   closed when it stops; at most one sample per environment every
//!   [`PROJECT_WATCH_METRICS_INTERVAL`] is sent.

mod frame;
mod metrics;

pub use frame::{ProjectFrame, WatchedEnvironment};

use std::collections::{HashMap, HashSet, VecDeque};
use std::time::Duration;

use tokio::sync::broadcast;
use tokio::sync::broadcast::error::RecvError;
use tokio::time::{Instant, Interval, MissedTickBehavior};
use tracing::instrument;

use self::metrics::{MetricsStreams, admit};
use super::Vibebox;
use crate::clock::Timestamp;
use crate::domain::{Environment, EnvironmentStatus};
use crate::error::{ErrorKind, Result};
use crate::events::{Event, EventKind};
use crate::id::{EnvironmentId, ProjectId};
use crate::rbac::{Action, Actor};
use crate::runtime::{ContainerId, ContainerStats};
use crate::store::{EnvironmentFilter, PageRequest};

/// The most environments a watch shows: the first of the project's list. When the project has
/// more, the snapshot says `truncated` and the others are not watched.
pub const PROJECT_WATCH_MAX_ENVIRONMENTS: u32 = 500;
/// The shortest time between two metrics samples of one environment that a watch sends.
pub const PROJECT_WATCH_METRICS_INTERVAL: Duration = Duration::from_secs(2);
/// How often a watch re-lists its project, to catch what its events did not say and to
/// re-check the actor's access.
pub const PROJECT_WATCH_RESYNC_INTERVAL: Duration = Duration::from_secs(30);

const MAX_WATCHED: usize = PROJECT_WATCH_MAX_ENVIRONMENTS as usize;

/// A live view of a project's environments (see [`Vibebox::watch_project`]). Read it with
/// [`next`](Self::next) until it ends; memory stays bounded however slowly it is read: a
/// reader that falls behind gets a [`ProjectFrame::Dropped`] and a fresh listing.
pub struct ProjectWatch {
    vibebox: Vibebox,
    actor: Actor,
    project: ProjectId,
    events: broadcast::Receiver<Event>,
    watched: HashMap<EnvironmentId, Watched>,
    metrics: MetricsStreams,
    /// Work that reads the store, done in order before more events are read.
    pending: VecDeque<Task>,
    /// Frames to hand out.
    ready: VecDeque<ProjectFrame>,
    resync: Interval,
    ended: bool,
}

impl std::fmt::Debug for ProjectWatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProjectWatch")
            .field("project", &self.project)
            .field("watched", &self.watched.len())
            .finish_non_exhaustive()
    }
}

/// What the watch last told about an environment.
struct Watched {
    view: WatchedEnvironment,
    /// When its last metrics sample was sent.
    last_sample: Option<Instant>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Task {
    /// Read a created environment and announce it.
    Load(EnvironmentId),
    /// Read a running environment's container and follow its metrics.
    OpenMetrics(EnvironmentId),
    /// Re-list the project.
    Resync,
}

fn in_project(project: ProjectId) -> EnvironmentFilter {
    EnvironmentFilter {
        project_id: Some(project),
        ..Default::default()
    }
}

fn first_page() -> PageRequest {
    PageRequest::first(PROJECT_WATCH_MAX_ENVIRONMENTS)
}

impl Vibebox {
    /// Watches a project's environments: the first [`ProjectWatch::next`] is a
    /// [`ProjectFrame::Snapshot`] of them (at most [`PROJECT_WATCH_MAX_ENVIRONMENTS`]), then
    /// come their status and health changes, creations, deletions and metrics. Anyone who
    /// may read the project may watch it, viewers included.
    ///
    /// Errors: `NotFound` (`project`) for a project the actor cannot see.
    #[instrument(skip_all, fields(project.id = %project_id))]
    pub async fn watch_project(
        &self,
        actor: &Actor,
        project_id: ProjectId,
    ) -> Result<ProjectWatch> {
        self.project_for(actor, project_id, Action::ReadProject)
            .await?;
        // Subscribed before listing, so nothing that follows the listing is missed; what
        // arrives twice is recognized by its version.
        let events = self.events().subscribe_project(project_id);
        let listed = self
            .store()
            .list_environments(&in_project(project_id), &first_page())
            .await?;
        let start = Instant::now() + PROJECT_WATCH_RESYNC_INTERVAL;
        let mut resync = tokio::time::interval_at(start, PROJECT_WATCH_RESYNC_INTERVAL);
        resync.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut watch = ProjectWatch {
            vibebox: self.clone(),
            actor: actor.clone(),
            project: project_id,
            events,
            watched: HashMap::new(),
            metrics: MetricsStreams::default(),
            pending: VecDeque::new(),
            ready: VecDeque::new(),
            resync,
            ended: false,
        };
        let environments = listed.items.iter().map(|env| watch.add(env)).collect();
        watch.ready.push_back(ProjectFrame::Snapshot {
            environments,
            truncated: listed.next_cursor.is_some(),
        });
        Ok(watch)
    }
}

impl ProjectWatch {
    /// The project watched.
    pub fn project(&self) -> ProjectId {
        self.project
    }

    /// The next frame; `None` once the watch ended because the actor may no longer read the
    /// project, or it was deleted. Cancel-safe: a frame is never lost to a dropped call.
    pub async fn next(&mut self) -> Option<ProjectFrame> {
        loop {
            if let Some(frame) = self.ready.pop_front() {
                return Some(frame);
            }
            if self.ended {
                return None;
            }
            if let Some(task) = self.pending.front().copied() {
                // Frames are queued only after the task's last await, and the task is taken
                // off only then, so a dropped call leaves it to be done again.
                self.run(task).await;
                self.pending.pop_front();
                continue;
            }
            tokio::select! {
                event = self.events.recv() => self.on_event(event),
                (env, stats) = self.metrics.next() => self.on_sample(env, stats),
                _ = self.resync.tick() => self.schedule(Task::Resync),
            }
        }
    }

    fn schedule(&mut self, task: Task) {
        if !self.pending.contains(&task) {
            self.pending.push_back(task);
        }
    }

    /// Starts watching an environment of the project: routes its events here and follows its
    /// metrics when it runs.
    fn add(&mut self, env: &Environment) -> WatchedEnvironment {
        let view = WatchedEnvironment::from(env);
        self.watched.insert(
            env.id,
            Watched {
                view: view.clone(),
                last_sample: None,
            },
        );
        self.vibebox.events().route(self.project, [env.id]);
        self.follow_metrics(env);
        view
    }

    /// Stops watching an environment that left the project, and says so if it was watched.
    fn remove(&mut self, env: EnvironmentId, at: Timestamp) {
        self.metrics.close(env);
        if self.watched.remove(&env).is_some() {
            self.ready.push_back(ProjectFrame::Deleted {
                environment_id: env,
                at,
            });
        }
    }

    /// Follows the metrics of an environment that runs in a container; stops otherwise.
    fn follow_metrics(&mut self, env: &Environment) {
        match (&env.container_id, env.status) {
            (Some(container), EnvironmentStatus::Running) => {
                let stream = self
                    .vibebox
                    .runtime()
                    .stats(&ContainerId(container.clone()));
                self.metrics.open(env.id, stream);
            }
            _ => self.metrics.close(env.id),
        }
    }

    fn on_event(&mut self, event: std::result::Result<Event, RecvError>) {
        match event {
            Ok(event) => self.apply(event),
            Err(RecvError::Lagged(count)) => {
                self.ready.push_back(ProjectFrame::Dropped { count });
                self.schedule(Task::Resync);
            }
            Err(RecvError::Closed) => self.ended = true,
        }
    }

    fn apply(&mut self, event: Event) {
        let id = event.environment_id;
        match event.kind {
            EventKind::Created if !self.watched.contains_key(&id) => {
                self.schedule(Task::Load(id));
            }
            EventKind::Deleted => self.remove(id, event.at),
            EventKind::Status {
                status,
                error_message,
                version,
            } => {
                let Some(w) = self.watched.get_mut(&id) else {
                    return;
                };
                // Already shown: in the snapshot, or by a re-listing.
                if version <= w.view.version {
                    return;
                }
                w.view.status = status;
                w.view.error_message = error_message.clone();
                w.view.version = version;
                self.ready.push_back(ProjectFrame::Status {
                    environment_id: id,
                    at: event.at,
                    status,
                    error_message,
                    version,
                });
                if status == EnvironmentStatus::Running {
                    self.schedule(Task::OpenMetrics(id));
                } else {
                    self.metrics.close(id);
                }
            }
            EventKind::Health { health } => {
                let Some(w) = self.watched.get_mut(&id) else {
                    return;
                };
                if w.view.health == health {
                    return;
                }
                w.view.health = health.clone();
                self.ready.push_back(ProjectFrame::Health {
                    environment_id: id,
                    at: event.at,
                    health,
                });
            }
            _ => {}
        }
    }

    fn on_sample(&mut self, env: EnvironmentId, stats: ContainerStats) {
        let Some(w) = self.watched.get_mut(&env) else {
            self.metrics.close(env);
            return;
        };
        if admit(
            &mut w.last_sample,
            Instant::now(),
            PROJECT_WATCH_METRICS_INTERVAL,
        ) {
            self.ready.push_back(ProjectFrame::Metrics {
                environment_id: env,
                at: stats.at,
                cpu_percent: stats.cpu_percent,
                memory_bytes: stats.memory_bytes,
                memory_limit_bytes: stats.memory_limit_bytes,
            });
        }
    }

    async fn run(&mut self, task: Task) {
        match task {
            Task::Load(id) => match self.vibebox.store().get_environment(id).await {
                Ok(env) => {
                    let fits = self.watched.len() < MAX_WATCHED;
                    if env.project_id == self.project && !self.watched.contains_key(&id) && fits {
                        let environment = self.add(&env);
                        self.ready.push_back(ProjectFrame::Created { environment });
                    }
                }
                // Deleted meanwhile: its deletion follows and is ignored.
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                // The next re-listing shows it.
                Err(e) => {
                    tracing::warn!(error = %e, environment.id = %id, "could not read a created environment")
                }
            },
            Task::OpenMetrics(id) => match self.vibebox.store().get_environment(id).await {
                Ok(env) if self.watched.contains_key(&id) => self.follow_metrics(&env),
                Ok(_) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                // The next re-listing opens it.
                Err(e) => {
                    tracing::warn!(error = %e, environment.id = %id, "could not read a running environment")
                }
            },
            Task::Resync => {
                let listed = self
                    .vibebox
                    .list_environments(&self.actor, Some(self.project), &first_page())
                    .await;
                match listed {
                    Ok(page) => self.resync_with(&page.items),
                    Err(e)
                        if matches!(
                            e.kind(),
                            ErrorKind::NotFound
                                | ErrorKind::PermissionDenied
                                | ErrorKind::Unauthenticated
                        ) =>
                    {
                        self.ended = true;
                    }
                    // A store that is down says nothing about the project: keep watching.
                    Err(e) => {
                        tracing::warn!(error = %e, project.id = %self.project, "could not re-list a watched project")
                    }
                }
            }
        }
    }

    /// Sends what a fresh listing shows that the watcher was not told.
    fn resync_with(&mut self, listed: &[Environment]) {
        let now = self.vibebox.now();
        let present: HashSet<EnvironmentId> = listed.iter().map(|e| e.id).collect();
        let gone: Vec<EnvironmentId> = self
            .watched
            .keys()
            .filter(|id| !present.contains(id))
            .copied()
            .collect();
        for id in gone {
            self.remove(id, now);
        }
        for env in listed {
            let Some(w) = self.watched.get_mut(&env.id) else {
                if self.watched.len() < MAX_WATCHED {
                    let environment = self.add(env);
                    self.ready.push_back(ProjectFrame::Created { environment });
                }
                continue;
            };
            // Older than what an event already showed.
            if env.version < w.view.version {
                continue;
            }
            // A newer version may hide status changes that came and went: show the current.
            if env.version > w.view.version
                || env.status != w.view.status
                || env.error_message != w.view.error_message
            {
                self.ready.push_back(ProjectFrame::Status {
                    environment_id: env.id,
                    at: env.status_changed_at,
                    status: env.status,
                    error_message: env.error_message.clone(),
                    version: env.version,
                });
            }
            if env.health != w.view.health {
                self.ready.push_back(ProjectFrame::Health {
                    environment_id: env.id,
                    at: now,
                    health: env.health.clone(),
                });
            }
            w.view = WatchedEnvironment::from(env);
            let running = env.status == EnvironmentStatus::Running;
            if running != self.metrics.is_open(env.id) {
                self.follow_metrics(env);
            }
        }
    }
}
