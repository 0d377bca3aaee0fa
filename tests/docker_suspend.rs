//! Suspend and resume on the real Docker engine (issue 18): the freeze keeps processes and
//! memory, every kind of access resumes, the reconciler follows pauses made behind VibeBox's
//! back, a suspended environment stops and deletes like a running one, and the idle policy
//! suspends and stops on the engine's word about CPU.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use docker::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vibebox::domain::{EnvironmentStatus, SessionType};
use vibebox::rbac::Actor;
use vibebox::runtime::{ContainerRuntime, ContainerState};
use vibebox::service::{ExecRequest, NewSession};

async fn suspend(d: &D, actor: &Actor, env: &vibebox::domain::Environment) {
    let env = d.vb.suspend_environment(actor, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Suspended);
    assert_eq!(
        docker_inspect(env.container_id.as_deref().unwrap())["State"]["Paused"],
        true,
        "the engine froze it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_environment_keeps_its_processes_and_files() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let (code, pid) = d
        .exec(
            &env,
            "sleep 1000 >/dev/null 2>&1 & echo $! ; echo kept > /tmp/mark",
        )
        .await;
    assert_eq!(code, 0, "{pid}");
    let pid = pid.trim().to_string();
    suspend(&d, &alice, &env).await;
    // Exec through the service resumes it; the process and the file are still there.
    let r =
        d.vb.exec(
            &alice,
            env.id,
            ExecRequest::new(["sh", "-c", &format!("kill -0 {pid} && cat /tmp/mark")]),
        )
        .await
        .unwrap();
    assert_eq!(
        r.exit_code,
        Some(0),
        "{:?}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(&r.stdout[..], b"kept\n");
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Running);
    assert_eq!(docker_inspect(&container(&env).0)["State"]["Paused"], false);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminals_tunnels_and_files_each_resume_a_suspended_environment() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    d.vb.create_session(
        &alice,
        env.id,
        NewSession {
            session_type: SessionType::Shell,
            session_name: "sh".into(),
            idle_timeout_minutes: None,
        },
    )
    .await
    .unwrap();
    d.exec(&env, "echo in-home > /home/vibebox/note").await;

    suspend(&d, &alice, &env).await;
    let mut terminal =
        d.vb.open_terminal(&alice, env.id, "sh", TERM_SIZE)
            .await
            .unwrap();
    terminal
        .input
        .write(b"echo term-$((40+2))\r")
        .await
        .unwrap();
    read_until(&mut terminal, "term-42").await;
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Running);
    terminal.control.close().await;

    let (code, out) = d
        .exec(
            &env,
            "nohup socat TCP-LISTEN:7100,reuseaddr,fork EXEC:cat >/dev/null 2>&1 &
             for i in $(seq 1 200); do grep -q ':1BBC 00000000:0000 0A' /proc/net/tcp && exit 0; sleep 0.05; done; exit 1",
        )
        .await;
    assert_eq!(code, 0, "{out}");
    suspend(&d, &alice, &env).await;
    let mut tunnel = d.vb.connect_port(&alice, env.id, 7100).await.unwrap();
    tunnel.write_all(b"ping\n").await.unwrap();
    let mut line = [0u8; 5];
    tokio::time::timeout(WAIT, tunnel.read_exact(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&line, b"ping\n");
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Running);
    drop(tunnel);

    suspend(&d, &alice, &env).await;
    let listing =
        d.vb.list_files(&alice, env.id, "/home/vibebox")
            .await
            .unwrap();
    assert!(
        listing.items.iter().any(|e| e.name == "note"),
        "{listing:?}"
    );
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Running);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_reconciler_follows_a_pause_made_behind_our_back() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    docker(&["pause", &container(&env).0]);
    d.vb.reconcile().await.unwrap();
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Suspended);
    docker(&["unpause", &container(&env).0]);
    d.vb.reconcile().await.unwrap();
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Running);
    // A suspend the service made is left alone by the next pass.
    suspend(&d, &alice, &env).await;
    d.vb.reconcile().await.unwrap();
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Suspended);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_suspended_environment_stops_and_deletes_like_a_running_one() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    suspend(&d, &alice, &env).await;
    let stopped = d.vb.stop_environment(&alice, env.id).await.unwrap();
    assert_eq!(stopped.status, EnvironmentStatus::Stopped);
    let info = d.rt.inspect(&container(&env)).await.unwrap();
    assert_eq!(info.state, ContainerState::Exited);

    d.vb.start_environment(&alice, env.id).await.unwrap();
    suspend(&d, &alice, &env).await;
    d.vb.delete_environment(&alice, env.id).await.unwrap();
    assert!(
        !container_exists(&container(&env).0),
        "the container went too"
    );
}

/// Auto-suspend on the real engine, with a manual clock for the minutes: a CPU-bound process
/// keeps an environment nobody touches awake (the engine's CPU samples say it is busy); once
/// it ends, the idle environment is frozen by the engine, and after its hours suspended it is
/// stopped.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_environment_is_suspended_unless_busy_and_stopped_after_hours() {
    use std::time::Duration;
    let clock = std::sync::Arc::new(vibebox::testing::ManualClock::new());
    let d = D::with_clock(clock.clone(), |c| c.default_sessions = vec![]).await;
    let (_, env) = d.owner_with_running_env("alice").await;
    let id = env.container_id.clone().unwrap();
    // Straight through the engine: not activity, only CPU.
    let (code, out) = d
        .exec(
            &env,
            "sh -c 'while :; do :; done' >/dev/null 2>&1 & echo $!",
        )
        .await;
    assert_eq!(code, 0, "{out}");
    let spinner = out.trim().to_string();
    assert_eq!(d.vb.apply_idle_policies().await.unwrap().suspended, 0);
    clock.advance(Duration::from_secs(16 * 60));
    let report = d.vb.apply_idle_policies().await.unwrap();
    assert_eq!((report.suspended, report.kept_busy), (0, 1), "{report:?}");
    assert_eq!(docker_inspect(&id)["State"]["Paused"], false);

    let (code, out) = d.exec(&env, &format!("kill {spinner}")).await;
    assert_eq!(code, 0, "{out}");
    clock.advance(Duration::from_secs(16 * 60));
    let report = d.vb.apply_idle_policies().await.unwrap();
    assert_eq!((report.suspended, report.kept_busy), (1, 0), "{report:?}");
    assert_eq!(
        docker_inspect(&id)["State"]["Paused"],
        true,
        "the engine froze it"
    );
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Suspended);

    clock.advance(Duration::from_secs(24 * 60 * 60));
    assert_eq!(d.vb.apply_idle_policies().await.unwrap().stopped, 1);
    assert_eq!(d.reload(&env).await.status, EnvironmentStatus::Stopped);
    assert_eq!(docker_inspect(&id)["State"]["Running"], false);
}
