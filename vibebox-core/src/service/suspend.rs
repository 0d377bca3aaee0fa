//! Suspend and resume (DESIGN.md §11): a suspended environment's processes are frozen by the
//! engine (Docker's `pause`, the cgroup freezer) with their memory kept, so it burns no CPU
//! and comes back in milliseconds.
//!
//! - [`Vibebox::suspend_environment`] freezes a running environment; the status becomes
//!   `suspended` once the engine froze it. A crash in between leaves a paused container under
//!   a `running` status, which the reconciler turns into `suspended`.
//! - Any access resumes it: exec, terminals, sessions, tunnels, preview URLs, SSH, files and
//!   extension installs all ask for the container through [`Vibebox::awake_container`], which
//!   thaws a suspended one first (`resuming`, then `running`). The first byte waits for the
//!   thaw; nothing fails because the environment slept. Concurrent accesses share one resume.
//! - Open terminals and tunnels are held, not closed: their processes are frozen with the
//!   rest and go on where they were.
//! - A suspended environment counts towards the running quota (its memory is kept), and is
//!   stopped or deleted like a running one.

use std::sync::atomic::Ordering;
use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use tracing::instrument;

use super::AuditRecord;
use super::Vibebox;
use super::reconcile::changed_meanwhile;
use super::sessions::running_container;
use crate::domain::{Environment, EnvironmentStatus};
use crate::error::{Error, ErrorKind, Result};
use crate::events::EventKind;
use crate::id::EnvironmentId;
use crate::lifecycle::StateMachine;
use crate::rbac::{Action, Actor};
use crate::runtime::ContainerId;

/// How many times a resume re-reads an environment that others changed meanwhile.
const WAKE_ATTEMPTS: usize = 5;
/// How long an access waits for a resume another caller started.
const WAKE_WAIT: Duration = Duration::from_secs(10);

impl Vibebox {
    /// Suspends a running environment: its processes are frozen, their memory kept. A
    /// suspended environment is left as it is.
    ///
    /// Errors: `InvalidTransition` unless it runs or is suspended (`Conflict` while it
    /// resumes); `Unsupported` when the
    /// engine cannot freeze containers; `PermissionDenied` (as for stop); `NotFound`.
    #[instrument(skip_all, fields(environment.id = %id))]
    pub async fn suspend_environment(
        &self,
        actor: &Actor,
        id: EnvironmentId,
    ) -> Result<Environment> {
        let mut access = self
            .environment_for(actor, id, Action::StartStopEnvironment)
            .await?;
        let lock = self.inner.activity.freeze_lock(id);
        let _freezing = lock.lock.write().await;
        // Read again under the lock: another suspend may have finished meanwhile.
        access.env = self.store().get_environment(id).await?;
        self.freeze(actor, access, None).await
    }

    /// Freezes the environment `access` holds and audits it (with `details` if given). The caller holds
    /// the environment's freeze lock for writing.
    pub(crate) async fn freeze(
        &self,
        actor: &Actor,
        access: super::access::EnvironmentAccess,
        details: Option<serde_json::Value>,
    ) -> Result<Environment> {
        let env = access.env;
        if env.status == EnvironmentStatus::Suspended {
            return Ok(env);
        }
        env.status.transition_to(EnvironmentStatus::Suspended)?;
        if !self.runtime().capabilities().pause {
            return Err(Error::Unsupported(
                "this container engine cannot suspend environments".into(),
            ));
        }
        let container = running_container(&env)?;
        self.runtime().pause(&container).await?;
        self.inner
            .activity
            .freeze_lock(env.id)
            .frozen
            .store(true, Ordering::Release);
        let suspended = self.settle(&env, EnvironmentStatus::Suspended).await?;
        let mut record = AuditRecord::new("environment.suspend", "environment", env.id)
            .team(access.project.owner.team_id());
        if let Some(details) = details {
            record = record.details(details);
        }
        self.audit(actor, record).await;
        tracing::info!("environment suspended");
        Ok(suspended)
    }

    /// Resumes a suspended environment; a running one is left as it is. Any access resumes it
    /// too: this is for callers that want it warm ahead of use.
    ///
    /// Errors: `InvalidTransition` unless it is suspended, resuming or running;
    /// `PermissionDenied` (as for start); `NotFound`; the engine's errors.
    #[instrument(skip_all, fields(environment.id = %id))]
    pub async fn resume_environment(
        &self,
        actor: &Actor,
        id: EnvironmentId,
    ) -> Result<Environment> {
        let access = self
            .environment_for(actor, id, Action::StartStopEnvironment)
            .await?;
        let env = access.env;
        if !matches!(
            env.status,
            EnvironmentStatus::Running | EnvironmentStatus::Suspended | EnvironmentStatus::Resuming
        ) {
            return Err(Error::InvalidTransition {
                machine: "environment",
                from: env.status.to_string(),
                to: EnvironmentStatus::Running.to_string(),
            });
        }
        let was = env.status;
        let env = self.wake(env).await?;
        if was != EnvironmentStatus::Running {
            self.audit(
                actor,
                AuditRecord::new("environment.resume", "environment", id)
                    .team(access.project.owner.team_id()),
            )
            .await;
        }
        Ok(env)
    }

    /// The container of an environment someone is about to use: a suspended environment is
    /// resumed first. Errors: `Conflict` when it is neither running nor suspended (the
    /// message says which state it is in); the engine's errors from a resume.
    pub(crate) async fn awake_container(&self, env: &Environment) -> Result<ContainerId> {
        self.note_activity(env.id);
        let lock = self.inner.activity.freeze_lock(env.id);
        let quick = lock
            .lock
            .try_read()
            .ok()
            .filter(|_| !lock.frozen.load(Ordering::Acquire));
        let (_reading, env) = match quick {
            Some(guard) => (guard, env.clone()),
            // A freeze is under way, or one happened since `env` was read: the stored status
            // says what it did.
            None => {
                let guard = lock.lock.read().await;
                let env = self.store().get_environment(env.id).await?;
                if env.status == EnvironmentStatus::Running {
                    lock.frozen.store(false, Ordering::Release);
                }
                (guard, env)
            }
        };
        match env.status {
            EnvironmentStatus::Suspended | EnvironmentStatus::Resuming => {
                running_container(&self.wake(env).await?)
            }
            _ => running_container(&env),
        }
    }

    /// Brings a suspended (or resuming) environment to running, sharing the work with
    /// concurrent callers: the one whose `suspended → resuming` write wins thaws the
    /// container; the others wait for its status.
    pub(crate) async fn wake(&self, mut env: Environment) -> Result<Environment> {
        for _ in 0..WAKE_ATTEMPTS {
            match env.status {
                EnvironmentStatus::Running => return Ok(env),
                EnvironmentStatus::Suspended => {
                    match self
                        .set_status(&env, EnvironmentStatus::Resuming, None)
                        .await
                    {
                        Ok(resuming) => return self.thaw(resuming).await,
                        Err(e) if changed_meanwhile(&e) => {}
                        Err(e) => return Err(e),
                    }
                }
                EnvironmentStatus::Resuming => {
                    env = self.wait_for_resume(env.id).await?;
                    continue;
                }
                _ => return Ok(env),
            }
            env = self.store().get_environment(env.id).await?;
        }
        Err(Error::Conflict(
            "the environment kept changing while it was being resumed; try again".into(),
        ))
    }

    /// Thaws the container of an environment marked resuming and marks it running. An engine
    /// that cannot be reached leaves it suspended (the next access tries again); a container
    /// that is gone fails it.
    async fn thaw(&self, resuming: Environment) -> Result<Environment> {
        let container = match &resuming.container_id {
            Some(c) => ContainerId(c.clone()),
            None => {
                let message = "the suspended environment has no container".to_string();
                self.fail_environment(&resuming, message.clone()).await;
                return Err(Error::Conflict(message.into()));
            }
        };
        match self.runtime().resume(&container).await {
            Ok(()) => {}
            Err(e) if matches!(e.kind(), ErrorKind::NotFound | ErrorKind::Conflict) => {
                self.fail_environment(
                    &resuming,
                    format!(
                        "the container could not be resumed: {}; start the environment again",
                        e.report_new()
                    ),
                )
                .await;
                return Err(e);
            }
            Err(e) => {
                if let Err(back) = self
                    .set_status(&resuming, EnvironmentStatus::Suspended, None)
                    .await
                {
                    tracing::warn!(error = %back, "could not mark an unresumed environment suspended");
                }
                return Err(e);
            }
        }
        self.inner
            .activity
            .freeze_lock(resuming.id)
            .frozen
            .store(false, Ordering::Release);
        let running = self.settle(&resuming, EnvironmentStatus::Running).await?;
        tracing::info!(environment.id = %running.id, "environment resumed");
        Ok(running)
    }

    /// Writes `to` after the engine got there; when the reconciler (or another server) wrote
    /// it first, that write stands.
    async fn settle(&self, env: &Environment, to: EnvironmentStatus) -> Result<Environment> {
        match self.set_status(env, to, None).await {
            Ok(stored) => Ok(stored),
            Err(e) if changed_meanwhile(&e) => {
                let now = self.store().get_environment(env.id).await?;
                if now.status == to { Ok(now) } else { Err(e) }
            }
            Err(e) => Err(e),
        }
    }

    /// Waits until a resume someone else started ends: the environment as it is then.
    async fn wait_for_resume(&self, id: EnvironmentId) -> Result<Environment> {
        // Subscribed before the read, so that the change cannot slip between them.
        let mut events = self.events().subscribe(id);
        let env = self.store().get_environment(id).await?;
        if env.status != EnvironmentStatus::Resuming {
            return Ok(env);
        }
        let waited = tokio::time::timeout(WAKE_WAIT, async {
            loop {
                match events.recv().await {
                    Ok(event) => {
                        if let EventKind::Status { status, .. } = event.kind
                            && status != EnvironmentStatus::Resuming
                        {
                            return;
                        }
                    }
                    Err(RecvError::Lagged(_)) => return,
                    Err(RecvError::Closed) => return,
                }
            }
        })
        .await;
        if waited.is_err() {
            tracing::debug!(environment.id = %id, "a resume by another caller is slow");
        }
        let env = self.store().get_environment(id).await?;
        if env.status == EnvironmentStatus::Resuming && waited.is_err() {
            return Err(Error::Timeout("resuming the environment".into()));
        }
        Ok(env)
    }
}
