//! `/ws/environments/{id}/terminal?session=NAME[&cols=&rows=]`: binary frames carry terminal
//! bytes both ways; JSON text frames carry control: `{"type":"resize","cols","rows"}` and
//! `{"type":"input","data"}` from the client, `{"type":"exit","code"}` and
//! `{"type":"error","message"}` from the server. When the client leaves, the terminal's
//! process is killed; a tmux session stays, and the next terminal on it resumes it.
//!
//! The terminal's output is read as it comes, never held up by the client nor by keystrokes
//! waiting for the process to read them: a client that falls
//! [`SOCKET_QUEUE_BYTES`](crate::SOCKET_QUEUE_BYTES) behind (beyond what the network buffers
//! hold) is closed with 1008 `slow consumer` at once (a tmux session resumes on reconnect).

use axum::extract::State;
use axum::extract::ws::Message;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use futures::StreamExt;
use futures::future::BoxFuture;
use serde::Deserialize;
use serde_json::json;
use vibebox_core::error::{Error, Result};
use vibebox_core::id::EnvironmentId;
use vibebox_core::runtime::TerminalSize;
use vibebox_core::service::{Terminal, TerminalInput};

use super::revoked::AccessWatch;
use super::{SLOW_CONSUMER, Socket, TrySendError, Upgrade, WsCaller, error_frame, upgrade};
use crate::extract::{ApiPath, ApiQuery};
use crate::openapi::{Authenticated, Conflict, Invalid, NotFound, WebSocketErrors};
use crate::problem::ApiError;
use crate::state::AppState;

/// `?session=&cols=&rows=`.
#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct TerminalQuery {
    /// The session's name (default `main`, the default tmux session).
    #[serde(default = "main_session")]
    pub session: String,
    /// Initial columns (default 80).
    #[param(minimum = 0, maximum = 65535)]
    pub cols: Option<u16>,
    /// Initial rows (default 24).
    #[param(minimum = 0, maximum = 65535)]
    pub rows: Option<u16>,
}

fn main_session() -> String {
    "main".to_string()
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Control {
    Resize { cols: u16, rows: u16 },
    Input { data: String },
}

/// Upgrades to a terminal on a live session of a running environment.
#[utoipa::path(
    get,
    path = "/ws/environments/{id}/terminal",
    tag = "websockets",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        TerminalQuery,
        ("ticket" = Option<String>, Query, description = "A one-time ticket from `POST /ws-tickets`, instead of the `bearer.<token>` subprotocol"),
    ),
    responses(
        (status = 101, description = "Switching to the `vibebox.v1` WebSocket protocol: terminal bytes in binary frames, control in JSON text frames"),
        NotFound, Conflict, Invalid, WebSocketErrors, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn terminal(
    State(s): State<AppState>,
    WsCaller(actor): WsCaller,
    ApiPath(id): ApiPath<EnvironmentId>,
    ApiQuery(q): ApiQuery<TerminalQuery>,
    Upgrade(ws): Upgrade,
) -> Response {
    let size = TerminalSize {
        cols: q.cols.unwrap_or(80),
        rows: q.rows.unwrap_or(24),
    };
    let terminal = match s.vibebox.open_terminal(&actor, id, &q.session, size).await {
        Ok(t) => t,
        Err(e) => return ApiError(e).into_response(),
    };
    let watch = AccessWatch::new(&s, &actor);
    upgrade(s, ws, move |socket, s| bridge(socket, s, watch, terminal))
}

async fn bridge(mut socket: Socket, s: AppState, watch: AccessWatch, terminal: Terminal) {
    let Terminal {
        mut output,
        input,
        control,
        ..
    } = terminal;
    let access_ended = watch.ended(&s);
    tokio::pin!(access_ended);
    // `None` while a write of keystrokes is under way: the output is read meanwhile, and the
    // client's next frames wait (a process that does not read its input holds up the client's,
    // never the output).
    let mut input = Some(input);
    let mut writing: Option<BoxFuture<'static, (TerminalInput, Result<()>)>> = None;
    // Closed (a shutdown, a slow consumer) while a write keeps `recv` from being polled.
    let ended = socket.ended();
    loop {
        tokio::select! {
            () = ended.cancelled() => break,
            close = &mut access_ended => {
                socket.close_now(close);
                break;
            }
            chunk = output.next() => match chunk {
                Some(Ok(bytes)) => match socket.try_send(Message::Binary(bytes)) {
                    Ok(()) => {}
                    Err(TrySendError::Full) => {
                        socket.close_now(SLOW_CONSUMER);
                        break;
                    }
                    Err(TrySendError::Gone) => break,
                },
                Some(Err(e)) => {
                    let _ = socket.send_json(&error_frame(&e)).await;
                    break;
                }
                None => {
                    let code = control.exit_code().await.ok().flatten();
                    let _ = socket.send_json(&json!({"type": "exit", "code": code})).await;
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            },
            written = super::in_flight(&mut writing), if writing.is_some() => {
                let (writer, result) = written;
                if let Err(e) = result {
                    let _ = socket.send_json(&error_frame(&e)).await;
                    break;
                }
                input = Some(writer);
            }
            incoming = socket.recv(), if writing.is_none() => match incoming {
                Some(Ok(Message::Binary(bytes))) => writing = write(&mut input, bytes),
                Some(Ok(Message::Text(text))) => {
                    let result = match serde_json::from_str::<Control>(&text) {
                        Ok(Control::Resize { cols, rows }) => control.resize(TerminalSize { cols, rows }).await,
                        Ok(Control::Input { data }) => {
                            writing = write(&mut input, data.into());
                            Ok(())
                        }
                        Err(_) => Err(Error::invalid("type", "expected resize or input")),
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
    // The client left (or the process ended): kill the terminal's process; for tmux only the
    // client, so the session can be resumed.
    control.close().await;
}

/// Writes keystrokes in a future of their own, which hands the input back when done.
fn write(
    input: &mut Option<TerminalInput>,
    data: Bytes,
) -> Option<BoxFuture<'static, (TerminalInput, Result<()>)>> {
    let mut writer = input.take()?;
    Some(Box::pin(async move {
        let result = writer.write(&data).await;
        (writer, result)
    }))
}
