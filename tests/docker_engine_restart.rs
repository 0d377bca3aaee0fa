//! The Docker engine restarting in the middle of a log follow, on the real engine
//! (`scripts/restart-docker-engine`): the collector's follow breaks, it retries while the
//! engine is away, and then stores the rest of what the container wrote, exactly once. The
//! status follows the container (stopped with the engine, so `error`), and after a new start
//! collection goes on without re-storing anything.
//!
//! This binary holds one test: it restarts the engine, which stops every container on it.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::time::Duration;

use docker::*;
use vibebox::domain::{EnvironmentStatus, LogEntry};

/// The container's `line <n>` lines as the engine holds them (`docker logs`).
fn engine_lines(container: &str) -> Vec<String> {
    let out = docker(&["logs", container]);
    out.lines()
        .filter(|l| l.starts_with("line "))
        .map(str::to_string)
        .collect()
}

fn stored_lines(lines: &[LogEntry]) -> Vec<String> {
    lines
        .iter()
        .filter(|l| l.message.starts_with("line "))
        .map(|l| l.message.clone())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_restart_mid_follow_loses_and_repeats_nothing() {
    let d = forwarding(|_| {}).await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let background = d.vb.spawn_background(Default::default());
    let c = container(&env);
    emit(&d, &env, "seq -f 'line %g' 1 500 > /tmp/o").await;
    // Lines keep coming while the engine goes down.
    emit(
        &d,
        &env,
        "nohup sh -c 'i=501; while :; do echo \"line $i\" > /tmp/o; i=$((i+1)); sleep 0.01; done' \
         >/dev/null 2>&1 &",
    )
    .await;
    wait_until(
        "the follow has stored lines written after the first 500",
        || async { stored_lines(&stored_logs(&d.vb, &alice, env.id).await).len() > 600 },
    )
    .await;

    let restart = tokio::task::spawn_blocking(|| {
        std::process::Command::new("scripts/restart-docker-engine")
            .status()
            .expect("the restart script runs")
    })
    .await
    .unwrap();
    assert!(restart.success(), "the engine restarted");

    // Without live-restore the engine stopped the container; the reconciler says so.
    wait_until("the environment is reported failed", || async {
        d.reload(&env).await.status == EnvironmentStatus::Error
    })
    .await;
    let engine = engine_lines(c.as_str());
    assert!(
        engine.len() > 600,
        "the engine kept the lines ({})",
        engine.len()
    );
    wait_until("every line the engine holds is stored", || async {
        stored_lines(&stored_logs(&d.vb, &alice, env.id).await).len() >= engine.len()
    })
    .await;
    let stored = stored_lines(&stored_logs(&d.vb, &alice, env.id).await);
    assert_eq!(
        stored, engine,
        "stored exactly once each, in the engine's order"
    );
    let message = d.reload(&env).await.error_message.unwrap_or_default();
    assert!(message.contains("stopped unexpectedly"), "{message}");

    // A new start: collection goes on, and nothing is stored twice.
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    emit(&d, &env, "echo 'line after-restart' > /tmp/o").await;
    wait_until("the new run's line is stored", || async {
        stored_logs(&d.vb, &alice, env.id)
            .await
            .last()
            .is_some_and(|l| l.message == "line after-restart")
    })
    .await;
    let all = stored_lines(&stored_logs(&d.vb, &alice, env.id).await);
    let mut expected = engine.clone();
    expected.push("line after-restart".into());
    assert_eq!(all, expected);
    tokio::time::timeout(Duration::from_secs(30), background.shutdown())
        .await
        .expect("the background jobs stop");
}
