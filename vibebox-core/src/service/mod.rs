//! The `Vibebox` service: every operation of DESIGN.md §5 and §6 as a Rust method that takes
//! the actor.

mod access;
mod audit;
mod auth;
mod background;
mod collector;
mod container_spec;
mod details;
mod environments;
mod exec;
mod extensions;
mod files;
mod health;
mod idle;
mod logs;
mod networks;
mod patch;
mod pool;
mod ports;
mod preview;
mod project_watch;
mod projects;
mod reconcile;
mod retention;
mod sessions;
mod share;
mod ssh_access;
mod ssh_keys;
mod start_stop;
mod suspend;
mod teams;
mod terminal;
mod tunnels;
mod unchecked;
mod users;
mod variables;

pub use auth::{ClientInfo, CreatedApiKey, IssuedRefreshToken, NewApiKey};
pub use background::BackgroundTasks;
pub use collector::LogCollectionReport;
pub use details::EnvironmentDetails;
pub use environments::{EnvironmentPatch, NewEnvironment};
pub use exec::{
    EXEC_MAX_ARGS, EXEC_MAX_ARGV_BYTES, EXEC_MAX_ENV, EXEC_MAX_STDIN_BYTES, EXEC_MAX_WORKDIR_BYTES,
    ExecControl, ExecExit, ExecRequest, ExecResult, ExecStdin, ExecStream,
};
pub use extensions::NewExtension;
pub use files::{
    Download, FILE_LIST_MAX_ENTRIES, FILE_PATH_MAX_BYTES, FileEntry, FileKind, FileListing,
};
pub use health::HealthReport;
pub use idle::IdleReport;
pub use logs::LogFilter;
pub use patch::Patch;
pub use pool::PoolReport;
pub use ports::{MAX_PORTS_PER_ENVIRONMENT, NewPort, PortPatch};
pub use preview::{PreviewGrant, PreviewTarget};
pub use project_watch::{
    PROJECT_WATCH_MAX_ENVIRONMENTS, PROJECT_WATCH_METRICS_INTERVAL, PROJECT_WATCH_RESYNC_INTERVAL,
    ProjectFrame, ProjectWatch, WatchedEnvironment,
};
pub use projects::{NewProject, ProjectPatch};
pub use reconcile::ReconcileReport;
pub use sessions::NewSession;
pub use sessions::ReapReport;
pub use ssh_access::{SshGrant, SshLogin};
pub use ssh_keys::NewSshKey;
pub use start_stop::StopMode;
pub use teams::{MemberView, NewTeam, TeamPatch};
pub use terminal::{Terminal, TerminalControl, TerminalInput};
pub use tunnels::{PortStream, TunnelPath};
pub use unchecked::Unchecked;
pub use users::{OAuthProfile, ProfilePatch, Registration, UserAdminPatch};
pub use variables::{MASKED_VALUE, MAX_VARIABLES_PER_ENVIRONMENT, NewVariable, VariableView};

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::clock::{Clock, SystemClock, Timestamp};
use crate::config::Config;
use crate::domain::AuditEvent;
use crate::error::{Error, Result};
use crate::events::{Event, EventBus, EventKind};
use crate::id::{AuditEventId, EnvironmentId, ProjectId, SessionId, TeamId, UserId};
use crate::password::PasswordHasher;
use crate::rbac::Actor;
use crate::runtime::ContainerRuntime;
use crate::runtime::ExecId;
use crate::secrets::Secrets;
use crate::store::Store;
use crate::throttle::LoginThrottle;

/// The VibeBox service. Cheap to clone; clones share state.
#[derive(Clone, Debug)]
pub struct Vibebox {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    store: Arc<dyn Store>,
    runtime: Arc<dyn ContainerRuntime>,
    secrets: Arc<dyn Secrets>,
    config: Config,
    clock: Arc<dyn Clock>,
    events: EventBus,
    hasher: PasswordHasher,
    /// Sign-in throttling.
    login_throttle: LoginThrottle,
    /// SSH sign-in throttling (keyed by key fingerprint and address).
    ssh_throttle: LoginThrottle,
    /// Live terminal execs per session, killed when the session or environment ends.
    terminals: Mutex<HashMap<SessionId, Vec<ExecId>>>,
    /// Running log collectors per environment.
    collectors: Mutex<HashMap<EnvironmentId, collector::CollectorTask>>,
    /// Counters of log collection.
    collector_metrics: collector::CollectorMetrics,
    /// Environments' health as this process last stored it.
    health: tokio::sync::Mutex<HashMap<EnvironmentId, crate::domain::EnvironmentHealth>>,
    /// Containers whose last exec failed in a way that says the container cannot start a
    /// process (see the health pass).
    exec_failures: Mutex<std::collections::HashSet<crate::runtime::ContainerId>>,
    /// Users whose access was just withdrawn (see [`Vibebox::access_revocations`]).
    revocations: tokio::sync::broadcast::Sender<UserId>,
    /// Held while a project network's subnet is chosen and created.
    network_allocation: tokio::sync::Mutex<()>,
    /// One permit per open tunnel.
    tunnels: Arc<tokio::sync::Semaphore>,
    /// The last activity of each environment (the idle policy's input).
    activity: idle::ActivityLog,
    /// The warm pool's containers.
    pool: pool::WarmPool,
}

/// How many revocations a slow listener may fall behind before it is told it lagged.
const REVOCATION_BUFFER: usize = 256;

impl Vibebox {
    /// Users whose access was just withdrawn (an account disabled): front ends that hold
    /// long-lived connections, such as WebSockets, listen and close those of the user at once.
    /// Only this process's changes arrive; with several replicas, also re-check the actor
    /// ([`actor_for_user`](Self::actor_for_user)) now and then. A listener that lags
    /// (`RecvError::Lagged`) should re-check every connection it holds.
    pub fn access_revocations(&self) -> tokio::sync::broadcast::Receiver<UserId> {
        self.inner.revocations.subscribe()
    }

    pub(crate) fn announce_revocation(&self, user: UserId) {
        // No receiver is fine: nobody holds a connection.
        let _ = self.inner.revocations.send(user);
    }

    /// Starts building a service.
    pub fn builder() -> VibeboxBuilder {
        VibeboxBuilder::default()
    }

    /// The store (crate-private: embedders go through [`unchecked`](Self::unchecked)).
    pub(crate) fn store(&self) -> &Arc<dyn Store> {
        &self.inner.store
    }

    /// The container runtime (crate-private, as [`store`](Self::store)).
    pub(crate) fn runtime(&self) -> &Arc<dyn ContainerRuntime> {
        &self.inner.runtime
    }

    /// The secrets backend (crate-private, as [`store`](Self::store)).
    pub(crate) fn secrets(&self) -> &Arc<dyn Secrets> {
        &self.inner.secrets
    }

    /// Whether the store and the container engine answer, each on its own (for a readiness
    /// probe): `(store, engine)`.
    pub async fn ping_backends(&self) -> (Result<()>, Result<()>) {
        tokio::join!(self.store().ping(), self.runtime().ping())
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.inner.config
    }

    /// The clock.
    pub fn clock(&self) -> &Arc<dyn Clock> {
        &self.inner.clock
    }

    /// The event bus.
    pub fn events(&self) -> &EventBus {
        &self.inner.events
    }

    /// The password hasher.
    pub fn hasher(&self) -> &PasswordHasher {
        &self.inner.hasher
    }

    /// The current time from the service's clock.
    pub(crate) fn now(&self) -> Timestamp {
        self.inner.clock.now()
    }

    /// Publishes an event about an environment.
    pub(crate) fn publish(&self, environment_id: EnvironmentId, kind: EventKind) {
        self.inner.events.publish(Event {
            environment_id,
            at: self.now(),
            kind,
        });
    }

    /// Publishes an event about an environment of `project`, to the project's watchers too
    /// (see [`EventBus::publish_in`]).
    pub(crate) fn publish_in(
        &self,
        project: ProjectId,
        environment_id: EnvironmentId,
        kind: EventKind,
    ) {
        self.inner.events.publish_in(
            project,
            Event {
                environment_id,
                at: self.now(),
                kind,
            },
        );
    }

    /// Records an audit event. The operation it describes has already happened, so a store
    /// failure here is logged rather than returned.
    pub(crate) async fn audit(&self, actor: &Actor, record: AuditRecord<'_>) {
        let event = AuditEvent {
            id: AuditEventId::new(),
            actor: actor.audit_actor(),
            action: record.action.to_string(),
            resource_type: record.resource_type.to_string(),
            resource_id: record.resource_id,
            team_id: record.team_id,
            details: record.details,
            ip: None,
            at: self.now(),
        };
        if let Err(e) = self.inner.store.record_audit(&event).await {
            tracing::error!(error = %e, action = record.action, "failed to record audit event");
        }
    }
}

/// What an audit record says, before the service stamps it.
pub(crate) struct AuditRecord<'a> {
    pub action: &'a str,
    pub resource_type: &'a str,
    pub resource_id: String,
    pub team_id: Option<TeamId>,
    pub details: serde_json::Value,
}

impl<'a> AuditRecord<'a> {
    pub(crate) fn new(action: &'a str, resource_type: &'a str, resource_id: impl ToString) -> Self {
        Self {
            action,
            resource_type,
            resource_id: resource_id.to_string(),
            team_id: None,
            details: serde_json::Value::Object(Default::default()),
        }
    }

    pub(crate) fn team(mut self, team_id: Option<TeamId>) -> Self {
        self.team_id = team_id;
        self
    }

    pub(crate) fn details(mut self, details: serde_json::Value) -> Self {
        self.details = details;
        self
    }
}

/// Builds a [`Vibebox`]. A store, a runtime and a secrets backend are required.
#[derive(Default)]
pub struct VibeboxBuilder {
    store: Option<Arc<dyn Store>>,
    runtime: Option<Arc<dyn ContainerRuntime>>,
    secrets: Option<Arc<dyn Secrets>>,
    config: Option<Config>,
    clock: Option<Arc<dyn Clock>>,
    hasher: Option<PasswordHasher>,
}

impl VibeboxBuilder {
    /// The store.
    pub fn store(mut self, store: Arc<dyn Store>) -> Self {
        self.store = Some(store);
        self
    }

    /// The container runtime.
    pub fn runtime(mut self, runtime: Arc<dyn ContainerRuntime>) -> Self {
        self.runtime = Some(runtime);
        self
    }

    /// The secrets backend.
    pub fn secrets(mut self, secrets: Arc<dyn Secrets>) -> Self {
        self.secrets = Some(secrets);
        self
    }

    /// The configuration (default: [`Config::default`]).
    pub fn config(mut self, config: Config) -> Self {
        self.config = Some(config);
        self
    }

    /// The clock (default: the system clock).
    pub fn clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = Some(clock);
        self
    }

    /// The password hasher (default: Argon2id with OWASP parameters).
    pub fn password_hasher(mut self, hasher: PasswordHasher) -> Self {
        self.hasher = Some(hasher);
        self
    }

    /// Builds the service. Errors: `InvalidInput` naming the missing part.
    pub fn build(self) -> Result<Vibebox> {
        let store = self
            .store
            .ok_or_else(|| Error::invalid("store", "a store is required"))?;
        let runtime = self
            .runtime
            .ok_or_else(|| Error::invalid("runtime", "a container runtime is required"))?;
        let secrets = self
            .secrets
            .ok_or_else(|| Error::invalid("secrets", "a secrets backend is required"))?;
        let config = self.config.unwrap_or_default();
        let tunnels = tunnels::tunnel_slots(&config);
        Ok(Vibebox {
            inner: Arc::new(Inner {
                events: EventBus::new(config.event_buffer),
                store,
                runtime,
                secrets,
                clock: self.clock.unwrap_or_else(|| Arc::new(SystemClock)),
                hasher: self.hasher.unwrap_or_default(),
                login_throttle: LoginThrottle::new(config.login_throttle.clone()),
                ssh_throttle: LoginThrottle::new(config.ssh_login_throttle.clone()),
                config,
                terminals: Mutex::new(HashMap::new()),
                collectors: Mutex::new(HashMap::new()),
                collector_metrics: Default::default(),
                health: Default::default(),
                exec_failures: Default::default(),
                revocations: tokio::sync::broadcast::channel(REVOCATION_BUFFER).0,
                network_allocation: tokio::sync::Mutex::new(()),
                activity: Default::default(),
                pool: Default::default(),
                tunnels,
            }),
        })
    }
}
