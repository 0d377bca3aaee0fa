//! TCP tunnels on the real Docker engine: bytes go both ways through the engine (any port,
//! declared or not), a published declared port takes the direct path, closing either side
//! closes the other, ending the input (a half-close, also as the WebSocket's `eof` frame)
//! still brings the app's answer, a port nothing listens on is refused, and open tunnels are
//! capped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;
#[allow(dead_code)]
#[path = "http_walk/client.rs"]
mod walk_client;

use docker::*;
use futures::{SinkExt, StreamExt};
use serde_json::json;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use vibebox::ErrorKind;
use vibebox::domain::Environment;
use vibebox::service::{PortStream, TunnelPath};

/// A running Debian environment (it has socat) without default sessions.
async fn running(d: &D) -> (vibebox::rbac::Actor, Environment) {
    let (alice, _, env) = d.owner_with_env("alice").await;
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    (alice, env)
}

/// Starts `socat TCP-LISTEN:<port>,<options> <what>` in the background and waits until the
/// port is listening (read from /proc/net/tcp, so no connection is spent on the check).
async fn listen(d: &D, env: &Environment, port: u16, options: &str, what: &str) {
    let script = format!(
        "nohup socat TCP-LISTEN:{port},reuseaddr{options} {what} >/dev/null 2>&1 &
         for i in $(seq 1 200); do grep -q ':{port:04X} 00000000:0000 0A' /proc/net/tcp && exit 0; sleep 0.05; done; exit 1"
    );
    let (code, out) = d.exec(env, &script).await;
    assert_eq!(code, 0, "the listener on {port} did not come up: {out}");
}

async fn read_until_eof(stream: &mut PortStream) -> Vec<u8> {
    let mut out = Vec::new();
    tokio::time::timeout(WAIT, stream.read_to_end(&mut out))
        .await
        .expect("the stream ends in time")
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tunnel_carries_bytes_both_ways_to_an_undeclared_port() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let (alice, env) = running(&d).await;
    listen(&d, &env, 7000, ",fork", "EXEC:cat").await;
    let mut tunnel = d.vb.connect_port(&alice, env.id, 7000).await.unwrap();
    assert_eq!(tunnel.path(), TunnelPath::Engine);
    tunnel.write_all(b"hello\n").await.unwrap();
    let mut line = [0u8; 6];
    tokio::time::timeout(WAIT, tunnel.read_exact(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&line, b"hello\n");

    // 4 MiB of random bytes come back unchanged, written and read at once.
    let payload = noise(4 * 1024 * 1024);
    let (mut reader, mut writer) = tokio::io::split(tunnel);
    let sent = payload.clone();
    let writing = tokio::spawn(async move {
        writer.write_all(&sent).await.unwrap();
        writer.shutdown().await.unwrap();
    });
    let mut back = Vec::new();
    tokio::time::timeout(WAIT, reader.read_to_end(&mut back))
        .await
        .expect("the echo ends in time")
        .unwrap();
    writing.await.unwrap();
    assert_eq!(back.len(), payload.len());
    assert!(back == payload, "the echo differs from what was sent");
}

/// `len` bytes of xorshift noise (every byte value, no pattern a relay could get right by
/// accident).
fn noise(len: usize) -> Vec<u8> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_app_closing_ends_the_stream_and_dropping_the_stream_ends_the_relay() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let (alice, env) = running(&d).await;
    // The app says one line and closes.
    listen(&d, &env, 7001, "", "SYSTEM:'echo bye'").await;
    let mut tunnel = d.vb.connect_port(&alice, env.id, 7001).await.unwrap();
    assert_eq!(read_until_eof(&mut tunnel).await, b"bye\n");

    // A client that goes away: the relay inside ends, and the app sees its connection close.
    listen(
        &d,
        &env,
        7002,
        "",
        "SYSTEM:'cat >/dev/null; echo closed > /tmp/closed'",
    )
    .await;
    let tunnel = d.vb.connect_port(&alice, env.id, 7002).await.unwrap();
    drop(tunnel);
    wait_until("the relay to end and the app to see the close", || async {
        let (_, out) = d
            .exec(
                &env,
                "cat /tmp/closed 2>/dev/null; pgrep -fc 'TCP:127.0.0.1:700[2]' || true",
            )
            .await;
        out.lines().next() == Some("closed") && out.lines().last() == Some("0")
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_a_stream_kills_its_relay_while_the_app_still_sends() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let (alice, env) = running(&d).await;
    // An app that never stops sending. Without a kill, the relay would go on copying it (into
    // an attach nobody reads) until socat's own 5 s timeout after its input ends: killed, it
    // is gone well before that.
    listen(&d, &env, 7005, "", "SYSTEM:'cat /dev/zero'").await;
    let mut tunnel = d.vb.connect_port(&alice, env.id, 7005).await.unwrap();
    let mut first = [1u8; 4096];
    tokio::io::AsyncReadExt::read_exact(&mut tunnel, &mut first)
        .await
        .unwrap();
    assert!(first.iter().all(|b| *b == 0));
    let dropped = std::time::Instant::now();
    drop(tunnel);
    wait_until("the dropped stream's relay to be gone", || async {
        let (_, out) = d
            .exec(&env, "pgrep -fc 'TCP:127.0.0.1:700[5]' || true")
            .await;
        out.trim() == "0"
    })
    .await;
    assert!(
        dropped.elapsed() < std::time::Duration::from_millis(4_500),
        "the relay was killed, not left to socat's 5 s timeout ({:?})",
        dropped.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_published_declared_port_takes_the_direct_path() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    d.add_engine_chosen_port(&alice, &env, 7003).await;
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    listen(&d, &env, 7003, ",fork", "EXEC:cat").await;
    let mut tunnel = d.vb.connect_port(&alice, env.id, 7003).await.unwrap();
    assert_eq!(tunnel.path(), TunnelPath::Published);
    tunnel.write_all(b"direct\n").await.unwrap();
    let mut line = [0u8; 7];
    tokio::time::timeout(WAIT, tunnel.read_exact(&mut line))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&line, b"direct\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_port_nothing_listens_on_is_refused_and_tunnels_are_capped() {
    let d = D::with(|c| {
        c.default_sessions = vec![];
        c.max_open_tunnels = 2;
    })
    .await;
    let (alice, env) = running(&d).await;
    let e = d.vb.connect_port(&alice, env.id, 7999).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
    assert!(e.to_string().contains("connection refused"), "{e}");

    listen(&d, &env, 7004, ",fork", "EXEC:cat").await;
    let first = d.vb.connect_port(&alice, env.id, 7004).await.unwrap();
    let _second = d.vb.connect_port(&alice, env.id, 7004).await.unwrap();
    let e = d.vb.connect_port(&alice, env.id, 7004).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::QuotaExceeded, "{e}");
    drop(first);
    let mut third = d.vb.connect_port(&alice, env.id, 7004).await.unwrap();
    third.write_all(b"x").await.unwrap();
    let mut one = [0u8; 1];
    tokio::time::timeout(WAIT, third.read_exact(&mut one))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(&one, b"x");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_image_without_socat_falls_back_to_busybox_nc() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let alice = d.user("alice").await;
    let project = d.project(&alice, "proj").await;
    let env =
        d.vb.create_environment(&alice, new_env(&project, "bbox", BUSYBOX_IMAGE))
            .await
            .unwrap();
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    let (code, out) = d
        .exec(
            &env,
            "mkdir -p /tmp/www && echo hi > /tmp/www/index.html && httpd -p 8080 -h /tmp/www",
        )
        .await;
    assert_eq!(code, 0, "{out}");
    let mut tunnel = d.vb.connect_port(&alice, env.id, 8080).await.unwrap();
    tunnel
        .write_all(b"GET /index.html HTTP/1.0\r\n\r\n")
        .await
        .unwrap();
    let response = String::from_utf8_lossy(&read_until_eof(&mut tunnel).await).into_owned();
    assert!(
        response.starts_with("HTTP/1.") && response.ends_with("hi\n"),
        "{response}"
    );
}

/// Bytes the app answers after the request's end of file: more than one frame's worth.
const ANSWER_TAIL: usize = 200_000;

/// Starts a python3 app on `port` that reads one connection to its end of file, waits a
/// second, then answers `got <n> bytes` and [`ANSWER_TAIL`] more bytes, and closes.
async fn answer_after_eof(d: &D, env: &Environment, port: u16) {
    let script = format!(
        r#"nohup python3 -c '
import socket, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", {port}))
s.listen(1)
c, _ = s.accept()
n = 0
while True:
    b = c.recv(65536)
    if not b:
        break
    n += len(b)
time.sleep(1)
c.sendall(b"got %d bytes\n" % n + b"z" * {ANSWER_TAIL})
c.close()
' >/dev/null 2>&1 &
for i in $(seq 1 200); do grep -q ':{port:04X} 00000000:0000 0A' /proc/net/tcp && exit 0; sleep 0.05; done; exit 1"#
    );
    let (code, out) = d.exec(env, &script).await;
    assert_eq!(code, 0, "the app on {port} did not come up: {out}");
}

/// Checks an answer of [`answer_after_eof`] to a request of `sent` bytes.
fn assert_full_answer(answer: &[u8], sent: usize) {
    let head = format!("got {sent} bytes\n");
    assert!(
        answer.starts_with(head.as_bytes()),
        "{:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(80)])
    );
    assert_eq!(answer.len(), head.len() + ANSWER_TAIL, "the whole answer");
    assert!(answer[head.len()..].iter().all(|b| *b == b'z'));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_the_streams_write_side_still_brings_the_apps_answer() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let (alice, env) = running(&d).await;
    answer_after_eof(&d, &env, 7005).await;
    let mut tunnel = d.vb.connect_port(&alice, env.id, 7005).await.unwrap();
    assert_eq!(tunnel.path(), TunnelPath::Engine);
    let request = noise(10_000);
    tunnel.write_all(&request).await.unwrap();
    tunnel.shutdown().await.unwrap();
    assert_full_answer(&read_until_eof(&mut tunnel).await, request.len());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_websockets_eof_frame_half_closes_and_the_apps_answer_still_arrives() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let api = walk_client::serve(&d).await;
    let (_, token) = api.register_and_sign_in("alice").await;
    let project = api
        .post(
            "/projects",
            &token,
            json!({"name": "Tunnels", "slug": "tunnels"}),
        )
        .await;
    assert_eq!(project.status, 201, "{}", project.raw);
    let env = api
        .post(
            "/environments",
            &token,
            json!({"project_id": project.body["id"], "name": "Dev", "slug": "dev",
                   "base_image": BASE_IMAGE}),
        )
        .await;
    assert_eq!(env.status, 201, "{}", env.raw);
    let id = env.body["id"].as_str().unwrap().to_string();
    let started = api
        .post(&format!("/environments/{id}/start"), &token, json!({}))
        .await;
    assert_eq!(started.status, 200, "{}", started.raw);
    let env: Environment = serde_json::from_value(started.body).unwrap();
    answer_after_eof(&d, &env, 7006).await;

    let mut ws = api
        .socket(&format!("/ws/environments/{id}/ports/7006/tunnel"), &token)
        .await
        .unwrap();
    let request = noise(10_000);
    ws.send(Message::binary(request.clone())).await.unwrap();
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
    assert_full_answer(&answer, request.len());
}
