//! `exec` (and a shell without a pty, and sftp): a streamed command through
//! [`Vibebox::exec_stream`](vibebox_core::Vibebox::exec_stream). stdin flows from the
//! channel, stdout and stderr go back as data and extended data, and the exit is reported
//! before the channel closes.
//!
//! As sshd does, the command line runs under the user's login shell (from the environment's
//! `/etc/passwd`), in their home directory.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::sync::mpsc;
use vibebox_core::domain::LogStream;
use vibebox_core::service::{ExecControl, ExecRequest, ExecStdin};

use super::session::Setup;
use super::{ConnectionContext, Exit, Outlet, SessionEvent};
use crate::activity::Activity;

/// Sets `HOME` and `SHELL` from the user's passwd entry (Docker's exec sets neither reliably)
/// and moves to the home directory, as sshd does before running anything.
const PROLOGUE: &str = r#"e=$(getent passwd "$(id -u)" 2>/dev/null)
h=$(printf '%s' "$e" | cut -d: -f6)
s=$(printf '%s' "$e" | cut -d: -f7)
[ -n "$s" ] && [ -x "$s" ] || s=/bin/sh
export HOME="${h:-${HOME:-/}}" SHELL="$s"
cd "$HOME" 2>/dev/null || cd /
"#;

/// What a session runs.
#[derive(Clone, Debug)]
pub(crate) enum Command {
    /// A command line, for the user's shell (`$SHELL -c`).
    Line(String),
    /// The user's shell as a login shell, reading commands from stdin (`ssh -T host`).
    LoginShell,
    /// A script of VibeBox's own, run after the prologue by `/bin/sh`.
    Script(&'static str),
}

/// The request that runs `command` as sshd would, with the session's allowed variables (and
/// its pty's `TERM`).
pub(crate) fn request(command: Command, setup: &Setup) -> ExecRequest {
    let (tail, arg) = match command {
        Command::Line(line) => ("exec \"$SHELL\" -c \"$1\"", line),
        Command::LoginShell => ("exec \"$SHELL\" -l", String::new()),
        Command::Script(script) => (script, String::new()),
    };
    let mut request = ExecRequest::new([
        "/bin/sh".to_string(),
        "-c".to_string(),
        format!("{PROLOGUE}{tail}"),
        "vibebox-ssh".to_string(),
        arg,
    ]);
    request.env = setup.env.clone();
    if let Some(pty) = &setup.pty
        && !pty.term.is_empty()
    {
        request.env.insert("TERM".into(), pty.term.clone());
    }
    request
}

/// Runs the command and bridges it to the channel until it ends.
pub(crate) async fn run(
    ctx: &ConnectionContext,
    outlet: &Outlet,
    events: mpsc::Receiver<SessionEvent>,
    request: ExecRequest,
    setup: Setup,
) {
    let tty = setup.pty.as_ref().map(|p| p.size);
    let stream = match ctx
        .vibebox
        .exec_stream(&ctx.grant.actor, ctx.grant.environment_id, request, tty)
        .await
    {
        Ok(s) => s,
        Err(e) => {
            outlet
                .notice(&format!("cannot run the command: {}", e.report_new()))
                .await;
            outlet.finish(Exit::Status(1)).await;
            return;
        }
    };
    let mut output = stream.output;
    let control = stream.control;
    let signalled = Arc::new(AtomicBool::new(false));
    let input = pump_input(
        events,
        stream.stdin,
        control.clone(),
        setup,
        ctx.activity.clone(),
        signalled.clone(),
    );
    let activity = ctx.activity.clone();
    {
        let forward = async {
            while let Some(chunk) = output.next().await {
                let chunk = match chunk {
                    Ok(c) => c,
                    Err(e) => {
                        tracing::debug!(error = %e, "a command's output failed");
                        break;
                    }
                };
                activity.touch();
                let sent = match chunk.stream {
                    LogStream::Stdout => outlet.stdout(chunk.data).await,
                    LogStream::Stderr => outlet.stderr(chunk.data).await,
                };
                if !sent {
                    break;
                }
            }
        };
        // Both at once in this task: a process that writes while its stdin is full must still be
        // read. The input side ends only when the client closes; the output side ends the run.
        tokio::pin!(input);
        tokio::pin!(forward);
        let mut input_done = false;
        loop {
            tokio::select! {
                () = &mut input, if !input_done => input_done = true,
                () = &mut forward => break,
            }
        }
    };
    // Dropping the output (ended or not) lets the wait below return.
    drop(output);
    let exit = match control.wait().await {
        Ok(exit) => Exit::from_code(exit.exit_code, signalled.load(Ordering::SeqCst)),
        Err(e) => {
            tracing::debug!(error = %e, "a command's exit is unknown");
            Exit::Unknown
        }
    };
    outlet.finish(exit).await;
}

/// Feeds the channel's input, resizes and signals to the process. Returns when the client
/// closes the channel (the process is then killed) or the connection goes.
async fn pump_input(
    mut events: mpsc::Receiver<SessionEvent>,
    stdin: ExecStdin,
    control: ExecControl,
    setup: Setup,
    activity: Arc<Activity>,
    signalled: Arc<AtomicBool>,
) {
    let tty = setup.pty.is_some();
    let mut stdin = Some(stdin);
    for data in setup.early_input {
        write(&mut stdin, &data).await;
    }
    // With a pty, EOF is a keystroke (^D) the client sends as data; closing a terminal's
    // input would hang up the session.
    if setup.early_eof && !tty {
        close(&mut stdin).await;
    }
    while let Some(event) = events.recv().await {
        match event {
            SessionEvent::Input(data) => {
                activity.touch();
                write(&mut stdin, &data).await;
            }
            SessionEvent::Eof if !tty => close(&mut stdin).await,
            SessionEvent::Resize(size) if tty => {
                if let Err(e) = control.resize(size).await {
                    tracing::debug!(error = %e, "could not resize a command's terminal");
                }
            }
            SessionEvent::Signal(sig) => {
                tracing::debug!(?sig, "the client signals the command; killing it");
                signalled.store(true, Ordering::SeqCst);
                kill(&control).await;
            }
            SessionEvent::Close => break,
            _ => {}
        }
    }
    kill(&control).await;
}

async fn write(stdin: &mut Option<ExecStdin>, data: &[u8]) {
    if let Some(writer) = stdin.as_mut()
        && writer.write_all(data).await.is_err()
    {
        // The process closed its stdin (or ended): later input has nowhere to go.
        *stdin = None;
    }
}

async fn close(stdin: &mut Option<ExecStdin>) {
    if let Some(mut writer) = stdin.take()
        && let Err(e) = writer.shutdown().await
    {
        tracing::debug!(error = %e, "could not close a command's stdin");
    }
}

async fn kill(control: &ExecControl) {
    if let Err(e) = control.kill().await {
        tracing::debug!(error = %e, "could not kill a command");
    }
}

#[cfg(test)]
mod tests {
    use super::super::session::PtySpec;
    use super::*;
    use vibebox_core::runtime::TerminalSize;

    #[test]
    fn a_command_line_runs_under_the_users_shell_as_one_argument() {
        let r = request(
            Command::Line("echo 'a b' | wc -c".into()),
            &Setup::default(),
        );
        assert_eq!(r.command[0], "/bin/sh");
        assert!(r.command[2].ends_with("exec \"$SHELL\" -c \"$1\""));
        assert_eq!(r.command[4], "echo 'a b' | wc -c");
    }

    #[test]
    fn the_ptys_term_reaches_the_command() {
        let setup = Setup {
            pty: Some(PtySpec {
                term: "screen".into(),
                size: TerminalSize { cols: 80, rows: 24 },
            }),
            ..Setup::default()
        };
        let r = request(Command::LoginShell, &setup);
        assert_eq!(r.env.get("TERM").map(String::as_str), Some("screen"));
    }
}
