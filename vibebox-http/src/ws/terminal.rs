//! `/ws/environments/{id}/terminal?session=NAME[&cols=&rows=]`: binary frames carry terminal
//! bytes both ways; JSON text frames carry control: `{"type":"resize","cols","rows"}` and
//! `{"type":"input","data"}` from the client, `{"type":"exit","code"}` and
//! `{"type":"error","message"}` from the server. When the client leaves, the terminal's
//! process is killed; a tmux session stays, and the next terminal on it resumes it.

use axum::extract::State;
use axum::extract::ws::{Message, WebSocket};
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use serde::Deserialize;
use serde_json::json;
use vibebox_core::id::EnvironmentId;
use vibebox_core::runtime::TerminalSize;
use vibebox_core::service::Terminal;

use super::revoked::AccessWatch;
use super::{PROTOCOL, Upgrade, WsCaller, send_json};
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
    ws.protocols([PROTOCOL])
        .on_upgrade(move |socket| bridge(socket, s, watch, terminal))
}

async fn bridge(mut socket: WebSocket, s: AppState, watch: AccessWatch, terminal: Terminal) {
    let Terminal {
        mut output,
        mut input,
        control,
        ..
    } = terminal;
    let access_ended = watch.ended(&s);
    tokio::pin!(access_ended);
    loop {
        tokio::select! {
            _ = s.config.shutdown.cancelled() => {
                super::close_going_away(&mut socket).await;
                break;
            }
            _ = &mut access_ended => {
                super::revoked::close_revoked(&mut socket).await;
                break;
            }
            chunk = output.next() => match chunk {
                Some(Ok(bytes)) => {
                    if socket.send(Message::Binary(bytes)).await.is_err() {
                        break;
                    }
                }
                Some(Err(e)) => {
                    let _ = send_json(&mut socket, &json!({"type": "error", "message": e.to_string()})).await;
                    break;
                }
                None => {
                    let code = control.exit_code().await.ok().flatten();
                    let _ = send_json(&mut socket, &json!({"type": "exit", "code": code})).await;
                    let _ = socket.send(Message::Close(None)).await;
                    break;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Binary(bytes))) => {
                    if input.write(&bytes).await.is_err() {
                        break;
                    }
                }
                Some(Ok(Message::Text(text))) => {
                    let result = match serde_json::from_str::<Control>(&text) {
                        Ok(Control::Resize { cols, rows }) => control.resize(TerminalSize { cols, rows }).await,
                        Ok(Control::Input { data }) => input.write(data.as_bytes()).await,
                        Err(_) => Err(vibebox_core::error::Error::invalid("type", "expected resize or input")),
                    };
                    if let Err(e) = result {
                        let msg = json!({"type": "error", "message": e.to_string()});
                        if send_json(&mut socket, &msg).await.is_err() {
                            break;
                        }
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
