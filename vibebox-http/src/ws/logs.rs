//! `/ws/environments/{id}/logs`: the last 100 stored lines on connect, then each new line live.
//! Client messages: `{"type":"filter","stream":"stdout|stderr|all"}`, `{"type":"pause"}`,
//! `{"type":"resume"}`. Lines a slow or paused client misses are never hidden: it gets
//! `{"type":"dropped","count":n}` instead, and the server's memory stays bounded (the event
//! buffer).

use std::collections::HashSet;

use axum::extract::State;
use axum::extract::ws::Message;
use axum::response::{IntoResponse, Response};
use serde::Deserialize;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::LogStream;
use vibebox_core::events::{Event, EventKind};
use vibebox_core::id::EnvironmentId;
use vibebox_core::service::LogFilter;
use vibebox_core::store::PageRequest;

use super::revoked::AccessWatch;
use super::{Socket, Upgrade, WsCaller, upgrade};
use crate::extract::ApiPath;
use crate::openapi::{Authenticated, NotFound, WebSocketErrors};
use crate::problem::ApiError;
use crate::state::AppState;

/// Lines replayed on connect.
const HISTORY: u32 = 100;

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum ClientMessage {
    Filter { stream: String },
    Pause,
    Resume,
}

/// Upgrades to the logs socket.
#[utoipa::path(
    get,
    path = "/ws/environments/{id}/logs",
    tag = "websockets",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        ("ticket" = Option<String>, Query, description = "A one-time ticket from `POST /ws-tickets`, instead of the `bearer.<token>` subprotocol"),
    ),
    responses(
        (status = 101, description = "Switching to the `vibebox.v1` WebSocket protocol: the last 100 stored lines, then live lines"),
        NotFound, WebSocketErrors, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn logs(
    State(s): State<AppState>,
    WsCaller(actor): WsCaller,
    ApiPath(id): ApiPath<EnvironmentId>,
    Upgrade(ws): Upgrade,
) -> Response {
    // Subscribe first, then read the history: a line in both is sent once.
    let rx = match s.vibebox.subscribe(&actor, id).await {
        Ok(rx) => rx,
        Err(e) => return ApiError(e).into_response(),
    };
    let filter = LogFilter {
        newest_first: true,
        ..Default::default()
    };
    let history = match s
        .vibebox
        .query_logs(&actor, id, filter, &PageRequest::first(HISTORY))
        .await
    {
        Ok(page) => page.items,
        Err(e) => return ApiError(e).into_response(),
    };
    let watch = AccessWatch::new(&s, &actor);
    upgrade(s, ws, move |socket, s| async move {
        let mut seen: HashSet<(Timestamp, LogStream, String)> = HashSet::new();
        for line in history.into_iter().rev() {
            let msg = json!({"type": "log", "timestamp": line.timestamp,
                             "stream": line.stream, "message": line.message});
            if socket.send_json(&msg).await.is_err() {
                return;
            }
            seen.insert((line.timestamp, line.stream, line.message));
        }
        live(socket, s, watch, rx, seen).await;
    })
}

async fn live(
    mut socket: Socket,
    s: AppState,
    watch: AccessWatch,
    mut rx: tokio::sync::broadcast::Receiver<Event>,
    mut seen: HashSet<(Timestamp, LogStream, String)>,
) {
    let mut only: Option<LogStream> = None;
    let mut paused = false;
    let mut dropped: u64 = 0;
    let access_ended = watch.ended(&s);
    tokio::pin!(access_ended);
    loop {
        tokio::select! {
            close = &mut access_ended => {
                socket.close_now(close);
                return;
            }
            event = rx.recv() => {
                let (timestamp, stream, message) = match event {
                    Ok(Event { kind: EventKind::Log { timestamp, stream, message }, .. }) => (timestamp, stream, message),
                    // Output lost before VibeBox read it: never filtered or paused away.
                    Ok(Event { kind: EventKind::LogGap { after, before, lines, message }, .. }) => {
                        let msg = json!({"type": "gap", "after": after, "before": before,
                                         "lines": lines, "message": message});
                        if socket.send_json(&msg).await.is_err() {
                            return;
                        }
                        continue;
                    }
                    Ok(_) => continue,
                    Err(RecvError::Lagged(n)) => {
                        dropped += n;
                        continue;
                    }
                    Err(RecvError::Closed) => return,
                };
                if only.is_some_and(|o| o != stream) {
                    continue;
                }
                if paused {
                    dropped += 1;
                    continue;
                }
                // A line sent with the history is not sent again; lines after the newest
                // one of the history cannot be among them.
                if !seen.is_empty() {
                    if seen.contains(&(timestamp, stream, message.clone())) {
                        continue;
                    }
                    if seen.iter().all(|(t, _, _)| *t < timestamp) {
                        seen.clear();
                    }
                }
                if dropped > 0 {
                    if socket.send_json(&json!({"type": "dropped", "count": dropped})).await.is_err() {
                        return;
                    }
                    dropped = 0;
                }
                let msg = json!({"type": "log", "timestamp": timestamp, "stream": stream, "message": message});
                if socket.send_json(&msg).await.is_err() {
                    return;
                }
            }
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Text(text))) => match serde_json::from_str::<ClientMessage>(&text) {
                    Ok(ClientMessage::Filter { stream }) => {
                        only = match stream.as_str() {
                            "stdout" => Some(LogStream::Stdout),
                            "stderr" => Some(LogStream::Stderr),
                            _ => None,
                        };
                    }
                    Ok(ClientMessage::Pause) => paused = true,
                    Ok(ClientMessage::Resume) => {
                        paused = false;
                        if dropped > 0 {
                            if socket.send_json(&json!({"type": "dropped", "count": dropped})).await.is_err() {
                                return;
                            }
                            dropped = 0;
                        }
                    }
                    Err(_) => {
                        let err = json!({"type": "error", "message": "unknown message; expected filter, pause or resume"});
                        if socket.send_json(&err).await.is_err() {
                            return;
                        }
                    }
                },
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
