//! `POST /environments/{id}/exec` and the exec WebSocket on the fake runtime: statuses,
//! problems naming the field, output encodings, timeouts, and the socket's start, stdin,
//! tagged output, kill and exit frames.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use axum::http::StatusCode;
use base64::Engine as _;
use common::*;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const WAIT: Duration = Duration::from_secs(10);

fn exec_uri(env: &str) -> String {
    format!("/api/v1/environments/{env}/exec")
}

async fn exec(app: &App, env: &str, token: &str, body: Value) -> Reply {
    app.call("POST", &exec_uri(env), token, Some(body)).await
}

/// A team `core` of `alice` (admin) with `viewer` and `dev`, a project in it and a running
/// environment created by `dev`: the tokens of alice, dev and viewer, and the environment.
async fn team_env(app: &App) -> (String, String, String, String) {
    let alice = app.signed_in("alice").await;
    let dev = app.signed_in("dev").await;
    let viewer = app.signed_in("viewer").await;
    let team = app
        .team(
            &alice,
            "core",
            &[("dev", "developer"), ("viewer", "viewer")],
        )
        .await;
    let project = app
        .call(
            "POST",
            "/api/v1/projects",
            &alice,
            Some(json!({"name": "P", "slug": "team-proj", "team_id": team})),
        )
        .await;
    assert_eq!(project.status, StatusCode::CREATED, "{}", project.body);
    let env = app
        .call(
            "POST",
            "/api/v1/environments",
            &dev,
            Some(
                json!({"project_id": project.body["id"], "name": "E", "slug": "env",
                        "base_image": "vibebox/base:bookworm"}),
            ),
        )
        .await;
    assert_eq!(env.status, StatusCode::CREATED, "{}", env.body);
    let env = env.body["id"].as_str().unwrap().to_string();
    assert_eq!(app.start(&env, &dev).await.status, StatusCode::OK);
    (alice, dev, viewer, env)
}

fn assert_problem(r: &Reply, status: StatusCode, field: Option<&str>) {
    assert_eq!(r.status, status, "{}", r.body);
    assert_eq!(r.headers["content-type"], "application/problem+json");
    for key in ["type", "title", "status", "detail", "code"] {
        assert!(!r.body[key].is_null(), "{key} missing: {}", r.body);
    }
    assert_eq!(r.body["status"], status.as_u16());
    match field {
        Some(f) => assert_eq!(r.body["field"], f, "{}", r.body),
        None => assert!(r.body["field"].is_null(), "{}", r.body),
    }
}

#[tokio::test]
async fn exec_answers_200_with_the_exit_code_and_stdout_and_stderr_apart() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let r = exec(
        &app,
        &env,
        &alice,
        json!({"command": ["sh", "-c", "cat; echo err >&2; exit 3"], "stdin": "from stdin\n"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["exit_code"], 3);
    assert_eq!(r.body["stdout"], "from stdin\n");
    assert_eq!(r.body["stderr"], "err\n");
    assert_eq!(r.body["stdout_truncated"], false);
    assert_eq!(r.body["stderr_truncated"], false);
    assert_eq!(r.body["timed_out"], false);
    assert!(r.body["duration_ms"].is_u64(), "{}", r.body);
}

#[tokio::test]
async fn exec_output_comes_as_base64_when_asked() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let r = exec(
        &app,
        &env,
        &alice,
        json!({"command": ["echo", "bytes"], "output_encoding": "base64"}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(r.body["stdout"].as_str().unwrap())
        .unwrap();
    assert_eq!(decoded, b"bytes\n");
    assert_eq!(r.body["stderr"], "");
}

#[tokio::test]
async fn exec_past_its_timeout_answers_200_timed_out() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let r = exec(
        &app,
        &env,
        &alice,
        json!({"command": ["sleep", "30"], "timeout_seconds": 0.2}),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert_eq!(r.body["timed_out"], true);
    assert_eq!(r.body["exit_code"], 137);
}

#[tokio::test]
async fn exec_is_403_for_a_viewer_404_for_a_stranger_and_200_for_the_team() {
    let app = App::new();
    let (alice, dev, viewer, env) = team_env(&app).await;
    let stranger = app.signed_in("stranger").await;
    let body = json!({"command": ["true"]});
    assert_problem(
        &exec(&app, &env, &viewer, body.clone()).await,
        StatusCode::FORBIDDEN,
        None,
    );
    assert_problem(
        &exec(&app, &env, &stranger, body.clone()).await,
        StatusCode::NOT_FOUND,
        None,
    );
    // Nor does a bad request tell a stranger anything.
    assert_problem(
        &exec(&app, &env, &stranger, json!({"command": []})).await,
        StatusCode::NOT_FOUND,
        None,
    );
    for token in [&dev, &alice] {
        let r = exec(&app, &env, token, body.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    }
    let r = app
        .call("POST", &exec_uri(&env), "not-a-token", Some(body.clone()))
        .await;
    assert_eq!(r.status, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn exec_in_a_stopped_environment_is_409() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let r = exec(&app, &env, &alice, json!({"command": ["true"]})).await;
    assert_problem(&r, StatusCode::CONFLICT, None);
}

#[tokio::test]
async fn bad_exec_bodies_are_422_naming_the_field() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let many: Vec<&str> = vec!["x"; 4097];
    let cases = [
        (json!({"command": []}), "command"),
        (json!({"command": [""]}), "command"),
        (json!({"command": ["echo", "a\u{0}b"]}), "command"),
        (json!({"command": many}), "command"),
        (
            json!({"command": ["echo", "y".repeat(300 * 1024)]}),
            "command",
        ),
        (json!({"env": {"A": "b"}}), "command"),
        (json!({"command": ["env"], "env": {"lower": "v"}}), "env"),
        (json!({"command": ["env"], "env": {"K": "v\u{0}"}}), "env"),
        (
            json!({"command": ["pwd"], "workdir": "relative"}),
            "workdir",
        ),
        (
            json!({"command": ["true"], "timeout_seconds": 0}),
            "timeout_seconds",
        ),
        (
            json!({"command": ["true"], "timeout_seconds": -1}),
            "timeout_seconds",
        ),
        (
            json!({"command": ["true"], "timeout_seconds": 1e300}),
            "timeout_seconds",
        ),
        (
            json!({"command": ["true"], "timeout_seconds": 7200}),
            "timeout_seconds",
        ),
        (
            json!({"command": ["true"], "output_encoding": "hex"}),
            "output_encoding",
        ),
        (json!({"command": "true"}), "command"),
    ];
    let before = app.runtime.exec_history().len();
    for (body, field) in cases {
        let shown: String = body.to_string().chars().take(80).collect();
        let r = exec(&app, &env, &alice, body).await;
        assert_eq!(
            r.status,
            StatusCode::UNPROCESSABLE_ENTITY,
            "{shown}: {}",
            r.body
        );
        assert_problem(&r, StatusCode::UNPROCESSABLE_ENTITY, Some(field));
    }
    assert_eq!(app.runtime.exec_history().len(), before, "nothing ran");
}

#[tokio::test]
async fn an_exec_body_over_the_size_limit_is_413() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let r = exec(
        &app,
        &env,
        &alice,
        json!({"command": ["cat"], "stdin": "z".repeat(2 * 1024 * 1024)}),
    )
    .await;
    assert_problem(&r, StatusCode::PAYLOAD_TOO_LARGE, None);
}

// ---- The WebSocket ----

/// Opens a socket with the token in the `bearer.` subprotocol; `Err(status)` when the
/// upgrade is refused.
async fn connect(addr: SocketAddr, env: &str, token: &str) -> Result<Socket, u16> {
    let mut request = format!("ws://{addr}/api/v1/ws/environments/{env}/exec")
        .into_client_request()
        .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("vibebox.v1, bearer.{token}").parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("connect failed: {e}"),
    }
}

async fn send_json(ws: &mut Socket, value: Value) {
    ws.send(Message::Text(value.to_string().into()))
        .await
        .unwrap();
}

/// What a socket sent until it closed: stdout, stderr, the text frames and the close code.
struct Transcript {
    stdout: Vec<u8>,
    stderr: Vec<u8>,
    texts: Vec<Value>,
    close: Option<CloseCode>,
}

async fn read_to_close(ws: &mut Socket) -> Transcript {
    let mut t = Transcript {
        stdout: Vec::new(),
        stderr: Vec::new(),
        texts: Vec::new(),
        close: None,
    };
    tokio::time::timeout(WAIT, async {
        while let Some(msg) = ws.next().await {
            match msg.unwrap() {
                Message::Binary(b) => match b.first() {
                    Some(1) => t.stdout.extend_from_slice(&b[1..]),
                    Some(2) => t.stderr.extend_from_slice(&b[1..]),
                    other => panic!("untagged output frame: {other:?}"),
                },
                Message::Text(text) => t.texts.push(serde_json::from_str(&text).unwrap()),
                Message::Close(frame) => {
                    t.close = frame.map(|f| f.code);
                    break;
                }
                _ => {}
            }
        }
    })
    .await
    .expect("the socket closed in time");
    t
}

#[tokio::test]
async fn the_exec_socket_echoes_stdin_through_cat_then_sends_the_exit_and_closes_normally() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let addr = app.serve().await;
    let mut ws = connect(addr, &env, &alice).await.unwrap();
    send_json(&mut ws, json!({"type": "start", "command": ["cat"]})).await;
    ws.send(Message::Binary(b"over the socket\n".to_vec().into()))
        .await
        .unwrap();
    send_json(&mut ws, json!({"type": "eof"})).await;
    let t = read_to_close(&mut ws).await;
    assert_eq!(t.stdout, b"over the socket\n");
    assert!(t.stderr.is_empty());
    assert_eq!(
        t.texts,
        vec![json!({"type": "exit", "exit_code": 0, "timed_out": false})]
    );
    assert_eq!(t.close, Some(CloseCode::Normal));
}

#[tokio::test]
async fn the_exec_socket_tags_stdout_and_stderr_apart() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let addr = app.serve().await;
    let mut ws = connect(addr, &env, &alice).await.unwrap();
    send_json(
        &mut ws,
        json!({"type": "start", "command": ["sh", "-c", "echo $GREETING; echo oops >&2; exit 5"],
               "env": {"GREETING": "hi"}}),
    )
    .await;
    let t = read_to_close(&mut ws).await;
    assert_eq!(
        (t.stdout.as_slice(), t.stderr.as_slice()),
        (&b"hi\n"[..], &b"oops\n"[..])
    );
    assert_eq!(t.texts.last().unwrap()["exit_code"], 5);
}

#[tokio::test]
async fn the_exec_socket_kills_on_request_and_reports_the_exit() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let addr = app.serve().await;
    let baseline = app.runtime.running_exec_count();
    let mut ws = connect(addr, &env, &alice).await.unwrap();
    send_json(
        &mut ws,
        json!({"type": "start", "command": ["sh", "-c", "echo started; sleep 30"]}),
    )
    .await;
    // The process runs once its first output arrives.
    let first = tokio::time::timeout(WAIT, ws.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(first, Message::Binary(b"\x01started\n".to_vec().into()));
    send_json(&mut ws, json!({"type": "kill"})).await;
    let t = read_to_close(&mut ws).await;
    assert_eq!(t.texts.last().unwrap()["exit_code"], 137);
    assert_eq!(app.runtime.running_exec_count(), baseline);
}

#[tokio::test]
async fn a_bad_start_frame_is_an_error_naming_the_field_and_closes_with_1008() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let addr = app.serve().await;
    let before = app.runtime.exec_history().len();
    for (frame, field) in [
        (json!({"type": "start", "command": []}), "command"),
        (
            json!({"type": "start", "command": ["pwd"], "workdir": "rel"}),
            "workdir",
        ),
        (
            json!({"type": "start", "command": ["sh"], "tty": {"cols": 0, "rows": 5}}),
            "cols",
        ),
        (
            json!({"type": "start", "command": ["true"], "timeout_seconds": 0}),
            "timeout_seconds",
        ),
        (json!({"type": "eof"}), "type"),
        (json!({"type": "launch"}), "type"),
    ] {
        let mut ws = connect(addr, &env, &alice).await.unwrap();
        send_json(&mut ws, frame.clone()).await;
        let t = read_to_close(&mut ws).await;
        assert_eq!(t.texts.len(), 1, "{frame}: {:?}", t.texts);
        let e = &t.texts[0];
        assert_eq!(e["type"], "error", "{frame}: {e}");
        assert_eq!(e["code"], "invalid_input", "{frame}: {e}");
        assert_eq!(e["field"], field, "{frame}: {e}");
        assert!(e["message"].is_string(), "{e}");
        assert_eq!(t.close, Some(CloseCode::Policy), "{frame}");
    }
    assert_eq!(app.runtime.exec_history().len(), before, "nothing ran");
}

#[tokio::test]
async fn the_exec_socket_refuses_the_upgrade_to_viewers_strangers_and_stopped_environments() {
    let app = App::new();
    let (_, dev, viewer, env) = team_env(&app).await;
    let stranger = app.signed_in("stranger").await;
    let (_, stopped) = app.project_with_env(&dev).await;
    let addr = app.serve().await;
    assert_eq!(connect(addr, &env, &viewer).await.err(), Some(403));
    assert_eq!(connect(addr, &env, &stranger).await.err(), Some(404));
    assert_eq!(connect(addr, &stopped, &dev).await.err(), Some(409));
    assert_eq!(connect(addr, &env, "nope").await.err(), Some(401));
    assert!(connect(addr, &env, &dev).await.is_ok());
}

#[tokio::test]
async fn the_exec_socket_with_a_tty_resizes_and_answers_a_bad_control_frame_without_ending() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let addr = app.serve().await;
    let mut ws = connect(addr, &env, &alice).await.unwrap();
    send_json(
        &mut ws,
        json!({"type": "start", "command": ["sh"], "tty": {"cols": 80, "rows": 24}}),
    )
    .await;
    send_json(&mut ws, json!({"type": "resize", "cols": 100, "rows": 30})).await;
    send_json(&mut ws, json!({"type": "resize", "cols": 0, "rows": 30})).await;
    send_json(&mut ws, json!({"type": "start", "command": ["true"]})).await;
    ws.send(Message::Binary(b"stty size\nexit 2\n".to_vec().into()))
        .await
        .unwrap();
    let t = read_to_close(&mut ws).await;
    let out = String::from_utf8_lossy(&t.stdout);
    assert!(out.contains("30 100"), "{out:?}");
    let errors: Vec<&Value> = t.texts.iter().filter(|v| v["type"] == "error").collect();
    assert_eq!(errors.len(), 2, "{:?}", t.texts);
    assert_eq!(errors[0]["field"], "cols");
    assert_eq!(errors[1]["field"], "type");
    assert_eq!(
        t.texts.last().unwrap(),
        &json!({"type": "exit", "exit_code": 2, "timed_out": false})
    );
    assert_eq!(t.close, Some(CloseCode::Normal));
}
