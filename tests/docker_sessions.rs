//! Sessions on the real Docker engine: tmux and VS Code server sessions run through exec, the
//! default sessions open at start, stopping the environment ends its sessions, and idle
//! sessions (measured from terminal activity) are reaped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::sync::Arc;
use std::time::Duration;

use docker::*;
use vibebox::Actor;
use vibebox::clock::{Clock, Timestamp};
use vibebox::domain::{Environment, Session, SessionStatus, SessionType};
use vibebox::error::ErrorKind;
use vibebox::service::{NewSession, Terminal};
use vibebox::store::PageRequest;
use vibebox::testing::ManualClock;

const MINUTE: Duration = Duration::from_secs(60);

fn new_session(kind: SessionType, name: &str) -> NewSession {
    NewSession {
        session_type: kind,
        session_name: name.into(),
        idle_timeout_minutes: Some(5),
    }
}

async fn create(d: &D, actor: &Actor, env: &Environment, kind: SessionType, name: &str) -> Session {
    d.vb.create_session(actor, env.id, new_session(kind, name))
        .await
        .unwrap()
}

/// Whether the tmux session exists in the container (checked as the environment's user).
async fn tmux_has(d: &D, env: &Environment, name: &str) -> bool {
    d.exec(env, &format!("tmux has-session -t ={name}")).await.0 == 0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_default_tmux_session_runs_in_the_container_once_started() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let sessions =
        d.vb.list_sessions(&alice, env.id, false, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    let open: Vec<_> = sessions
        .iter()
        .map(|s| (s.session_type, s.session_name.as_str(), s.status))
        .collect();
    assert_eq!(open, [(SessionType::Tmux, "main", SessionStatus::Active)]);
    assert!(tmux_has(&d, &env, "main").await);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_created_tmux_session_runs_in_the_container_until_terminated() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    assert!(!tmux_has(&d, &env, "work").await);
    let s = create(&d, &alice, &env, SessionType::Tmux, "work").await;
    assert_eq!(s.status, SessionStatus::Active);
    assert!(tmux_has(&d, &env, "work").await);
    let ended = d.vb.terminate_session(&alice, s.id).await.unwrap();
    assert_eq!(ended.status, SessionStatus::Terminated);
    assert!(!tmux_has(&d, &env, "work").await);
    assert!(tmux_has(&d, &env, "main").await, "other sessions live on");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminating_a_tmux_session_never_kills_another_whose_name_it_prefixes() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let dev = create(&d, &alice, &env, SessionType::Tmux, "dev").await;
    create(&d, &alice, &env, SessionType::Tmux, "devops").await;
    // The user left the shell of `dev`, which ended that tmux session.
    let (code, _) = d.exec(&env, "tmux kill-session -t =dev").await;
    assert_eq!(code, 0);
    d.vb.terminate_session(&alice, dev.id).await.unwrap();
    assert!(tmux_has(&d, &env, "devops").await, "devops is untouched");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vscode_session_fails_naming_the_program_when_it_is_not_installed() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let e =
        d.vb.create_session(
            &alice,
            env.id,
            new_session(SessionType::VscodeServer, "code"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(
        e.to_string(),
        "code-server is not installed in this environment's image"
    );
    let all =
        d.vb.list_sessions(&alice, env.id, true, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    let code = all.iter().find(|s| s.session_name == "code").unwrap();
    assert_eq!(code.status, SessionStatus::Terminated);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_vscode_session_runs_the_configured_command_until_terminated() {
    let d = D::with(|c| {
        c.vscode_server_command = vec![
            "/home/vibebox/bin/code-server".into(),
            "--bind-addr".into(),
            "0.0.0.0:8080".into(),
        ];
    })
    .await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let shim = "mkdir -p $HOME/bin && printf '#!/bin/sh\\necho \"$@\" > $HOME/vscode-args\\n\
                exec sleep 4203\\n' > $HOME/bin/code-server && chmod +x $HOME/bin/code-server";
    assert_eq!(d.exec(&env, shim).await.0, 0);
    let s = create(&d, &alice, &env, SessionType::VscodeServer, "code").await;
    assert_eq!(s.status, SessionStatus::Active);
    let pid = s.pid.expect("the server's pid is recorded").to_string();
    // The recorded pid is the configured command, which became `sleep`.
    d.exec_until_ok(
        &env,
        &format!("tr '\\0' ' ' < /proc/{pid}/cmdline | grep -qx 'sleep 4203 '"),
    )
    .await;
    let args = d.exec_until_ok(&env, "cat $HOME/vscode-args").await;
    assert_eq!(args, "--bind-addr 0.0.0.0:8080\n");
    d.vb.terminate_session(&alice, s.id).await.unwrap();
    d.wait_process_gone(&env, &pid).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stopping_the_environment_terminates_its_sessions_and_ends_their_terminals() {
    let d = D::new().await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    create(&d, &alice, &env, SessionType::Shell, "sh").await;
    let mut shell =
        d.vb.open_terminal(&alice, env.id, "sh", TERM_SIZE)
            .await
            .unwrap();
    let mut tmux =
        d.vb.open_terminal(&alice, env.id, "main", TERM_SIZE)
            .await
            .unwrap();
    shell.input.write(b"echo typed-$((6*7))\r").await.unwrap();
    read_until(&mut shell, "typed-42").await;
    d.vb.stop_environment(&alice, env.id).await.unwrap();
    read_to_end(&mut shell).await;
    read_to_end(&mut tmux).await;
    let all =
        d.vb.list_sessions(&alice, env.id, true, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    assert_eq!(all.len(), 2);
    assert!(
        all.iter().all(|s| s.status == SessionStatus::Terminated),
        "{all:?}"
    );
}

/// A harness on a manual clock without default sessions, and a user with a running
/// environment.
async fn idle_harness() -> (D, Arc<ManualClock>, Actor, Environment) {
    let clock = Arc::new(ManualClock::new());
    let d = D::with_clock(clock.clone(), |c| c.default_sessions = vec![]).await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    (d, clock, alice, env)
}

async fn status(d: &D, actor: &Actor, s: &Session) -> SessionStatus {
    d.vb.get_session(actor, s.id).await.unwrap().status
}

/// Waits until the store has terminal activity at `at` or later for the session.
async fn wait_activity_recorded(d: &D, actor: &Actor, s: &Session, at: Timestamp) {
    tokio::time::timeout(WAIT, async {
        while d
            .vb
            .get_session(actor, s.id)
            .await
            .unwrap()
            .last_activity_at
            < at
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the terminal activity is recorded");
}

/// Types a command and reads until its output and the next prompt have arrived, so nothing
/// more comes afterwards.
async fn run_in(t: &mut Terminal, command: &str, output: &str) {
    t.input
        .write(format!("{command}\r").as_bytes())
        .await
        .unwrap();
    let seen = read_until(t, output).await;
    let after = &seen[seen.rfind(output).unwrap()..];
    if !after.contains("$ ") {
        read_until(t, "$ ").await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unused_tmux_session_goes_idle_and_the_reaper_ends_it_in_the_container() {
    let (d, clock, alice, env) = idle_harness().await;
    let s = create(&d, &alice, &env, SessionType::Tmux, "work").await;
    clock.advance(4 * MINUTE);
    assert_eq!(d.vb.reap_idle_sessions().await.unwrap().idled, 0);
    assert_eq!(status(&d, &alice, &s).await, SessionStatus::Active);
    clock.advance(MINUTE);
    let report = d.vb.reap_idle_sessions().await.unwrap();
    assert_eq!((report.idled, report.terminated), (1, 0));
    assert_eq!(status(&d, &alice, &s).await, SessionStatus::Idle);
    assert!(tmux_has(&d, &env, "work").await, "idle is not yet ended");
    let report = d.vb.reap_idle_sessions().await.unwrap();
    assert_eq!(report.terminated, 1);
    assert_eq!(status(&d, &alice, &s).await, SessionStatus::Terminated);
    assert!(
        !tmux_has(&d, &env, "work").await,
        "the tmux session is gone"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_input_and_output_reset_the_idle_timer() {
    let (d, clock, alice, env) = idle_harness().await;
    let s = create(&d, &alice, &env, SessionType::Shell, "work").await;
    clock.advance(4 * MINUTE);
    let used_at = clock.now();
    let mut t =
        d.vb.open_terminal(&alice, env.id, "work", TERM_SIZE)
            .await
            .unwrap();
    run_in(&mut t, "echo typed-$((6*7))", "typed-42").await;
    wait_activity_recorded(&d, &alice, &s, used_at).await;
    // Six minutes after creation, two after the activity: still active.
    clock.advance(2 * MINUTE);
    assert_eq!(d.vb.reap_idle_sessions().await.unwrap().idled, 0);
    assert_eq!(status(&d, &alice, &s).await, SessionStatus::Active);
    // Five minutes after the activity it goes idle.
    clock.advance(3 * MINUTE);
    assert_eq!(d.vb.reap_idle_sessions().await.unwrap().idled, 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn holding_a_terminal_open_without_input_or_output_is_not_activity() {
    let (d, clock, alice, env) = idle_harness().await;
    let s = create(&d, &alice, &env, SessionType::Shell, "work").await;
    clock.advance(MINUTE);
    let opened_at = clock.now();
    let mut t =
        d.vb.open_terminal(&alice, env.id, "work", TERM_SIZE)
            .await
            .unwrap();
    run_in(&mut t, "echo typed-$((6*7))", "typed-42").await;
    wait_activity_recorded(&d, &alice, &s, opened_at).await;
    clock.advance(5 * MINUTE);
    let report = d.vb.reap_idle_sessions().await.unwrap();
    assert_eq!(report.idled, 1, "the open terminal did not keep it active");
    assert_eq!(status(&d, &alice, &s).await, SessionStatus::Idle);
    // The reaper ends the session and with it the terminal's shell.
    assert_eq!(d.vb.reap_idle_sessions().await.unwrap().terminated, 1);
    read_to_end(&mut t).await;
    assert_eq!(status(&d, &alice, &s).await, SessionStatus::Terminated);
}
