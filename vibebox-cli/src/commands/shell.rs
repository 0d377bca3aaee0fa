//! `vibebox shell ENV [--session NAME]`: an interactive terminal in raw mode.
//!
//! It attaches to a tmux session (created when it is not live), so leaving and coming back
//! resumes the same shell, with its scrollback. Keys, Ctrl-C included, go to the remote
//! shell; window size changes follow (SIGWINCH). The terminal is restored on every way out:
//! the shell exiting, tmux detaching, the connection dropping, an error or a panic.

use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::signal::unix::{SignalKind, signal};
use vibebox_client::{NewSession, PageRequest, TerminalEvent, TerminalOptions};
use vibebox_core::domain::{SessionStatus, SessionType};
use vibebox_core::id::EnvironmentId;

use crate::cli::ShellArgs;
use crate::context::Context;
use crate::error::{CliError, Kind};
use crate::resolve;
use crate::terminal::{self, RawMode};

/// The session `shell` attaches to without `--session`.
const DEFAULT_SESSION: &str = "main";

/// Runs the terminal until the remote side ends it.
pub async fn run(ctx: &Context, args: ShellArgs) -> Result<u8, CliError> {
    let env = resolve::environment_id(&ctx.client, &args.env).await?;
    let session = args.session.unwrap_or_else(|| DEFAULT_SESSION.to_owned());
    ensure_session(ctx, env, &session).await?;
    let size = terminal::size();
    let options = TerminalOptions {
        session: session.clone(),
        cols: size.map(|s| s.0),
        rows: size.map(|s| s.1),
    };
    let terminal = ctx.client.terminal(env, &options).await?;
    let raw = RawMode::enable_for_remote_screen()?;
    let outcome = pump(terminal).await;
    drop(raw);
    match outcome {
        Ok(code) => Ok(code),
        Err(e) => {
            tracing::debug!(error = %e, "the terminal's connection ended");
            // The remote screen left the cursor anywhere: the message starts a line of its own.
            eprintln!();
            Err(CliError::new(
                Kind::Unreachable,
                format!("the connection to {} was lost", args.env),
                format!(
                    "`vibebox shell {} --session {session}` resumes the session",
                    args.env
                ),
            ))
        }
    }
}

/// Starts a tmux session named `name` unless one is live.
async fn ensure_session(ctx: &Context, env: EnvironmentId, name: &str) -> Result<(), CliError> {
    let page = ctx
        .client
        .list_sessions(env, false, PageRequest::first(500))
        .await?;
    let live = page.items.iter().any(|s| {
        s.session_name == name
            && matches!(
                s.status,
                SessionStatus::Active | SessionStatus::Idle | SessionStatus::Starting
            )
    });
    if !live {
        ctx.client
            .create_session(
                env,
                &NewSession {
                    session_type: SessionType::Tmux,
                    session_name: name.to_owned(),
                    idle_timeout_minutes: None,
                },
            )
            .await?;
    }
    Ok(())
}

/// Copies keys in and output out, and forwards resizes, until the terminal ends. `Ok` holds
/// the exit code (0 when tmux detached or the remote code is unknown).
async fn pump(terminal: vibebox_client::Terminal) -> Result<u8, String> {
    let (mut writer, mut reader) = terminal.split();
    let mut stdin = tokio::io::stdin();
    let mut stdout = tokio::io::stdout();
    let mut resized = signal(SignalKind::window_change()).map_err(|e| e.to_string())?;
    let mut keys = vec![0u8; 4096];
    let mut stdin_open = true;
    loop {
        tokio::select! {
            event = reader.next() => match event {
                Some(Ok(TerminalEvent::Output(data))) => {
                    stdout.write_all(&data).await.map_err(|e| e.to_string())?;
                    stdout.flush().await.map_err(|e| e.to_string())?;
                }
                Some(Ok(TerminalEvent::Exit { code })) => {
                    return Ok(code.and_then(|c| u8::try_from(c).ok()).unwrap_or(0));
                }
                Some(Ok(TerminalEvent::Error { message })) => return Err(message),
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e.to_string()),
                None => return Err("the server closed the terminal".into()),
            },
            read = stdin.read(&mut keys), if stdin_open => match read {
                Ok(0) | Err(_) => stdin_open = false,
                Ok(n) => writer
                    .write(keys[..n].to_vec())
                    .await
                    .map_err(|e| e.to_string())?,
            },
            _ = resized.recv() => {
                if let Some((cols, rows)) = terminal::size() {
                    writer.resize(cols, rows).await.map_err(|e| e.to_string())?;
                }
            }
        }
    }
}
