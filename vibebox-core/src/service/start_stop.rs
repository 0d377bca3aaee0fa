//! Starting and stopping environments: the state machine, the quota, and the runtime calls.
//!
//! The runtime part of a start or stop runs in its own task, so a caller that goes away (an
//! HTTP client hanging up) cannot leave an environment half-started. A crash in the middle
//! leaves the environment `starting` or `stopping`; the reconciler repairs it.

use std::collections::HashMap;

use serde_json::json;
use tracing::{Instrument, instrument};

use super::access::EnvironmentAccess;
use super::container_spec::LABEL_SPEC_HASH;
use super::{AuditRecord, Vibebox};
use crate::domain::{Environment, EnvironmentStatus, Project};
use crate::error::{Error, ErrorKind, Result};
use crate::events::EventKind;
use crate::id::{EnvironmentId, UserId};
use crate::lifecycle::StateMachine;
use crate::rbac::{Action, Actor};
use crate::runtime::{ContainerId, ContainerInfo, ExecSpec, LABEL_ENVIRONMENT_ID};

impl Vibebox {
    /// Starts an environment: creates its container if needed (or if its spec changed), starts
    /// it, records the bound host ports, and opens the default sessions. Starting a running or
    /// starting environment is a no-op.
    ///
    /// Errors: `QuotaExceeded` past the running-environments quota; `InvalidTransition` while
    /// stopping; `Conflict` for an archived project, for a container the engine refuses (e.g. a
    /// CPU limit above the host's) or whose command exits at once, and (a runtime error naming
    /// it) for an image that is absent and cannot be pulled: the environment exists, what it
    /// needs does not; `PermissionDenied`; `NotFound` for the environment. When the runtime
    /// fails, the environment ends in `error` with a message, and that error is returned.
    #[instrument(skip_all, fields(environment.id = %id))]
    pub async fn start_environment(&self, actor: &Actor, id: EnvironmentId) -> Result<Environment> {
        let access = self
            .environment_for(actor, id, Action::StartStopEnvironment)
            .await?;
        let (env, project) = (access.env, access.project);
        if project.is_archived {
            return Err(Error::Conflict("the project is archived".into()));
        }
        // Someone wants it: its idle time starts now.
        self.note_activity(id);
        match env.status {
            EnvironmentStatus::Running | EnvironmentStatus::Starting => return Ok(env),
            // Starting a suspended environment resumes it.
            EnvironmentStatus::Suspended | EnvironmentStatus::Resuming => {
                return self.wake(env).await;
            }
            _ => {}
        }
        env.status.transition_to(EnvironmentStatus::Starting)?;
        self.check_running_quota(env.creator_id, false).await?;
        let previous = env.status;
        let starting = match self
            .set_status(&env, EnvironmentStatus::Starting, None)
            .await
        {
            Ok(e) => e,
            Err(Error::StaleVersion { .. }) => {
                // Someone else moved it first; a concurrent start is not an error.
                let now = self.store().get_environment(id).await?;
                return match now.status {
                    EnvironmentStatus::Starting | EnvironmentStatus::Running => Ok(now),
                    _ => Err(Error::StaleVersion {
                        resource: "environment",
                    }),
                };
            }
            Err(e) => return Err(e),
        };
        // Concurrent starts of different environments may all pass the first check; the one
        // that finds the quota exceeded after its own write undoes it.
        if let Err(quota_error) = self.check_running_quota(env.creator_id, true).await {
            if quota_error.kind() != ErrorKind::QuotaExceeded {
                return Err(quota_error);
            }
            let mut undo = starting.clone();
            undo.status = previous;
            undo.status_changed_at = env.status_changed_at;
            undo.error_message = env.error_message.clone();
            let undone = self
                .store()
                .update_environment(&undo, starting.status, starting.version)
                .await?;
            self.publish_status(&undone);
            return Err(quota_error);
        }
        self.audit(
            actor,
            AuditRecord::new("environment.start", "environment", id).team(project.owner.team_id()),
        )
        .await;
        let this = self.clone();
        tokio::spawn(async move { this.finish_start(starting, project).await }.in_current_span())
            .await
            .map_err(|e| {
                Error::internal(
                    "the start task failed",
                    Some(Box::new(e) as crate::error::BoxError),
                )
            })?
    }

    /// Refuses a start by `user` past their running quota: `counted` says whether the start
    /// is already recorded (and so in the count).
    ///
    /// Errors: `QuotaExceeded`.
    pub(crate) async fn check_running_quota(&self, user: UserId, counted: bool) -> Result<()> {
        let limit = self.config().max_running_per_user;
        let running = self.store().count_running_environments(user).await?;
        if running >= limit + u64::from(counted) {
            return Err(Error::QuotaExceeded {
                what: "running environments per user",
                limit,
            });
        }
        Ok(())
    }

    /// CAS the status, keeping the state machine, and publish the change.
    pub(crate) async fn set_status(
        &self,
        env: &Environment,
        to: EnvironmentStatus,
        error_message: Option<String>,
    ) -> Result<Environment> {
        env.status.transition_to(to)?;
        let now = self.now();
        let mut next = env.clone();
        next.status = to;
        next.error_message = error_message;
        next.status_changed_at = now;
        next.updated_at = now;
        let stored = self
            .store()
            .update_environment(&next, env.status, env.version)
            .await?;
        self.publish_status(&stored);
        Ok(stored)
    }

    pub(crate) fn publish_status(&self, env: &Environment) {
        self.publish_in(
            env.project_id,
            env.id,
            EventKind::Status {
                status: env.status,
                error_message: env.error_message.clone(),
                version: env.version,
            },
        );
    }

    /// Moves an environment to `error` with a message, from whatever state it is in now.
    pub(crate) async fn fail_environment(&self, env: &Environment, message: String) {
        tracing::warn!(environment.id = %env.id, %message, "environment failed");
        let current = match self.store().get_environment(env.id).await {
            Ok(e) => e,
            Err(e) => {
                tracing::error!(error = %e, "could not reload a failing environment");
                return;
            }
        };
        if current.status == EnvironmentStatus::Error {
            return;
        }
        if let Err(e) = self.fail_unchanged(&current, message).await {
            tracing::error!(error = %e, "could not record an environment failure");
        }
    }

    /// Moves an environment to `error` with a message if it is still as given (same version),
    /// and records the failure in the audit log.
    ///
    /// Errors: `StaleVersion` when it changed meanwhile (nothing is written).
    pub(crate) async fn fail_unchanged(
        &self,
        env: &Environment,
        message: String,
    ) -> Result<Environment> {
        let failed = self
            .set_status(env, EnvironmentStatus::Error, Some(message.clone()))
            .await?;
        self.audit(
            &Actor::System,
            AuditRecord::new("environment.error", "environment", env.id)
                .details(json!({ "error_message": message })),
        )
        .await;
        Ok(failed)
    }

    pub(crate) async fn finish_start(
        &self,
        env: Environment,
        project: Project,
    ) -> Result<Environment> {
        let started = match self.bring_up(env.clone(), &project).await {
            Ok(started) => started,
            Err(e) => {
                self.fail_environment(
                    &env,
                    format!("could not start the environment: {}", e.report_new()),
                )
                .await;
                return Err(missing_is_conflict(e));
            }
        };
        let (env, info) = started;
        self.mark_running(&env, &info).await
    }

    /// Marks a starting environment whose container runs as running (an environment that
    /// cannot be marked goes to `error`), then completes the start.
    pub(crate) async fn mark_running(
        &self,
        env: &Environment,
        info: &ContainerInfo,
    ) -> Result<Environment> {
        let running = match self.set_status(env, EnvironmentStatus::Running, None).await {
            Ok(r) => r,
            Err(e) => {
                self.fail_environment(
                    env,
                    format!("could not record the start: {}", e.report_new()),
                )
                .await;
                return Err(e);
            }
        };
        self.complete_start(&running, info).await?;
        tracing::info!(environment.id = %running.id, "environment running");
        Ok(running)
    }

    /// What follows the move to `running`: the bound host ports, the SSH key, the log
    /// collector, the default sessions and the pending extensions. Also run when the
    /// reconciler adopts a start that was interrupted after its container started.
    pub(crate) async fn complete_start(
        &self,
        running: &Environment,
        info: &ContainerInfo,
    ) -> Result<()> {
        // Warnings were about the container's previous run.
        self.clear_container_warnings(running).await;
        self.record_bound_ports(running, info).await?;
        self.install_ssh_key(running).await;
        self.ensure_collector(running);
        self.open_default_sessions(running).await;
        self.spawn_pending_extensions(running.id);
        Ok(())
    }

    /// Finds or creates the container and starts it. Returns the environment (with its
    /// container id recorded) and the started container's info.
    async fn bring_up(
        &self,
        mut env: Environment,
        project: &Project,
    ) -> Result<(Environment, ContainerInfo)> {
        let ports = self.store().list_ports(env.id).await?;
        let spec = self.container_spec(&env, project, &ports).await?;
        self.ensure_project_network(project.id).await?;
        let wanted_hash = spec.labels.get(LABEL_SPEC_HASH).cloned();
        let mut reuse = None;
        // Every container labelled for this environment: keep one with the current spec,
        // remove the rest (stale specs, leftovers of an interrupted start).
        let labelled = self
            .runtime()
            .list(&[(LABEL_ENVIRONMENT_ID.to_string(), env.id.to_string())])
            .await?;
        for c in labelled {
            if reuse.is_none() && c.labels.get(LABEL_SPEC_HASH) == wanted_hash.as_ref() {
                reuse = Some(c.id);
            } else {
                tracing::info!(container = %c.id, "removing a stale container");
                match self.runtime().remove(&c.id).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
            }
        }
        let reused = reuse.is_some();
        let mut container = match reuse {
            Some(id) => id,
            None => self.runtime().create(&spec).await?,
        };
        env = self.record_container(env, &container).await?;
        match self.runtime().start(&container).await {
            Ok(()) => {}
            // What the kept container needs is gone (its network was removed while it was
            // stopped, or the container itself behind our back): make it afresh, once.
            Err(e) if reused && e.kind() == ErrorKind::NotFound => {
                tracing::info!(container = %container, error = %e, "recreating a container that cannot start as it was");
                match self.runtime().remove(&container).await {
                    Ok(()) => {}
                    Err(e) if e.kind() == ErrorKind::NotFound => {}
                    Err(e) => return Err(e),
                }
                self.ensure_project_network(project.id).await?;
                container = self.runtime().create(&spec).await?;
                env = self.record_container(env, &container).await?;
                self.runtime().start(&container).await?;
            }
            Err(e) => return Err(e),
        }
        let info = self.runtime().inspect(&container).await?;
        if !info.state.is_running() {
            // The image's command ended: the environment cannot run as configured (a conflict
            // with its image, not a fault of the service).
            return Err(Error::runtime(
                ErrorKind::Conflict,
                exit_message("the container exited right after starting", &info),
                None,
            ));
        }
        Ok((env, info))
    }

    /// Records the environment's container id, if it changed.
    async fn record_container(
        &self,
        env: Environment,
        container: &ContainerId,
    ) -> Result<Environment> {
        if env.container_id.as_deref() == Some(container.as_str()) {
            return Ok(env);
        }
        let mut next = env.clone();
        next.container_id = Some(container.0.clone());
        next.updated_at = self.now();
        self.store()
            .update_environment(&next, env.status, env.version)
            .await
    }

    async fn record_bound_ports(&self, env: &Environment, info: &ContainerInfo) -> Result<()> {
        let ports = self.store().list_ports(env.id).await?;
        let bound: HashMap<_, _> = info
            .ports
            .iter()
            .map(|b| ((b.container_port, b.protocol), b.host_port))
            .collect();
        let updates: Vec<_> = ports
            .iter()
            .map(|p| (p.id, bound.get(&(p.container_port, p.protocol)).copied()))
            .collect();
        self.store().set_bound_host_ports(env.id, &updates).await
    }

    /// Writes the creator's SSH public key to the environment user's authorized_keys.
    /// Best effort: a failure is logged, not fatal.
    async fn install_ssh_key(&self, env: &Environment) {
        let key = match self.store().get_user(env.creator_id).await {
            Ok(u) => u.ssh_public_key,
            Err(e) => {
                tracing::warn!(error = %e, "could not read the creator's ssh key");
                None
            }
        };
        let (Some(key), Some(container)) = (key, &env.container_id) else {
            return;
        };
        let spec = ExecSpec {
            cmd: vec![
                "/bin/sh".into(),
                "-c".into(),
                "umask 077 && mkdir -p \"$HOME/.ssh\" && printf '%s\\n' \"$VIBEBOX_SSH_KEY\" > \"$HOME/.ssh/authorized_keys\"".into(),
            ],
            env: vec![("VIBEBOX_SSH_KEY".into(), key)],
            user: self.config().container_user.clone(),
            ..Default::default()
        };
        match self
            .run_to_end(&ContainerId(container.clone()), &spec)
            .await
        {
            Ok((0, _)) => {}
            Ok((code, out)) => {
                tracing::warn!(code, output = %out, "writing authorized_keys failed")
            }
            Err(e) => tracing::warn!(error = %e, "writing authorized_keys failed"),
        }
    }

    /// Stops an environment: terminates its sessions, stops the container (gracefully, then by
    /// force after the grace period) and clears its bound ports. Stopping a stopped environment
    /// is a no-op; stopping one in `error` cleans up and marks it stopped.
    ///
    /// Errors: `InvalidTransition` while starting; `PermissionDenied`; `NotFound`.
    #[instrument(skip_all, fields(environment.id = %id))]
    pub async fn stop_environment(&self, actor: &Actor, id: EnvironmentId) -> Result<Environment> {
        let access = self
            .environment_for(actor, id, Action::StartStopEnvironment)
            .await?;
        self.stop_with(actor, access, StopMode::Graceful).await
    }

    /// Restarts an environment: stops it (with [`StopMode::Kill`], every process in it is
    /// killed at once, without waiting for the grace period) and starts it again, keeping
    /// its container and home volume. This is the way out of an environment saturated by
    /// its own processes (a fork bomb at the pids limit, where nothing new can start and a
    /// graceful stop would wait out its grace). A stopped environment is simply started.
    ///
    /// Errors: those of [`stop_environment`](Self::stop_environment) and
    /// [`start_environment`](Self::start_environment); `InvalidTransition` while starting or
    /// stopping.
    #[instrument(skip_all, fields(environment.id = %id, ?mode))]
    pub async fn restart_environment(
        &self,
        actor: &Actor,
        id: EnvironmentId,
        mode: StopMode,
    ) -> Result<Environment> {
        let access = self
            .environment_for(actor, id, Action::StartStopEnvironment)
            .await?;
        let team = access.project.owner.team_id();
        match access.env.status {
            EnvironmentStatus::Starting
            | EnvironmentStatus::Stopping
            | EnvironmentStatus::Resuming => {
                return Err(Error::InvalidTransition {
                    machine: "environment",
                    from: access.env.status.to_string(),
                    to: "restarting".to_string(),
                });
            }
            EnvironmentStatus::Running
            | EnvironmentStatus::Suspended
            | EnvironmentStatus::Error => {
                self.stop_with(actor, access, mode).await?;
            }
            EnvironmentStatus::Stopped => {}
        }
        self.audit(
            actor,
            AuditRecord::new("environment.restart", "environment", id)
                .team(team)
                .details(json!({ "force": mode == StopMode::Kill })),
        )
        .await;
        self.start_environment(actor, id).await
    }

    /// Stops an environment the actor may stop (the access was checked by the caller).
    pub(crate) async fn stop_with(
        &self,
        actor: &Actor,
        access: EnvironmentAccess,
        mode: StopMode,
    ) -> Result<Environment> {
        let env = access.env;
        let id = env.id;
        let target = match env.status {
            EnvironmentStatus::Stopped | EnvironmentStatus::Stopping => return Ok(env),
            EnvironmentStatus::Error => EnvironmentStatus::Stopped,
            _ => EnvironmentStatus::Stopping,
        };
        if matches!(
            env.status,
            EnvironmentStatus::Suspended | EnvironmentStatus::Resuming
        ) && let Some(container) = &env.container_id
        {
            // Thawed first, so that its processes get the polite signal and their grace.
            if let Err(e) = self.runtime().resume(&ContainerId(container.clone())).await {
                tracing::debug!(error = %e, "could not thaw a suspended environment before its stop");
            }
        }
        let stopping = self.set_status(&env, target, None).await?;
        self.audit(
            actor,
            AuditRecord::new("environment.stop", "environment", id)
                .team(access.project.owner.team_id()),
        )
        .await;
        let this = self.clone();
        tokio::spawn(async move { this.finish_stop(stopping, mode).await }.in_current_span())
            .await
            .map_err(|e| {
                Error::internal(
                    "the stop task failed",
                    Some(Box::new(e) as crate::error::BoxError),
                )
            })?
    }

    pub(crate) async fn finish_stop(
        &self,
        env: Environment,
        mode: StopMode,
    ) -> Result<Environment> {
        self.terminate_all_sessions(env.id).await;
        if let Err(e) = self.bring_down(&env, mode).await {
            self.fail_environment(
                &env,
                format!("could not stop the environment: {}", e.report_new()),
            )
            .await;
            return Err(e);
        }
        self.drain_collector(env.id).await;
        self.clear_container_warnings(&env).await;
        if env.status == EnvironmentStatus::Stopping {
            return self
                .set_status(&env, EnvironmentStatus::Stopped, None)
                .await;
        }
        Ok(env)
    }

    /// Stops the environment's container (a missing one is fine) and clears its bound ports.
    pub(crate) async fn bring_down(&self, env: &Environment, mode: StopMode) -> Result<()> {
        if let Some(container) = &env.container_id {
            let container = ContainerId(container.clone());
            let stopped = match mode {
                StopMode::Graceful => {
                    self.runtime()
                        .stop(&container, self.config().stop_grace)
                        .await
                }
                StopMode::Kill => self.runtime().kill(&container).await,
            };
            match stopped {
                Ok(()) => {}
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        let ports = self.store().list_ports(env.id).await?;
        let cleared: Vec<_> = ports.iter().map(|p| (p.id, None)).collect();
        self.store().set_bound_host_ports(env.id, &cleared).await
    }
}

/// How a stop ends an environment's processes.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum StopMode {
    /// A polite signal (SIGTERM), then a kill after the grace period
    /// ([`Config::stop_grace`](crate::config::Config::stop_grace)).
    #[default]
    Graceful,
    /// Every process is killed at once (SIGKILL), without waiting.
    Kill,
}

/// A message explaining why a container is not running: the exit code, and the signal
/// when the code says the process was killed by one (128 + n).
pub(crate) fn exit_message(what: &str, info: &ContainerInfo) -> String {
    if info.oom_killed {
        return format!("{what}: it was killed for exceeding its memory limit");
    }
    let mut msg = match info.exit_code {
        Some(code) => match signal_name(code) {
            Some(signal) => format!("{what} (exit code {code}: killed by {signal})"),
            None => format!("{what} (exit code {code})"),
        },
        None => what.to_string(),
    };
    if let Some(err) = info.error.as_deref().filter(|e| !e.is_empty()) {
        msg.push_str(": ");
        msg.push_str(err);
    }
    msg
}

/// The signal an exit code of 128 + n reports, for the signals that end containers.
fn signal_name(exit_code: i64) -> Option<&'static str> {
    Some(match exit_code.checked_sub(128)? {
        1 => "SIGHUP",
        2 => "SIGINT",
        3 => "SIGQUIT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => return None,
    })
}

/// A runtime `NotFound` while starting names something the environment needs (its image),
/// not the environment: the start is refused as `Conflict`, with the same message.
fn missing_is_conflict(e: Error) -> Error {
    match e {
        Error::Runtime {
            kind: ErrorKind::NotFound,
            message,
            source,
        } => Error::runtime(ErrorKind::Conflict, message, source),
        other => other,
    }
}
