//! Health: OOM kills counted, saturation reported, and the forced restart that clears it.

use vibebox_core::domain::SessionType;
use vibebox_core::domain::{EnvironmentStatus, WarningCode};
use vibebox_core::error::ErrorKind;
use vibebox_core::events::EventKind;
use vibebox_core::service::{NewSession, StopMode};
use vibebox_core::store::PageRequest;

use super::harness::{H, wait_for};

/// A tmux session named `work`: starting it runs a process in the container.
fn work_session() -> NewSession {
    NewSession {
        session_type: SessionType::Tmux,
        session_name: "work".into(),
        idle_timeout_minutes: None,
    }
}

#[tokio::test]
async fn an_oom_kill_inside_a_running_environment_is_counted_and_published() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let background = h.vb.spawn_background(Default::default());
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    // The event watcher must be listening before the kill.
    let c = H::container(&env);
    let health = loop {
        assert!(h.rt.oom_kill_process(&c));
        let got = tokio::time::timeout(std::time::Duration::from_millis(200), async {
            wait_for(&mut rx, |k| match k {
                EventKind::Health { health } => Some(health.clone()),
                _ => None,
            })
            .await
        })
        .await;
        if let Ok(health) = got {
            break health;
        }
    };
    assert!(health.oom_kills >= 1);
    assert!(health.last_oom_kill_at.is_some());
    let now = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(now.status, EnvironmentStatus::Running);
    assert_eq!(now.health.oom_kills, health.oom_kills);
    assert_eq!(now.health.last_oom_kill_at, health.last_oom_kill_at);
    background.shutdown().await;
}

#[tokio::test]
async fn a_saturated_environment_is_reported_and_a_forced_restart_clears_it() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let c = H::container(&env);
    assert!(h.rt.saturate(&c, true));
    let report = h.vb.check_health().await.unwrap();
    assert_eq!((report.checked, report.degraded), (1, 1));
    let now = h.vb.get_environment(&alice, env.id).await.unwrap();
    let pids = now
        .health
        .warning(WarningCode::PidsLimit)
        .expect("pids warning");
    assert!(pids.message.contains("process limit"), "{}", pids.message);
    assert_eq!(now.status, EnvironmentStatus::Running);

    // Starting a process fails, and says so.
    let err =
        h.vb.create_session(&alice, env.id, work_session())
            .await
            .unwrap_err();
    assert_eq!(err.kind(), ErrorKind::Internal);
    h.vb.check_health().await.unwrap();
    let now = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert!(now.health.warning(WarningCode::ExecFailing).is_some());

    let restarted =
        h.vb.restart_environment(&alice, env.id, StopMode::Kill)
            .await
            .unwrap();
    assert_eq!(restarted.status, EnvironmentStatus::Running);
    assert!(
        restarted.health.warnings.is_empty(),
        "{:?}",
        restarted.health
    );
    let report = h.vb.check_health().await.unwrap();
    assert_eq!(report.degraded, 0);
    h.vb.create_session(&alice, env.id, work_session())
        .await
        .unwrap();
}

#[tokio::test]
async fn stopping_a_saturated_environment_runs_nothing_inside_it() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    assert!(h.rt.saturate(&H::container(&env), true));
    let execs_before = h.rt.exec_history().len();
    let stopped = h.vb.stop_environment(&alice, env.id).await.unwrap();
    assert_eq!(stopped.status, EnvironmentStatus::Stopped);
    assert_eq!(h.rt.exec_history().len(), execs_before);
    let sessions =
        h.vb.list_sessions(&alice, env.id, true, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    assert!(
        sessions
            .iter()
            .all(|s| s.status == vibebox_core::domain::SessionStatus::Terminated)
    );
}

#[tokio::test]
async fn a_restart_goes_through_stop_and_start_and_starts_a_stopped_environment() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let started =
        h.vb.restart_environment(&alice, env.id, StopMode::Graceful)
            .await
            .unwrap();
    assert_eq!(started.status, EnvironmentStatus::Running);
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    let restarted =
        h.vb.restart_environment(&alice, env.id, StopMode::Graceful)
            .await
            .unwrap();
    assert_eq!(restarted.status, EnvironmentStatus::Running);
    let mut seen = Vec::new();
    while seen.last() != Some(&EnvironmentStatus::Running) {
        seen.push(
            wait_for(&mut rx, |k| match k {
                EventKind::Status { status, .. } => Some(*status),
                _ => None,
            })
            .await,
        );
    }
    assert_eq!(
        seen,
        [
            EnvironmentStatus::Stopping,
            EnvironmentStatus::Stopped,
            EnvironmentStatus::Starting,
            EnvironmentStatus::Running
        ]
    );
}
