//! The reconciler on the real Docker engine: a container killed or removed behind VibeBox's
//! back is reflected (by the periodic pass, by engine events, and by the first pass after a
//! restart), and orphan containers are removed, only this instance's.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::sync::Arc;
use std::time::Duration;

use docker::hooked_runtime::Hooked;
use docker::*;
use vibebox::domain::EnvironmentStatus;
use vibebox::id::EnvironmentId;

const HOUR: Duration = Duration::from_secs(3600);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_container_is_reflected_by_the_periodic_pass_and_a_restart_keeps_the_files() {
    let period = Duration::from_secs(1);
    let d = D::with(|c| c.reconcile_interval = period).await;
    // Engine events hidden: only the periodic pass can notice the kill.
    let vb = build_on(
        d.store.clone(),
        Arc::new(Hooked::without_events(engine().await)),
        d.config.clone(),
        d.secrets.clone(),
    );
    let (alice, _, env) = d.owner_with_env("alice").await;
    let started = vb.start_environment(&alice, env.id).await.unwrap();
    let (code, _) = d.exec(&started, "echo kept > $HOME/notes.txt").await;
    assert_eq!(code, 0);
    let background = vb.spawn_background(Default::default());
    let mut rx = vb.subscribe(&alice, env.id).await.unwrap();

    docker(&["kill", container(&started).as_str()]);
    // One period, plus a margin for a loaded machine.
    tokio::time::timeout(
        period + Duration::from_secs(10),
        wait_status(&mut rx, |s| s == EnvironmentStatus::Error),
    )
    .await
    .expect("the kill is reflected within one period");
    let failed = d.reload(&env).await;
    assert_eq!(
        failed.error_message.as_deref(),
        Some(
            "the container stopped unexpectedly (exit code 137: killed by SIGKILL); \
             start the environment again"
        )
    );

    let again = vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(again.status, EnvironmentStatus::Running);
    assert_eq!(again.container_id, started.container_id, "same container");
    let (code, out) = d.exec(&again, "cat $HOME/notes.txt").await;
    assert_eq!((code, out.as_str()), (0, "kept\n"), "nothing is lost");
    background.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_container_removed_outside_vibebox_is_reflected_and_a_new_start_creates_a_new_one() {
    let d = D::with(|c| c.reconcile_interval = Duration::from_secs(1)).await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let started = d.vb.start_environment(&alice, env.id).await.unwrap();
    let background = d.vb.spawn_background(Default::default());
    let mut rx = d.vb.subscribe(&alice, env.id).await.unwrap();

    let old = container(&started);
    docker(&["rm", "-f", old.as_str()]);
    wait_status(&mut rx, |s| s == EnvironmentStatus::Error).await;
    let message = d.reload(&env).await.error_message.unwrap();
    assert!(message.contains("removed outside VibeBox"), "{message}");

    let again = d.vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(again.status, EnvironmentStatus::Running);
    let new = container(&again);
    assert_ne!(new, old, "a new container");
    assert_eq!(containers_of(&env), vec![new.0.clone()]);
    assert!(container_running(new.as_str()));
    background.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_engine_event_alone_wakes_the_reconciler() {
    // The periodic pass runs once at startup, then not for an hour.
    let d = D::with(|c| c.reconcile_interval = HOUR).await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let started = d.vb.start_environment(&alice, env.id).await.unwrap();
    // The startup pass removes this orphan; later passes need a wake-up.
    let marker = orphan(&d);
    let background = d.vb.spawn_background(Default::default());
    wait_until("the startup pass has run", || async {
        !container_exists(&marker)
    })
    .await;
    until_the_event_watcher_follows_the_engine(&d).await;
    let mut rx = d.vb.subscribe(&alice, env.id).await.unwrap();

    docker(&["kill", container(&started).as_str()]);
    wait_status(&mut rx, |s| s == EnvironmentStatus::Error).await;
    let message = d.reload(&env).await.error_message.unwrap();
    assert!(message.contains("stopped unexpectedly"), "{message}");
    background.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_orphan_container_is_removed_and_another_instances_are_left_alone() {
    let d = D::new().await;
    let other = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let ours = container(&d.vb.start_environment(&alice, env.id).await.unwrap());
    let (bob, _, theirs_env) = other.owner_with_env("bob").await;
    let theirs = container(
        &other
            .vb
            .start_environment(&bob, theirs_env.id)
            .await
            .unwrap(),
    );
    // Both rows disappear behind VibeBox's back (say, a database restored from a backup).
    d.store.delete_environment(env.id).await.unwrap();
    other.store.delete_environment(theirs_env.id).await.unwrap();

    let report = d.vb.reconcile().await.unwrap();
    assert_eq!(report.orphans_removed, 1);
    assert!(!container_exists(ours.as_str()), "our orphan is removed");
    assert!(
        container_exists(theirs.as_str()),
        "another instance's container is not ours to remove"
    );

    // The other instance removes its own.
    assert_eq!(other.vb.reconcile().await.unwrap().orphans_removed, 1);
    assert!(!container_exists(theirs.as_str()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_first_pass_after_a_restart_corrects_a_container_killed_while_vibebox_was_down() {
    // No periodic pass for an hour: only the startup pass can see it.
    let d = D::with(|c| c.reconcile_interval = HOUR).await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let started = d.vb.start_environment(&alice, env.id).await.unwrap();
    // VibeBox is down (no background jobs run); the container dies meanwhile.
    docker_kill(container(&started).as_str()).await;
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Running);

    let restarted = d.restarted().await;
    let alice = restarted.actor_for_user(env.creator_id).await.unwrap();
    let mut rx = restarted.subscribe(&alice, env.id).await.unwrap();
    let background = restarted.spawn_background(Default::default());
    wait_status(&mut rx, |s| s == EnvironmentStatus::Error).await;
    let message = d.reload(&env).await.error_message.unwrap();
    assert!(message.contains("exit code 137"), "{message}");
    background.shutdown().await;
}

/// Creates (without starting) a container labelled for a missing environment of this
/// instance: an orphan the reconciler removes.
fn orphan(d: &D) -> String {
    let run = format!("{RUN_LABEL}={}", d.run());
    let env = format!("vibebox.environment_id={}", EnvironmentId::new());
    let id = docker(&[
        "create",
        "--label",
        "vibebox.managed=true",
        "--label",
        &run,
        "--label",
        &env,
        BUSYBOX_IMAGE,
        "sleep",
        "3600",
    ]);
    let id = id.trim().to_string();
    assert!(!id.is_empty(), "the orphan container is created");
    id
}

/// Waits until the background event watcher follows the engine's events (it subscribes
/// asynchronously, and an event sent before that is not seen): an orphan probe is started and
/// killed until the reconciler, woken by its `die` event, removes it. Call it once the
/// startup pass is over, so that only a woken pass can remove the probe.
async fn until_the_event_watcher_follows_the_engine(d: &D) {
    let probe = orphan(d);
    tokio::time::timeout(WAIT, async {
        loop {
            docker(&["start", &probe]);
            docker(&["kill", &probe]);
            let removed = tokio::time::timeout(Duration::from_secs(2), async {
                while container_exists(&probe) {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            })
            .await;
            if removed.is_ok() {
                return;
            }
        }
    })
    .await
    .expect("the event watcher follows the engine");
}
