//! Health on the real Docker engine: an OOM kill inside a running environment shows up, a
//! fork bomb at the pids limit is detected and cleared by a forced restart, and stop and
//! delete of a fork-bombed environment end within their bound.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::time::Duration;

use docker::*;
use tokio::sync::broadcast;
use vibebox::domain::{Environment, EnvironmentHealth, EnvironmentStatus, WarningCode};
use vibebox::events::{Event, EventKind};
use vibebox::service::StopMode;

/// The pids limit of the fork-bomb tests: small, so the bomb saturates at once.
const PIDS: i64 = 64;
/// What a stop or delete may take beyond its grace period, whatever runs inside.
const BOUND: Duration = Duration::from_secs(30);

/// Starts a fork bomb in the environment, as its user, and returns at once.
async fn fork_bomb(d: &D, env: &Environment) {
    let (code, out) = d
        .exec(env, "nohup bash -c ':(){ :|:& };:' >/dev/null 2>&1 &")
        .await;
    assert_eq!(code, 0, "starting the bomb failed: {out}");
}

/// Runs health passes until the environment has the warning.
async fn wait_warning(d: &D, env: &Environment, code: WarningCode) -> EnvironmentHealth {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        d.vb.check_health().await.unwrap();
        let health = d.reload(env).await.health;
        if health.warning(code).is_some() {
            return health;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the {code} warning was not raised in time: {health:?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn next_health(rx: &mut broadcast::Receiver<Event>) -> Option<EnvironmentHealth> {
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            match rx.recv().await {
                Ok(Event {
                    kind: EventKind::Health { health },
                    ..
                }) => return health,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("the subscription ended: {e}"),
            }
        }
    })
    .await
    .ok()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_oom_kill_inside_a_running_environment_is_counted_and_streamed() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let background = d.vb.spawn_background(Default::default());
    let mut rx = d.vb.subscribe(&alice, env.id).await.unwrap();
    // The environment has 256 MB; this process wants more. Repeated until the event watcher,
    // which connects in the background, has seen one.
    let mut health = None;
    for _ in 0..5 {
        let (code, _) = d
            .exec(
                &env,
                "x=$(head -c 400000000 /dev/zero | tr '\\0' a); echo ${#x}",
            )
            .await;
        assert_eq!(code, 137, "the process was killed");
        health = next_health(&mut rx).await;
        if health.is_some() {
            break;
        }
    }
    let health = health.expect("an OOM kill was published on the status stream");
    assert!(health.oom_kills >= 1);
    let now = d.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(
        now.status,
        EnvironmentStatus::Running,
        "the main process survived"
    );
    // One exec can be several OOM kills (`head`, `tr`, the shell), reported one by one: the
    // stored count is at least what the stream said when the test read it.
    assert!(
        now.health.oom_kills >= health.oom_kills,
        "stored {} < streamed {}",
        now.health.oom_kills,
        health.oom_kills
    );
    assert!(now.health.last_oom_kill_at.is_some());
    background.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_bomb_is_detected_and_a_forced_restart_clears_it() {
    let d = D::with(|cfg| cfg.pids_limit = PIDS).await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    d.exec(&env, "echo kept > ~/file").await;
    fork_bomb(&d, &env).await;
    let health = wait_warning(&d, &env, WarningCode::PidsLimit).await;
    let warning = health.warning(WarningCode::PidsLimit).unwrap();
    assert!(
        warning.message.contains(&format!("of {PIDS} processes")),
        "{}",
        warning.message
    );
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Running);

    let began = std::time::Instant::now();
    let restarted = tokio::time::timeout(
        BOUND,
        d.vb.restart_environment(&alice, env.id, StopMode::Kill),
    )
    .await
    .expect("the forced restart ended within the bound")
    .unwrap();
    eprintln!(
        "forced restart of a fork-bombed environment: {:?}",
        began.elapsed()
    );
    assert_eq!(restarted.status, EnvironmentStatus::Running);
    assert!(
        restarted.health.warnings.is_empty(),
        "{:?}",
        restarted.health
    );
    let (code, out) = d
        .exec(&restarted, "cat ~/file; ps -e --no-headers | wc -l")
        .await;
    assert_eq!(code, 0, "exec works again: {out}");
    let mut out = out.lines();
    assert_eq!(out.next(), Some("kept"), "the home volume was kept");
    let procs: i64 = out.next().unwrap().trim().parse().unwrap();
    assert!(procs < 10, "the bomb's processes are gone ({procs} left)");
    let report = d.vb.check_health().await.unwrap();
    assert_eq!(report.degraded, 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fork_bombed_environment_stops_and_is_deleted_within_the_bound() {
    let d = D::with(|cfg| cfg.pids_limit = PIDS).await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    fork_bomb(&d, &env).await;
    wait_warning(&d, &env, WarningCode::PidsLimit).await;
    let began = std::time::Instant::now();
    let stopped = tokio::time::timeout(
        d.config.stop_grace + BOUND,
        d.vb.stop_environment(&alice, env.id),
    )
    .await
    .expect("the stop ended within its grace and the bound")
    .unwrap();
    eprintln!(
        "stop of a fork-bombed environment: {:?} (grace {:?})",
        began.elapsed(),
        d.config.stop_grace
    );
    assert_eq!(stopped.status, EnvironmentStatus::Stopped);

    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    fork_bomb(&d, &env).await;
    wait_warning(&d, &env, WarningCode::PidsLimit).await;
    let c = container(&env);
    let began = std::time::Instant::now();
    tokio::time::timeout(BOUND, d.vb.delete_environment(&alice, env.id))
        .await
        .expect("the delete ended within the bound")
        .unwrap();
    eprintln!("delete of a fork-bombed environment: {:?}", began.elapsed());
    assert!(!container_exists(c.as_str()));
}
