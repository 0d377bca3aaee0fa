//! `POST /environments/{id}/exec`: runs a command to its end and answers its exit code and
//! output. The streaming form is the WebSocket `/ws/environments/{id}/exec`.

use std::collections::BTreeMap;
use std::time::Duration;

use axum::Json;
use axum::extract::State;
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use vibebox_core::error::Error;
use vibebox_core::id::EnvironmentId;
use vibebox_core::service::{ExecRequest, ExecResult};

use crate::auth::Caller;
use crate::extract::ApiPath;
use crate::json::ApiJson;
use crate::openapi::{Authenticated, Forbidden, JsonBody, NotFound};
use crate::problem::{ApiError, Problem};
use crate::state::AppState;

/// How `stdout` and `stderr` are written in the answer.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutputEncoding {
    /// UTF-8 text; invalid sequences become U+FFFD.
    #[default]
    Utf8,
    /// Standard base64 of the exact bytes.
    Base64,
}

/// A command to run.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct ExecBody {
    /// The program and its arguments (argv: no shell is involved; run `["sh", "-c", "…"]`
    /// for one). At most 4096 arguments and 256 KiB in all, no NUL byte.
    #[schema(min_items = 1, max_items = 4096)]
    pub command: Vec<String>,
    /// Variables added to the environment's own; keys match `^[A-Z_][A-Z0-9_]*$`.
    #[serde(default)]
    pub env: BTreeMap<String, String>,
    /// The working directory, an absolute path.
    pub workdir: Option<String>,
    /// Text written to the command's stdin, which is then closed. Without it the command
    /// gets no stdin.
    pub stdin: Option<String>,
    /// Seconds the command may run before it is killed (default 60, at most the server's
    /// maximum, 3600 by default).
    #[schema(exclusive_minimum = 0)]
    pub timeout_seconds: Option<f64>,
    /// How `stdout` and `stderr` are written in the answer (default `utf8`).
    #[serde(default)]
    pub output_encoding: OutputEncoding,
}

/// What the command did.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct ExecResponse {
    /// Its exit code; `null` if the engine reported none (a command killed on timeout).
    pub exit_code: Option<i64>,
    /// Its stdout (up to 1 MiB by default), as `output_encoding` asked.
    pub stdout: String,
    /// Its stderr (up to 1 MiB by default), as `output_encoding` asked.
    pub stderr: String,
    /// Whether stdout went past the cap.
    pub stdout_truncated: bool,
    /// Whether stderr went past the cap.
    pub stderr_truncated: bool,
    /// Whether the command ran out of time and was killed.
    pub timed_out: bool,
    /// How long it ran, in milliseconds.
    pub duration_ms: u64,
}

impl ExecBody {
    /// The service's request. Core checks every value, the timeout included, after the
    /// caller's access, so a stranger learns nothing from a refusal.
    fn into_request(self) -> (ExecRequest, OutputEncoding) {
        let request = ExecRequest {
            command: self.command,
            env: self.env,
            workdir: self.workdir,
            stdin: self.stdin.map(Into::into),
            timeout: timeout_from_seconds(self.timeout_seconds),
        };
        (request, self.output_encoding)
    }
}

/// A timeout in seconds as a duration for core, which checks it: zero or less becomes zero
/// and a value too large for a duration the longest one, both refused there.
pub(crate) fn timeout_from_seconds(seconds: Option<f64>) -> Option<Duration> {
    seconds.map(|s| {
        if s > 0.0 {
            Duration::try_from_secs_f64(s).unwrap_or(Duration::MAX)
        } else {
            Duration::ZERO
        }
    })
}

/// Core names the request's `timeout`; bodies and frames call it `timeout_seconds`.
pub(crate) fn body_field(e: Error) -> Error {
    match e {
        Error::InvalidInput { field, reason } if field == "timeout" => {
            Error::invalid("timeout_seconds", reason)
        }
        other => other,
    }
}

fn encode(bytes: &[u8], encoding: OutputEncoding) -> String {
    match encoding {
        OutputEncoding::Utf8 => String::from_utf8_lossy(bytes).into_owned(),
        OutputEncoding::Base64 => base64::engine::general_purpose::STANDARD.encode(bytes),
    }
}

impl ExecResponse {
    fn new(result: ExecResult, encoding: OutputEncoding) -> Self {
        Self {
            exit_code: result.exit_code,
            stdout: encode(&result.stdout, encoding),
            stderr: encode(&result.stderr, encoding),
            stdout_truncated: result.stdout_truncated,
            stderr_truncated: result.stderr_truncated,
            timed_out: result.timed_out,
            duration_ms: u64::try_from(result.duration.as_millis()).unwrap_or(u64::MAX),
        }
    }
}

/// Runs a command in a running environment to its end. A command that runs out of time is
/// killed and answered with `timed_out: true`. The audit log records the program's name
/// only, never its arguments or stdin.
#[utoipa::path(
    post,
    path = "/environments/{id}/exec",
    tag = "environments",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
    ),
    request_body(content = ExecBody, content_type = "application/json"),
    responses(
        (status = 200, description = "The command ran (whatever its exit code) or timed out", body = ExecResponse),
        (status = 409, description = "The environment is not running", body = Problem, content_type = "application/problem+json"),
        Forbidden, NotFound, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn exec(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiJson(body): ApiJson<ExecBody>,
) -> Result<Json<ExecResponse>, ApiError> {
    let (request, encoding) = body.into_request();
    let result = s
        .vibebox
        .exec(&actor, id, request)
        .await
        .map_err(body_field)?;
    Ok(Json(ExecResponse::new(result, encoding)))
}
