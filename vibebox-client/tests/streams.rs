//! WebSocket streams end to end on the fake engine: a tunnel is a byte stream usable with
//! `copy_bidirectional`, exec carries stdin in and stdout/stderr out then the exit, and the
//! status socket starts with the current status.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Server, alpha_dev, echo_server};
use futures::StreamExt;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vibebox_client::types::{EnvironmentId, EnvironmentStatus};
use vibebox_client::{Client, ExecEvent, ExecStart, NewPort, StatusMessage};

/// Bytes the half-close test's app answers after the request's end of file: several frames.
const ANSWER_TAIL: usize = 200_000;

/// A local TCP app that reads each connection to its end of file (and reports how many
/// bytes it read), waits a little, then answers `got <n> bytes` and [`ANSWER_TAIL`] more
/// bytes, and closes.
async fn answer_after_eof_server() -> (u16, tokio::sync::mpsc::UnboundedReceiver<usize>) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let (read_tx, read_rx) = tokio::sync::mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let read_tx = read_tx.clone();
            tokio::spawn(async move {
                let mut request = Vec::new();
                if socket.read_to_end(&mut request).await.is_err() {
                    return;
                }
                let _ = read_tx.send(request.len());
                tokio::time::sleep(Duration::from_millis(200)).await;
                let mut answer = format!("got {} bytes\n", request.len()).into_bytes();
                answer.resize(answer.len() + ANSWER_TAIL, b'z');
                let _ = socket.write_all(&answer).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    (port, read_rx)
}

/// A running environment with port 8080 published on `host_port`.
async fn running_env(client: &Client, host_port: Option<u16>) -> EnvironmentId {
    let (_, env) = alpha_dev(client).await;
    if let Some(port) = host_port {
        client
            .add_port(
                env,
                &NewPort {
                    container_port: 8080,
                    host_port: Some(i64::from(port)),
                    protocol: None,
                },
            )
            .await
            .unwrap();
    }
    client.start_environment(env).await.unwrap();
    env
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tunnel_carries_bytes_both_ways_and_works_with_copy_bidirectional() {
    let server = Server::start().await;
    let alice = server.signed_in("alice").await;
    let env = running_env(&alice, Some(echo_server().await)).await;

    // Directly.
    let mut tunnel = alice.tunnel(env, 8080).await.unwrap();
    tunnel.write_all(b"hello through the tunnel").await.unwrap();
    let mut buf = vec![0u8; 24];
    tunnel.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"hello through the tunnel");
    tunnel.shutdown().await.unwrap();
    // After the write side is shut down, the read side ends (no error, no hang).
    let mut rest = Vec::new();
    tokio::time::timeout(Duration::from_secs(5), tunnel.read_to_end(&mut rest))
        .await
        .unwrap()
        .unwrap();
    assert!(tunnel.write_all(b"late").await.is_err());

    // As a port-forward: a local listener bridged with copy_bidirectional.
    let forward = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let local = forward.local_addr().unwrap();
    let client = alice.clone();
    let bridge = tokio::spawn(async move {
        let (mut socket, _) = forward.accept().await.unwrap();
        let mut tunnel = client.tunnel(env, 8080).await.unwrap();
        tokio::io::copy_bidirectional(&mut socket, &mut tunnel).await
    });
    let mut conn = tokio::net::TcpStream::connect(local).await.unwrap();
    conn.write_all(b"forwarded").await.unwrap();
    let mut buf = [0u8; 9];
    conn.read_exact(&mut buf).await.unwrap();
    assert_eq!(&buf, b"forwarded");
    conn.shutdown().await.unwrap();
    let copied = tokio::time::timeout(Duration::from_secs(5), bridge)
        .await
        .expect("the local side's end of file propagates through the tunnel")
        .unwrap()
        .unwrap();
    assert_eq!(copied.0, 9);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutting_down_a_tunnels_write_side_still_reads_the_apps_whole_answer() {
    let server = Server::start().await;
    let alice = server.signed_in("alice").await;
    let (app, _) = answer_after_eof_server().await;
    let env = running_env(&alice, Some(app)).await;
    let mut tunnel = alice.tunnel(env, 8080).await.unwrap();
    tunnel.write_all(b"GET / HTTP/1.0\r\n\r\n").await.unwrap();
    tunnel.shutdown().await.unwrap();
    assert!(
        tunnel.write_all(b"late").await.is_err(),
        "no writes after the shutdown"
    );
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), tunnel.read_to_end(&mut answer))
        .await
        .expect("the app answers once it has read the end of file")
        .unwrap();
    let head = b"got 18 bytes\n";
    assert!(
        answer.starts_with(head),
        "{:?}",
        String::from_utf8_lossy(&answer[..answer.len().min(40)])
    );
    assert_eq!(answer.len(), head.len() + ANSWER_TAIL, "the whole answer");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn closing_a_tunnel_closes_the_connection_inside() {
    let server = Server::start().await;
    let alice = server.signed_in("alice").await;
    let (app, mut app_read) = answer_after_eof_server().await;
    let env = running_env(&alice, Some(app)).await;
    let mut tunnel = alice.tunnel(env, 8080).await.unwrap();
    tunnel.write_all(b"abc").await.unwrap();
    tunnel.flush().await.unwrap();
    tokio::time::timeout(Duration::from_secs(10), tunnel.close())
        .await
        .expect("the close handshake ends")
        .unwrap();
    let read = tokio::time::timeout(Duration::from_secs(10), app_read.recv())
        .await
        .expect("the app sees its connection end");
    assert_eq!(read, Some(3));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tunnel_to_a_stopped_environment_is_a_conflict_before_the_upgrade() {
    let server = Server::start().await;
    let alice = server.signed_in("alice").await;
    let env = running_env(&alice, None).await;
    alice.stop_environment(env).await.unwrap();
    let e = alice.tunnel(env, 8080).await.unwrap_err();
    assert_eq!(e.kind(), vibebox_client::ErrorKind::Conflict, "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_over_a_socket_echoes_stdin_then_reports_the_exit() {
    let server = Server::start().await;
    let alice = server.signed_in("alice").await;
    let env = running_env(&alice, None).await;
    let mut exec = alice
        .exec_socket(env, &ExecStart::new(["cat"]))
        .await
        .unwrap();
    exec.write_stdin(&b"line one\n"[..]).await.unwrap();
    exec.close_stdin().await.unwrap();
    let mut stdout = Vec::new();
    let mut exit = None;
    while let Some(event) = tokio::time::timeout(Duration::from_secs(5), exec.next())
        .await
        .unwrap()
    {
        match event.unwrap() {
            ExecEvent::Stdout(b) => stdout.extend_from_slice(&b),
            ExecEvent::Exit {
                exit_code,
                timed_out,
            } => exit = Some((exit_code, timed_out)),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(stdout, b"line one\n");
    assert_eq!(exit, Some((Some(0), false)));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exec_over_a_socket_keeps_stderr_apart_and_reports_a_refused_start() {
    let server = Server::start().await;
    let alice = server.signed_in("alice").await;
    let env = running_env(&alice, None).await;
    let start = ExecStart::new(["sh", "-c", "echo out; echo err >&2; exit 3"]);
    let (_writer, mut reader) = alice.exec_socket(env, &start).await.unwrap().split();
    let (mut out, mut err, mut exit) = (Vec::new(), Vec::new(), None);
    while let Some(event) = reader.next().await {
        match event.unwrap() {
            ExecEvent::Stdout(b) => out.extend_from_slice(&b),
            ExecEvent::Stderr(b) => err.extend_from_slice(&b),
            ExecEvent::Exit { exit_code, .. } => exit = exit_code,
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(
        (out.as_slice(), err.as_slice(), exit),
        (&b"out\n"[..], &b"err\n"[..], Some(3))
    );

    let mut refused = alice
        .exec_socket(env, &ExecStart::new(Vec::<String>::new()))
        .await
        .unwrap();
    let first = refused.next().await.unwrap().unwrap();
    match first {
        ExecEvent::Error { code, field, .. } => {
            assert_eq!(code, "invalid_input");
            assert_eq!(field.as_deref(), Some("command"));
        }
        other => panic!("expected an error, got {other:?}"),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_status_socket_starts_with_the_current_status_and_follows_changes() {
    let server = Server::start().await;
    let alice = server.signed_in("alice").await;
    let env = running_env(&alice, None).await;
    let mut status = alice.status_socket(env).await.unwrap();
    let first = status.next().await.unwrap().unwrap();
    assert!(
        matches!(
            first,
            StatusMessage::Status {
                status: EnvironmentStatus::Running,
                ..
            }
        ),
        "{first:?}"
    );
    alice.stop_environment(env).await.unwrap();
    let stopped = tokio::time::timeout(Duration::from_secs(5), async {
        while let Some(msg) = status.next().await {
            if let StatusMessage::Status {
                status: EnvironmentStatus::Stopped,
                ..
            } = msg.unwrap()
            {
                return true;
            }
        }
        false
    })
    .await
    .unwrap();
    assert!(stopped);
}
