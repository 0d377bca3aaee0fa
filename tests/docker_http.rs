//! The HTTP front on the real engine: each WebSocket driven by the typed client against a real
//! container (status follows start and stop, logs arrive, keystrokes echo, resize changes
//! `stty size`, a tunnel carries a TCP connection). The wire protocol itself (frame formats,
//! close codes) is checked raw in `vibebox-http/tests/websockets.rs`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use docker::*;
use futures::{Stream, StreamExt};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use vibebox::domain::{EnvironmentStatus, SessionType};
use vibebox_client::{
    Client, ClientError, ErrorKind, LogMessage, NewSession, StatusMessage, Terminal, TerminalEvent,
    TerminalOptions,
};

/// The HTTP front on `d`, and a client of it with `actor`'s access token.
async fn serve(d: &D, actor: &vibebox::rbac::Actor) -> Client {
    let (addr, token, _) = serve_http(d, actor).await;
    http_client(addr, &token)
}

/// The first message of `socket` that `pick` keeps, within [`WAIT`].
async fn until<T: std::fmt::Debug, R>(
    socket: &mut (impl Stream<Item = Result<T, ClientError>> + Unpin),
    mut pick: impl FnMut(&T) -> Option<R>,
) -> R {
    tokio::time::timeout(WAIT, async {
        loop {
            match socket.next().await {
                Some(Ok(message)) => {
                    if let Some(picked) = pick(&message) {
                        return picked;
                    }
                }
                other => panic!("the socket ended: {other:?}"),
            }
        }
    })
    .await
    .expect("the message in time")
}

/// Waits for a `Status` message with `status`.
async fn until_status(
    socket: &mut (impl Stream<Item = Result<StatusMessage, ClientError>> + Unpin),
    status: EnvironmentStatus,
) {
    until(socket, |m| {
        matches!(m, StatusMessage::Status { status: s, .. } if *s == status).then_some(())
    })
    .await
}

/// Reads terminal output until it holds `needle`; what was read.
async fn until_output(t: &mut Terminal, needle: &str) -> String {
    let mut seen = String::new();
    tokio::time::timeout(WAIT, async {
        while !seen.contains(needle) {
            match t.next().await {
                Some(Ok(TerminalEvent::Output(b))) => seen.push_str(&String::from_utf8_lossy(&b)),
                Some(Ok(_)) => {}
                other => panic!("the terminal ended: {other:?}; saw {seen:?}"),
            }
        }
    })
    .await
    .unwrap_or_else(|_| panic!("{needle:?} never came; saw {seen:?}"));
    seen
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn status_and_logs_sockets_follow_a_real_container() {
    let d = D::new().await;
    let alice = d.user("alice").await;
    let client = serve(&d, &alice).await;
    let project = d.project(&alice, "web").await;
    let env = d.env(&alice, &project, "dev").await;
    let mut status = client.status_socket(env.id).await.unwrap();
    until_status(&mut status, EnvironmentStatus::Stopped).await;
    client.start_environment(env.id).await.unwrap();
    until_status(&mut status, EnvironmentStatus::Running).await;
    let memory_limit = until(&mut status, |m| match m {
        StatusMessage::Metrics {
            memory_limit_bytes, ..
        } => Some(*memory_limit_bytes),
        _ => None,
    })
    .await;
    assert_eq!(memory_limit, 256 * 1024 * 1024);
    let mut logs = client.logs_socket(env.id).await.unwrap();
    let first = until(&mut logs, |m| match m {
        LogMessage::Log { message, .. } => Some(message.clone()),
        _ => None,
    })
    .await;
    assert_eq!(first, "vibebox: environment started");
    client.stop_environment(env.id).await.unwrap();
    until_status(&mut status, EnvironmentStatus::Stopped).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn terminal_socket_echoes_and_resizes_in_a_real_container() {
    let d = D::new().await;
    let alice = d.user("alice").await;
    let client = serve(&d, &alice).await;
    let project = d.project(&alice, "web").await;
    let env = d.env(&alice, &project, "dev").await;
    client.start_environment(env.id).await.unwrap();
    client
        .create_session(
            env.id,
            &NewSession {
                session_type: SessionType::Shell,
                session_name: "sh".into(),
                idle_timeout_minutes: None,
            },
        )
        .await
        .unwrap();
    let options = TerminalOptions {
        session: "sh".into(),
        ..TerminalOptions::default()
    };
    let mut t = client.terminal(env.id, &options).await.unwrap();
    t.write(&b"echo hi-$((40+2))\r"[..]).await.unwrap();
    until_output(&mut t, "hi-42").await;
    t.resize(132, 43).await.unwrap();
    t.write(&b"stty size\r"[..]).await.unwrap();
    until_output(&mut t, "43 132").await;
    t.write(&b"exit 7\r"[..]).await.unwrap();
    let code = until(&mut t, |e| match e {
        TerminalEvent::Exit { code } => Some(*code),
        _ => None,
    })
    .await;
    assert_eq!(code, Some(7));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tunnel_socket_carries_a_tcp_connection_and_refuses_a_closed_port() {
    let d = D::with(|c| c.default_sessions = vec![]).await;
    let alice = d.user("alice").await;
    let client = serve(&d, &alice).await;
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
    let mut tunnel = client.tunnel(env.id, 7000).await.unwrap();
    tunnel.write_all(b"ping over a socket").await.unwrap();
    let mut echoed = [0u8; 18];
    tokio::time::timeout(WAIT, tunnel.read_exact(&mut echoed))
        .await
        .expect("the echo in time")
        .expect("the tunnel carries the echo");
    assert_eq!(&echoed, b"ping over a socket");
    tunnel.close().await.unwrap();

    // Nothing listens on 7999: the upgrade is refused with a problem.
    let e = client.tunnel(env.id, 7999).await.unwrap_err();
    assert_eq!(e.status(), Some(409), "{e}");
    assert_eq!(e.kind(), ErrorKind::Conflict, "{e}");
}
