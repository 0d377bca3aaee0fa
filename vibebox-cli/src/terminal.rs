//! The local terminal: raw mode that is always restored, and prompts that do not echo.
//!
//! Raw mode is held by a [`RawMode`] guard. Dropping it restores the terminal, and so does a
//! panic (a hook installed with the guard), so a crash or a dropped connection never leaves the
//! user's shell without echo.

use std::io::{BufRead, IsTerminal, Write};
use std::sync::Once;

use crossterm::event::{self, Event, KeyCode, KeyEvent, KeyEventKind, KeyModifiers};
use crossterm::terminal;
use secrecy::SecretString;

use crate::error::CliError;

/// What leaves a remote full-screen program's modes behind: the alternate screen, application
/// cursor keys and keypad, a hidden cursor, bracketed paste and mouse reporting. A remote
/// tmux turns them on; when the connection drops it cannot turn them off.
const RESET_SCREEN_MODES: &str =
    "\x1b[?1049l\x1b[?1l\x1b>\x1b[?25h\x1b[?2004l\x1b[?1000l\x1b[?1002l\x1b[?1003l\x1b[?1006l";

/// Raw mode on the controlling terminal while this value lives.
pub struct RawMode {
    reset_screen: bool,
}

impl RawMode {
    /// Raw mode for a remote screen (`shell`): when it ends, the screen modes the remote side
    /// may have set are reset too.
    pub fn enable_for_remote_screen() -> Result<Self, CliError> {
        let mut raw = Self::enable()?;
        raw.reset_screen = true;
        Ok(raw)
    }

    /// Turns raw mode on. Fails when stdin is not a terminal.
    pub fn enable() -> Result<Self, CliError> {
        if !std::io::stdin().is_terminal() {
            return Err(CliError::usage(
                "stdin is not a terminal",
                "run this from an interactive terminal, or use `vibebox exec`",
            ));
        }
        install_panic_hook();
        terminal::enable_raw_mode()
            .map_err(|e| CliError::failed(format!("cannot put the terminal in raw mode: {e}")))?;
        Ok(Self {
            reset_screen: false,
        })
    }
}

impl Drop for RawMode {
    fn drop(&mut self) {
        if let Err(e) = terminal::disable_raw_mode() {
            tracing::debug!(error = %e, "could not restore the terminal");
        }
        if self.reset_screen {
            reset_screen_modes();
        }
    }
}

/// Writes [`RESET_SCREEN_MODES`] when stdout is a terminal.
fn reset_screen_modes() {
    let mut out = std::io::stdout();
    if out.is_terminal() {
        let _ = out.write_all(RESET_SCREEN_MODES.as_bytes());
        let _ = out.flush();
    }
}

/// Once per process: a panic restores the terminal before the message is printed.
fn install_panic_hook() {
    static HOOK: Once = Once::new();
    HOOK.call_once(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let _ = terminal::disable_raw_mode();
            reset_screen_modes();
            previous(info);
        }));
    });
}

/// The terminal's size as (columns, rows), when stdout is one.
pub fn size() -> Option<(u16, u16)> {
    terminal::size().ok().filter(|&(c, r)| c > 0 && r > 0)
}

/// Asks for a secret on stderr without echoing it. When stdin is not a terminal, reads one
/// line from it instead (for scripts: `echo "$PASSWORD" | vibebox login …`).
pub fn prompt_secret(prompt: &str) -> Result<SecretString, CliError> {
    let stdin = std::io::stdin();
    if !stdin.is_terminal() {
        let mut line = String::new();
        stdin.lock().read_line(&mut line)?;
        let value = line.trim_end_matches(['\r', '\n']).to_owned();
        return Ok(SecretString::from(value));
    }
    let mut err = std::io::stderr();
    write!(err, "{prompt}")?;
    err.flush()?;
    let raw = RawMode::enable()?;
    let mut value = String::new();
    let outcome = loop {
        match event::read() {
            Ok(Event::Key(KeyEvent {
                code,
                modifiers,
                kind: KeyEventKind::Press,
                ..
            })) => match code {
                KeyCode::Enter => break Ok(()),
                KeyCode::Char('c') if modifiers.contains(KeyModifiers::CONTROL) => {
                    break Err(CliError::interrupted());
                }
                KeyCode::Char('d') if modifiers.contains(KeyModifiers::CONTROL) => {
                    break Ok(());
                }
                KeyCode::Backspace => {
                    value.pop();
                }
                KeyCode::Char(c) => value.push(c),
                _ => {}
            },
            Ok(_) => {}
            Err(e) => break Err(CliError::failed(format!("cannot read the terminal: {e}"))),
        }
    };
    drop(raw);
    writeln!(err)?;
    outcome.map(|()| SecretString::from(value))
}

/// Asks for a line of text on stderr (echoed), e.g. an email address.
pub fn prompt_line(prompt: &str) -> Result<String, CliError> {
    let mut err = std::io::stderr();
    write!(err, "{prompt}")?;
    err.flush()?;
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim().to_owned())
}
