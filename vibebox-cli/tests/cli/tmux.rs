//! A private tmux server on this machine, to drive `vibebox shell` the way a person at a
//! terminal does: `send-keys` in, `capture-pane` out. Every wait polls with a deadline.
//!
//! Each [`Tmux`] has its own server (its socket in the test's scratch directory, `tmux -S`)
//! and configuration (no status line, so a pane is exactly the size it was given; the server
//! stays up when its last session closes, so a test that closes one pane and opens another
//! never races a server on its way out), and kills its server and removes the directory when
//! dropped, also when the test failed.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use crate::common::{BIN, Cli};
use crate::harness::{WAIT, run_id};

/// How often a wait looks at the pane again.
const POLL: Duration = Duration::from_millis(50);

/// What the script in a pane prints once `vibebox` has exited, followed by the exit code.
pub const EXITED: &str = "vibebox-exited-";

/// A tmux server of the test's own.
pub struct Tmux {
    dir: PathBuf,
}

impl Tmux {
    /// A server (started by the first session) with a scratch directory.
    pub fn new() -> Self {
        let id = run_id();
        let dir = std::env::temp_dir().join(format!("vibebox-tmux-{id}"));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("tmux.conf"),
            "set -g status off\nset -g remain-on-exit on\nset -g history-limit 5000\nset -g exit-empty off\n",
        )
        .unwrap();
        Self { dir }
    }

    fn command(&self, args: &[&str]) -> std::process::Command {
        let mut command = std::process::Command::new("tmux");
        command
            .arg("-S")
            .arg(self.dir.join("tmux.sock"))
            .arg("-f")
            .arg(self.dir.join("tmux.conf"))
            .args(args)
            .env_remove("TMUX");
        command
    }

    /// Runs a tmux command and returns its stdout; panics when it fails.
    pub async fn run(&self, args: &[&str]) -> String {
        let out = tokio::process::Command::from(self.command(args))
            .output()
            .await
            .expect("tmux runs");
        assert!(
            out.status.success(),
            "tmux {args:?} failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).into_owned()
    }

    /// A detached session `name` of `cols`×`rows` whose command is a script that records the
    /// terminal settings (`stty -g`), runs `vibebox ARGS` with the environment of
    /// [`Cli::command`], records the settings again, prints [`EXITED`] and the exit code,
    /// and stays (`sleep`) so the pane can still be read.
    pub async fn vibebox(
        &self,
        cli: &Cli,
        name: &str,
        cols: u16,
        rows: u16,
        args: &[&str],
    ) -> Pane<'_> {
        let pane = Pane {
            tmux: self,
            name: name.to_owned(),
        };
        let mut line = quote(BIN);
        for arg in args {
            line.push(' ');
            line.push_str(&quote(arg));
        }
        let script = format!(
            "export VIBEBOX_CONFIG_DIR={config} NO_COLOR=1\n\
             unset VIBEBOX_URL VIBEBOX_TOKEN RUST_LOG\n\
             stty -g > {before}\n\
             {line}\n\
             code=$?\n\
             stty -g > {after}\n\
             echo \"{EXITED}$code\"\n\
             exec sleep 600\n",
            config = quote(&cli.config.display().to_string()),
            before = quote(&pane.before().display().to_string()),
            after = quote(&pane.after().display().to_string()),
        );
        let (cols, rows) = (cols.to_string(), rows.to_string());
        self.run(&[
            "new-session",
            "-d",
            "-s",
            name,
            "-x",
            &cols,
            "-y",
            &rows,
            "/bin/sh",
            "-c",
            &script,
        ])
        .await;
        pane
    }

    /// The scratch directory.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl Drop for Tmux {
    fn drop(&mut self) {
        let _ = self
            .command(&["kill-server"])
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// The one pane of a session started by [`Tmux::vibebox`].
pub struct Pane<'a> {
    tmux: &'a Tmux,
    name: String,
}

impl Pane<'_> {
    fn target(&self) -> String {
        format!("={}:", self.name)
    }

    /// The terminal settings recorded before `vibebox` ran.
    pub fn before(&self) -> PathBuf {
        self.tmux.dir().join(format!("{}.before", self.name))
    }

    /// The terminal settings recorded after `vibebox` exited.
    pub fn after(&self) -> PathBuf {
        self.tmux.dir().join(format!("{}.after", self.name))
    }

    /// Types `text` and Enter.
    pub async fn type_line(&self, text: &str) {
        let target = self.target();
        self.tmux
            .run(&["send-keys", "-t", &target, "-l", text])
            .await;
        self.tmux.run(&["send-keys", "-t", &target, "Enter"]).await;
    }

    /// Presses keys by tmux name (`C-c`, `Enter`).
    pub async fn press(&self, key: &str) {
        let target = self.target();
        self.tmux.run(&["send-keys", "-t", &target, key]).await;
    }

    /// Whether the pane shows the alternate screen and has application keypad mode on, as
    /// tmux sees it: `"00"` when a program left both off.
    pub async fn screen_modes(&self) -> String {
        let target = self.target();
        self.tmux
            .run(&[
                "display-message",
                "-p",
                "-t",
                &target,
                "#{alternate_on}#{keypad_flag}",
            ])
            .await
            .trim()
            .to_owned()
    }

    /// The screen and some history, wrapped lines joined.
    pub async fn capture(&self) -> String {
        self.capture_with(true).await
    }

    /// The screen and some history; `join`: wrapped lines as one. (tmux also counts as
    /// wrapped a line that was filled to the last column and continued without a newline,
    /// which is how the remote tmux may redraw a full line followed by output.)
    async fn capture_with(&self, join: bool) -> String {
        let target = self.target();
        let mut args = vec!["capture-pane", "-p", "-S", "-200", "-t", &target];
        if join {
            args.push("-J");
        }
        self.tmux.run(&args).await
    }

    /// Polls the pane until `done` holds; panics with the screen after [`WAIT`].
    pub async fn wait_until(&self, what: &str, done: impl Fn(&str) -> bool) -> String {
        self.poll(what, true, done).await
    }

    async fn poll(&self, what: &str, join: bool, done: impl Fn(&str) -> bool) -> String {
        let deadline = Instant::now() + WAIT;
        loop {
            let screen = self.capture_with(join).await;
            if done(&screen) {
                return screen;
            }
            assert!(
                Instant::now() < deadline,
                "waited {WAIT:?} for {what} in pane {}; it shows:\n{screen}",
                self.name
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `text` is on the screen.
    pub async fn wait_for(&self, text: &str) -> String {
        self.wait_until(&format!("{text:?}"), |s| s.contains(text))
            .await
    }

    /// Waits until a screen row reads exactly `line` (trailing spaces aside).
    pub async fn wait_for_line(&self, line: &str) -> String {
        self.poll(&format!("the line {line:?}"), false, |s| {
            s.lines().any(|l| l.trim_end() == line)
        })
        .await
    }

    /// Waits for the remote shell's prompt (a line ending in `$`).
    pub async fn wait_for_prompt(&self) -> String {
        self.wait_until("a shell prompt", |s| {
            s.lines().any(|l| l.trim_end().ends_with('$'))
        })
        .await
    }

    /// Waits until `vibebox` has exited and returns its exit code.
    pub async fn wait_for_exit(&self) -> i32 {
        let screen = self.wait_for(EXITED).await;
        exit_code(&screen).unwrap_or_else(|| panic!("no exit code in:\n{screen}"))
    }

    /// The exit code, when `vibebox` has exited.
    pub async fn exited(&self) -> Option<i32> {
        exit_code(&self.capture().await)
    }

    /// Resizes the window (and its pane) to `cols`×`rows`: the pane's processes get SIGWINCH.
    pub async fn resize(&self, cols: u16, rows: u16) {
        let target = self.target();
        let (cols, rows) = (cols.to_string(), rows.to_string());
        self.tmux
            .run(&["resize-window", "-t", &target, "-x", &cols, "-y", &rows])
            .await;
        let size = self
            .tmux
            .run(&[
                "display-message",
                "-p",
                "-t",
                &target,
                "#{pane_width}x#{pane_height}",
            ])
            .await;
        assert_eq!(
            size.trim(),
            format!("{cols}x{rows}"),
            "the local pane was resized"
        );
    }

    /// The pane's terminal settings now (`stty -g` of its tty, read from outside).
    pub async fn stty_now(&self) -> String {
        let target = self.target();
        let tty = self
            .tmux
            .run(&["display-message", "-p", "-t", &target, "#{pane_tty}"])
            .await;
        let out = tokio::process::Command::new("stty")
            .arg("-g")
            .arg("-F")
            .arg(tty.trim())
            .output()
            .await
            .unwrap();
        assert!(
            out.status.success(),
            "stty -F {tty}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        String::from_utf8_lossy(&out.stdout).trim().to_owned()
    }

    /// Closes the session, as closing a terminal window does (its processes get SIGHUP).
    pub async fn close(&self) {
        let target = format!("={}", self.name);
        self.tmux.run(&["kill-session", "-t", &target]).await;
    }
}

/// The code after [`EXITED`] on the screen.
fn exit_code(screen: &str) -> Option<i32> {
    screen.lines().find_map(|l| {
        l.trim_end()
            .strip_prefix(EXITED)
            .and_then(|c| c.parse().ok())
    })
}

/// Reads a file the script wrote, trimmed; panics with what is missing.
pub fn read(path: &Path) -> String {
    std::fs::read_to_string(path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .trim()
        .to_owned()
}

/// Single-quotes a word for sh.
fn quote(word: &str) -> String {
    format!("'{}'", word.replace('\'', r"'\''"))
}
