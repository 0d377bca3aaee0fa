//! What an exec asks for, and the rules it must pass (each failure names its field).

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;

use crate::error::{Error, Result};
use crate::validate;

/// Most arguments a command may have (the program included).
pub const EXEC_MAX_ARGS: usize = 4096;
/// Most bytes a command's arguments may add up to.
pub const EXEC_MAX_ARGV_BYTES: usize = 256 * 1024;
/// Most environment variables a command may be given.
pub const EXEC_MAX_ENV: usize = 256;
/// Longest working directory, in bytes.
pub const EXEC_MAX_WORKDIR_BYTES: usize = 4096;
/// Most bytes of stdin a one-shot command may be given.
pub const EXEC_MAX_STDIN_BYTES: usize = 16 * 1024 * 1024;

/// A command to run in an environment.
///
/// ```
/// # use std::time::Duration;
/// # use vibebox_core::service::ExecRequest;
/// let request = ExecRequest::new(["cat"])
///     .with_stdin("hello")
///     .with_timeout(Duration::from_secs(5));
/// # let _ = request;
/// ```
#[derive(Clone, Default, PartialEq, Eq)]
pub struct ExecRequest {
    /// The program and its arguments (argv, not a shell line).
    pub command: Vec<String>,
    /// Variables added to the environment's own (keys as for environment variables).
    pub env: BTreeMap<String, String>,
    /// The working directory, an absolute path (default: the image's).
    pub workdir: Option<String>,
    /// Bytes written to the process's stdin, which is then closed (one-shot form only; the
    /// streaming form has a writer). Without it the process gets no stdin.
    pub stdin: Option<Bytes>,
    /// How long the process may run before it is killed. One-shot: default
    /// [`Config::exec_default_timeout`](crate::Config::exec_default_timeout); streaming: no
    /// limit unless given. At most [`Config::exec_max_timeout`](crate::Config::exec_max_timeout).
    pub timeout: Option<Duration>,
}

impl ExecRequest {
    /// A request to run `command` (program first) with everything else by default.
    pub fn new<S: Into<String>>(command: impl IntoIterator<Item = S>) -> Self {
        Self {
            command: command.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }

    /// Sets the bytes written to stdin.
    pub fn with_stdin(mut self, stdin: impl Into<Bytes>) -> Self {
        self.stdin = Some(stdin.into());
        self
    }

    /// Sets the timeout.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Adds a variable.
    pub fn with_env(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Sets the working directory.
    pub fn with_workdir(mut self, workdir: impl Into<String>) -> Self {
        self.workdir = Some(workdir.into());
        self
    }

    /// The program's base name, as the audit log records it.
    pub(super) fn program(&self) -> &str {
        let program = self.command.first().map(String::as_str).unwrap_or("");
        program.rsplit('/').next().unwrap_or(program)
    }
}

/// Arguments, variable values and stdin may hold secrets: only their shape is shown.
impl std::fmt::Debug for ExecRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExecRequest")
            .field("program", &self.program())
            .field("args", &self.command.len().saturating_sub(1))
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("workdir", &self.workdir)
            .field("stdin_bytes", &self.stdin.as_ref().map(Bytes::len))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The rules of an exec request, each failure naming its field.
pub(super) fn check_request(request: &ExecRequest, max_timeout: Duration) -> Result<()> {
    check_command(&request.command)?;
    check_env(&request.env)?;
    if let Some(dir) = &request.workdir {
        check_workdir(dir)?;
    }
    if let Some(stdin) = &request.stdin
        && stdin.len() > EXEC_MAX_STDIN_BYTES
    {
        return Err(Error::invalid(
            "stdin",
            format!("must be at most {EXEC_MAX_STDIN_BYTES} bytes"),
        ));
    }
    if let Some(timeout) = request.timeout {
        if timeout.is_zero() {
            return Err(Error::invalid("timeout", "must be more than zero"));
        }
        if timeout > max_timeout {
            return Err(Error::invalid(
                "timeout",
                format!("must be at most {} s", max_timeout.as_secs()),
            ));
        }
    }
    Ok(())
}

/// Arguments are never echoed in a reason: they may hold secrets.
fn check_command(command: &[String]) -> Result<()> {
    let Some(program) = command.first() else {
        return Err(Error::invalid("command", "must not be empty"));
    };
    if program.is_empty() {
        return Err(Error::invalid("command", "the program must not be empty"));
    }
    if command.len() > EXEC_MAX_ARGS {
        return Err(Error::invalid(
            "command",
            format!("must have at most {EXEC_MAX_ARGS} arguments"),
        ));
    }
    if let Some(i) = command.iter().position(|a| a.contains('\0')) {
        return Err(Error::invalid(
            "command",
            format!("argument {i} contains a NUL byte"),
        ));
    }
    let total: usize = command.iter().map(|a| a.len() + 1).sum();
    if total > EXEC_MAX_ARGV_BYTES {
        return Err(Error::invalid(
            "command",
            format!("must add up to at most {EXEC_MAX_ARGV_BYTES} bytes"),
        ));
    }
    Ok(())
}

/// Keys follow the environment-variable rule; values are never echoed.
fn check_env(env: &BTreeMap<String, String>) -> Result<()> {
    if env.len() > EXEC_MAX_ENV {
        return Err(Error::invalid(
            "env",
            format!("must have at most {EXEC_MAX_ENV} variables"),
        ));
    }
    for (key, value) in env {
        if key.contains('\0') {
            return Err(Error::invalid("env", "a key contains a NUL byte"));
        }
        if let Err(e) = validate::variable_key(key) {
            let reason = match e {
                Error::InvalidInput { reason, .. } => reason,
                other => other.to_string().into(),
            };
            return Err(Error::invalid("env", format!("key {key:?}: {reason}")));
        }
        if value.contains('\0') {
            return Err(Error::invalid(
                "env",
                format!("the value of {key} contains a NUL byte"),
            ));
        }
        if value.len() > validate::VARIABLE_VALUE_MAX {
            return Err(Error::invalid(
                "env",
                format!(
                    "the value of {key} must be at most {} bytes",
                    validate::VARIABLE_VALUE_MAX
                ),
            ));
        }
    }
    Ok(())
}

fn check_workdir(dir: &str) -> Result<()> {
    if dir.contains('\0') {
        return Err(Error::invalid("workdir", "must not contain a NUL byte"));
    }
    if !dir.starts_with('/') {
        return Err(Error::invalid("workdir", "must be an absolute path"));
    }
    if dir.len() > EXEC_MAX_WORKDIR_BYTES {
        return Err(Error::invalid(
            "workdir",
            format!("must be at most {EXEC_MAX_WORKDIR_BYTES} bytes"),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const HOUR: Duration = Duration::from_secs(3600);

    fn field(request: &ExecRequest) -> Option<String> {
        check_request(request, HOUR)
            .err()
            .and_then(|e| e.field().map(str::to_string))
    }

    #[test]
    fn a_plain_command_passes() {
        assert_eq!(field(&ExecRequest::new(["ls", "-l", "/"])), None);
    }

    #[test]
    fn each_rule_names_its_field() {
        let cases = [
            (ExecRequest::new(Vec::<String>::new()), "command"),
            (ExecRequest::new([""]), "command"),
            (ExecRequest::new(["echo", "a\0b"]), "command"),
            (ExecRequest::new(vec!["x"; EXEC_MAX_ARGS + 1]), "command"),
            (
                ExecRequest::new(["echo".to_string(), "x".repeat(EXEC_MAX_ARGV_BYTES)]),
                "command",
            ),
            (ExecRequest::new(["env"]).with_env("lower", "v"), "env"),
            (ExecRequest::new(["env"]).with_env("A\0", "v"), "env"),
            (ExecRequest::new(["env"]).with_env("A", "v\0"), "env"),
            (ExecRequest::new(["pwd"]).with_workdir("tmp"), "workdir"),
            (ExecRequest::new(["pwd"]).with_workdir("/t\0"), "workdir"),
            (
                ExecRequest::new(["true"]).with_timeout(Duration::ZERO),
                "timeout",
            ),
            (
                ExecRequest::new(["true"]).with_timeout(HOUR + Duration::from_secs(1)),
                "timeout",
            ),
            (
                ExecRequest::new(["cat"]).with_stdin(vec![0u8; EXEC_MAX_STDIN_BYTES + 1]),
                "stdin",
            ),
        ];
        for (request, expected) in cases {
            assert_eq!(field(&request).as_deref(), Some(expected), "{request:?}");
        }
    }

    #[test]
    fn reasons_never_echo_arguments_or_values() {
        let e = check_request(&ExecRequest::new(["echo", "canary-arg\0"]), HOUR).err();
        assert!(e.is_some_and(|e| !e.to_string().contains("canary-arg")));
        let e = check_request(
            &ExecRequest::new(["env"]).with_env("K", "canary-value\0"),
            HOUR,
        )
        .err();
        assert!(e.is_some_and(|e| !e.to_string().contains("canary-value")));
    }

    #[test]
    fn the_audited_program_is_the_base_name_and_debug_hides_arguments() {
        let r = ExecRequest::new(["/usr/bin/env", "SECRET=canary"]).with_stdin("canary-in");
        assert_eq!(r.program(), "env");
        let shown = format!("{r:?}");
        assert!(!shown.contains("canary"), "{shown}");
    }
}
