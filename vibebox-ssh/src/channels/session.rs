//! A session channel: collects the pty, variables and any early input until the client asks
//! for a shell, a command or sftp; makes sure the environment runs; then hands over to the
//! bridge for that kind.

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use tokio::sync::mpsc;
use vibebox_core::runtime::TerminalSize;

use super::{ConnectionContext, Exit, Outlet, SessionEvent, Start, exec, sftp, shell};
use crate::readiness::ensure_running;

/// Most bytes of input kept from before the command starts (clients send none, normally).
const EARLY_INPUT_CAP: usize = 1024 * 1024;

/// The pty a client asked for.
#[derive(Clone, Debug)]
pub(crate) struct PtySpec {
    pub(crate) term: String,
    pub(crate) size: TerminalSize,
}

/// What the client set up before starting.
#[derive(Debug, Default)]
pub(crate) struct Setup {
    pub(crate) pty: Option<PtySpec>,
    pub(crate) env: BTreeMap<String, String>,
    /// Input sent before the start, replayed to the process.
    pub(crate) early_input: Vec<Bytes>,
    /// Whether the client already sent EOF.
    pub(crate) early_eof: bool,
}

/// Runs one session channel to its end.
pub(crate) async fn run(
    ctx: Arc<ConnectionContext>,
    outlet: Outlet,
    mut events: mpsc::Receiver<SessionEvent>,
) {
    let mut setup = Setup::default();
    let mut early_bytes = 0usize;
    let start = loop {
        let Some(event) = events.recv().await else {
            return;
        };
        match event {
            SessionEvent::Pty { term, size } => setup.pty = Some(PtySpec { term, size }),
            SessionEvent::Resize(size) => {
                if let Some(pty) = setup.pty.as_mut() {
                    pty.size = size;
                }
            }
            SessionEvent::Env { name, value } => {
                setup.env.insert(name, value);
            }
            SessionEvent::Input(data) => {
                early_bytes += data.len();
                if early_bytes <= EARLY_INPUT_CAP {
                    setup.early_input.push(data);
                }
            }
            SessionEvent::Eof => setup.early_eof = true,
            SessionEvent::Signal(_) => {}
            SessionEvent::Close => return,
            SessionEvent::Start(start) => break start,
        }
    };
    tracing::debug!(channel = ?outlet.id(), ?start, pty = setup.pty.is_some(), "session starts");
    let starting = format!("starting {}…", ctx.username);
    let ready = ensure_running(
        &ctx.vibebox,
        &ctx.grant.actor,
        ctx.grant.environment_id,
        outlet.notice(&starting),
    )
    .await;
    if let Err(not_ready) = ready {
        outlet.notice(&not_ready.0).await;
        outlet.finish(Exit::Status(1)).await;
        return;
    }
    match start {
        Start::Shell if setup.pty.is_some() => shell::run(&ctx, &outlet, events, setup).await,
        Start::Shell => {
            let request = exec::request(exec::Command::LoginShell, &setup);
            exec::run(&ctx, &outlet, events, request, setup).await;
        }
        Start::Exec(line) => {
            let request = exec::request(exec::Command::Line(line), &setup);
            exec::run(&ctx, &outlet, events, request, setup).await;
        }
        Start::Sftp => sftp::run(&ctx, &outlet, events, setup).await,
    }
}
