use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;
use vibebox_core::config::Config;
use vibebox_core::domain::EnvironmentStatus;
use vibebox_core::events::EventKind;
use vibebox_core::runtime::ContainerRuntime;
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox_core::store::PageRequest;
use vibebox_core::testing::FakeFailure;
use vibebox_core::{ErrorKind, Vibebox};

use super::harness::{H, wait_for};

#[tokio::test]
async fn a_container_that_dies_while_running_puts_the_environment_in_error() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    assert!(h.rt.crash(&H::container(&env), 137));
    let report = h.vb.reconcile().await.unwrap();
    assert_eq!(report.repaired, 1);
    let env = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Error);
    assert_eq!(
        env.error_message.as_deref(),
        Some(
            "the container stopped unexpectedly (exit code 137: killed by SIGKILL); \
             start the environment again"
        )
    );
    // Sessions ended with it.
    assert!(
        h.vb.list_sessions(&alice, env.id, false, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    // And it can be started again.
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
}

#[tokio::test]
async fn an_oom_kill_is_reported_as_such() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    h.rt.oom_kill(&H::container(&env));
    h.vb.reconcile().await.unwrap();
    let env = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert!(
        env.error_message
            .unwrap()
            .contains("exceeding its memory limit")
    );
}

#[tokio::test]
async fn a_container_removed_behind_our_back_is_reflected() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    h.rt.remove_behind_back(&H::container(&env));
    h.vb.reconcile().await.unwrap();
    let env = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Error);
    assert!(
        env.error_message
            .unwrap()
            .contains("removed outside VibeBox")
    );
}

#[tokio::test]
async fn an_environment_stuck_starting_past_the_deadline_is_repaired() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    // A crash right after the status write: starting, and no container.
    let mut stuck = env.clone();
    stuck.status = EnvironmentStatus::Starting;
    h.store
        .update_environment(&stuck, env.status, env.version)
        .await
        .unwrap();
    assert_eq!(
        h.vb.reconcile().await.unwrap().repaired,
        0,
        "not before the deadline"
    );
    h.clock
        .advance(Config::default().transition_deadline + Duration::from_secs(1));
    assert_eq!(h.vb.reconcile().await.unwrap().repaired, 1);
    let env = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Error);
    assert!(env.error_message.unwrap().contains("interrupted"));
}

#[tokio::test]
async fn a_start_interrupted_after_the_container_started_is_adopted() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let running = h.vb.start_environment(&alice, env.id).await.unwrap();
    // Pretend VibeBox died before recording `running`.
    let mut stuck = running.clone();
    stuck.status = EnvironmentStatus::Starting;
    h.store
        .update_environment(&stuck, running.status, running.version)
        .await
        .unwrap();
    h.clock
        .advance(Config::default().transition_deadline + Duration::from_secs(1));
    h.vb.reconcile().await.unwrap();
    let env = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
    assert_eq!(env.container_id, running.container_id);
}

#[tokio::test]
async fn an_orphan_container_is_removed() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    // The row disappears behind VibeBox's back (say, restored from an older backup).
    h.store.delete_environment(env.id).await.unwrap();
    let report = h.vb.reconcile().await.unwrap();
    assert_eq!(report.orphans_removed, 1);
    assert_eq!(h.rt.container_count(), 0);
}

#[tokio::test]
async fn an_unreachable_engine_changes_nothing() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    h.rt.set_unavailable(true);
    let e = h.vb.reconcile().await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    let env = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
    h.rt.set_unavailable(false);
    assert_eq!(h.vb.reconcile().await.unwrap().repaired, 0);
}

#[tokio::test]
async fn the_background_reconciler_reacts_to_engine_events() {
    let h = H::with_config(Config {
        reconcile_interval: Duration::from_secs(3600),
        ..Config::default()
    })
    .await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let token = CancellationToken::new();
    let tasks = h.vb.spawn_background(token.clone());
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    h.rt.kill_behind_back(&H::container(&env));
    let status = wait_for(&mut rx, |k| match k {
        EventKind::Status { status, .. } if *status == EnvironmentStatus::Error => Some(*status),
        _ => None,
    })
    .await;
    assert_eq!(status, EnvironmentStatus::Error);
    tasks.shutdown().await;
}

#[tokio::test]
async fn the_reconciler_leaves_the_containers_of_another_instance_alone() {
    let instance = |name: &str| Config {
        container_labels: [("instance".to_string(), name.to_string())].into(),
        ..Config::default()
    };
    let h = H::with_config(instance("a")).await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    // Instance b shares the engine, with its own store: to it, a's container would be an
    // orphan if it looked at it.
    let b = Vibebox::builder()
        .store(crate::backend::fresh_store().await)
        .runtime(h.rt.clone())
        .secrets(Arc::new(AesGcmSecrets::new(
            Keyring::generate(KeyId::new("test").unwrap()).unwrap(),
        )))
        .config(instance("b"))
        .build()
        .unwrap();
    assert_eq!(b.reconcile().await.unwrap(), Default::default());
    assert_eq!(h.rt.container_count(), 1);
    // Instance a still manages it.
    h.store.delete_environment(env.id).await.unwrap();
    assert_eq!(h.vb.reconcile().await.unwrap().orphans_removed, 1);
    assert_eq!(h.rt.container_count(), 0);
}

#[tokio::test]
async fn an_environment_stuck_stopping_past_the_deadline_is_stopped() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let running = h.vb.start_environment(&alice, env.id).await.unwrap();
    // A crash right after the status write: stopping, and the container still runs.
    let mut stuck = running.clone();
    stuck.status = EnvironmentStatus::Stopping;
    h.store
        .update_environment(&stuck, running.status, running.version)
        .await
        .unwrap();
    assert_eq!(h.vb.reconcile().await.unwrap().repaired, 0);
    h.clock
        .advance(Config::default().transition_deadline + Duration::from_secs(1));
    assert_eq!(h.vb.reconcile().await.unwrap().repaired, 1);
    let env = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Stopped);
    let info = h.rt.inspect(&H::container(&running)).await.unwrap();
    assert!(!info.state.is_running());
}

#[tokio::test]
async fn a_zero_interval_keeps_the_background_jobs_running() {
    let h = H::with_config(Config {
        reconcile_interval: Duration::ZERO,
        reaper_interval: Duration::ZERO,
        retention_interval: Duration::ZERO,
        ..Config::default()
    })
    .await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let tasks = h.vb.spawn_background(CancellationToken::new());
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    h.rt.crash(&H::container(&env), 1);
    wait_for(&mut rx, |k| match k {
        EventKind::Status { status, .. } if *status == EnvironmentStatus::Error => Some(()),
        _ => None,
    })
    .await;
    tasks.shutdown().await;
}

#[tokio::test]
async fn a_stuck_stop_the_engine_refuses_fails_the_environment() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let running = h.vb.start_environment(&alice, env.id).await.unwrap();
    let mut stuck = running.clone();
    stuck.status = EnvironmentStatus::Stopping;
    h.store
        .update_environment(&stuck, running.status, running.version)
        .await
        .unwrap();
    h.clock
        .advance(Config::default().transition_deadline + Duration::from_secs(1));
    h.rt.fail_next(FakeFailure::Stop);
    h.vb.reconcile().await.unwrap();
    let env = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Error);
    let message = env.error_message.unwrap();
    assert!(
        message.contains("could not stop the environment"),
        "{message}"
    );
    // Later in the same pass, the container of the failed environment is stopped.
    let info = h.rt.inspect(&H::container(&running)).await.unwrap();
    assert!(!info.state.is_running());
}

#[tokio::test]
async fn a_repair_that_fails_does_not_hold_up_the_others() {
    let h = H::new().await;
    let alice = h.user("alice").await;
    let project = h.project(&alice, "proj", None).await;
    let mut envs = Vec::new();
    for slug in ["one", "two"] {
        let env = h.env(&alice, &project, slug).await;
        let env = h.vb.start_environment(&alice, env.id).await.unwrap();
        h.rt.crash(&H::container(&env), 1);
        envs.push(env);
    }
    // The log collectors look at the crashed containers too: once they are done, the next
    // inspect is the reconciler's.
    tokio::time::timeout(Duration::from_secs(10), async {
        while envs.iter().any(|e| h.vb.is_collecting(e.id)) {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await
    .expect("the collectors finished");
    // The second look at one of the two containers fails.
    h.rt.fail_next(FakeFailure::Inspect);
    let report = h.vb.reconcile().await.unwrap();
    assert_eq!((report.checked, report.repaired), (2, 1));
    assert_eq!(h.vb.reconcile().await.unwrap().repaired, 1);
    for env in envs {
        let env = h.vb.get_environment(&alice, env.id).await.unwrap();
        assert_eq!(env.status, EnvironmentStatus::Error);
    }
}
