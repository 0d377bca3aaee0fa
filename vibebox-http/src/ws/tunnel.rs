//! `/ws/environments/{id}/ports/{port}/tunnel`: a TCP tunnel to any port inside a running
//! environment ([`Vibebox::connect_port`](vibebox_core::Vibebox::connect_port)). Binary
//! frames carry the connection's bytes both ways. The one text frame is the client's
//! end of input, `{"type":"eof"}` (a half-close): the server shuts down the connection's write
//! side and keeps relaying what the app sends until the app closes; binary frames after it are
//! a protocol error (1002). Other text frames are ignored. The socket closes normally (1000)
//! when the app closes the connection; when the client closes the socket, the connection
//! inside is closed (both directions). A port nothing listens on is refused before the
//! upgrade (409), like a stopped environment.

use axum::extract::State;
use axum::extract::ws::Message;
use axum::response::{IntoResponse, Response};
use bytes::BytesMut;
use serde::Deserialize;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vibebox_core::id::EnvironmentId;
use vibebox_core::service::PortStream;

use super::revoked::AccessWatch;
use super::{Close, Socket, Upgrade, WsCaller, upgrade};
use crate::extract::ApiPath;
use crate::openapi::{Authenticated, Conflict, Invalid, NotFound, WebSocketErrors};
use crate::problem::ApiError;
use crate::state::AppState;

/// The most bytes read from the connection into one frame.
const FRAME_BYTES: usize = 64 * 1024;

/// A client's text frame.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Control {
    /// The client sends no more bytes: shut down the connection's write side.
    Eof,
}

/// Upgrades to a TCP tunnel to `port` inside the environment.
#[utoipa::path(
    get,
    path = "/ws/environments/{id}/ports/{port}/tunnel",
    tag = "websockets",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        ("port" = u16, Path, minimum = 1, maximum = 65535, description = "A TCP port inside the environment (declared or not)"),
        ("ticket" = Option<String>, Query, description = "A one-time ticket from `POST /ws-tickets`, instead of the `bearer.<token>` subprotocol"),
    ),
    responses(
        (status = 101, description = "Switching to the `vibebox.v1` WebSocket protocol: the connection's bytes in binary frames both ways. The client ends its input (a half-close) with the text frame `{\"type\":\"eof\"}`: the server then shuts down the connection's write side and keeps relaying what the app sends until the app closes, then closes the socket with 1000; binary frames after it close the socket with 1002. A close frame from the client closes the connection in both directions."),
        NotFound, Conflict, Invalid, WebSocketErrors, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn tunnel(
    State(s): State<AppState>,
    WsCaller(actor): WsCaller,
    ApiPath((id, port)): ApiPath<(EnvironmentId, u16)>,
    Upgrade(ws): Upgrade,
) -> Response {
    let stream = match s.vibebox.connect_port(&actor, id, port).await {
        Ok(stream) => stream,
        Err(e) => return ApiError(e).into_response(),
    };
    let watch = AccessWatch::new(&s, &actor);
    upgrade(s, ws, move |socket, s| bridge(socket, s, watch, stream))
}

/// 1011: the connection inside the environment failed.
const CONNECTION_FAILED: Close = Close::new(1011, "the connection failed");

async fn bridge(mut socket: Socket, s: AppState, watch: AccessWatch, stream: PortStream) {
    let (mut from_app, mut to_app) = tokio::io::split(stream);
    let access_ended = watch.ended(&s);
    tokio::pin!(access_ended);
    let mut buf = BytesMut::with_capacity(FRAME_BYTES);
    // The client sent `eof`: the connection's write side is shut down.
    let mut input_ended = false;
    loop {
        tokio::select! {
            close = &mut access_ended => {
                socket.close_now(close);
                break;
            }
            // A client that does not read holds the app up (as TCP would) for at most the
            // socket's write timeout.
            read = from_app.read_buf(&mut buf) => match read {
                Ok(0) => {
                    socket.close(Close::new(1000, "the connection closed"));
                    break;
                }
                Ok(_) => {
                    let frame = buf.split().freeze();
                    if socket.send(Message::Binary(frame)).await.is_err() {
                        break;
                    }
                    buf.reserve(FRAME_BYTES);
                }
                Err(e) => {
                    tracing::debug!(error = %e, "tunnel read failed");
                    socket.close(CONNECTION_FAILED);
                    break;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Binary(_))) if input_ended => {
                    socket.close(Close::new(1002, "bytes after eof"));
                    break;
                }
                Some(Ok(Message::Binary(bytes))) => {
                    if to_app.write_all(&bytes).await.is_err() {
                        socket.close(CONNECTION_FAILED);
                        break;
                    }
                }
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<Control>(&text) {
                    Ok(Control::Eof) if !input_ended => {
                        input_ended = true;
                        if let Err(e) = to_app.shutdown().await {
                            tracing::debug!(error = %e, "tunnel half-close failed");
                            socket.close(CONNECTION_FAILED);
                            break;
                        }
                    }
                    Ok(Control::Eof) => {}
                    Err(e) => tracing::debug!(error = %e, "tunnel text frame ignored"),
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => break,
                Some(Ok(_)) => {}
            },
        }
    }
    if !input_ended {
        let _ = to_app.shutdown().await;
    }
}
