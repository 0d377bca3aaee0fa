//! The HTTP front on the real engine: each WebSocket driven by a real client against a real
//! container (status follows start and stop, logs arrive, keystrokes echo, resize changes
//! `stty size`).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::net::SocketAddr;

use docker::*;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use vibebox::domain::SessionType;
use vibebox::service::NewSession;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn serve(d: &D, actor: &vibebox::rbac::Actor) -> (SocketAddr, String, axum::Router) {
    serve_http(d, actor).await
}

async fn connect(addr: SocketAddr, path: &str, token: &str) -> Socket {
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("vibebox.v1, bearer.{token}").parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

async fn until_json(ws: &mut Socket, pred: impl Fn(&Value) -> bool) -> Value {
    tokio::time::timeout(WAIT, async {
        loop {
            if let Some(Ok(Message::Text(t))) = ws.next().await {
                let v: Value = serde_json::from_str(&t).unwrap();
                if pred(&v) {
                    return v;
                }
            }
        }
    })
    .await
    .expect("the message in time")
}

async fn until_output(ws: &mut Socket, needle: &str) -> String {
    let mut seen = String::new();
    tokio::time::timeout(WAIT, async {
        while !seen.contains(needle) {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => seen.push_str(&String::from_utf8_lossy(&b)),
                Some(Ok(_)) => {}
                other => panic!("the terminal ended: {other:?}; saw {seen:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{needle:?} never came; saw {seen:?}"));
    seen
}

/// `POST path` through the router; returns the status.
async fn post(app: &axum::Router, path: &str, token: &str) -> u16 {
    use tower::ServiceExt;
    let request = axum::http::Request::post(path)
        .header("authorization", format!("Bearer {token}"))
        .body(axum::body::Body::empty())
        .unwrap();
    app.clone()
        .oneshot(request)
        .await
        .unwrap()
        .status()
        .as_u16()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_logs_sockets_follow_a_real_container() {
    let d = D::new().await;
    let alice = d.user("alice").await;
    let (addr, token, app) = serve(&d, &alice).await;
    let project = d.project(&alice, "web").await;
    let env = d.env(&alice, &project, "dev").await;
    let mut status = connect(
        addr,
        &format!("/api/v1/ws/environments/{}/status", env.id),
        &token,
    )
    .await;
    until_json(&mut status, |v| v["status"] == "stopped").await;
    assert_eq!(
        post(
            &app,
            &format!("/api/v1/environments/{}/start", env.id),
            &token
        )
        .await,
        200
    );
    until_json(&mut status, |v| v["status"] == "running").await;
    let m = until_json(&mut status, |v| v["type"] == "metrics").await;
    assert_eq!(m["memory_limit_bytes"], 256 * 1024 * 1024);
    let mut logs = connect(
        addr,
        &format!("/api/v1/ws/environments/{}/logs", env.id),
        &token,
    )
    .await;
    let first = until_json(&mut logs, |v| v["type"] == "log").await;
    assert_eq!(first["message"], "vibebox: environment started");
    assert_eq!(
        post(
            &app,
            &format!("/api/v1/environments/{}/stop", env.id),
            &token
        )
        .await,
        200
    );
    until_json(&mut status, |v| v["status"] == "stopped").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_socket_echoes_and_resizes_in_a_real_container() {
    let d = D::new().await;
    let alice = d.user("alice").await;
    let (addr, token, _) = serve(&d, &alice).await;
    let project = d.project(&alice, "web").await;
    let env = d.env(&alice, &project, "dev").await;
    d.vb.start_environment(&alice, env.id).await.unwrap();
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
    let mut t = connect(
        addr,
        &format!("/api/v1/ws/environments/{}/terminal?session=sh", env.id),
        &token,
    )
    .await;
    t.send(Message::Binary(b"echo hi-$((40+2))\r".to_vec().into()))
        .await
        .unwrap();
    until_output(&mut t, "hi-42").await;
    t.send(Message::Text(
        json!({"type": "resize", "cols": 132, "rows": 43})
            .to_string()
            .into(),
    ))
    .await
    .unwrap();
    t.send(Message::Binary(b"stty size\r".to_vec().into()))
        .await
        .unwrap();
    until_output(&mut t, "43 132").await;
    t.send(Message::Binary(b"exit 7\r".to_vec().into()))
        .await
        .unwrap();
    let exit = until_json(&mut t, |v| v["type"] == "exit").await;
    assert_eq!(exit["code"], 7);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnel_socket_carries_a_tcp_connection_and_refuses_a_closed_port() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let alice = d.user("alice").await;
    let (addr, token, _) = serve(&d, &alice).await;
    let project = d.project(&alice, "web").await;
    let env = d.env(&alice, &project, "dev").await;
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    let (code, out) = d
        .exec(
            &env,
            "nohup socat TCP-LISTEN:7000,reuseaddr,fork EXEC:cat >/dev/null 2>&1 &
             for i in $(seq 1 200); do grep -q ':1B58 00000000:0000 0A' /proc/net/tcp && exit 0; sleep 0.05; done; exit 1",
        )
        .await;
    assert_eq!(code, 0, "{out}");
    let path = format!("/api/v1/ws/environments/{}/ports/7000/tunnel", env.id);
    let mut ws = connect(addr, &path, &token).await;
    ws.send(Message::Binary(b"ping over a socket".to_vec().into()))
        .await
        .unwrap();
    let mut echoed = Vec::new();
    tokio::time::timeout(WAIT, async {
        while echoed.len() < 18 {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => echoed.extend_from_slice(&b),
                other => panic!("the tunnel ended: {other:?}"),
            }
        }
    })
    .await
    .expect("the echo in time");
    assert_eq!(echoed, b"ping over a socket");
    ws.close(None).await.unwrap();

    // Nothing listens on 7999: the upgrade is refused with a problem.
    let mut request = format!(
        "ws://{addr}/api/v1/ws/environments/{}/ports/7999/tunnel",
        env.id
    )
    .into_client_request()
    .unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("vibebox.v1, bearer.{token}").parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status().as_u16(), 409)
        }
        other => panic!("expected 409, got {other:?}"),
    }
}
