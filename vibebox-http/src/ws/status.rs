//! `/ws/environments/{id}/status`: the current status and health on connect, then every
//! status change, every health change (`{"type":"health","oom_kills",…,"warnings":[…]}`: an
//! OOM kill, a warning raised or cleared), and `{"type":"metrics",…}` about once a second
//! while the environment runs.

use axum::extract::State;
use axum::extract::ws::Message;
use axum::response::{IntoResponse, Response};
use futures::StreamExt;
use futures::stream::BoxStream;
use serde_json::json;
use tokio::sync::broadcast::error::RecvError;
use vibebox_core::domain::EnvironmentStatus;
use vibebox_core::error::Result;
use vibebox_core::events::{Event, EventKind};
use vibebox_core::id::EnvironmentId;
use vibebox_core::rbac::Actor;
use vibebox_core::runtime::ContainerStats;

use super::revoked::AccessWatch;
use super::{Socket, Upgrade, WsCaller, upgrade};
use crate::extract::ApiPath;
use crate::openapi::{Authenticated, NotFound, WebSocketErrors};
use crate::problem::ApiError;
use crate::state::AppState;

/// Upgrades to the status socket. Errors before the upgrade are HTTP problems (404 for
/// another tenant's environment).
#[utoipa::path(
    get,
    path = "/ws/environments/{id}/status",
    tag = "websockets",
    params(
        ("id" = EnvironmentId, Path, description = "The environment"),
        ("ticket" = Option<String>, Query, description = "A one-time ticket from `POST /ws-tickets`, instead of the `bearer.<token>` subprotocol"),
    ),
    responses(
        (status = 101, description = "Switching to the `vibebox.v1` WebSocket protocol: status changes and metrics"),
        NotFound, WebSocketErrors, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn status(
    State(s): State<AppState>,
    WsCaller(actor): WsCaller,
    ApiPath(id): ApiPath<EnvironmentId>,
    Upgrade(ws): Upgrade,
) -> Response {
    let rx = match s.vibebox.subscribe(&actor, id).await {
        Ok(rx) => rx,
        Err(e) => return ApiError(e).into_response(),
    };
    let watch = AccessWatch::new(&s, &actor);
    upgrade(s, ws, move |socket, s| run(socket, s, actor, id, rx, watch))
}

async fn metrics_of(
    s: &AppState,
    actor: &Actor,
    id: EnvironmentId,
) -> Option<BoxStream<'static, Result<ContainerStats>>> {
    s.vibebox.metrics(actor, id).await.ok()
}

async fn run(
    mut socket: Socket,
    s: AppState,
    actor: Actor,
    id: EnvironmentId,
    mut rx: tokio::sync::broadcast::Receiver<Event>,
    watch: AccessWatch,
) {
    let current = match s.vibebox.get_environment(&actor, id).await {
        Ok(env) => env,
        Err(_) => return,
    };
    let first = json!({"type": "status", "status": current.status,
                       "error_message": current.error_message, "version": current.version});
    if socket.send_json(&first).await.is_err() {
        return;
    }
    let health = EventKind::Health {
        health: current.health.clone(),
    };
    if socket.send_json(&health).await.is_err() {
        return;
    }
    let mut metrics = if current.status == EnvironmentStatus::Running {
        metrics_of(&s, &actor, id).await
    } else {
        None
    };
    let access_ended = watch.ended(&s);
    tokio::pin!(access_ended);
    loop {
        tokio::select! {
            close = &mut access_ended => {
                socket.close_now(close);
                return;
            }
            event = rx.recv() => match event {
                Ok(event) => {
                    match &event.kind {
                        EventKind::Status { status, .. } => {
                            metrics = if *status == EnvironmentStatus::Running {
                                metrics_of(&s, &actor, id).await
                            } else {
                                None
                            };
                        }
                        // OOM kills and warnings: what the status alone does not say.
                        EventKind::Health { .. } => {}
                        _ => continue,
                    }
                    if socket.send_json(&event).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Lagged(n)) => {
                    if socket.send_json(&json!({"type": "dropped", "count": n})).await.is_err() {
                        return;
                    }
                }
                Err(RecvError::Closed) => return,
            },
            sample = next_sample(&mut metrics) => match sample {
                Some(Ok(m)) => {
                    let msg = json!({"type": "metrics", "cpu_percent": m.cpu_percent,
                                     "memory_bytes": m.memory_bytes,
                                     "memory_limit_bytes": m.memory_limit_bytes});
                    if socket.send_json(&msg).await.is_err() {
                        return;
                    }
                }
                _ => metrics = None,
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}

/// The next metrics sample, or never when there is no stream.
async fn next_sample(
    metrics: &mut Option<BoxStream<'static, Result<ContainerStats>>>,
) -> Option<Result<ContainerStats>> {
    match metrics {
        Some(stream) => stream.next().await,
        None => std::future::pending().await,
    }
}
