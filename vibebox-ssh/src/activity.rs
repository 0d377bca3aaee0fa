//! SSH use as session activity (idle detection follows real use).
//!
//! Each environment reached over SSH has one shell session named `ssh`. Shells open their
//! terminals on it (core's terminals record their own activity); exec, sftp and tunnel
//! traffic touch it here, at most every [`EVERY`]. The session is made on first need and made
//! again when it was terminated (the environment restarted, or it was reaped).

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use vibebox_core::Vibebox;
use vibebox_core::domain::{SessionStatus, SessionType};
use vibebox_core::error::{ErrorKind, Result};
use vibebox_core::id::{EnvironmentId, SessionId};
use vibebox_core::rbac::Actor;
use vibebox_core::service::NewSession;
use vibebox_core::store::PageRequest;

/// The name of the session SSH traffic counts on.
pub const SSH_SESSION: &str = "ssh";

/// How often traffic is written to the store at most.
const EVERY: Duration = Duration::from_secs(15);

/// One connection's activity recorder. Cheap to share.
pub(crate) struct Activity {
    vibebox: Arc<Vibebox>,
    actor: Actor,
    environment: EnvironmentId,
    last: Mutex<Option<Instant>>,
    session: tokio::sync::Mutex<Option<SessionId>>,
}

impl Activity {
    pub(crate) fn new(vibebox: Arc<Vibebox>, actor: Actor, environment: EnvironmentId) -> Self {
        Self {
            vibebox,
            actor,
            environment,
            last: Mutex::new(None),
            session: tokio::sync::Mutex::new(None),
        }
    }

    /// Notes traffic: records it in the background when the last record is old enough.
    pub(crate) fn touch(self: &Arc<Self>) {
        let now = Instant::now();
        {
            let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
            if last.is_some_and(|t| now.duration_since(t) < EVERY) {
                return;
            }
            *last = Some(now);
        }
        let this = self.clone();
        tokio::spawn(async move {
            if let Err(e) = this.record().await {
                tracing::debug!(error = %e, "could not record SSH activity");
            }
        });
    }

    async fn record(&self) -> Result<()> {
        let id = self.session().await?;
        let session = self.vibebox.touch_session(&self.actor, id).await?;
        if session.status == SessionStatus::Terminated {
            // Made again on the next touch.
            *self.session.lock().await = None;
            *self.last.lock().unwrap_or_else(|e| e.into_inner()) = None;
        }
        Ok(())
    }

    /// The live `ssh` shell session of the environment, made when there is none. The
    /// environment must be running.
    pub(crate) async fn session(&self) -> Result<SessionId> {
        let mut cached = self.session.lock().await;
        if let Some(id) = *cached {
            return Ok(id);
        }
        let id = match self.find().await? {
            Some(id) => id,
            None => {
                let made = self
                    .vibebox
                    .create_session(
                        &self.actor,
                        self.environment,
                        NewSession {
                            session_type: SessionType::Shell,
                            session_name: SSH_SESSION.to_string(),
                            idle_timeout_minutes: None,
                        },
                    )
                    .await;
                match made {
                    Ok(s) => s.id,
                    // Another connection made it meanwhile.
                    Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                        self.find().await?.ok_or(e)?
                    }
                    Err(e) => return Err(e),
                }
            }
        };
        *cached = Some(id);
        Ok(id)
    }

    /// Forgets the session (it was found terminated).
    pub(crate) async fn forget_session(&self) {
        *self.session.lock().await = None;
    }

    async fn find(&self) -> Result<Option<SessionId>> {
        let page = self
            .vibebox
            .list_sessions(
                &self.actor,
                self.environment,
                false,
                &PageRequest {
                    limit: PageRequest::MAX_LIMIT,
                    cursor: None,
                },
            )
            .await?;
        Ok(page
            .items
            .into_iter()
            .find(|s| {
                s.session_name == SSH_SESSION
                    && s.session_type == SessionType::Shell
                    && s.status != SessionStatus::Terminated
            })
            .map(|s| s.id))
    }
}
