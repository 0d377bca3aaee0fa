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
        f.debug_struct("ExecRequest")
            .field("program", &self.command.first())
            .field("args", &self.command.len().saturating_sub(1))
            .field("env", &self.env.keys().collect::<Vec<_>>())
            .field("workdir", &self.workdir)
            .field("stdin", &self.stdin.as_ref().map(String::len))
            .field("timeout", &self.timeout)
            .finish()
    }
}

fn seconds<S: serde::Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
    match d {
        Some(d) => s.serialize_f64(d.as_secs_f64()),
        None => s.serialize_none(),
    }
}

/// What a command did. It serializes to the JSON the server answers with its default
/// `output_encoding` (`utf8`): `stdout` and `stderr` as text (invalid UTF-8 becomes U+FFFD)
/// and `duration_ms`.
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
        use serde::ser::SerializeStruct as _;
        let mut out = s.serialize_struct("ExecOutput", 7)?;
        out.serialize_field("exit_code", &self.exit_code)?;
        out.serialize_field("stdout", &self.stdout_text())?;
        out.serialize_field("stderr", &self.stderr_text())?;
        out.serialize_field("stdout_truncated", &self.stdout_truncated)?;
        out.serialize_field("stderr_truncated", &self.stderr_truncated)?;
        out.serialize_field("timed_out", &self.timed_out)?;
        let millis = u64::try_from(self.duration.as_millis()).unwrap_or(u64::MAX);
        out.serialize_field("duration_ms", &millis)?;
        out.end()
    }
}

#[derive(Deserialize)]
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
