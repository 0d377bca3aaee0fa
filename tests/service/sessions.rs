use std::time::Duration;

use futures::StreamExt;
use vibebox_core::ErrorKind;
use vibebox_core::config::Config;
use vibebox_core::domain::{SessionStatus, SessionType};
use vibebox_core::runtime::TerminalSize;
use vibebox_core::service::{NewSession, Terminal};
use vibebox_core::store::PageRequest;
use vibebox_core::testing::ScriptedExec;

use super::harness::H;

const SIZE: TerminalSize = TerminalSize { cols: 80, rows: 24 };

fn shell(name: &str) -> NewSession {
    NewSession {
        session_type: SessionType::Shell,
        session_name: name.into(),
        idle_timeout_minutes: Some(5),
    }
}

/// Reads terminal output until it contains `needle`.
async fn read_until(t: &mut Terminal, needle: &str) -> String {
    let mut seen = String::new();
    tokio::time::timeout(Duration::from_secs(10), async {
        while !seen.contains(needle) {
            let chunk = t.output.next().await.expect("terminal ended").unwrap();
            seen.push_str(&String::from_utf8_lossy(&chunk));
        }
    })
    .await
    .unwrap_or_else(|_| panic!("never saw {needle:?}; got {seen:?}"));
    seen
}

#[tokio::test]
async fn the_default_tmux_session_opens_at_start_and_ends_at_stop() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let sessions =
        h.vb.list_sessions(&alice, env.id, false, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    assert_eq!(sessions.len(), 1);
    assert_eq!(
        (
            sessions[0].session_type,
            sessions[0].session_name.as_str(),
            sessions[0].status
        ),
        (SessionType::Tmux, "main", SessionStatus::Active)
    );
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    assert!(
        h.vb.list_sessions(&alice, env.id, false, &PageRequest::first(50))
            .await
            .unwrap()
            .items
            .is_empty()
    );
    let all =
        h.vb.list_sessions(&alice, env.id, true, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    assert_eq!(all[0].status, SessionStatus::Terminated);
}

#[tokio::test]
async fn sessions_need_a_running_environment_and_unique_live_names() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let e =
        h.vb.create_session(&alice, env.id, shell("work"))
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let s =
        h.vb.create_session(&alice, env.id, shell("work"))
            .await
            .unwrap();
    let e =
        h.vb.create_session(&alice, env.id, shell("work"))
            .await
            .unwrap_err();
    assert_eq!(
        (e.kind(), e.field()),
        (ErrorKind::AlreadyExists, Some("session_name"))
    );
    h.vb.terminate_session(&alice, s.id).await.unwrap();
    h.vb.create_session(&alice, env.id, shell("work"))
        .await
        .unwrap();
    let e =
        h.vb.create_session(&alice, env.id, shell("bad.name"))
            .await
            .unwrap_err();
    assert_eq!(e.field(), Some("session_name"));
}

#[tokio::test]
async fn a_vscode_session_fails_with_a_clear_message_when_code_server_is_absent() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let new = || NewSession {
        session_type: SessionType::VscodeServer,
        session_name: "code".into(),
        idle_timeout_minutes: None,
    };
    let e =
        h.vb.create_session(&alice, env.id, new())
            .await
            .unwrap_err();
    assert_eq!(
        e.to_string(),
        "code-server is not installed in this environment's image"
    );
    let all =
        h.vb.list_sessions(&alice, env.id, true, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    assert!(
        all.iter()
            .any(|s| s.session_name == "code" && s.status == SessionStatus::Terminated)
    );
    // With code-server present it starts and records its pid.
    h.rt.script_exec("command -v", ScriptedExec::succeed(""));
    h.rt.script_exec("nohup", ScriptedExec::succeed("4242\n"));
    let s = h.vb.create_session(&alice, env.id, new()).await.unwrap();
    assert_eq!((s.status, s.pid), (SessionStatus::Active, Some(4242)));
}

#[tokio::test]
async fn a_terminal_echoes_keystrokes_runs_commands_and_reports_the_exit_code() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    h.vb.create_session(&alice, env.id, shell("sh"))
        .await
        .unwrap();
    let mut t =
        h.vb.open_terminal(&alice, env.id, "sh", SIZE)
            .await
            .unwrap();
    t.input.write(b"echo hello-terminal\n").await.unwrap();
    read_until(&mut t, "hello-terminal\r\n").await;
    t.control
        .resize(TerminalSize {
            cols: 120,
            rows: 40,
        })
        .await
        .unwrap();
    t.input.write(b"stty size\n").await.unwrap();
    read_until(&mut t, "40 120").await;
    t.input.write(b"exit 3\n").await.unwrap();
    while t.output.next().await.is_some() {}
    assert_eq!(t.control.exit_code().await.unwrap(), Some(3));
    let e = t
        .control
        .resize(TerminalSize { cols: 0, rows: 10 })
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("cols"));
}

#[tokio::test]
async fn closing_a_terminal_kills_its_process_but_a_tmux_session_lives_on() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let before = h.rt.running_exec_count();
    let t =
        h.vb.open_terminal(&alice, env.id, "main", SIZE)
            .await
            .unwrap();
    assert_eq!(h.rt.running_exec_count(), before + 1);
    t.control.close().await;
    assert_eq!(h.rt.running_exec_count(), before);
    let sessions =
        h.vb.list_sessions(&alice, env.id, false, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    assert_eq!(
        sessions[0].status,
        SessionStatus::Active,
        "tmux session survives"
    );
    // Re-attaching opens a new client on the same session.
    let t =
        h.vb.open_terminal(&alice, env.id, "main", SIZE)
            .await
            .unwrap();
    assert_eq!(t.session.id, sessions[0].id);
    drop(t);
}

#[tokio::test(start_paused = false)]
async fn an_idle_session_goes_idle_then_the_reaper_terminates_it() {
    let h = H::with_config(Config {
        default_sessions: vec![],
        ..Config::default()
    })
    .await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let s =
        h.vb.create_session(&alice, env.id, shell("work"))
            .await
            .unwrap();
    h.clock.advance(Duration::from_secs(4 * 60));
    assert_eq!(h.vb.reap_idle_sessions().await.unwrap().idled, 0);
    h.clock.advance(Duration::from_secs(60));
    let report = h.vb.reap_idle_sessions().await.unwrap();
    assert_eq!((report.idled, report.terminated), (1, 0));
    assert_eq!(
        h.vb.get_session(&alice, s.id).await.unwrap().status,
        SessionStatus::Idle
    );
    let report = h.vb.reap_idle_sessions().await.unwrap();
    assert_eq!(report.terminated, 1);
    assert_eq!(
        h.vb.get_session(&alice, s.id).await.unwrap().status,
        SessionStatus::Terminated
    );
}

#[tokio::test]
async fn terminal_activity_keeps_a_session_active() {
    let h = H::with_config(Config {
        default_sessions: vec![],
        ..Config::default()
    })
    .await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let s =
        h.vb.create_session(&alice, env.id, shell("work"))
            .await
            .unwrap();
    h.clock.advance(Duration::from_secs(4 * 60));
    let mut t =
        h.vb.open_terminal(&alice, env.id, "work", SIZE)
            .await
            .unwrap();
    t.input.write(b"echo still-here\n").await.unwrap();
    read_until(&mut t, "still-here\r\n").await;
    // Activity is recorded in the background; wait until the store has it.
    tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let now = h.vb.get_session(&alice, s.id).await.unwrap();
            if now.last_activity_at > s.last_activity_at {
                break;
            }
            tokio::task::yield_now().await;
        }
    })
    .await
    .expect("activity was recorded");
    h.clock.advance(Duration::from_secs(2 * 60));
    assert_eq!(h.vb.reap_idle_sessions().await.unwrap().idled, 0);
}

#[tokio::test]
async fn touching_a_session_records_activity_and_wakes_an_idle_one() {
    let h = H::with_config(Config {
        default_sessions: vec![],
        ..Config::default()
    })
    .await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let s =
        h.vb.create_session(&alice, env.id, shell("ssh"))
            .await
            .unwrap();
    h.clock.advance(Duration::from_secs(5 * 60));
    assert_eq!(h.vb.reap_idle_sessions().await.unwrap().idled, 1);
    let touched = h.vb.touch_session(&alice, s.id).await.unwrap();
    assert_eq!(touched.status, SessionStatus::Active);
    assert!(touched.last_activity_at > s.last_activity_at);
    h.clock.advance(Duration::from_secs(4 * 60));
    assert_eq!(h.vb.reap_idle_sessions().await.unwrap().idled, 0);
}

#[tokio::test]
async fn a_viewer_cannot_touch_a_session_and_a_stranger_cannot_see_it() {
    let h = H::new().await;
    let t = h.team_env().await;
    let s =
        h.vb.create_session(&t.dev, t.env.id, shell("ssh"))
            .await
            .unwrap();
    let viewer = h.vb.touch_session(&t.viewer, s.id).await.unwrap_err();
    assert_eq!(viewer.kind(), ErrorKind::PermissionDenied);
    let stranger = h.vb.touch_session(&t.stranger, s.id).await.unwrap_err();
    assert_eq!(stranger.kind(), ErrorKind::NotFound);
    h.vb.touch_session(&t.dev, s.id).await.unwrap();
}
