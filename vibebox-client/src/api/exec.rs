//! `POST /environments/{id}/exec`: a command run to its end (the streaming form is
//! [`Client::exec_socket`](crate::Client::exec_socket)).

use std::collections::BTreeMap;
use std::time::Duration;

use base64::Engine as _;
use bytes::Bytes;
use hyper::Method;
use serde::{Deserialize, Serialize};
use vibebox_core::id::EnvironmentId;

use crate::Client;
use crate::error::{ClientError, Result};
use crate::transport::Call;

/// A command to run. `Debug` shows the program and the variables' names only (arguments, values
/// and stdin may hold secrets).
#[derive(Clone, Default, Serialize)]
pub struct ExecRequest {
    /// The program and its arguments (argv, no shell: use `["sh", "-c", "…"]` for one).
    pub command: Vec<String>,
    /// Variables added to the environment's own.
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    pub env: BTreeMap<String, String>,
    /// The working directory, an absolute path.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub workdir: Option<String>,
    /// Text written to the command's stdin, which is then closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub stdin: Option<String>,
    /// How long the command may run before it is killed (the server's default 60 s).
    #[serde(
        rename = "timeout_seconds",
        skip_serializing_if = "Option::is_none",
        serialize_with = "seconds"
    )]
    pub timeout: Option<Duration>,
}

impl ExecRequest {
    /// A command with no stdin and the defaults.
    pub fn new<I, S>(command: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        Self {
            command: command.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }
}

impl std::fmt::Debug for ExecRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        debug_command(f, "ExecRequest", &self.command, &self.env)
            .field("workdir", &self.workdir)
            .field("stdin", &self.stdin.as_ref().map(String::len))
            .field("timeout", &self.timeout)
            .finish()
    }
}

/// The start of a command's `Debug` (a request, or a socket's start): the program, how many
/// arguments and the variables' names, never the arguments or values (they may hold secrets).
pub(crate) fn debug_command<'a, 'b: 'a>(
    f: &'a mut std::fmt::Formatter<'b>,
    name: &str,
    command: &[String],
    env: &BTreeMap<String, String>,
) -> std::fmt::DebugStruct<'a, 'b> {
    let mut out = f.debug_struct(name);
    out.field("program", &command.first())
        .field("args", &command.len().saturating_sub(1))
        .field("env", &env.keys().collect::<Vec<_>>());
    out
}

fn seconds<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// What a command did, with stdout and stderr as exact bytes.
///
/// It serializes to the JSON the server answers when asked for `output_encoding: base64`
/// (what this client asks for): `stdout` and `stderr` as standard base64 of the exact bytes,
/// so binary output survives a round trip through JSON; and `duration_ms`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecOutput {
    /// Its exit code; `None` if the engine reported none (killed on timeout).
    pub exit_code: Option<i64>,
    /// Its stdout, exactly (up to the server's cap).
    pub stdout: Bytes,
    /// Its stderr, exactly (up to the server's cap).
    pub stderr: Bytes,
    /// Whether stdout went past the cap.
    pub stdout_truncated: bool,
    /// Whether stderr went past the cap.
    pub stderr_truncated: bool,
    /// Whether the command ran out of time and was killed.
    pub timed_out: bool,
    /// How long it ran.
    pub duration: Duration,
}

impl ExecOutput {
    /// Stdout as text (invalid UTF-8 replaced).
    pub fn stdout_text(&self) -> String {
        String::from_utf8_lossy(&self.stdout).into_owned()
    }

    /// Stderr as text (invalid UTF-8 replaced).
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr).into_owned()
    }
}

impl Serialize for ExecOutput {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        let encode = |bytes: &Bytes| base64::engine::general_purpose::STANDARD.encode(bytes);
        ExecBody {
            exit_code: self.exit_code,
            stdout: encode(&self.stdout),
            stderr: encode(&self.stderr),
            stdout_truncated: self.stdout_truncated,
            stderr_truncated: self.stderr_truncated,
            timed_out: self.timed_out,
            duration_ms: u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX),
        }
        .serialize(s)
    }
}

/// The server's answer with `output_encoding: base64`.
#[derive(Serialize, Deserialize)]
struct ExecBody {
    exit_code: Option<i64>,
    stdout: String,
    stderr: String,
    stdout_truncated: bool,
    stderr_truncated: bool,
    timed_out: bool,
    duration_ms: u64,
}

impl Client {
    /// `POST /environments/{id}/exec`: runs a command in a running environment to its end
    /// (whatever its exit code). Errors: `Conflict` when the environment is not running;
    /// `Invalid` naming the field.
    pub async fn exec(&self, env: EnvironmentId, request: &ExecRequest) -> Result<ExecOutput> {
        let mut body = serde_json::to_value(request)
            .map_err(|e| ClientError::InvalidRequest(format!("cannot encode the command: {e}")))?;
        body["output_encoding"] = serde_json::json!("base64");
        let call = Call::api(Method::POST, format!("/environments/{env}/exec")).json(&body)?;
        let what = call.what();
        let answer: ExecBody = self.transport.json(call).await?;
        let decode = |text: &str| {
            base64::engine::general_purpose::STANDARD
                .decode(text)
                .map(Bytes::from)
                .map_err(|e| ClientError::decode(what.clone(), e))
        };
        Ok(ExecOutput {
            exit_code: answer.exit_code,
            stdout: decode(&answer.stdout)?,
            stderr: decode(&answer.stderr)?,
            stdout_truncated: answer.stdout_truncated,
            stderr_truncated: answer.stderr_truncated,
            timed_out: answer.timed_out,
            duration: Duration::from_millis(answer.duration_ms),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exec_output_serializes_binary_output_as_base64_without_loss() -> serde_json::Result<()> {
        let out = ExecOutput {
            exit_code: Some(0),
            stdout: Bytes::from_static(&[0xff, 0x00, b'a']),
            stderr: Bytes::from_static(b"warn\n"),
            stdout_truncated: false,
            stderr_truncated: true,
            timed_out: false,
            duration: Duration::from_millis(1234),
        };
        let json = serde_json::to_value(&out)?;
        assert_eq!(
            json,
            serde_json::json!({
                "exit_code": 0,
                "stdout": "/wBh",
                "stderr": "d2Fybgo=",
                "stdout_truncated": false,
                "stderr_truncated": true,
                "timed_out": false,
                "duration_ms": 1234,
            })
        );
        let read: ExecBody = serde_json::from_value(json)?;
        let stdout = base64::engine::general_purpose::STANDARD.decode(read.stdout);
        assert_eq!(stdout.ok().as_deref(), Some(&out.stdout[..]));
        Ok(())
    }
}
