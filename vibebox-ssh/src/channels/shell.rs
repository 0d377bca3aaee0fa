//! `pty-req` + `shell`: one of core's terminals
//! ([`Vibebox::open_terminal`](vibebox_core::Vibebox::open_terminal)) on the environment's
//! `ssh` shell session, so its use counts as that session's activity and it is closed with
//! the session. `window-change` resizes it; the shell's exit code is reported.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use tokio::sync::mpsc;
use vibebox_core::error::ErrorKind;
use vibebox_core::service::{Terminal, TerminalControl, TerminalInput};

use super::session::Setup;
use super::{ConnectionContext, Exit, Outlet, SessionEvent, terminal_size};
use crate::activity::SSH_SESSION;

/// Opens the terminal and bridges it to the channel until the shell ends.
pub(crate) async fn run(
    ctx: &ConnectionContext,
    outlet: &Outlet,
    events: mpsc::Receiver<SessionEvent>,
    setup: Setup,
) {
    let terminal = match open(ctx, &setup).await {
        Ok(t) => t,
        Err(e) => {
            outlet
                .notice(&format!("cannot open a terminal: {}", e.report_new()))
                .await;
            outlet.finish(Exit::Status(1)).await;
            return;
        }
    };
    let Terminal {
        mut output,
        input,
        control,
        ..
    } = terminal;
    let signalled = Arc::new(AtomicBool::new(false));
    {
        let input = pump_input(events, input, control.clone(), setup, signalled.clone());
        let forward = async {
            while let Some(chunk) = output.next().await {
                match chunk {
                    Ok(data) => {
                        if !outlet.stdout(data).await {
                            break;
                        }
                    }
                    Err(e) => {
                        tracing::debug!(error = %e, "a terminal's output failed");
                        break;
                    }
                }
            }
        };
        tokio::pin!(input);
        tokio::pin!(forward);
        let mut input_done = false;
        loop {
            tokio::select! {
                () = &mut input, if !input_done => input_done = true,
                () = &mut forward => break,
            }
        }
    }
    drop(output);
    let exit = match control.exit_code().await {
        Ok(code) => Exit::from_code(code, signalled.load(Ordering::SeqCst)),
        Err(e) => {
            tracing::debug!(error = %e, "a shell's exit is unknown");
            Exit::Unknown
        }
    };
    control.close().await;
    outlet.finish(exit).await;
}

/// A terminal on the `ssh` session, made again once if it was terminated meanwhile.
async fn open(ctx: &ConnectionContext, setup: &Setup) -> vibebox_core::Result<Terminal> {
    let size = setup
        .pty
        .as_ref()
        .map_or_else(|| terminal_size(0, 0), |p| p.size);
    for attempt in 0..2 {
        ctx.activity.session().await?;
        match ctx
            .vibebox
            .open_terminal(
                &ctx.grant.actor,
                ctx.grant.environment_id,
                SSH_SESSION,
                size,
            )
            .await
        {
            Err(e) if e.kind() == ErrorKind::NotFound && attempt == 0 => {
                ctx.activity.forget_session().await;
            }
            other => return other,
        }
    }
    Err(vibebox_core::Error::not_found("session"))
}

/// Feeds keystrokes, resizes and signals to the terminal. Returns when the client closes the
/// channel (the terminal is then closed) or the connection goes.
async fn pump_input(
    mut events: mpsc::Receiver<SessionEvent>,
    mut input: TerminalInput,
    control: TerminalControl,
    setup: Setup,
    signalled: Arc<AtomicBool>,
) {
    let mut open = true;
    for data in setup.early_input {
        open = open && input.write(&data).await.is_ok();
    }
    while let Some(event) = events.recv().await {
        match event {
            SessionEvent::Input(data) if open => {
                if let Err(e) = input.write(&data).await {
                    tracing::debug!(error = %e, "a terminal stopped taking input");
                    open = false;
                }
            }
            SessionEvent::Resize(size) => {
                if let Err(e) = control.resize(size).await {
                    tracing::debug!(error = %e, "could not resize a terminal");
                }
            }
            SessionEvent::Signal(sig) => {
                tracing::debug!(?sig, "the client signals the shell; closing it");
                signalled.store(true, Ordering::SeqCst);
                control.close().await;
            }
            SessionEvent::Close => break,
            _ => {}
        }
    }
    control.close().await;
}
