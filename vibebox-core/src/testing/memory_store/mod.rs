//! [`MemoryStore`]: every store trait over plain collections behind one mutex.
//!
//! Each method takes the lock once, checks every rule before it writes, and releases the lock
//! before returning, so each call is atomic and a failed call changes nothing. The lock is never
//! held across an `.await`.

mod audit;
mod auth;
mod environments;
mod extensions;
mod logs;
mod projects;
mod sessions;
mod ssh_keys;
mod teams;
mod users;

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use async_trait::async_trait;

use crate::domain::{
    ApiKey, AuditEvent, Environment, EnvironmentExtension, EnvironmentPort, EnvironmentVariable,
    Extension, LogEntry, Membership, OAuthIdentity, Project, RefreshSession, Session, Team, User,
};
use crate::error::{Error, Result};
use crate::id::{
    ApiKeyId, AuditEventId, EnvironmentExtensionId, EnvironmentId, ExtensionId, OAuthIdentityId,
    PortId, ProjectId, RefreshSessionId, SessionId, TeamId, UserId, VariableId,
};
use crate::store::StoreHealth;
use crate::store::cursor::page_by_id as paginate;

/// A complete in-memory [`Store`](crate::Store) for tests and examples.
///
/// It enforces the same uniqueness, foreign-key, cascade and compare-and-set rules as the SQL
/// backends, and passes the same conformance suite
/// ([`store_conformance!`](crate::store_conformance)). Nothing is persisted.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// use vibebox_core::store::StoreHealth;
/// use vibebox_core::testing::MemoryStore;
///
/// let store = MemoryStore::new();
/// assert_eq!(store.backend(), "memory");
/// store.ping().await.unwrap();
/// # }
/// ```
pub struct MemoryStore {
    state: Mutex<State>,
    /// While set, every call fails with the error it makes ([`MemoryStore::fail_every_call_with`]).
    outage: Mutex<Option<crate::testing::Outage>>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self {
            state: Mutex::new(State::default()),
            outage: Mutex::new(None),
        }
    }

    /// Makes later calls fail as `outage` decides, until set back to `None`: a store that is
    /// down, or (in an error-hygiene test) one whose errors carry a canary.
    pub fn fail_every_call_with(&self, outage: Option<crate::testing::Outage>) {
        *self.outage.lock().unwrap_or_else(|e| e.into_inner()) = outage;
    }

    fn outage(&self) -> Result<()> {
        let outage = self
            .outage
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone();
        match outage.and_then(|outage| outage()) {
            Some(e) => Err(e),
            None => Ok(()),
        }
    }

    /// Runs `f` with exclusive access to the whole state. `f` must check every rule before it
    /// writes anything, so that an error leaves the state unchanged.
    fn with<R>(&self, f: impl FnOnce(&mut State) -> Result<R>) -> Result<R> {
        self.outage()?;
        let mut state: MutexGuard<'_, State> = self.state.lock().unwrap_or_else(|e| e.into_inner());
        f(&mut state)
    }
}

impl Default for MemoryStore {
    fn default() -> Self {
        Self::new()
    }
}

impl std::fmt::Debug for MemoryStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryStore").finish_non_exhaustive()
    }
}

#[async_trait]
impl StoreHealth for MemoryStore {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn ping(&self) -> Result<()> {
        self.outage()
    }
}

/// Every table, keyed by primary key.
#[derive(Default)]
struct State {
    users: BTreeMap<UserId, User>,
    identities: BTreeMap<OAuthIdentityId, OAuthIdentity>,
    teams: BTreeMap<TeamId, Team>,
    memberships: BTreeMap<(TeamId, UserId), Membership>,
    projects: BTreeMap<ProjectId, Project>,
    environments: BTreeMap<EnvironmentId, Environment>,
    ports: BTreeMap<PortId, EnvironmentPort>,
    variables: BTreeMap<VariableId, EnvironmentVariable>,
    sessions: BTreeMap<SessionId, Session>,
    extensions: BTreeMap<ExtensionId, Extension>,
    environment_extensions: BTreeMap<EnvironmentExtensionId, EnvironmentExtension>,
    logs: BTreeMap<i64, LogEntry>,
    last_log_id: i64,
    api_keys: BTreeMap<ApiKeyId, ApiKey>,
    refresh_sessions: BTreeMap<RefreshSessionId, RefreshSession>,
    audit: BTreeMap<AuditEventId, AuditEvent>,
    ssh_keys: BTreeMap<crate::id::SshKeyId, crate::domain::SshKey>,
}

impl State {
    fn require_user(&self, id: UserId) -> Result<()> {
        if self.users.contains_key(&id) {
            Ok(())
        } else {
            Err(Error::not_found("user"))
        }
    }

    fn require_environment(&self, id: EnvironmentId) -> Result<()> {
        if self.environments.contains_key(&id) {
            Ok(())
        } else {
            Err(Error::not_found("environment"))
        }
    }

    /// Deletes a project and everything in it (the caller has checked that it exists).
    fn cascade_delete_project(&mut self, id: ProjectId) {
        self.projects.remove(&id);
        let envs: Vec<EnvironmentId> = self
            .environments
            .values()
            .filter(|e| e.project_id == id)
            .map(|e| e.id)
            .collect();
        for env in envs {
            self.cascade_delete_environment(env);
        }
    }

    /// Deletes an environment and everything in it (the caller has checked that it exists).
    fn cascade_delete_environment(&mut self, id: EnvironmentId) {
        self.environments.remove(&id);
        self.ports.retain(|_, p| p.environment_id != id);
        self.variables.retain(|_, v| v.environment_id != id);
        self.sessions.retain(|_, s| s.environment_id != id);
        self.environment_extensions
            .retain(|_, x| x.environment_id != id);
        self.logs.retain(|_, l| l.environment_id != id);
    }
}
