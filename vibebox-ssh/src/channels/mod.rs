//! One file per channel kind. A session channel ([`session`]) collects its pty and variables
//! until the client asks for a shell ([`shell`]), a command ([`exec`]) or the sftp subsystem
//! ([`sftp`], run through [`exec`]); a `direct-tcpip` channel ([`direct_tcpip`]) is a tunnel.
//! All of them reach the environment through the service, as the signed-in user.

pub(crate) mod direct_tcpip;
pub(crate) mod exec;
pub(crate) mod session;
pub(crate) mod sftp;
pub(crate) mod shell;

use std::sync::Arc;

use bytes::Bytes;
use russh::server::{Handle, Msg};
use russh::{ChannelId, ChannelWriteHalf, Sig};
use vibebox_core::Vibebox;
use vibebox_core::runtime::TerminalSize;

use crate::activity::Activity;
use crate::gatekeeper::Grant;

/// What one logged-in connection shares with its channels.
pub(crate) struct ConnectionContext {
    pub(crate) vibebox: Arc<Vibebox>,
    pub(crate) grant: Grant,
    /// The username the client logged in with (it names the environment).
    pub(crate) username: String,
    pub(crate) activity: Arc<Activity>,
}

/// What the client asked a session channel to run.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Start {
    /// `shell`: a login shell.
    Shell,
    /// `exec`: a command line for the user's shell.
    Exec(String),
    /// `subsystem sftp`.
    Sftp,
}

/// A session channel's requests and input, in the order the client sent them.
#[derive(Debug)]
pub(crate) enum SessionEvent {
    /// `pty-req`.
    Pty { term: String, size: TerminalSize },
    /// An allowed `env` request.
    Env { name: String, value: String },
    /// `shell`, `exec` or `subsystem`.
    Start(Start),
    /// Bytes for the process's stdin.
    Input(Bytes),
    /// The client will send no more input.
    Eof,
    /// `window-change`.
    Resize(TerminalSize),
    /// `signal`.
    Signal(Sig),
    /// The client closed the channel.
    Close,
}

/// A terminal size from a client's numbers, kept within what the service accepts.
pub(crate) fn terminal_size(cols: u32, rows: u32) -> TerminalSize {
    let clamp = |v: u32, default: u16| {
        if v == 0 {
            default
        } else {
            u16::try_from(v.min(1000)).unwrap_or(1000)
        }
    };
    TerminalSize {
        cols: clamp(cols, 80),
        rows: clamp(rows, 24),
    }
}

/// How a process ended, as the channel reports it.
#[derive(Clone, Debug)]
pub(crate) enum Exit {
    /// `exit-status`.
    Status(u32),
    /// `exit-signal`: it was killed (by the client's `signal` request).
    Signal(Sig),
    /// Not known (the engine did not say): nothing is reported, so the client says so.
    Unknown,
}

impl Exit {
    /// The exit as the engine reports a code: 128 + the signal's number for a killed process,
    /// which is reported as a signal only when the client asked for one (a command may well
    /// `exit 137` itself).
    pub(crate) fn from_code(code: Option<i64>, signalled: bool) -> Self {
        match code {
            Some(137) if signalled => Exit::Signal(Sig::KILL),
            Some(c) => Exit::Status(u32::try_from(c.clamp(0, 255)).unwrap_or(255)),
            None => Exit::Unknown,
        }
    }
}

/// The sending side of a session channel: stdout, stderr and the end.
pub(crate) struct Outlet {
    channel: ChannelWriteHalf<Msg>,
    handle: Handle,
}

impl Outlet {
    pub(crate) fn new(channel: ChannelWriteHalf<Msg>, handle: Handle) -> Self {
        Self { channel, handle }
    }

    pub(crate) fn id(&self) -> ChannelId {
        self.channel.id()
    }

    /// Sends stdout bytes (waiting for the client's window). False once the channel is gone.
    pub(crate) async fn stdout(&self, data: Bytes) -> bool {
        self.channel.data_bytes(data).await.is_ok()
    }

    /// Sends stderr bytes (extended data 1). False once the channel is gone.
    pub(crate) async fn stderr(&self, data: Bytes) -> bool {
        self.channel.extended_data_bytes(1, data).await.is_ok()
    }

    /// A line for the user on stderr, from VibeBox itself.
    pub(crate) async fn notice(&self, text: &str) {
        let line = format!("vibebox: {text}\r\n");
        let _ = self.stderr(Bytes::from(line)).await;
    }

    /// Reports the exit, then ends and closes the channel.
    pub(crate) async fn finish(&self, exit: Exit) {
        let id = self.channel.id();
        match exit {
            Exit::Status(code) => {
                let _ = self.channel.exit_status(code).await;
            }
            Exit::Signal(sig) => {
                let _ = self
                    .handle
                    .exit_signal_request(id, sig, false, String::new(), "en".into())
                    .await;
            }
            Exit::Unknown => {}
        }
        let _ = self.channel.eof().await;
        let _ = self.channel.close().await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_zero_size_becomes_the_classic_terminal() {
        assert_eq!(terminal_size(0, 0), TerminalSize { cols: 80, rows: 24 });
    }

    #[test]
    fn a_huge_size_is_capped_at_what_the_service_accepts() {
        assert_eq!(
            terminal_size(100_000, 5000),
            TerminalSize {
                cols: 1000,
                rows: 1000
            }
        );
    }

    #[test]
    fn a_kill_is_a_signal_only_when_the_client_sent_one() {
        assert!(matches!(
            Exit::from_code(Some(137), true),
            Exit::Signal(Sig::KILL)
        ));
        assert!(matches!(
            Exit::from_code(Some(137), false),
            Exit::Status(137)
        ));
        assert!(matches!(Exit::from_code(Some(3), true), Exit::Status(3)));
        assert!(matches!(Exit::from_code(None, false), Exit::Unknown));
    }
}
