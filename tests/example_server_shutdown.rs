//! SIGTERM under load, on the example server (`cargo run --example server`) and the real
//! Docker engine: requests in flight finish and succeed, every socket whose client still
//! reads is closed with 1001 (also those whose client's buffers were full when the signal
//! came, behind a stuck send), and the server exits without waiting on clients that never read
//! (their connection is dropped after `SOCKET_CLOSE_TIMEOUT`).
//!
//! Needs the engine and `vibebox/base:bookworm` (`scripts/base-image`), like the `docker_*`
//! tests, and the example binary, which `cargo test` builds (with `--test`, build it first:
//! `cargo build --example server`). Every container, network and volume the server makes
//! carries `vibebox.instance=<this run>` and is removed at the end, also when the test fails.
//! Run with `--nocapture` to see the figures (RELIABILITY.md, "Overload and shutdown").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod example;

use std::io::{BufRead, BufReader};
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use example::server_binary;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::{self, Message};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

const PASSWORD: &str = "correct horse battery staple";
const BASE_IMAGE: &str = "vibebox/base:bookworm";
/// Requests in flight when the signal comes: each runs `sleep` in the environment.
const IN_FLIGHT: usize = 4;
/// How long each request in flight runs: far longer than seeing them all started takes.
const IN_FLIGHT_SECONDS: u64 = 5;
/// Status sockets whose client reads.
const READING: usize = 3;
/// Exec sockets running `yes` whose client does not read until the signal comes.
const STALLED_THEN_READING: usize = 4;
/// Exec sockets running `yes` whose client never reads.
const NEVER_READING: usize = 2;
/// A server connection with this much unsent is held up by its client.
const STALLED_BYTES: u64 = 256 * 1024;

fn docker(args: &[&str]) -> String {
    let out = Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The run's directory and its engine objects, removed when dropped.
struct Run {
    dir: PathBuf,
    instance: String,
}

impl Run {
    fn new() -> Self {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos();
        let dir = std::env::temp_dir().join(format!("vibebox-example-shutdown-{nanos}"));
        std::fs::create_dir_all(&dir).unwrap();
        Self {
            dir,
            instance: format!("t{}", nanos % 1_000_000_000),
        }
    }
}

impl Drop for Run {
    fn drop(&mut self) {
        let filter = format!("label=vibebox.instance={}", self.instance);
        for (list, remove) in [
            (&["ps", "-aq", "--filter"][..], &["rm", "-f", "-v"][..]),
            (
                &["network", "ls", "-q", "--filter"][..],
                &["network", "rm"][..],
            ),
            (
                &["volume", "ls", "-q", "--filter"][..],
                &["volume", "rm", "-f"][..],
            ),
        ] {
            let mut args = list.to_vec();
            args.push(&filter);
            let ids = docker(&args);
            let ids: Vec<&str> = ids.split_whitespace().collect();
            if !ids.is_empty() {
                let mut args = remove.to_vec();
                args.extend(ids);
                docker(&args);
            }
        }
        std::fs::remove_dir_all(&self.dir).ok();
    }
}

/// The example server on the default Docker engine.
struct Server {
    child: Child,
    addr: SocketAddr,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Server {
    fn start(dir: &Path, instance: &str) -> Self {
        let mut child = Command::new(server_binary())
            .current_dir(dir)
            .args(["--listen", "127.0.0.1:0", "--ssh-listen", "off"])
            .args(["--no-build-images", "--instance", instance])
            .env("RUST_LOG", "warn")
            .env_remove("VIBEBOX_DATABASE_URL")
            .env_remove("VIBEBOX_KEY_FILE")
            .env_remove("VIBEBOX_SIGNING_KEY")
            .env_remove("VIBEBOX_ENCRYPTION_KEYS")
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let stdout = child.stdout.take().unwrap();
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let addr = loop {
            let line = lines
                .recv_timeout(Duration::from_secs(60))
                .expect("the server says where it listens");
            if let Some(rest) = line.split("listening on http://").nth(1) {
                break rest.split_whitespace().next().unwrap().parse().unwrap();
            }
        };
        Self { child, addr, lines }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// One HTTP/1.1 request over a connection of its own: the status and the JSON body.
async fn request(
    addr: SocketAddr,
    method: &str,
    path: &str,
    bearer: Option<&str>,
    body: Option<Value>,
) -> std::io::Result<(u16, Value)> {
    let mut stream = tokio::net::TcpStream::connect(addr).await?;
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    let auth = bearer
        .map(|t| format!("Authorization: Bearer {t}\r\n"))
        .unwrap_or_default();
    let head = format!(
        "{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n{auth}\
         Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(head.as_bytes()).await?;
    let mut response = String::new();
    stream.read_to_string(&mut response).await?;
    let status = response
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| std::io::Error::other(format!("no status line: {response:?}")))?;
    let payload = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b)
        .unwrap_or("");
    Ok((status, serde_json::from_str(payload).unwrap_or(Value::Null)))
}

/// A request that must succeed: its JSON body.
async fn ok(addr: SocketAddr, method: &str, path: &str, bearer: &str, body: Value) -> Value {
    let (status, body) = request(addr, method, path, Some(bearer), Some(body))
        .await
        .unwrap();
    assert!(
        (200..300).contains(&status),
        "{method} {path}: {status} {body}"
    );
    body
}

async fn socket(addr: SocketAddr, path: &str, token: &str) -> Socket {
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        format!("vibebox.v1, bearer.{token}").parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

/// How a socket ended for a client that read it to the end, and the bytes it read.
#[derive(Debug, PartialEq, Eq)]
enum End {
    Closed(u16),
    /// Without a close frame.
    Dropped,
}

async fn drain(mut ws: Socket) -> (End, u64) {
    let mut bytes = 0;
    let end = loop {
        match tokio::time::timeout(Duration::from_secs(60), ws.next())
            .await
            .expect("the socket ends in time")
        {
            Some(Ok(Message::Close(frame))) => {
                break End::Closed(frame.map(|f| u16::from(f.code)).unwrap_or(1005));
            }
            Some(Ok(m)) => bytes += m.len() as u64,
            Some(Err(tungstenite::Error::Protocol(
                tungstenite::error::ProtocolError::ResetWithoutClosingHandshake,
            )))
            | Some(Err(tungstenite::Error::Io(_)))
            | None => break End::Dropped,
            Some(Err(e)) => panic!("the socket failed: {e}"),
        }
    };
    (end, bytes)
}

/// The server's connections on `port` with at least `bytes` unsent (`tx_queue` of
/// /proc/net/tcp): clients that hold it up.
fn held_up_connections(port: u16, bytes: u64) -> usize {
    let table = std::fs::read_to_string("/proc/net/tcp").unwrap();
    table
        .lines()
        .skip(1)
        .filter(|line| {
            let fields: Vec<&str> = line.split_whitespace().collect();
            let local_port = fields[1].rsplit(':').next().unwrap();
            let tx_queue = fields[4].split(':').next().unwrap();
            u16::from_str_radix(local_port, 16).unwrap() == port
                && u64::from_str_radix(tx_queue, 16).unwrap() >= bytes
        })
        .count()
}

/// Polls `done` every 50 ms until it holds; panics with `what` past `limit`.
async fn poll_until(limit: Duration, what: &str, mut done: impl FnMut() -> bool) {
    let start = Instant::now();
    while !done() {
        assert!(start.elapsed() < limit, "{what} within {limit:?}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_under_load_finishes_requests_in_flight_and_closes_sockets_with_1001() {
    let run = Run::new();
    let mut server = Server::start(&run.dir, &run.instance);
    let addr = server.addr;
    let (status, _) = request(
        addr,
        "POST",
        "/api/v1/auth/register",
        None,
        Some(json!({"email": "ops@example.com", "password": PASSWORD, "display_name": "Ops"})),
    )
    .await
    .unwrap();
    assert_eq!(status, 202);
    let (_, login) = request(
        addr,
        "POST",
        "/api/v1/auth/login",
        None,
        Some(json!({"email": "ops@example.com", "password": PASSWORD})),
    )
    .await
    .unwrap();
    let token = login["access_token"].as_str().unwrap().to_string();
    let project = ok(
        addr,
        "POST",
        "/api/v1/projects",
        &token,
        json!({"name": "Load", "slug": "load"}),
    )
    .await;
    let env = ok(
        addr,
        "POST",
        "/api/v1/environments",
        &token,
        json!({"project_id": project["id"], "name": "Busy", "slug": "busy", "base_image": BASE_IMAGE}),
    )
    .await;
    let env = env["id"].as_str().unwrap().to_string();
    let started = ok(
        addr,
        "POST",
        &format!("/api/v1/environments/{env}/start"),
        &token,
        json!({}),
    )
    .await;
    assert_eq!(started["status"], "running", "{started}");
    let container = started["container_id"].as_str().unwrap().to_string();

    // Sockets: clients that read, and clients of `yes` that do not.
    let status_path = format!("/api/v1/ws/environments/{env}/status");
    let mut readers = Vec::new();
    for _ in 0..READING {
        let ws = socket(addr, &status_path, &token).await;
        readers.push(tokio::spawn(drain(ws)));
    }
    let exec_path = format!("/api/v1/ws/environments/{env}/exec");
    let mut stalled = Vec::new();
    for _ in 0..STALLED_THEN_READING + NEVER_READING {
        let mut ws = socket(addr, &exec_path, &token).await;
        let start = json!({"type": "start", "command": ["yes", "the quick brown fox"]});
        ws.send(Message::text(start.to_string())).await.unwrap();
        stalled.push(ws);
    }
    let never_reading = stalled.split_off(STALLED_THEN_READING);
    poll_until(
        Duration::from_secs(60),
        "every stalled client holds the server up",
        || held_up_connections(addr.port(), STALLED_BYTES) >= STALLED_THEN_READING + NEVER_READING,
    )
    .await;

    // Requests in flight: each runs `sleep` in the environment.
    let requests: Vec<_> = (0..IN_FLIGHT)
        .map(|n| {
            let (token, path) = (token.clone(), format!("/api/v1/environments/{env}/exec"));
            let command = format!("sleep {IN_FLIGHT_SECONDS}; echo done-{n}");
            tokio::spawn(async move {
                let result = request(
                    addr,
                    "POST",
                    &path,
                    Some(&token),
                    Some(json!({"command": ["sh", "-c", command]})),
                )
                .await;
                (result, Instant::now())
            })
        })
        .collect();
    let sleeping = format!("sleep {IN_FLIGHT_SECONDS}");
    poll_until(
        Duration::from_secs(30),
        "every request in flight runs",
        || docker(&["top", &container]).matches(&sleeping).count() >= IN_FLIGHT,
    )
    .await;

    let signalled = Instant::now();
    let pid = server.child.id().to_string();
    assert!(
        Command::new("kill")
            .args(["-TERM", &pid])
            .status()
            .unwrap()
            .success()
    );
    // The stalled clients read again: behind what their buffers held comes the 1001.
    let draining: Vec<_> = stalled
        .into_iter()
        .map(|ws| tokio::spawn(drain(ws)))
        .collect();

    let mut failed = 0;
    for (n, request) in requests.into_iter().enumerate() {
        let (result, finished) = request.await.unwrap();
        assert!(
            finished > signalled,
            "request {n} was still in flight at the signal"
        );
        match result {
            Ok((200, body)) if body["stdout"] == format!("done-{n}\n") => {}
            other => {
                failed += 1;
                eprintln!("request {n} in flight failed: {other:?}");
            }
        }
    }
    let exit = loop {
        if let Some(exit) = server.child.try_wait().unwrap() {
            break exit;
        }
        assert!(
            signalled.elapsed() < Duration::from_secs(60),
            "the server exits after the signal"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let exited_after = signalled.elapsed();
    assert!(exit.success(), "{exit:?}");
    let said: Vec<String> = server.lines.try_iter().collect();
    assert!(said.iter().any(|l| l.contains("shutting down")), "{said:?}");
    assert!(
        !said.iter().any(|l| l.contains("still closing")),
        "every socket closed within the grace: {said:?}"
    );

    let mut closed_1001 = 0;
    for reader in readers {
        let (end, _) = reader.await.unwrap();
        assert_eq!(end, End::Closed(1001), "a reading client");
        closed_1001 += 1;
    }
    let mut held = 0;
    for d in draining {
        let (end, bytes) = d.await.unwrap();
        assert_eq!(end, End::Closed(1001), "a stalled client that reads again");
        assert!(bytes >= STALLED_BYTES, "{bytes} bytes were behind");
        held += bytes;
        closed_1001 += 1;
    }
    for ws in never_reading {
        let (end, _) = drain(ws).await;
        assert_eq!(end, End::Dropped, "a client that never read");
    }
    println!(
        "SIGTERM on the example server: {IN_FLIGHT} requests in flight ({IN_FLIGHT_SECONDS} s each), \
         {failed} failed; {closed_1001} of {} sockets closed with 1001 ({READING} reading, \
         {STALLED_THEN_READING} `yes` clients stalled at the signal, {:.2} MiB behind each); \
         {NEVER_READING} that never read dropped; the process exited {exited_after:.1?} after the signal",
        READING + STALLED_THEN_READING,
        held as f64 / 1048576.0 / STALLED_THEN_READING as f64,
    );
    assert_eq!(failed, 0, "every request in flight succeeds");
    assert_eq!(closed_1001, READING + STALLED_THEN_READING);
    assert!(
        exited_after < Duration::from_secs(IN_FLIGHT_SECONDS + 10),
        "the server exited {exited_after:?} after the signal"
    );
}
