//! The status and logs sockets with a real WebSocket client against a served router.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use common::ws::*;
use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_util::sync::CancellationToken;
use vibebox_http::HttpConfig;

#[tokio::test]
async fn status_socket_follows_start_and_stop_with_metrics_while_running() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let addr = app.serve().await;
    let mut ws = connect_as(
        addr,
        &format!("/api/v1/ws/environments/{env}/status"),
        &alice,
    )
    .await;
    let first = next_json(&mut ws).await;
    assert_eq!(first["type"], "status");
    assert_eq!(first["status"], "stopped");
    let started = app.start(&env, &alice).await;
    assert_eq!(started.status, StatusCode::OK);
    until(&mut ws, |v| {
        v["type"] == "status" && v["status"] == "starting"
    })
    .await;
    until(&mut ws, |v| {
        v["type"] == "status" && v["status"] == "running"
    })
    .await;
    let m = until(&mut ws, |v| v["type"] == "metrics").await;
    assert!(m["memory_limit_bytes"].as_u64().unwrap() > 0, "{m}");
    app.call(
        "POST",
        &format!("/api/v1/environments/{env}/stop"),
        &alice,
        None,
    )
    .await;
    until(&mut ws, |v| {
        v["type"] == "status" && v["status"] == "stopped"
    })
    .await;
}

#[tokio::test]
async fn a_ticket_opens_one_socket_once_and_no_credentials_are_401() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let addr = app.serve().await;
    let t = app.call("POST", "/api/v1/ws-tickets", &alice, None).await;
    assert_eq!(t.status, StatusCode::CREATED);
    assert_eq!(t.body["expires_in"], 30);
    let ticket = t.body["ticket"].as_str().unwrap();
    let path = format!("/api/v1/ws/environments/{env}/status?ticket={ticket}");
    let mut ws = connect(addr, &path, None, None).await.unwrap();
    assert_eq!(next_json(&mut ws).await["type"], "status");
    assert_eq!(
        connect(addr, &path, None, None).await.err(),
        Some(401),
        "used once"
    );
    let bare = format!("/api/v1/ws/environments/{env}/status");
    assert_eq!(connect(addr, &bare, None, None).await.err(), Some(401));
}

#[tokio::test]
async fn sockets_check_the_origin_and_hide_other_tenants_environments() {
    let app = App::with(HttpConfig {
        allowed_origins: vec!["https://app.example.com".into()],
        ..common::config()
    });
    let alice = app.signed_in("alice").await;
    let bob = app.signed_in("bob").await;
    let (_, env) = app.project_with_env(&alice).await;
    let addr = app.serve().await;
    let path = format!("/api/v1/ws/environments/{env}/status");
    let auth = format!("vibebox.v1, bearer.{alice}");
    assert_eq!(
        connect(addr, &path, Some(&auth), Some("https://evil.example.net"))
            .await
            .err(),
        Some(403)
    );
    assert!(
        connect(addr, &path, Some(&auth), Some("https://app.example.com"))
            .await
            .is_ok()
    );
    let bob_auth = format!("vibebox.v1, bearer.{bob}");
    assert_eq!(
        connect(addr, &path, Some(&bob_auth), None).await.err(),
        Some(404)
    );
}

#[tokio::test]
async fn sockets_accept_the_servers_own_origin_and_refuse_foreign_and_preview_hosts() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let addr = app.serve().await;
    let path = format!("/api/v1/ws/environments/{env}/status");
    let auth = format!("vibebox.v1, bearer.{alice}");
    // The client sends `Host: 127.0.0.1:<port>`: the console this server serves.
    for own in [format!("http://{addr}"), format!("HTTP://{addr}")] {
        assert!(
            connect(addr, &path, Some(&auth), Some(&own)).await.is_ok(),
            "{own}"
        );
    }
    let port = addr.port();
    for foreign in [
        format!("http://8080--dev--alpha.vibebox.localhost:{port}"),
        format!("http://127.0.0.1:{}", port.wrapping_add(1)),
        "http://127.0.0.1".to_string(),
        "https://evil.example.net".to_string(),
        "null".to_string(),
    ] {
        assert_eq!(
            connect(addr, &path, Some(&auth), Some(&foreign))
                .await
                .err(),
            Some(403),
            "{foreign}"
        );
    }
}

#[tokio::test]
async fn logs_socket_replays_history_then_streams_and_marks_lines_missed_while_paused() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    // The fake container's first line, persisted by the collector.
    let stored = tokio::time::timeout(WAIT, async {
        loop {
            let r = app
                .call(
                    "GET",
                    &format!("/api/v1/environments/{env}/logs"),
                    &alice,
                    None,
                )
                .await;
            if !r.body["items"].as_array().unwrap().is_empty() {
                break r.body["items"][0]["message"].clone();
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the first line is stored in time");
    let addr = app.serve().await;
    let mut ws = connect_as(addr, &format!("/api/v1/ws/environments/{env}/logs"), &alice).await;
    let first = next_json(&mut ws).await;
    assert_eq!(first["type"], "log");
    assert_eq!(first["message"], stored);
    // Live lines: the fake runtime's container echoes what its main process is told.
    let container = app
        .call("GET", &format!("/api/v1/environments/{env}"), &alice, None)
        .await
        .body["container_id"]
        .as_str()
        .unwrap()
        .to_string();
    let id = vibebox_core::runtime::ContainerId(container);
    app.runtime
        .push_log(&id, vibebox_core::domain::LogStream::Stdout, "live one");
    let live = until(&mut ws, |v| v["type"] == "log").await;
    assert_eq!(live["message"], "live one");
    ws.send(Message::Text(json!({"type": "pause"}).to_string().into()))
        .await
        .unwrap();
    // Pausing takes effect once the server has read the message: wait for an error reply to
    // a probe sent after it.
    ws.send(Message::Text("{\"type\":\"probe\"}".into()))
        .await
        .unwrap();
    until(&mut ws, |v| v["type"] == "error").await;
    let env_id: vibebox_core::id::EnvironmentId = env.parse().unwrap();
    let mut published = app.vibebox.events().subscribe(env_id);
    app.runtime
        .push_log(&id, vibebox_core::domain::LogStream::Stdout, "missed a");
    app.runtime
        .push_log(&id, vibebox_core::domain::LogStream::Stdout, "missed b");
    // Resume only once the collector has published both (while the socket was paused).
    tokio::time::timeout(WAIT, async {
        loop {
            if let vibebox_core::events::EventKind::Log { message, .. } =
                published.recv().await.unwrap().kind
                && message == "missed b"
            {
                break;
            }
        }
    })
    .await
    .expect("the collector published the lines");
    ws.send(Message::Text(json!({"type": "resume"}).to_string().into()))
        .await
        .unwrap();
    let marker = until(&mut ws, |v| v["type"] == "dropped").await;
    assert_eq!(marker["count"], 2);
}

#[tokio::test]
async fn shutdown_closes_open_sockets_with_1001() {
    let token = CancellationToken::new();
    let app = App::with(HttpConfig {
        shutdown: token.clone(),
        ..common::config()
    });
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let addr = app.serve().await;
    let mut ws = connect_as(
        addr,
        &format!("/api/v1/ws/environments/{env}/status"),
        &alice,
    )
    .await;
    next_json(&mut ws).await;
    token.cancel();
    let close = loop {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.unwrap().code, CloseCode::Away);
}

#[tokio::test]
async fn a_ticket_of_a_user_disabled_since_it_was_issued_is_refused() {
    let app = App::new();
    let root = app.signed_in("root").await;
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let addr = app.serve().await;
    let t = app.call("POST", "/api/v1/ws-tickets", &alice, None).await;
    let ticket = t.body["ticket"].as_str().unwrap();
    app.disable(&root, &alice).await;
    let path = format!("/api/v1/ws/environments/{env}/status?ticket={ticket}");
    assert_eq!(connect(addr, &path, None, None).await.err(), Some(401));
}

#[tokio::test]
async fn disabling_a_user_closes_their_open_sockets_with_1008_and_leaves_others_open() {
    let app = App::new();
    let root = app.signed_in("root").await;
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let (_, root_env) = app.project_with_env(&root).await;
    let s = app
        .call(
            "POST",
            &format!("/api/v1/environments/{env}/sessions"),
            &alice,
            Some(json!({"session_type": "shell", "session_name": "sh"})),
        )
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{}", s.body);
    let addr = app.serve().await;
    let mut terminal = connect_as(
        addr,
        &format!("/api/v1/ws/environments/{env}/terminal?session=sh"),
        &alice,
    )
    .await;
    let mut status = connect_as(
        addr,
        &format!("/api/v1/ws/environments/{env}/status"),
        &alice,
    )
    .await;
    let mut logs = connect_as(addr, &format!("/api/v1/ws/environments/{env}/logs"), &alice).await;
    let mut others = connect_as(
        addr,
        &format!("/api/v1/ws/environments/{root_env}/status"),
        &root,
    )
    .await;
    next_json(&mut status).await;
    next_json(&mut others).await;
    app.disable(&root, &alice).await;
    assert_eq!(close_code(&mut status).await, CloseCode::Policy);
    assert_eq!(close_code(&mut logs).await, CloseCode::Policy);
    assert_eq!(close_code(&mut terminal).await, CloseCode::Policy);
    // Root's socket still works: it follows a start.
    app.start(&root_env, &root).await;
    let next = until(&mut others, |v| v["status"] == "running").await;
    assert_eq!(next["type"], "status");
}

/// Reads binary terminal output until it contains `needle`.
async fn read_terminal_until(ws: &mut Socket, needle: &str) -> String {
    let mut seen = String::new();
    tokio::time::timeout(WAIT, async {
        while !seen.contains(needle) {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => seen.push_str(&String::from_utf8_lossy(&b)),
                Some(Ok(_)) => {}
                other => panic!("the terminal ended early: {other:?}; saw {seen:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{needle:?} never came; saw {seen:?}"));
    seen
}

#[tokio::test]
async fn terminal_socket_echoes_keystrokes_resizes_and_reports_the_exit_code() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let base = format!("/api/v1/environments/{env}");
    let s = app
        .call(
            "POST",
            &format!("{base}/sessions"),
            &alice,
            Some(json!({"session_type": "shell", "session_name": "sh"})),
        )
        .await;
    assert_eq!(s.status, StatusCode::CREATED, "{}", s.body);
    let addr = app.serve().await;
    let mut ws = connect_as(
        addr,
        &format!("/api/v1/ws/environments/{env}/terminal?session=sh&cols=80&rows=24"),
        &alice,
    )
    .await;
    ws.send(Message::Binary(b"echo hello-socket\n".to_vec().into()))
        .await
        .unwrap();
    read_terminal_until(&mut ws, "hello-socket\r\n").await;
    ws.send(Message::Text(
        json!({"type": "resize", "cols": 132, "rows": 43})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    ws.send(Message::Text(
        json!({"type": "input", "data": "stty size\n"})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    read_terminal_until(&mut ws, "43 132").await;
    ws.send(Message::Text(
        json!({"type": "resize", "cols": 0, "rows": 10})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    let err = until(&mut ws, |v| v["type"] == "error").await;
    assert!(err["message"].as_str().unwrap().contains("cols"), "{err}");
    ws.send(Message::Binary(b"exit 3\n".to_vec().into()))
        .await
        .unwrap();
    let exit = until(&mut ws, |v| v["type"] == "exit").await;
    assert_eq!(exit["code"], 3);
}

#[tokio::test]
async fn leaving_a_tmux_terminal_keeps_the_session_for_the_next_one() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let addr = app.serve().await;
    let path = format!("/api/v1/ws/environments/{env}/terminal?session=main");
    let auth = format!("vibebox.v1, bearer.{alice}");
    let before = app.runtime.running_exec_count();
    let mut ws = connect(addr, &path, Some(&auth), None).await.unwrap();
    // The terminal's exec runs until the client leaves.
    tokio::time::timeout(WAIT, async {
        while app.runtime.running_exec_count() != before + 1 {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the terminal's process started");
    ws.close(None).await.unwrap();
    tokio::time::timeout(WAIT, async {
        while app.runtime.running_exec_count() != before {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .expect("the terminal's process was killed when the client left");
    let sessions = app
        .call(
            "GET",
            &format!("/api/v1/environments/{env}/sessions"),
            &alice,
            None,
        )
        .await;
    assert_eq!(
        sessions.body["items"][0]["status"], "active",
        "{}",
        sessions.body
    );
    assert!(
        connect(addr, &path, Some(&auth), None).await.is_ok(),
        "re-attach"
    );
}

#[tokio::test]
async fn status_socket_sends_the_health_on_connect_and_each_change() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let addr = app.serve().await;
    let mut ws = connect_as(
        addr,
        &format!("/api/v1/ws/environments/{env}/status"),
        &alice,
    )
    .await;
    assert_eq!(next_json(&mut ws).await["type"], "status");
    let health = next_json(&mut ws).await;
    assert_eq!(health["type"], "health", "{health}");
    assert_eq!(health["oom_kills"], 0);
    let container = app.container_of(&env).await;
    assert!(app.runtime.saturate(&container, true));
    app.vibebox.check_health().await.unwrap();
    let raised = until(&mut ws, |v| v["type"] == "health").await;
    assert_eq!(raised["warnings"][0]["code"], "pids_limit", "{raised}");
}

#[tokio::test]
async fn logs_socket_marks_output_lost_to_rotation_with_a_gap() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let addr = app.serve().await;
    let mut ws = connect_as(addr, &format!("/api/v1/ws/environments/{env}/logs"), &alice).await;
    let id: vibebox_core::id::EnvironmentId = env.parse().unwrap();
    // The collector has read the start line once it is stored.
    tokio::time::timeout(WAIT, async {
        while app
            .vibebox
            .unchecked()
            .store()
            .latest_log(id)
            .await
            .unwrap()
            .is_none()
        {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    })
    .await
    .expect("the first line is stored");
    let container = app.container_of(&env).await;
    app.runtime.push_log(
        &container,
        vibebox_core::domain::LogStream::Stdout,
        "gone 1\ngone 2\nkept",
    );
    assert!(app.runtime.rotate_logs(&container, 1));
    let gap = until(&mut ws, |v| v["type"] == "gap").await;
    assert!(
        gap["message"].as_str().unwrap().contains("was lost"),
        "{gap}"
    );
    assert!(
        gap["after"].is_string() && gap["before"].is_string(),
        "{gap}"
    );
    until(&mut ws, |v| v["type"] == "log" && v["message"] == "kept").await;
}

/// Bytes the tunnel test's app answers after the request's end of file: several frames.
const ANSWER_TAIL: usize = 200_000;

/// A local app that reads each connection to its end of file, waits a little, then answers
/// `got <n> bytes` and [`ANSWER_TAIL`] more bytes, and closes. Returns its port.
async fn answer_after_eof_app() -> u16 {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut request = Vec::new();
                if socket.read_to_end(&mut request).await.is_err() {
                    return;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                let mut answer = format!("got {} bytes\n", request.len()).into_bytes();
                answer.resize(answer.len() + ANSWER_TAIL, b'z');
                let _ = socket.write_all(&answer).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    port
}

/// A served app on a fake engine whose published ports are reachable here, and a running
/// environment with port 8080 published on `host_port`: (address, token, environment).
async fn tunnel_to(host_port: u16) -> (SocketAddr, String, String) {
    let app = App::with_runtime(
        common::config(),
        vibebox_core::testing::FakeRuntime::new().with_capabilities(
            vibebox_core::runtime::Capabilities {
                storage_limit: false,
                kill_exec: true,
                stats: true,
                local_ports: true,
                pause: true,
            },
        ),
    );
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let port = app
        .call(
            "POST",
            &format!("/api/v1/environments/{env}/ports"),
            &alice,
            Some(json!({"container_port": 8080, "host_port": host_port})),
        )
        .await;
    assert_eq!(port.status, StatusCode::CREATED, "{}", port.body);
    assert_eq!(app.start(&env, &alice).await.status, StatusCode::OK);
    (app.serve().await, alice, env)
}

#[tokio::test]
async fn the_tunnels_eof_frame_half_closes_and_the_apps_answer_after_it_still_arrives() {
    let (addr, alice, env) = tunnel_to(answer_after_eof_app().await).await;
    let path = format!("/api/v1/ws/environments/{env}/ports/8080/tunnel");
    let mut ws = connect_as(addr, &path, &alice).await;
    ws.send(Message::binary(vec![b'a'; 3000])).await.unwrap();
    ws.send(Message::binary(vec![b'b'; 42])).await.unwrap();
    ws.send(Message::text(r#"{"type":"eof"}"#)).await.unwrap();
    let mut answer = Vec::new();
    let close = loop {
        match tokio::time::timeout(WAIT, ws.next()).await.unwrap() {
            Some(Ok(Message::Binary(bytes))) => answer.extend_from_slice(&bytes),
            Some(Ok(Message::Close(frame))) => break frame,
            Some(Ok(_)) => {}
            other => panic!("expected the answer then a close frame, got {other:?}"),
        }
    };
    assert_eq!(close.map(|f| f.code), Some(CloseCode::Normal));
    let head = b"got 3042 bytes\n";
    assert!(
        answer.starts_with(head),
        "{:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(40)])
    );
    assert_eq!(answer.len(), head.len() + ANSWER_TAIL, "the whole answer");
}

#[tokio::test]
async fn bytes_after_the_tunnels_eof_frame_close_the_socket_with_1002() {
    let (addr, alice, env) = tunnel_to(answer_after_eof_app().await).await;
    let path = format!("/api/v1/ws/environments/{env}/ports/8080/tunnel");
    let mut ws = connect_as(addr, &path, &alice).await;
    ws.send(Message::text(r#"{"type":"eof"}"#)).await.unwrap();
    ws.send(Message::binary(b"late".to_vec())).await.unwrap();
    assert_eq!(close_code(&mut ws).await, CloseCode::Protocol);
}
