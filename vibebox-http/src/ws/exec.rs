//! `/ws/environments/{id}/exec`: one command's stdin, stdout and stderr over a WebSocket, the
//! streaming form of `POST /environments/{id}/exec`.
//!
//! Authentication, tickets, the `vibebox.v1` subprotocol, the Origin check and revocation are
//! those of every socket. The upgrade itself is refused with a problem (404, 403, 409) when
//! the caller may not run commands in the environment or it is not running. Then:
//!
//! 1. The client's first frame is text:
//!    `{"type":"start","command":["…"],"env":{"K":"v"}?,"workdir":"/…"?,"tty":{"cols":80,"rows":24}?,"timeout_seconds":N?}`
//!    (`command` is argv; no shell is involved). Without it within 30 s the socket ends.
//! 2. Client binary frames are stdin bytes; text `{"type":"eof"}` closes stdin,
//!    `{"type":"resize","cols":…,"rows":…}` resizes the terminal (with `tty` only) and
//!    `{"type":"kill"}` kills the process.
//! 3. Server binary frames are one byte naming the stream (1 = stdout, 2 = stderr; with a
//!    `tty` everything is stdout) followed by the data.
//! 4. When the process ends the server sends `{"type":"exit","exit_code":N,"timed_out":false}`
//!    and closes normally (1000).
//!
//! Errors are `{"type":"error","code":"invalid_input","message":"…","field":"command"}`
//! (`field` when one is named). A refused start frame ends the socket (close 1008), as does a
//! failure of the output (1011); a bad control frame is answered and the socket goes on.
//! When the client leaves, a process that still runs is killed. Stdin is written in order:
//! while a write waits for the process to read, later frames wait too.

use std::time::Duration;

use axum::extract::State;
use axum::extract::ws::Message;
use axum::response::{IntoResponse, Response};
use bytes::{BufMut, Bytes, BytesMut};
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::json;
use tokio::io::AsyncWriteExt;
use vibebox_core::domain::LogStream;
use vibebox_core::error::Error;
use vibebox_core::id::EnvironmentId;
use vibebox_core::rbac::Actor;
use vibebox_core::runtime::{ExecOutput, TerminalSize};
use vibebox_core::service::{ExecRequest, ExecStdin, ExecStream};

use super::revoked::AccessWatch;
use super::{Close, Socket, Upgrade, WsCaller, error_frame, upgrade};
use crate::extract::ApiPath;
use crate::openapi::{Authenticated, Conflict, NotFound, WebSocketErrors};
use crate::problem::ApiError;
use crate::routes::exec::{body_field, timeout_from_seconds};
use crate::state::AppState;

/// How long the client has to send its start frame.
const START_WAIT: Duration = Duration::from_secs(30);
/// The first byte of a binary frame of stdout.
pub const STDOUT_TAG: u8 = 1;
/// The first byte of a binary frame of stderr.
pub const STDERR_TAG: u8 = 2;

/// A text frame from the client.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientFrame {
    Start(Start),
    Eof,
    Resize { cols: u16, rows: u16 },
    Kill,
}

/// The start frame.
#[derive(Debug, Deserialize)]
struct Start {
    command: Vec<String>,
    #[serde(default)]
    env: std::collections::BTreeMap<String, String>,
    workdir: Option<String>,
    tty: Option<TerminalSize>,
    timeout_seconds: Option<f64>,
}

/// Runs a command in a running environment over a WebSocket: stdin in, stdout and stderr
/// out, then its exit code.
///
/// The client's first frame is text: `{"type":"start","command":["…"],"env":{…}?,
/// "workdir":"/…"?,"tty":{"cols":80,"rows":24}?,"timeout_seconds":N?}`. Then client binary
/// frames are stdin bytes; text `{"type":"eof"}` closes stdin, `{"type":"resize","cols","rows"}`
/// resizes (with `tty` only), `{"type":"kill"}` kills. Server binary frames are one byte
/// naming the stream (1 = stdout, 2 = stderr) followed by the data; at the end the server
/// sends `{"type":"exit","exit_code":N,"timed_out":bool}` and closes normally. Errors are
/// `{"type":"error","code","message","field"?}`; a refused start frame closes the socket
/// with 1008. The audit log records the program's name only.
#[utoipa::path(
    get,
    path = "/ws/environments/{id}/exec",
    tag = "websockets",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        ("ticket" = Option<String>, Query, description = "A one-time ticket from `POST /ws-tickets`, instead of the `bearer.<token>` subprotocol"),
    ),
    responses(
        (status = 101, description = "Switching to the `vibebox.v1` WebSocket protocol: a start frame, then stdin in binary frames and stdout/stderr in tagged binary frames, then an exit frame"),
        NotFound, Conflict, WebSocketErrors, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn exec(
    State(s): State<AppState>,
    WsCaller(actor): WsCaller,
    ApiPath(id): ApiPath<EnvironmentId>,
    Upgrade(ws): Upgrade,
) -> Response {
    if let Err(e) = s.vibebox.authorize_exec(&actor, id).await {
        return ApiError(e).into_response();
    }
    let watch = AccessWatch::new(&s, &actor);
    upgrade(s, ws, move |socket, s| bridge(socket, s, actor, id, watch))
}

async fn bridge(
    mut socket: Socket,
    s: AppState,
    actor: Actor,
    id: EnvironmentId,
    watch: AccessWatch,
) {
    let access_ended = watch.ended(&s);
    tokio::pin!(access_ended);
    let start = tokio::select! {
        close = &mut access_ended => {
            socket.close_now(close);
            return;
        }
        start = tokio::time::timeout(START_WAIT, next_start(&mut socket)) => start,
    };
    let start = match start {
        Ok(Ok(Some(start))) => start,
        // The client left.
        Ok(Ok(None)) => return,
        Ok(Err(e)) => return refuse(&socket, &e).await,
        Err(_) => {
            let e = Error::invalid("type", "no start frame came within 30 s");
            return refuse(&socket, &e).await;
        }
    };
    let request = ExecRequest {
        command: start.command,
        env: start.env,
        workdir: start.workdir,
        stdin: None,
        timeout: timeout_from_seconds(start.timeout_seconds),
    };
    let stream = match s.vibebox.exec_stream(&actor, id, request, start.tty).await {
        Ok(stream) => stream,
        Err(e) => return refuse(&socket, &body_field(e)).await,
    };
    run(&mut socket, stream, access_ended).await;
}

/// Reads frames until the start frame. `Ok(None)`: the client left.
async fn next_start(socket: &mut Socket) -> Result<Option<Start>, Error> {
    loop {
        match socket.recv().await {
            Some(Ok(Message::Text(text))) => {
                return match serde_json::from_str::<ClientFrame>(&text) {
                    Ok(ClientFrame::Start(start)) => Ok(Some(start)),
                    Ok(_) => Err(Error::invalid(
                        "type",
                        "the first frame must be {\"type\":\"start\",…}",
                    )),
                    Err(e) => Err(frame_error(&e)),
                };
            }
            Some(Ok(Message::Binary(_))) => {
                return Err(Error::invalid(
                    "type",
                    "the first frame must be {\"type\":\"start\",…}",
                ));
            }
            Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return Ok(None),
            Some(Ok(_)) => {}
        }
    }
}

/// Bridges the running command and the socket until one of them ends.
async fn run(
    socket: &mut Socket,
    stream: ExecStream,
    mut access_ended: std::pin::Pin<&mut impl std::future::Future<Output = Close>>,
) {
    let ExecStream {
        mut output,
        stdin,
        control,
    } = stream;
    // `None` while a write is under way.
    let mut stdin: Option<ExecStdin> = Some(stdin);
    let mut stdin_open = true;
    let mut writing: Option<BoxFuture<'static, (ExecStdin, std::io::Result<()>)>> = None;
    // Closed (a shutdown, a slow consumer) while a stdin write keeps `recv` from being polled.
    let ended = socket.ended();
    loop {
        tokio::select! {
            () = ended.cancelled() => break,
            close = &mut access_ended => {
                socket.close_now(close);
                break;
            }
            // A client that does not read holds this up for at most the socket's write
            // timeout: the process waits, as it would on a full pipe.
            chunk = output.next() => match chunk {
                Some(Ok(chunk)) => {
                    if socket.send(Message::Binary(frame(&chunk))).await.is_err() {
                        break;
                    }
                }
                Some(Err(e)) => {
                    let _ = socket.send_json(&error_frame(&e)).await;
                    socket.close(Close::new(1011, "the command's output failed"));
                    break;
                }
                None => {
                    match control.wait().await {
                        Ok(exit) => {
                            let msg = json!({"type": "exit", "exit_code": exit.exit_code, "timed_out": exit.timed_out});
                            let _ = socket.send_json(&msg).await;
                        }
                        Err(e) => {
                            let _ = socket.send_json(&error_frame(&e)).await;
                        }
                    }
                    socket.close(Close::new(1000, ""));
                    break;
                }
            },
            written = super::in_flight(&mut writing), if writing.is_some() => {
                let (writer, result) = written;
                if let Err(e) = result {
                    // The process closed its stdin or ended; its output says the rest.
                    tracing::debug!(error = %e, "could not write to a command's stdin");
                    stdin_open = false;
                }
                stdin = Some(writer);
            }
            incoming = socket.recv(), if writing.is_none() => match incoming {
                Some(Ok(Message::Binary(bytes))) => match stdin.take() {
                    Some(mut writer) if stdin_open => {
                        writing = Some(Box::pin(async move {
                            let result = write(&mut writer, &bytes).await;
                            (writer, result)
                        }));
                    }
                    other => {
                        stdin = other;
                        let e = Error::invalid("stdin", "stdin is closed");
                        if socket.send_json(&error_frame(&e)).await.is_err() {
                            break;
                        }
                    }
                },
                Some(Ok(Message::Text(text))) => {
                    let result = match serde_json::from_str::<ClientFrame>(&text) {
                        Ok(ClientFrame::Eof) => {
                            if let (Some(writer), true) = (stdin.as_mut(), stdin_open) {
                                stdin_open = false;
                                if let Err(e) = writer.shutdown().await {
                                    tracing::debug!(error = %e, "could not close a command's stdin");
                                }
                            }
                            Ok(())
                        }
                        Ok(ClientFrame::Resize { cols, rows }) => {
                            control.resize(TerminalSize { cols, rows }).await
                        }
                        Ok(ClientFrame::Kill) => control.kill().await,
                        Ok(ClientFrame::Start(_)) => {
                            Err(Error::invalid("type", "the command has already started"))
                        }
                        Err(e) => Err(frame_error(&e)),
                    };
                    if let Err(e) = result
                        && socket.send_json(&error_frame(&e)).await.is_err()
                    {
                        break;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    // The parts drop here: a command that still runs is killed.
}

async fn write(writer: &mut ExecStdin, bytes: &[u8]) -> std::io::Result<()> {
    writer.write_all(bytes).await?;
    writer.flush().await
}

/// A binary frame of output: the stream's tag, then the bytes.
fn frame(chunk: &ExecOutput) -> Bytes {
    let mut frame = BytesMut::with_capacity(chunk.data.len() + 1);
    frame.put_u8(match chunk.stream {
        LogStream::Stdout => STDOUT_TAG,
        LogStream::Stderr => STDERR_TAG,
    });
    frame.extend_from_slice(&chunk.data);
    frame.freeze()
}

/// A text frame that is not one of the protocol's.
fn frame_error(e: &serde_json::Error) -> Error {
    Error::invalid(
        "type",
        format!("expected a frame of type start, eof, resize or kill: {e}"),
    )
}

/// Answers a start that cannot go ahead and closes with 1008.
async fn refuse(socket: &Socket, e: &Error) {
    let _ = socket.send_json(&error_frame(e)).await;
    socket.close(Close::new(1008, "the command was refused"));
}
