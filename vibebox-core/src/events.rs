//! Live events per environment: status changes, log lines, metrics, session and extension
//! changes. Subscribers that fall behind lose the oldest events and are told how many.
//!
//! A project has a channel too, for its watchers (see
//! [`Vibebox::watch_project`](crate::Vibebox::watch_project)): the events that change what a
//! list of the project's environments shows ([`EventKind::is_project_wide`]) of the
//! environments routed to it. An environment is routed to its project while the project has
//! watchers: by [`EventBus::route`] (the environments a watcher listed) and by any event
//! published with [`EventBus::publish_in`] (creation, status changes, deletion).

use std::collections::HashMap;
use std::sync::Mutex;

use serde::{Deserialize, Serialize};
use tokio::sync::broadcast;

use crate::clock::Timestamp;
use crate::domain::{
    EnvironmentHealth, EnvironmentStatus, ExtensionStatus, LogStream, SessionStatus, SessionType,
};
use crate::id::{EnvironmentId, ExtensionId, ProjectId, SessionId};

/// Something that happened to an environment.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// The environment.
    pub environment_id: EnvironmentId,
    /// When it happened.
    pub at: Timestamp,
    /// What happened.
    #[serde(flatten)]
    pub kind: EventKind,
}

/// What happened.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum EventKind {
    /// The status changed.
    Status {
        /// The new status.
        status: EnvironmentStatus,
        /// Why, when the status is `error`.
        error_message: Option<String>,
        /// The environment's version after the change.
        version: i64,
    },
    /// A line of container output.
    Log {
        /// When the container wrote it.
        timestamp: Timestamp,
        /// stdout or stderr.
        stream: LogStream,
        /// The line.
        message: String,
    },
    /// Lines of container output were lost before VibeBox could read them (the engine
    /// rotated its log files away). Also stored as a log line, so history shows it too.
    LogGap {
        /// The last line read before the gap.
        after: Timestamp,
        /// The first line read after it.
        before: Timestamp,
        /// How many lines were lost, when known.
        lines: Option<u64>,
        /// Why, for people.
        message: String,
    },
    /// The environment's health changed: an OOM kill, or a warning raised or cleared.
    Health {
        /// The health as now stored.
        #[serde(flatten)]
        health: EnvironmentHealth,
    },
    /// A resource usage sample.
    Metrics {
        /// CPU use as a percentage of one core.
        cpu_percent: f64,
        /// Memory in use, in bytes.
        memory_bytes: u64,
        /// The memory limit, in bytes.
        memory_limit_bytes: u64,
    },
    /// A session changed state.
    Session {
        /// The session.
        session_id: SessionId,
        /// Its type.
        session_type: SessionType,
        /// Its name.
        session_name: String,
        /// Its new status.
        status: SessionStatus,
    },
    /// An extension's installation changed state.
    Extension {
        /// The catalog extension.
        extension_id: ExtensionId,
        /// Its new status.
        status: ExtensionStatus,
        /// Why it failed.
        error_message: Option<String>,
    },
    /// The environment was created (sent to its project's watchers only).
    Created,
    /// The environment was deleted; no more events follow.
    Deleted,
}

impl EventKind {
    /// Whether the event changes what a list of the project's environments shows: a status
    /// or health change, a creation or a deletion. Only these reach a project's channel.
    pub fn is_project_wide(&self) -> bool {
        matches!(
            self,
            EventKind::Status { .. }
                | EventKind::Health { .. }
                | EventKind::Created
                | EventKind::Deleted
        )
    }
}

/// A fan-out of events per environment, and per project to its watchers, over bounded
/// broadcast channels.
#[derive(Debug)]
pub struct EventBus {
    capacity: usize,
    channels: Mutex<Channels>,
}

#[derive(Debug, Default)]
struct Channels {
    environments: HashMap<EnvironmentId, broadcast::Sender<Event>>,
    projects: HashMap<ProjectId, broadcast::Sender<Event>>,
    /// The project of each environment whose project has a channel.
    routes: HashMap<EnvironmentId, ProjectId>,
}

impl Channels {
    fn send_to_environment(&mut self, event: Event) {
        let env = event.environment_id;
        let gone = match self.environments.get(&env) {
            Some(tx) => tx.send(event).is_err(),
            None => false,
        };
        if gone {
            self.environments.remove(&env);
        }
    }

    /// Sends a project-wide event of a routed environment to its project's watchers.
    fn forward(&mut self, event: &Event) {
        if !event.kind.is_project_wide() {
            return;
        }
        let Some(project) = self.routes.get(&event.environment_id).copied() else {
            return;
        };
        let gone = match self.projects.get(&project) {
            Some(tx) => tx.send(event.clone()).is_err(),
            None => true,
        };
        if gone {
            self.drop_project(project);
        } else if event.kind == EventKind::Deleted {
            self.routes.remove(&event.environment_id);
        }
    }

    fn drop_project(&mut self, project: ProjectId) {
        self.projects.remove(&project);
        self.routes.retain(|_, p| *p != project);
    }
}

impl EventBus {
    /// A bus whose channels hold `capacity` events for slow subscribers.
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity: capacity.max(1),
            channels: Mutex::new(Channels::default()),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Channels> {
        self.channels.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Sends an event to the environment's subscribers (if any), and to its project's
    /// watchers when the environment is routed there and the event is project-wide.
    pub fn publish(&self, event: Event) {
        let mut channels = self.lock();
        channels.forward(&event);
        channels.send_to_environment(event);
    }

    /// [`publish`](Self::publish) for an environment known to be in `project`: while the
    /// project has watchers, the environment is routed to them first, so this event and its
    /// later ones reach them (until it is deleted).
    pub fn publish_in(&self, project: ProjectId, event: Event) {
        let mut channels = self.lock();
        if event.kind.is_project_wide() && channels.projects.contains_key(&project) {
            channels.routes.insert(event.environment_id, project);
        }
        channels.forward(&event);
        channels.send_to_environment(event);
    }

    /// Subscribes to an environment's events from now on.
    pub fn subscribe(&self, env: EnvironmentId) -> broadcast::Receiver<Event> {
        let mut channels = self.lock();
        match channels.environments.get(&env) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = broadcast::channel(self.capacity);
                channels.environments.insert(env, tx);
                rx
            }
        }
    }

    /// Subscribes to a project's channel from now on: the project-wide events of the
    /// environments routed to it. Route the environments already in the project with
    /// [`route`](Self::route) once they are listed (after subscribing, so none is missed).
    pub fn subscribe_project(&self, project: ProjectId) -> broadcast::Receiver<Event> {
        let mut channels = self.lock();
        // Channels whose watchers all left, with their routes.
        let idle: Vec<ProjectId> = channels
            .projects
            .iter()
            .filter(|(_, tx)| tx.receiver_count() == 0)
            .map(|(p, _)| *p)
            .collect();
        for p in idle {
            channels.drop_project(p);
        }
        match channels.projects.get(&project) {
            Some(tx) => tx.subscribe(),
            None => {
                let (tx, rx) = broadcast::channel(self.capacity);
                channels.projects.insert(project, tx);
                rx
            }
        }
    }

    /// Routes environments of `project` to its watchers; nothing when it has none.
    pub fn route(&self, project: ProjectId, environments: impl IntoIterator<Item = EnvironmentId>) {
        let mut channels = self.lock();
        if !channels.projects.contains_key(&project) {
            return;
        }
        for env in environments {
            channels.routes.insert(env, project);
        }
    }

    /// Whether anyone listens to the environment.
    pub fn has_subscribers(&self, env: EnvironmentId) -> bool {
        self.lock()
            .environments
            .get(&env)
            .is_some_and(|tx| tx.receiver_count() > 0)
    }
}

impl Default for EventBus {
    fn default() -> Self {
        Self::new(1024)
    }
}

#[cfg(test)]
mod tests {
    use tokio::sync::broadcast::error::TryRecvError;

    use super::*;

    fn event(env: EnvironmentId, kind: EventKind) -> Event {
        Event {
            environment_id: env,
            at: chrono::Utc::now(),
            kind,
        }
    }

    fn health() -> EventKind {
        EventKind::Health {
            health: EnvironmentHealth::default(),
        }
    }

    fn status(version: i64) -> EventKind {
        EventKind::Status {
            status: EnvironmentStatus::Running,
            error_message: None,
            version,
        }
    }

    #[test]
    fn a_project_channel_carries_only_project_wide_events_of_routed_environments() {
        let bus = EventBus::new(16);
        let (project, listed, other) =
            (ProjectId::new(), EnvironmentId::new(), EnvironmentId::new());
        let mut rx = bus.subscribe_project(project);
        bus.route(project, [listed]);
        bus.publish(event(listed, status(2)));
        bus.publish(event(
            listed,
            EventKind::Metrics {
                cpu_percent: 1.0,
                memory_bytes: 1,
                memory_limit_bytes: 2,
            },
        ));
        bus.publish(event(other, health()));
        assert_eq!(rx.try_recv().map(|e| e.kind), Ok(status(2)));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn publishing_in_a_watched_project_routes_the_environment() {
        let bus = EventBus::new(16);
        let (project, env) = (ProjectId::new(), EnvironmentId::new());
        let mut rx = bus.subscribe_project(project);
        bus.publish_in(project, event(env, EventKind::Created));
        bus.publish(event(env, health()));
        assert_eq!(rx.try_recv().map(|e| e.kind), Ok(EventKind::Created));
        assert_eq!(rx.try_recv().map(|e| e.kind), Ok(health()));
    }

    #[test]
    fn deletion_ends_an_environments_route() {
        let bus = EventBus::new(16);
        let (project, env) = (ProjectId::new(), EnvironmentId::new());
        let mut rx = bus.subscribe_project(project);
        bus.route(project, [env]);
        bus.publish_in(project, event(env, EventKind::Deleted));
        bus.publish(event(env, health()));
        assert_eq!(rx.try_recv().map(|e| e.kind), Ok(EventKind::Deleted));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn environments_are_routed_only_while_their_project_has_watchers() {
        let bus = EventBus::new(16);
        let (project, env) = (ProjectId::new(), EnvironmentId::new());
        bus.route(project, [env]);
        bus.publish_in(project, event(env, status(2)));
        let mut rx = bus.subscribe_project(project);
        bus.publish(event(env, health()));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }

    #[test]
    fn a_project_whose_watchers_left_starts_over_without_routes() {
        let bus = EventBus::new(16);
        let (project, env) = (ProjectId::new(), EnvironmentId::new());
        let rx = bus.subscribe_project(project);
        bus.route(project, [env]);
        drop(rx);
        let mut rx = bus.subscribe_project(project);
        bus.publish(event(env, health()));
        assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    }
}
