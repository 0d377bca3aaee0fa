//! `GET /healthz` (the process answers) and `GET /readyz` (the store and the engine answer).

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use vibebox_core::service::LogCollectionReport;

use crate::problem::Problem;
use crate::state::AppState;

/// The body of a successful health or readiness check.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct Health {
    /// Always `ok`.
    pub status: &'static str,
    /// Readiness only: how log collection goes in this process (collectors failing are
    /// retried; the server stays ready).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_collection: Option<LogCollectionReport>,
}

/// Liveness: the process serves requests.
#[utoipa::path(
    get,
    path = "/healthz",
    tag = "health",
    responses(
        (status = 200, description = "The process serves requests", body = Health),
    )
)]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok",
        log_collection: None,
    })
}

/// Readiness: the store and the container engine both answer; otherwise 503 naming which
/// does not.
#[utoipa::path(
    get,
    path = "/readyz",
    tag = "health",
    responses(
        (status = 200, description = "The store and the engine answer", body = Health),
        (status = 503, description = "The store or the engine does not answer", body = Problem, content_type = "application/problem+json"),
    )
)]
pub async fn readyz(State(state): State<AppState>) -> Response {
    let vibebox = &state.vibebox;
    let (store, engine) = vibebox.ping_backends().await;
    let down: Vec<&str> = [
        ("store", store.is_err()),
        ("container engine", engine.is_err()),
    ]
    .into_iter()
    .filter_map(|(what, failed)| failed.then_some(what))
    .collect();
    if down.is_empty() {
        let log_collection = vibebox.log_collection_report();
        if !log_collection.failing.is_empty() {
            tracing::warn!(
                failing = log_collection.failing.len(),
                "log collectors are failing"
            );
        }
        return Json(Health {
            status: "ok",
            log_collection: Some(log_collection),
        })
        .into_response();
    }
    let correlation_id = crate::problem::correlation_id();
    for e in [store.err(), engine.err()].into_iter().flatten() {
        e.report(correlation_id.clone());
    }
    Problem {
        correlation_id: Some(correlation_id),
        ..Problem::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "unavailable",
            format!("not ready: {} unavailable", down.join(" and ")),
        )
    }
    .into_response()
}
