//! A tiny shell for FakeRuntime's processes: enough of `sh` for the conformance suite and for
//! terminals.
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use bytes::Bytes;
use futures::future::BoxFuture;
use secrecy::ExposeSecret;
use tokio::io::{AsyncReadExt, DuplexStream};
use tokio::sync::{mpsc, watch};

use super::Inner;
use crate::domain::LogStream;
use crate::error::Result;
use crate::runtime::{ContainerId, ContainerSpec, ExecOutput, TerminalSize};

/// A scripted answer to a command, set with
/// [`FakeRuntime::script_exec`](super::FakeRuntime::script_exec).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ScriptedExec {
    /// Written to stdout.
    pub stdout: String,
    /// Written to stderr.
    pub stderr: String,
    /// The exit code.
    pub exit_code: i64,
    /// How long the command takes before it writes and exits.
    pub delay: Duration,
}

impl ScriptedExec {
    /// A command that prints `stdout` and exits 0.
    pub fn succeed(stdout: impl Into<String>) -> Self {
        Self {
            stdout: stdout.into(),
            ..Self::default()
        }
    }

    /// A command that prints `stderr` and exits with `exit_code`.
    pub fn fail(exit_code: i64, stderr: impl Into<String>) -> Self {
        Self {
            stderr: stderr.into(),
            exit_code,
            ..Self::default()
        }
    }

    /// Makes the command take `delay` before answering.
    pub fn with_delay(mut self, delay: Duration) -> Self {
        self.delay = delay;
        self
    }
}

/// Where a process's output goes.
pub(super) enum Sink {
    /// An exec's output stream.
    Exec {
        tx: mpsc::UnboundedSender<Result<ExecOutput>>,
        tty: bool,
    },
    /// A container's log (its main process).
    Logs { inner: Weak<Inner>, id: ContainerId },
}

impl Sink {
    /// Writes program output.
    fn write(&self, stream: LogStream, text: &str) {
        if text.is_empty() {
            return;
        }
        match self {
            Sink::Exec { tx, tty } => {
                let (stream, data) = if *tty {
                    (LogStream::Stdout, text.replace('\n', "\r\n"))
                } else {
                    (stream, text.to_string())
                };
                let _ = tx.send(Ok(ExecOutput {
                    stream,
                    data: Bytes::from(data),
                }));
            }
            Sink::Logs { inner, id } => {
                if let Some(inner) = inner.upgrade() {
                    inner.append_logs(id, stream, text);
                }
            }
        }
    }

    /// Writes bytes as they are (terminal echo).
    fn raw(&self, bytes: &[u8]) {
        if let Sink::Exec { tx, .. } = self {
            let _ = tx.send(Ok(ExecOutput {
                stream: LogStream::Stdout,
                data: Bytes::copy_from_slice(bytes),
            }));
        }
    }
}

/// A container's files, by absolute path: what `> path` writes and `cat path` reads. They last
/// as long as the container (a real container's writable layer outlives stop and start).
pub(super) type Files = Arc<Mutex<BTreeMap<String, String>>>;

/// Where a statement's output goes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) enum Out {
    /// Nowhere (`/dev/null`).
    Null,
    /// The process's stdout or stderr.
    Stream(LogStream),
    /// A file of the container (`> path`, `>> path`).
    File(String),
}

/// A process's surroundings.
pub(super) struct Ctx {
    pub sink: Sink,
    pub stdin: Option<DuplexStream>,
    pub tty: Option<Arc<Mutex<TerminalSize>>>,
    pub env: Vec<(String, String)>,
    pub scripts: Vec<(String, ScriptedExec)>,
    /// The container's main process: `sleep` and unknown programs run until stopped.
    pub main: bool,
    pub working_dir: Option<String>,
    pub user: Option<String>,
    /// The container's files.
    pub files: Files,
    /// True while the container is paused: no statement starts and no input is read until it
    /// is false again.
    pub frozen: watch::Receiver<bool>,
}

impl Ctx {
    /// The environment a process in this container sees: the container's, then the exec's.
    pub fn env_for(spec: &ContainerSpec, extra: &[(String, String)]) -> Vec<(String, String)> {
        let mut env: Vec<(String, String)> = vec![(
            "PATH".into(),
            "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin".into(),
        )];
        if let Some(h) = &spec.hostname {
            env.push(("HOSTNAME".into(), h.clone()));
        }
        let mut set = |k: &str, v: String| {
            if let Some(slot) = env.iter_mut().find(|(key, _)| key == k) {
                slot.1 = v;
            } else {
                env.push((k.to_string(), v));
            }
        };
        for (k, v) in &spec.env {
            set(k, v.expose_secret().to_string());
        }
        for (k, v) in extra {
            set(k, v.clone());
        }
        env
    }

    fn getenv(&self, name: &str) -> Option<&str> {
        self.env
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn scripted(&self, line: &str) -> Option<ScriptedExec> {
        self.scripts
            .iter()
            .rev()
            .find(|(m, _)| line.contains(m.as_str()))
            .map(|(_, r)| r.clone())
    }

    fn emit(&self, target: &Out, text: &str) {
        match target {
            Out::Null => {}
            Out::Stream(stream) => self.sink.write(*stream, text),
            Out::File(path) => self
                .files
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .entry(path.clone())
                .or_default()
                .push_str(text),
        }
    }

    fn read_file(&self, path: &str) -> Option<String> {
        self.files
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(path)
            .cloned()
    }

    /// Waits while the container is paused (the cgroup freezer): a frozen process makes no
    /// progress.
    async fn thawed(&mut self) {
        // An error means the container is gone; its processes are being cancelled.
        let _ = self.frozen.wait_for(|frozen| !*frozen).await;
    }
}

/// What a statement asks of the script running it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Flow {
    /// Go on; the statement's exit code.
    Continue(i64),
    /// `exit N`.
    Exit(i64),
}

impl Flow {
    fn code(self) -> i64 {
        match self {
            Flow::Continue(c) | Flow::Exit(c) => c,
        }
    }
}

fn basename(program: &str) -> &str {
    program.rsplit('/').next().unwrap_or(program)
}

fn is_shell(name: &str) -> bool {
    matches!(name, "sh" | "bash" | "ash" | "dash" | "zsh")
}

/// Runs a process given as argv; returns its exit code.
pub(super) async fn run_command(ctx: &mut Ctx, argv: &[String]) -> i64 {
    let Some(program) = argv.first() else {
        return 0;
    };
    if let Some(r) = ctx.scripted(&argv.join(" ")) {
        return play(
            ctx,
            r,
            &Out::Stream(LogStream::Stdout),
            &Out::Stream(LogStream::Stderr),
        )
        .await;
    }
    let name = basename(program);
    if is_shell(name) {
        if let Some(pos) = argv.iter().position(|a| a == "-c") {
            let script = argv.get(pos + 1).cloned().unwrap_or_default();
            return run_script(ctx, &script).await.code();
        }
        return interactive(ctx).await;
    }
    if name == "tmux" {
        return interactive(ctx).await;
    }
    run_statement(ctx, argv.to_vec()).await.code()
}

async fn play(ctx: &mut Ctx, r: ScriptedExec, out: &Out, err: &Out) -> i64 {
    if !r.delay.is_zero() {
        tokio::time::sleep(r.delay).await;
    }
    ctx.emit(out, &r.stdout);
    ctx.emit(err, &r.stderr);
    r.exit_code
}

/// A shell reading commands from stdin: with a TTY it echoes input like a terminal in echo
/// mode. Ends on `exit`, Ctrl-D on an empty line, or end of input.
async fn interactive(ctx: &mut Ctx) -> i64 {
    let Some(mut stdin) = ctx.stdin.take() else {
        if ctx.main {
            // A shell with nothing to read in a container's main process waits forever.
            futures::future::pending::<()>().await;
        }
        return 0;
    };
    let tty = ctx.tty.is_some();
    let mut line: Vec<u8> = Vec::new();
    let mut last = 0;
    let mut prev_cr = false;
    let mut buf = [0u8; 1024];
    loop {
        let n = match stdin.read(&mut buf).await {
            Ok(0) | Err(_) => return last,
            Ok(n) => n,
        };
        ctx.thawed().await;
        for &b in buf.get(..n).unwrap_or(&[]) {
            let after_cr = prev_cr;
            prev_cr = b == b'\r';
            match b {
                b'\n' if after_cr => {}
                b'\r' | b'\n' => {
                    if tty {
                        ctx.sink.raw(b"\r\n");
                    }
                    let text = String::from_utf8_lossy(&line).into_owned();
                    line.clear();
                    match run_script(ctx, &text).await {
                        Flow::Exit(c) => return c,
                        Flow::Continue(c) => last = c,
                    }
                }
                0x04 if line.is_empty() => return last,
                0x03 => {
                    if tty {
                        ctx.sink.raw(b"^C\r\n");
                    }
                    line.clear();
                    last = 130;
                }
                0x7f | 0x08 => {
                    if line.pop().is_some() && tty {
                        ctx.sink.raw(b"\x08 \x08");
                    }
                }
                _ => {
                    line.push(b);
                    if tty {
                        ctx.sink.raw(&[b]);
                    }
                }
            }
        }
    }
}

#[derive(Clone, Debug, PartialEq, Eq)]
enum Token {
    Word(String),
    Seq,
    And,
    Or,
}

/// Splits a script into words and operators, with quotes, backslashes and `$NAME` expansion.
fn tokenize(script: &str, ctx: &Ctx) -> std::result::Result<Vec<Token>, &'static str> {
    let mut tokens = Vec::new();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();
    let expand = |chars: &mut std::iter::Peekable<std::str::Chars<'_>>, out: &mut String| {
        let braced = chars.peek() == Some(&'{');
        if braced {
            chars.next();
        }
        let mut name = String::new();
        while let Some(&c) = chars.peek() {
            if c.is_ascii_alphanumeric() || c == '_' {
                name.push(c);
                chars.next();
            } else {
                break;
            }
        }
        if braced && chars.peek() == Some(&'}') {
            chars.next();
        }
        if name.is_empty() && !braced {
            out.push('$');
        } else {
            out.push_str(ctx.getenv(&name).unwrap_or(""));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if in_word {
                    tokens.push(Token::Word(std::mem::take(&mut word)));
                    in_word = false;
                }
            }
            ';' | '\n' => {
                if in_word {
                    tokens.push(Token::Word(std::mem::take(&mut word)));
                    in_word = false;
                }
                tokens.push(Token::Seq);
            }
            '&' if chars.peek() == Some(&'&') => {
                chars.next();
                if in_word {
                    tokens.push(Token::Word(std::mem::take(&mut word)));
                    in_word = false;
                }
                tokens.push(Token::And);
            }
            '|' if chars.peek() == Some(&'|') => {
                chars.next();
                if in_word {
                    tokens.push(Token::Word(std::mem::take(&mut word)));
                    in_word = false;
                }
                tokens.push(Token::Or);
            }
            '\'' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('\'') => break,
                        Some(c) => word.push(c),
                        None => return Err("unterminated quoted string"),
                    }
                }
            }
            '"' => {
                in_word = true;
                loop {
                    match chars.next() {
                        Some('"') => break,
                        Some('\\') => match chars.next() {
                            Some(c @ ('"' | '\\' | '$')) => word.push(c),
                            Some(c) => {
                                word.push('\\');
                                word.push(c);
                            }
                            None => return Err("unterminated quoted string"),
                        },
                        Some('$') => expand(&mut chars, &mut word),
                        Some(c) => word.push(c),
                        None => return Err("unterminated quoted string"),
                    }
                }
            }
            '\\' => {
                in_word = true;
                if let Some(c) = chars.next() {
                    word.push(c);
                }
            }
            '$' => {
                in_word = true;
                expand(&mut chars, &mut word);
            }
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    if in_word {
        tokens.push(Token::Word(word));
    }
    Ok(tokens)
}

/// Runs a `sh -c` script: statements separated by `;`, newlines, `&&` and `||`.
pub(super) fn run_script<'a>(ctx: &'a mut Ctx, script: &'a str) -> BoxFuture<'a, Flow> {
    Box::pin(async move {
        let tokens = match tokenize(script, ctx) {
            Ok(t) => t,
            Err(e) => {
                ctx.emit(
                    &Out::Stream(LogStream::Stderr),
                    &format!("sh: syntax error: {e}\n"),
                );
                return Flow::Continue(2);
            }
        };
        let mut last = 0;
        let mut words: Vec<String> = Vec::new();
        let mut pending_op = Token::Seq;
        for token in tokens.into_iter().chain(std::iter::once(Token::Seq)) {
            match token {
                Token::Word(w) => words.push(w),
                op => {
                    let run = match pending_op {
                        Token::And => last == 0,
                        Token::Or => last != 0,
                        _ => true,
                    };
                    let statement = std::mem::take(&mut words);
                    if run && !statement.is_empty() {
                        match run_statement(ctx, statement).await {
                            Flow::Exit(c) => return Flow::Exit(c),
                            Flow::Continue(c) => last = c,
                        }
                    }
                    pending_op = op;
                }
            }
        }
        Flow::Continue(last)
    })
}

/// Runs one simple command with its redirections.
fn run_statement(ctx: &mut Ctx, words: Vec<String>) -> BoxFuture<'_, Flow> {
    Box::pin(async move {
        ctx.thawed().await;
        let mut argv: Vec<String> = Vec::new();
        let mut out = Out::Stream(LogStream::Stdout);
        let mut err = Out::Stream(LogStream::Stderr);
        let mut words = words.into_iter();
        while let Some(w) = words.next() {
            let Some((fd, append, target)) = redirection(&w) else {
                argv.push(w);
                continue;
            };
            let target = match target {
                "" => words.next().unwrap_or_default(),
                t => t.to_string(),
            };
            let to = match target.as_str() {
                "&1" => out.clone(),
                "&2" => err.clone(),
                "/dev/null" => Out::Null,
                "" => {
                    ctx.emit(&err, "sh: syntax error: missing redirection target\n");
                    return Flow::Continue(2);
                }
                path => {
                    let mut files = ctx.files.lock().unwrap_or_else(|e| e.into_inner());
                    let file = files.entry(path.to_string()).or_default();
                    if !append {
                        file.clear();
                    }
                    Out::File(path.to_string())
                }
            };
            if fd == 2 {
                err = to;
            } else {
                out = to;
            }
        }
        let Some(program) = argv.first().cloned() else {
            return Flow::Continue(0);
        };
        if let Some(r) = ctx.scripted(&argv.join(" ")) {
            return Flow::Continue(play(ctx, r, &out, &err).await);
        }
        let args = argv.get(1..).unwrap_or(&[]);
        let name = basename(&program);
        let code = match name {
            "echo" => {
                let (newline, args) = match args.first().map(String::as_str) {
                    Some("-n") => (false, args.get(1..).unwrap_or(&[])),
                    _ => (true, args),
                };
                let mut text = args.join(" ");
                if newline {
                    text.push('\n');
                }
                ctx.emit(&out, &text);
                0
            }
            "exit" => {
                let code = args
                    .first()
                    .and_then(|a| a.parse::<i64>().ok())
                    .unwrap_or(0);
                return Flow::Exit(code.rem_euclid(256));
            }
            "true" | ":" => 0,
            "false" => 1,
            "sleep" => {
                let arg = args.first().map(String::as_str).unwrap_or("");
                let duration = if arg == "infinity" {
                    None
                } else {
                    match arg
                        .trim_end_matches('s')
                        .parse::<f64>()
                        .ok()
                        .and_then(|s| Duration::try_from_secs_f64(s).ok())
                    {
                        Some(d) => Some(d),
                        None => {
                            ctx.emit(&err, &format!("sleep: invalid number '{arg}'\n"));
                            return Flow::Continue(1);
                        }
                    }
                };
                match duration {
                    Some(d) if !ctx.main => tokio::time::sleep(d).await,
                    _ => futures::future::pending::<()>().await,
                }
                0
            }
            "cat" => {
                if !args.is_empty() {
                    let mut code = 0;
                    for file in args {
                        match ctx.read_file(file) {
                            Some(text) => ctx.emit(&out, &text),
                            None => {
                                ctx.emit(
                                    &err,
                                    &format!("cat: {file}: No such file or directory\n"),
                                );
                                code = 1;
                            }
                        }
                    }
                    code
                } else if let Some(mut stdin) = ctx.stdin.take() {
                    let mut buf = [0u8; 4096];
                    loop {
                        match stdin.read(&mut buf).await {
                            Ok(0) | Err(_) => break,
                            Ok(n) => {
                                let text = String::from_utf8_lossy(buf.get(..n).unwrap_or(&[]))
                                    .into_owned();
                                ctx.emit(&out, &text);
                            }
                        }
                    }
                    0
                } else {
                    0
                }
            }
            "stty" => match (args.first().map(String::as_str), &ctx.tty) {
                (Some("size"), Some(tty)) => {
                    let size = *tty.lock().unwrap_or_else(|e| e.into_inner());
                    ctx.emit(&out, &format!("{} {}\n", size.rows, size.cols));
                    0
                }
                (_, None) => {
                    ctx.emit(&err, "stty: standard input: Not a tty\n");
                    1
                }
                _ => 0,
            },
            "printenv" => {
                if args.is_empty() {
                    let all: String = ctx.env.iter().map(|(k, v)| format!("{k}={v}\n")).collect();
                    ctx.emit(&out, &all);
                    0
                } else {
                    let mut code = 0;
                    for name in args {
                        match ctx.getenv(name).map(str::to_string) {
                            Some(v) => ctx.emit(&out, &format!("{v}\n")),
                            None => code = 1,
                        }
                    }
                    code
                }
            }
            "pwd" => {
                let dir = ctx.working_dir.clone().unwrap_or_else(|| "/".into());
                ctx.emit(&out, &format!("{dir}\n"));
                0
            }
            "whoami" => {
                let user = ctx.user.clone().unwrap_or_else(|| "root".into());
                ctx.emit(&out, &format!("{user}\n"));
                0
            }
            "tmux" => 0,
            n if is_shell(n) => match args.iter().position(|a| a == "-c") {
                Some(pos) => {
                    let script = args.get(pos + 1).cloned().unwrap_or_default();
                    run_script(ctx, &script).await.code()
                }
                None => 0,
            },
            _ if ctx.main => {
                // An unknown program in a container's main process is a daemon.
                futures::future::pending::<()>().await;
                0
            }
            _ => {
                ctx.emit(&err, &format!("sh: {program}: not found\n"));
                127
            }
        };
        Flow::Continue(code)
    })
}

/// A redirection word: `>`, `>>`, `1>`, `2>`, `2>>`, each with its target attached
/// (`>/tmp/f`, `2>&1`) or not (the next word is the target). Returns the file descriptor, whether
/// it appends, and the attached target (empty when it is the next word).
fn redirection(word: &str) -> Option<(u8, bool, &str)> {
    let (fd, rest) = match word.strip_prefix('2') {
        Some(rest) if rest.starts_with('>') => (2, rest),
        _ => (
            1,
            word.strip_prefix('1')
                .filter(|r| r.starts_with('>'))
                .unwrap_or(word),
        ),
    };
    let rest = rest.strip_prefix('>')?;
    match rest.strip_prefix('>') {
        Some(target) => Some((fd, true, target)),
        None => Some((fd, false, rest)),
    }
}

#[cfg(test)]
mod tests {
    use super::redirection;

    #[test]
    fn redirections_name_their_descriptor_mode_and_target() {
        assert_eq!(redirection(">"), Some((1, false, "")));
        assert_eq!(redirection(">>"), Some((1, true, "")));
        assert_eq!(redirection(">/tmp/f"), Some((1, false, "/tmp/f")));
        assert_eq!(redirection("1>>/tmp/f"), Some((1, true, "/tmp/f")));
        assert_eq!(redirection("2>/dev/null"), Some((2, false, "/dev/null")));
        assert_eq!(redirection("2>&1"), Some((2, false, "&1")));
        assert_eq!(redirection(">&2"), Some((1, false, "&2")));
        assert_eq!(redirection("2"), None);
        assert_eq!(redirection("a>b"), None);
        assert_eq!(redirection("echo"), None);
    }
}
