//! `/ws/projects/{id}/status`: one socket for a list of a project's environments. A
//! `{"type":"snapshot","environments":[…],"truncated":…}` on connect, then every status and
//! health change of those environments (the JSON of `/ws/environments/{id}/status`, with
//! `environment_id` and `at`), `{"type":"created","environment":{…}}` and
//! `{"type":"deleted","environment_id",…}` as environments come and go, and
//! `{"type":"metrics","environment_id",…}` of the running ones, at most one per environment
//! every two seconds. The rules are core's
//! [`watch_project`](vibebox_core::Vibebox::watch_project); this handler only pumps its frames.

use axum::extract::State;
use axum::extract::ws::Message;
use axum::response::{IntoResponse, Response};
use vibebox_core::id::ProjectId;
use vibebox_core::service::ProjectWatch;

use super::revoked::{ACCESS_REVOKED, AccessWatch};
use super::{Socket, Upgrade, WsCaller, upgrade};
use crate::extract::ApiPath;
use crate::openapi::{Authenticated, NotFound, WebSocketErrors};
use crate::problem::ApiError;
use crate::state::AppState;

/// Upgrades to the project status socket. Errors before the upgrade are HTTP problems (404
/// for another tenant's project).
#[utoipa::path(
    get,
    path = "/ws/projects/{id}/status",
    tag = "websockets",
    params(
        ("id" = ProjectId, Path, description = "The project"),
        ("ticket" = Option<String>, Query, description = "A one-time ticket from `POST /ws-tickets`, instead of the `bearer.<token>` subprotocol"),
    ),
    responses(
        (status = 101, description = "Switching to the `vibebox.v1` WebSocket protocol: a snapshot of the project's environments (at most 500; `truncated` says when there are more), then their status and health changes, creations, deletions and metrics (at most one sample per environment every 2 s); `dropped` counts what a slow client missed"),
        NotFound, WebSocketErrors, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn project_status(
    State(s): State<AppState>,
    WsCaller(actor): WsCaller,
    ApiPath(id): ApiPath<ProjectId>,
    Upgrade(ws): Upgrade,
) -> Response {
    let watch = match s.vibebox.watch_project(&actor, id).await {
        Ok(watch) => watch,
        Err(e) => return ApiError(e).into_response(),
    };
    let access = AccessWatch::new(&s, &actor);
    upgrade(s, ws, move |socket, s| run(socket, s, watch, access))
}

async fn run(mut socket: Socket, s: AppState, mut watch: ProjectWatch, access: AccessWatch) {
    let access_ended = access.ended(&s);
    tokio::pin!(access_ended);
    loop {
        tokio::select! {
            close = &mut access_ended => {
                socket.close_now(close);
                return;
            }
            // While a send waits for room in the socket's queue the watch is not read: its
            // events pile up in the bounded project channel, and what overflows becomes a
            // `dropped` frame.
            frame = watch.next() => match frame {
                Some(frame) => {
                    if socket.send_json(&frame).await.is_err() {
                        return;
                    }
                }
                // The project is gone or the caller may no longer read it.
                None => {
                    socket.close(ACCESS_REVOKED);
                    return;
                }
            },
            incoming = socket.recv() => match incoming {
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
        }
    }
}
