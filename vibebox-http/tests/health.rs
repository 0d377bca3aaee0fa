//! What the HTTP front says about an environment's health: the `health` field, the forced
//! restart that clears saturation, and log collection in `/readyz`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use axum::http::StatusCode;
use common::*;

#[tokio::test]
async fn a_saturated_environment_shows_the_warning_and_a_forced_restart_clears_it() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let base = format!("/api/v1/environments/{env}");
    let fresh = app.call("GET", &base, &alice, None).await;
    assert_eq!(fresh.body["health"]["oom_kills"], 0, "{}", fresh.body);
    assert_eq!(fresh.body["health"]["warnings"], serde_json::json!([]));

    assert!(app.runtime.saturate(&app.container_of(&env).await, true));
    app.vibebox.check_health().await.unwrap();
    let saturated = app.call("GET", &base, &alice, None).await;
    let warnings = saturated.body["health"]["warnings"].as_array().unwrap();
    assert_eq!(warnings.len(), 1, "{}", saturated.body);
    assert_eq!(warnings[0]["code"], "pids_limit");
    assert_eq!(saturated.body["status"], "running");

    let restarted = app
        .call("POST", &format!("{base}/restart?force=true"), &alice, None)
        .await;
    assert_eq!(restarted.status, StatusCode::OK, "{}", restarted.body);
    assert_eq!(restarted.body["status"], "running");
    assert_eq!(restarted.body["health"]["warnings"], serde_json::json!([]));
}

#[tokio::test]
async fn restart_is_hidden_from_strangers_and_its_force_flag_is_checked() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let env = app.running_env(&alice).await;
    let r = app
        .call(
            "POST",
            &format!("/api/v1/environments/{env}/restart"),
            &bob,
            None,
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.body);
    let bad = app
        .call(
            "POST",
            &format!("/api/v1/environments/{env}/restart?force=maybe"),
            &alice,
            None,
        )
        .await;
    assert!(bad.status.is_client_error(), "{}", bad.body);
}

#[tokio::test]
async fn readiness_reports_log_collection() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    app.running_env(&alice).await;
    let r = app.get("/readyz", None).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["log_collection"]["collectors"], 1, "{}", r.body);
    assert_eq!(r.body["log_collection"]["failing"], serde_json::json!([]));
    let live = app.get("/healthz", None).await;
    assert!(live.body.get("log_collection").is_none(), "{}", live.body);
}
