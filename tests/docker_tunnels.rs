//! TCP tunnels on the real Docker engine: bytes go both ways through the engine (any port,
//! declared or not), a published declared port takes the direct path, closing either side
//! closes the other, a port nothing listens on is refused, and open tunnels are capped.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use docker::*;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
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
