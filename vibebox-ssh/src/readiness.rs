//! Making sure the environment runs before a channel uses it: a stopped one is started when
//! the user may start it (as `ssh` to a sleeping Codespace or Coder workspace does), one that
//! is starting is waited for.

use std::time::Duration;

use tokio::sync::broadcast::error::RecvError;
use vibebox_core::Vibebox;
use vibebox_core::domain::EnvironmentStatus;
use vibebox_core::error::ErrorKind;
use vibebox_core::events::EventKind;
use vibebox_core::id::EnvironmentId;
use vibebox_core::rbac::Actor;

/// How long a channel waits for an environment that someone else is starting.
const START_WAIT: Duration = Duration::from_secs(180);

/// Why a channel cannot use the environment, in words for the user.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct NotReady(pub String);

/// Returns once the environment runs. `starting` (a future: nothing happens until it is
/// awaited) runs before a start this call makes itself, to tell the user.
pub(crate) async fn ensure_running(
    vibebox: &Vibebox,
    actor: &Actor,
    env: EnvironmentId,
    starting: impl std::future::Future<Output = ()>,
) -> Result<(), NotReady> {
    // Subscribed first, so a change between the read and the wait is not missed.
    let mut events = vibebox.events().subscribe(env);
    let current = vibebox.get_environment(actor, env).await.map_err(|e| {
        NotReady(format!(
            "the environment cannot be read: {}",
            e.report_new()
        ))
    })?;
    match current.status {
        // A suspended environment is resumed by the channel's first use.
        EnvironmentStatus::Running | EnvironmentStatus::Suspended | EnvironmentStatus::Resuming => {
            return Ok(());
        }
        EnvironmentStatus::Stopping => {
            return Err(NotReady(
                "the environment is stopping; connect again once it has stopped".into(),
            ));
        }
        EnvironmentStatus::Starting => {}
        EnvironmentStatus::Stopped | EnvironmentStatus::Error => {
            starting.await;
            return match vibebox.start_environment(actor, env).await {
                Ok(e) if e.status == EnvironmentStatus::Running => Ok(()),
                Ok(_) => wait_running(vibebox, actor, env, &mut events).await,
                Err(e) if e.kind() == ErrorKind::PermissionDenied => Err(NotReady(
                    "the environment is stopped, and you may not start it".into(),
                )),
                Err(e) => Err(NotReady(format!(
                    "the environment did not start: {}",
                    e.report_new()
                ))),
            };
        }
    }
    wait_running(vibebox, actor, env, &mut events).await
}

async fn wait_running(
    vibebox: &Vibebox,
    actor: &Actor,
    env: EnvironmentId,
    events: &mut tokio::sync::broadcast::Receiver<vibebox_core::events::Event>,
) -> Result<(), NotReady> {
    let waited = tokio::time::timeout(START_WAIT, async {
        loop {
            match events.recv().await {
                Ok(event) => match event.kind {
                    EventKind::Status { status, .. } => match status {
                        // A suspended environment is resumed by the channel's first use.
                        EnvironmentStatus::Running
                        | EnvironmentStatus::Suspended
                        | EnvironmentStatus::Resuming => {
                            return Ok(());
                        }
                        EnvironmentStatus::Starting => {}
                        other => {
                            return Err(NotReady(format!(
                                "the environment did not start (it is {other})"
                            )));
                        }
                    },
                    EventKind::Deleted => {
                        return Err(NotReady("the environment was deleted".into()));
                    }
                    _ => {}
                },
                // Events were dropped: the status now says where it is.
                Err(RecvError::Lagged(_)) => match vibebox.get_environment(actor, env).await {
                    Ok(e) if e.status == EnvironmentStatus::Running => return Ok(()),
                    Ok(e) if e.status == EnvironmentStatus::Starting => {}
                    Ok(e) => {
                        return Err(NotReady(format!(
                            "the environment did not start (it is {})",
                            e.status
                        )));
                    }
                    Err(e) => {
                        return Err(NotReady(format!(
                            "the environment cannot be read: {}",
                            e.report_new()
                        )));
                    }
                },
                Err(RecvError::Closed) => {
                    return Err(NotReady("the environment's events ended".into()));
                }
            }
        }
    })
    .await;
    waited.unwrap_or_else(|_| {
        Err(NotReady(
            "the environment took too long to start; try again".into(),
        ))
    })
}
