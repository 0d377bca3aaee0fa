//! Sessions inside environments: shell, tmux and VS Code server; idle detection and reaping.

use serde::Deserialize;
use serde_json::json;
use tracing::instrument;

use super::{AuditRecord, Vibebox};
use crate::clock::Timestamp;
use crate::domain::{Environment, EnvironmentStatus, Session, SessionStatus, SessionType};
use crate::error::{Error, ErrorKind, Result};
use crate::events::EventKind;
use crate::id::{EnvironmentId, SessionId};
use crate::lifecycle::StateMachine;
use crate::rbac::{Action, Actor};
use crate::runtime::{ContainerId, ExecInfo, ExecSpec};
use crate::store::cursor::page_by_id;
use crate::store::{Page, PageRequest};
use crate::validate;

/// A new session.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
pub struct NewSession {
    /// What it runs.
    pub session_type: SessionType,
    /// Its name, unique per (environment, type) among live sessions.
    #[cfg_attr(feature = "openapi", schema(pattern = "^[A-Za-z0-9_-]{1,64}$"))]
    pub session_name: String,
    /// Minutes without activity before it goes idle (default from the configuration).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 10080))]
    pub idle_timeout_minutes: Option<i64>,
}

/// What a reaper pass did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ReapReport {
    /// Sessions that went idle.
    pub idled: usize,
    /// Idle sessions that were terminated.
    pub terminated: usize,
}

/// Most output kept from a helper command.
const OUTPUT_CAP: usize = 64 * 1024;

impl Vibebox {
    /// Starts a session in a running environment. A tmux session runs detached and survives
    /// its terminals; a VS Code server runs the configured command; a shell session starts a
    /// shell per terminal.
    ///
    /// Errors: `Conflict` if the environment is not running or the image lacks the session's
    /// program (the message says which); `AlreadyExists` (`session_name`); `InvalidInput`;
    /// `PermissionDenied`; `NotFound`.
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn create_session(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        new: NewSession,
    ) -> Result<Session> {
        let access = self
            .environment_for(actor, env_id, Action::ManageEnvironment)
            .await?;
        validate::session_name(&new.session_name)?;
        let timeout = match new.idle_timeout_minutes {
            Some(t) => validate::idle_timeout_minutes(t)?,
            None => self.config().default_idle_timeout_minutes,
        };
        let session = self
            .start_session(&access.env, new.session_type, new.session_name, timeout)
            .await?;
        self.audit(
            actor,
            AuditRecord::new("session.create", "session", session.id)
                .team(access.project.owner.team_id())
                .details(json!({ "environment_id": env_id, "session_type": session.session_type })),
        )
        .await;
        Ok(session)
    }

    pub(crate) async fn start_session(
        &self,
        env: &Environment,
        session_type: SessionType,
        session_name: String,
        idle_timeout_minutes: i32,
    ) -> Result<Session> {
        let container = self.awake_container(env).await?;
        let now = self.now();
        let session = Session {
            id: SessionId::new(),
            environment_id: env.id,
            session_type,
            session_name,
            status: SessionStatus::Starting,
            pid: None,
            idle_timeout_minutes,
            last_activity_at: now,
            created_at: now,
            updated_at: now,
        };
        self.store().create_session(&session).await?;
        self.publish_session(&session);
        match self.launch_session(&container, &session).await {
            Ok(pid) => {
                let mut active = session.clone();
                active.pid = pid;
                self.set_session_status(&active, SessionStatus::Active)
                    .await
            }
            Err(e) => {
                if let Err(e2) = self
                    .set_session_status(&session, SessionStatus::Terminated)
                    .await
                {
                    tracing::error!(error = %e2, "could not mark a failed session terminated");
                }
                Err(e)
            }
        }
    }

    /// Runs what a session needs inside the container; returns its pid when there is one.
    async fn launch_session(&self, container: &ContainerId, s: &Session) -> Result<Option<i64>> {
        let user = self.config().container_user.clone();
        match s.session_type {
            SessionType::Shell => Ok(None),
            SessionType::Tmux => {
                let spec = ExecSpec {
                    cmd: vec![
                        "tmux".into(),
                        "new-session".into(),
                        "-d".into(),
                        "-s".into(),
                        s.session_name.clone(),
                    ],
                    env: vec![("TERM".into(), "xterm-256color".into())],
                    user,
                    ..Default::default()
                };
                match self.run_to_end(container, &spec).await? {
                    (0, _) => Ok(None),
                    (_, out) if out.contains("duplicate session") => Ok(None),
                    (126 | 127, _) => Err(missing_program("tmux")),
                    (code, out) => Err(Error::runtime(
                        ErrorKind::Internal,
                        format!("tmux failed (exit code {code}): {}", out.trim()),
                        None,
                    )),
                }
            }
            SessionType::VscodeServer => {
                let command = self.config().vscode_server_command.clone();
                let program = command.first().cloned().unwrap_or_default();
                let check = ExecSpec {
                    cmd: vec![
                        "/bin/sh".into(),
                        "-c".into(),
                        "command -v \"$1\" >/dev/null 2>&1".into(),
                        "sh".into(),
                        program.clone(),
                    ],
                    user: user.clone(),
                    ..Default::default()
                };
                if self.run_to_end(container, &check).await?.0 != 0 {
                    return Err(missing_program(&program));
                }
                let mut cmd: Vec<String> = vec![
                    "/bin/sh".into(),
                    "-c".into(),
                    format!(
                        "nohup \"$@\" >/tmp/vibebox-vscode-{}.log 2>&1 & echo $!",
                        s.session_name
                    ),
                    "sh".into(),
                ];
                cmd.extend(command);
                let spec = ExecSpec {
                    cmd,
                    user,
                    ..Default::default()
                };
                let (code, out) = self.run_to_end(container, &spec).await?;
                if code != 0 {
                    return Err(Error::runtime(
                        ErrorKind::Internal,
                        format!(
                            "{program} failed to start (exit code {code}): {}",
                            out.trim()
                        ),
                        None,
                    ));
                }
                Ok(out.trim().parse::<i64>().ok())
            }
        }
    }

    /// CAS a session's status along its state machine and publish the change.
    pub(crate) async fn set_session_status(
        &self,
        session: &Session,
        to: SessionStatus,
    ) -> Result<Session> {
        let current = self.store().get_session(session.id).await?;
        current.status.transition_to(to)?;
        let mut next = session.clone();
        next.status = to;
        next.updated_at = self.now();
        self.store().update_session(&next, current.status).await?;
        self.publish_session(&next);
        Ok(next)
    }

    fn publish_session(&self, s: &Session) {
        self.publish(
            s.environment_id,
            EventKind::Session {
                session_id: s.id,
                session_type: s.session_type,
                session_name: s.session_name.clone(),
                status: s.status,
            },
        );
    }

    /// One page of the environment's sessions, ordered by id (creation order); terminated
    /// ones only when asked. The page is cut from the environment's whole list, which is
    /// bounded: terminated sessions are purged by retention.
    ///
    /// Errors: `InvalidInput` (`cursor`); `PermissionDenied`; `NotFound` (`environment`).
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn list_sessions(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        include_terminated: bool,
        page: &PageRequest,
    ) -> Result<Page<Session>> {
        self.environment_for(actor, env_id, Action::ReadProject)
            .await?;
        let sessions = self
            .store()
            .list_sessions(env_id, include_terminated)
            .await?;
        page_by_id(sessions, |s| s.id.0, page, false)
    }

    /// A session the actor can see. Errors: `NotFound` (`session`).
    pub async fn get_session(&self, actor: &Actor, id: SessionId) -> Result<Session> {
        let session = self.store().get_session(id).await?;
        self.environment_for(actor, session.environment_id, Action::ReadProject)
            .await
            .map_err(hide_as_session)?;
        Ok(session)
    }

    /// Terminates a session: closes its terminals and ends its process.
    ///
    /// Errors: `PermissionDenied`; `NotFound` (`session`).
    #[instrument(skip_all, fields(session.id = %id))]
    pub async fn terminate_session(&self, actor: &Actor, id: SessionId) -> Result<Session> {
        let session = self.store().get_session(id).await?;
        let access = self
            .environment_for(actor, session.environment_id, Action::ManageEnvironment)
            .await
            .map_err(hide_as_session)?;
        let ended = self
            .end_session(&access.env, &session, SessionEnd::KillProcesses)
            .await?;
        self.audit(
            actor,
            AuditRecord::new("session.terminate", "session", id)
                .team(access.project.owner.team_id()),
        )
        .await;
        Ok(ended)
    }

    /// Kills a session's terminals and process and marks it terminated. Runtime failures are
    /// logged: the session ends either way. With [`SessionEnd::RecordOnly`] nothing runs in
    /// the container.
    async fn end_session(
        &self,
        env: &Environment,
        session: &Session,
        how: SessionEnd,
    ) -> Result<Session> {
        if session.status == SessionStatus::Terminated {
            return Ok(session.clone());
        }
        if how == SessionEnd::RecordOnly {
            self.forget_terminals(session.id);
        } else {
            self.kill_terminals(session.id).await;
        }
        if let Some(container) = env.container_id.as_ref().filter(|_| {
            how == SessionEnd::KillProcesses
                && matches!(
                    env.status,
                    EnvironmentStatus::Running | EnvironmentStatus::Stopping
                )
        }) {
            let container = ContainerId(container.clone());
            let cmd: Option<Vec<String>> = match session.session_type {
                // `=`: the exact name; tmux would otherwise take a session whose name merely
                // starts with this one.
                SessionType::Tmux => Some(vec![
                    "tmux".into(),
                    "kill-session".into(),
                    "-t".into(),
                    format!("={}", session.session_name),
                ]),
                SessionType::VscodeServer => {
                    session.pid.map(|pid| vec!["kill".into(), pid.to_string()])
                }
                SessionType::Shell => None,
            };
            if let Some(cmd) = cmd {
                let spec = ExecSpec {
                    cmd,
                    user: self.config().container_user.clone(),
                    ..Default::default()
                };
                if let Err(e) = self.run_to_end(&container, &spec).await {
                    tracing::warn!(error = %e, "could not end a session's process");
                }
            }
        }
        match self
            .set_session_status(session, SessionStatus::Terminated)
            .await
        {
            Ok(s) => Ok(s),
            // Someone else ended it meanwhile.
            Err(Error::InvalidTransition { .. }) | Err(Error::StaleVersion { .. }) => {
                self.store().get_session(session.id).await
            }
            Err(e) => Err(e),
        }
    }

    /// Marks every live session of an environment terminated when its container stops, is
    /// killed or is gone: that ends their processes, so nothing is run in the container (an
    /// exec in a saturated container would wait instead of ending), and the stop stays within
    /// its grace period whatever runs inside.
    pub(crate) async fn terminate_all_sessions(&self, env_id: EnvironmentId) {
        let (env, sessions) = match (
            self.store().get_environment(env_id).await,
            self.store().list_sessions(env_id, false).await,
        ) {
            (Ok(env), Ok(sessions)) => (env, sessions),
            (Err(e), _) | (_, Err(e)) => {
                tracing::warn!(error = %e, "could not list sessions to terminate");
                return;
            }
        };
        for s in sessions {
            if let Err(e) = self.end_session(&env, &s, SessionEnd::RecordOnly).await {
                tracing::warn!(error = %e, session.id = %s.id, "could not terminate a session");
            }
        }
    }

    /// Opens the configured default sessions of a freshly started environment. Failures are
    /// logged (and published as terminated sessions); the environment keeps running.
    pub(crate) async fn open_default_sessions(&self, env: &Environment) {
        for (session_type, name) in self.config().default_sessions.clone() {
            let timeout = self.config().default_idle_timeout_minutes;
            if let Err(e) = self.start_session(env, session_type, name, timeout).await
                && e.kind() != ErrorKind::AlreadyExists
            {
                tracing::warn!(error = %e, environment.id = %env.id, "a default session did not start");
            }
        }
    }

    /// Records activity seen at `at` on a session (terminal input or output, exec). An idle
    /// session becomes active again.
    pub(crate) async fn record_activity(&self, id: SessionId, at: Timestamp) -> Result<()> {
        self.store().touch_session(id, at).await?;
        let session = self.store().get_session(id).await?;
        if session.status == SessionStatus::Idle {
            match self
                .set_session_status(&session, SessionStatus::Active)
                .await
            {
                Ok(_) | Err(Error::StaleVersion { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Records activity now on a session, for a front end that carries an environment's
    /// traffic without one of core's terminals (an SSH exec, sftp or tunnel): the session
    /// does not go idle while it is used, and an idle one becomes active again. Returns the
    /// session as stored (a terminated one stays terminated: the caller opens another).
    ///
    /// Errors: `PermissionDenied` unless the actor may run commands in the environment;
    /// `NotFound` (`session`).
    #[instrument(skip_all, fields(session.id = %id))]
    pub async fn touch_session(&self, actor: &Actor, id: SessionId) -> Result<Session> {
        let session = self.store().get_session(id).await?;
        self.environment_for(actor, session.environment_id, Action::ExecEnvironment)
            .await
            .map_err(hide_as_session)?;
        if session.status != SessionStatus::Terminated {
            self.record_activity(id, self.now()).await?;
        }
        self.store().get_session(id).await
    }

    /// One pass of the idle-session reaper: active sessions without activity for their idle
    /// timeout become idle; sessions that were already idle are terminated.
    #[instrument(skip_all)]
    pub async fn reap_idle_sessions(&self) -> Result<ReapReport> {
        let now = self.now();
        let mut report = ReapReport::default();
        let idle = self
            .store()
            .list_sessions_by_status(&[SessionStatus::Idle], 1000)
            .await?;
        for s in idle {
            let env = self.store().get_environment(s.environment_id).await?;
            // A frozen container cannot have processes killed: its sessions are held, and
            // are reaped once it runs again.
            if matches!(
                env.status,
                EnvironmentStatus::Suspended | EnvironmentStatus::Resuming
            ) {
                continue;
            }
            if self
                .end_session(&env, &s, SessionEnd::KillProcesses)
                .await
                .is_ok()
            {
                report.terminated += 1;
            }
        }
        let active = self
            .store()
            .list_sessions_by_status(&[SessionStatus::Active], 1000)
            .await?;
        for s in active {
            let deadline =
                s.last_activity_at + chrono::TimeDelta::minutes(i64::from(s.idle_timeout_minutes));
            if deadline <= now {
                match self.set_session_status(&s, SessionStatus::Idle).await {
                    Ok(_) => report.idled += 1,
                    Err(Error::StaleVersion { .. }) | Err(Error::InvalidTransition { .. }) => {}
                    Err(e) => return Err(e),
                }
            }
        }
        Ok(report)
    }

    /// Runs a command to completion; returns its exit code and combined output (capped).
    pub(crate) async fn run_to_end(
        &self,
        container: &ContainerId,
        spec: &ExecSpec,
    ) -> Result<(i64, String)> {
        use futures::StreamExt;
        let exec = self.runtime().exec(container, spec).await;
        self.note_exec(container, &exec);
        let mut exec = exec?;
        let mut out = Vec::new();
        while let Some(chunk) = exec.output.next().await {
            let chunk = chunk?;
            if out.len() < OUTPUT_CAP {
                out.extend_from_slice(&chunk.data);
            }
        }
        out.truncate(OUTPUT_CAP);
        let info = self.wait_for_exit(&exec.id).await?;
        Ok((
            info.exit_code.unwrap_or(-1),
            String::from_utf8_lossy(&out).into_owned(),
        ))
    }
}

impl Vibebox {
    /// Inspects an exec whose output has ended. The engine may report it as running for a
    /// moment after that, so this polls briefly (up to about a second) for the final state.
    pub(crate) async fn wait_for_exit(&self, exec: &crate::runtime::ExecId) -> Result<ExecInfo> {
        let mut info = self.runtime().inspect_exec(exec).await?;
        for _ in 0..100 {
            if !info.running {
                break;
            }
            tokio::time::sleep(std::time::Duration::from_millis(10)).await;
            info = self.runtime().inspect_exec(exec).await?;
        }
        Ok(info)
    }
}

/// Whether ending a session also stops its processes inside the container.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum SessionEnd {
    /// The container keeps running: kill the session's terminals and its process.
    KillProcesses,
    /// The container is stopping, killed or gone, which ends every process in it: only
    /// record the end.
    RecordOnly,
}

fn missing_program(program: &str) -> Error {
    Error::runtime(
        ErrorKind::Conflict,
        format!("{program} is not installed in this environment's image"),
        None,
    )
}

/// The running container of an environment, or a `Conflict` saying it is not running.
pub(crate) fn running_container(env: &Environment) -> Result<ContainerId> {
    match (&env.container_id, env.status) {
        (Some(c), EnvironmentStatus::Running) => Ok(ContainerId(c.clone())),
        _ => Err(Error::Conflict(
            format!("the environment is {}, not running", env.status).into(),
        )),
    }
}

/// A session whose environment the actor cannot see is reported as a missing session.
fn hide_as_session(e: Error) -> Error {
    match e {
        Error::NotFound { .. } => Error::not_found("session"),
        other => other,
    }
}
