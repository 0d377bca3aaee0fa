//! `vibebox env start|stop|restart|suspend|resume`: the request, with a spinner that follows the status
//! stream until the environment settles; a failure exits non-zero with the server's reason.

use std::io::IsTerminal;
use std::time::Duration;

use futures::StreamExt;
use indicatif::{ProgressBar, ProgressStyle};
use vibebox_client::{ClientError, StatusMessage, StatusSocket};
use vibebox_core::domain::{Environment, EnvironmentStatus};

use crate::cli::LifecycleArgs;
use crate::context::Context;
use crate::error::{CliError, Kind};
use crate::resolve;

/// The transition asked for.
#[derive(Clone, Copy, Debug)]
pub enum Transition {
    /// Start.
    Start,
    /// Stop.
    Stop,
    /// Restart.
    Restart,
    /// Suspend.
    Suspend,
    /// Resume.
    Resume,
}

impl Transition {
    fn doing(self) -> &'static str {
        match self {
            Self::Start => "Starting",
            Self::Stop => "Stopping",
            Self::Restart => "Restarting",
            Self::Suspend => "Suspending",
            Self::Resume => "Resuming",
        }
    }

    /// The status it settles in.
    fn target(self) -> EnvironmentStatus {
        match self {
            Self::Stop => EnvironmentStatus::Stopped,
            Self::Suspend => EnvironmentStatus::Suspended,
            Self::Start | Self::Restart | Self::Resume => EnvironmentStatus::Running,
        }
    }
}

/// Runs the transition and waits (unless `--no-wait`) for the status to settle.
pub async fn run(
    ctx: &Context,
    args: LifecycleArgs,
    transition: Transition,
) -> Result<u8, CliError> {
    if args.force && !matches!(transition, Transition::Restart) {
        return Err(CliError::usage(
            "--force applies to restart only",
            "`vibebox env restart --force ENV` kills every process at once",
        ));
    }
    let env = resolve::environment(&ctx.client, &args.env).await?;
    let name = args.env.clone();
    let bar = spinner(ctx.out.json, &format!("{} {name}", transition.doing()));
    // Subscribe before asking, so no change is missed; the spinner shows each one.
    let status = ctx.client.status_socket(env.id).await.ok();
    let request = async {
        match transition {
            Transition::Start => ctx.client.start_environment(env.id).await,
            Transition::Stop => ctx.client.stop_environment(env.id).await,
            Transition::Restart => ctx.client.restart_environment(env.id, args.force).await,
            Transition::Suspend => ctx.client.suspend_environment(env.id).await,
            Transition::Resume => ctx.client.resume_environment(env.id).await,
        }
    };
    tokio::pin!(request);
    let mut status = status;
    let result: Result<Environment, ClientError> = loop {
        tokio::select! {
            result = &mut request => break result,
            message = next_status(&mut status), if status.is_some() => match message {
                Some(Ok(StatusMessage::Status { status: now, .. })) => {
                    bar.set_message(format!("{} {name}: {now}", transition.doing()));
                }
                Some(Ok(_)) => {}
                Some(Err(_)) | None => status = None,
            },
        }
    };
    let mut settled = match result {
        Ok(env) => env,
        Err(e) => {
            bar.finish_and_clear();
            return Err(e.into());
        }
    };
    if !args.no_wait
        && settled.status != transition.target()
        && settled.status != EnvironmentStatus::Error
    {
        settled = wait_for(ctx, &settled, transition.target(), &bar).await?;
    }
    bar.finish_and_clear();
    settled_or_failed(ctx, &name, &settled)
}

/// Prints `NAME is STATUS.` (or the environment as JSON), or fails with the server's reason
/// when it is in `error`.
pub(super) fn settled_or_failed(
    ctx: &Context,
    name: &str,
    settled: &Environment,
) -> Result<u8, CliError> {
    if settled.status == EnvironmentStatus::Error {
        return Err(CliError::new(
            Kind::Failed,
            format!(
                "{name} failed: {}",
                settled
                    .error_message
                    .as_deref()
                    .unwrap_or("the server gave no reason")
            ),
            format!("`vibebox logs {name}` shows what it printed"),
        ));
    }
    ctx.out.print(settled, |out| {
        println!("{name} is {}.", out.status(settled.status.as_str()));
        Ok(())
    })?;
    Ok(0)
}

/// The next message of the status stream, if there is one.
async fn next_status(
    socket: &mut Option<StatusSocket>,
) -> Option<vibebox_client::Result<StatusMessage>> {
    match socket {
        Some(socket) => socket.next().await,
        None => None,
    }
}

/// Waits on the status stream until `env` reaches `target` or `error`.
async fn wait_for(
    ctx: &Context,
    env: &Environment,
    target: EnvironmentStatus,
    bar: &ProgressBar,
) -> Result<Environment, CliError> {
    // A new socket, not the one followed during the request: it starts with the current
    // status, so a change the first one already delivered cannot be waited for in vain.
    let mut socket = ctx.client.status_socket(env.id).await?;
    while let Some(message) = socket.next().await {
        match message? {
            StatusMessage::Status { status, .. } => {
                bar.set_message(format!("{}: {status}", env.slug));
                if status == target || status == EnvironmentStatus::Error {
                    return Ok(ctx.client.get_environment(env.id).await?);
                }
            }
            StatusMessage::Deleted => {
                return Err(CliError::new(
                    Kind::NotFound,
                    "the environment was deleted",
                    "",
                ));
            }
            _ => {}
        }
    }
    Ok(ctx.client.get_environment(env.id).await?)
}

/// A spinner on stderr when it is a terminal (hidden otherwise, and with --json).
pub(super) fn spinner(json: bool, message: &str) -> ProgressBar {
    if json || !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new_spinner();
    if let Ok(style) = ProgressStyle::with_template("{spinner} {msg} ({elapsed})") {
        bar.set_style(style);
    }
    bar.set_message(message.to_owned());
    bar.enable_steady_tick(Duration::from_millis(100));
    bar
}
