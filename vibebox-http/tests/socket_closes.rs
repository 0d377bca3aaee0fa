//! Why and when the server closes a socket, and that it never waits forever on a client that
//! does not read: a slow consumer gets 1008 `slow consumer`; a shutdown lets requests in flight
//! finish and closes every socket with 1001, also those whose client's buffers are full;
//! deleting an API key or disabling an account closes the sockets opened with it within
//! seconds, saying why. Real sockets against a served router on the fake engine.
//!
//! Run with `--nocapture` to see the figures (RELIABILITY.md, "Overload and shutdown").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod socket_load;

use std::time::{Duration, Instant};

use axum::http::StatusCode;
use common::ws::{connect, connect_as, next_json, until};
use common::{App, config};
use futures::SinkExt;
use serde_json::json;
use socket_load::{End, Reader, connect_lean, drain, feed_logs, http, poll_until, serve};
use tokio_tungstenite::tungstenite::Message;
use tokio_util::sync::CancellationToken;
use vibebox_http::{
    API_KEY_RECHECK_INTERVAL, HttpConfig, OpenSockets, SOCKET_CLOSE_TIMEOUT, SOCKET_WRITE_TIMEOUT,
};

/// How long a feed may take to fill a few stalled clients' buffers.
const FILL: Duration = Duration::from_secs(10);

/// An app on the fake engine whose open sockets are counted in `sockets`, and whose shutdown
/// is `shutdown`.
fn app(sockets: &OpenSockets, shutdown: &CancellationToken) -> App {
    App::with(HttpConfig {
        sockets: sockets.clone(),
        shutdown: shutdown.clone(),
        ..config()
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_client_that_reads_again_while_it_is_closed_as_a_slow_consumer_sees_1008_slow_consumer() {
    let (sockets, shutdown) = (OpenSockets::new(), CancellationToken::new());
    let app = app(&sockets, &shutdown);
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let (addr, _served) = serve(app.router.clone(), shutdown.clone()).await;
    let path = format!("/api/v1/ws/environments/{env}/logs");
    let ws = connect_lean(addr, &path, &alice).await;

    let stop = CancellationToken::new();
    let feed = feed_logs(app.vibebox.clone(), env.parse().unwrap(), stop.clone());
    poll_until(FILL, "the client falls behind", || sockets.behind() == 1).await;
    let stalled = poll_until(
        SOCKET_WRITE_TIMEOUT + Duration::from_secs(5),
        "the client is given up on",
        || sockets.slow_consumers() == 1,
    )
    .await;
    // The server tries to send its close frame for SOCKET_CLOSE_TIMEOUT: a client that reads
    // now gets what its buffers held, then the close frame.
    let drained = drain(ws, Duration::from_secs(30)).await;
    stop.cancel();
    feed.await.unwrap();
    assert_eq!(
        drained.end,
        End::Closed(1008, "slow consumer".into()),
        "{drained:?}"
    );
    assert!(drained.bytes > 0, "{drained:?}");
    println!(
        "a stalled client was closed as a slow consumer {stalled:.1?} after it fell behind \
         (SOCKET_WRITE_TIMEOUT {SOCKET_WRITE_TIMEOUT:?}); reading then, it got {:.2} MiB and \
         the close frame 1008 \"slow consumer\"",
        drained.bytes as f64 / 1048576.0
    );
    poll_until(Duration::from_secs(5), "the socket is let go", || {
        sockets.is_empty()
    })
    .await;
}

/// In-flight requests of the shutdown test (with the environment the sockets watch, within
/// the default limit of 10 running environments a user).
const IN_FLIGHT: usize = 8;
/// Clients of the shutdown test that read everything.
const READING: usize = 5;
/// Stalled clients of the shutdown test that read again once the shutdown begins.
const STALLED_THEN_READING: usize = 20;
/// Stalled clients of the shutdown test that never read.
const NEVER_READING: usize = 5;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn shutdown_finishes_requests_in_flight_and_closes_every_socket_with_1001_without_waiting_on_stalled_clients()
 {
    let (sockets, shutdown) = (OpenSockets::new(), CancellationToken::new());
    let app = app(&sockets, &shutdown);
    let alice = app.signed_in("alice").await;
    let (project, env) = app.project_with_env(&alice).await;
    assert_eq!(app.start(&env, &alice).await.status, StatusCode::OK);
    // One running environment per request in flight: each is suspended by one.
    let mut suspended = Vec::new();
    for n in 0..IN_FLIGHT {
        let created = app
            .call(
                "POST",
                "/api/v1/environments",
                &alice,
                Some(json!({"project_id": project, "name": format!("E{n}"),
                            "slug": format!("env{n}"), "base_image": "vibebox/base:bookworm"})),
            )
            .await;
        assert_eq!(created.status, StatusCode::CREATED, "{}", created.body);
        let id = created.body["id"].as_str().unwrap().to_string();
        assert_eq!(app.start(&id, &alice).await.status, StatusCode::OK);
        suspended.push(id);
    }
    let (addr, served) = serve(app.router.clone(), shutdown.clone()).await;

    let status = format!("/api/v1/ws/environments/{env}/status");
    let logs = format!("/api/v1/ws/environments/{env}/logs");
    let limit = Duration::from_secs(60);
    let mut readers = Vec::new();
    for _ in 0..READING {
        readers.push(Reader::spawn(
            connect_lean(addr, &status, &alice).await,
            limit,
        ));
    }
    let mut stalled = Vec::new();
    for _ in 0..STALLED_THEN_READING + NEVER_READING {
        stalled.push(connect_lean(addr, &logs, &alice).await);
    }
    let never_reading = stalled.split_off(STALLED_THEN_READING);
    let stop = CancellationToken::new();
    let feed = feed_logs(app.vibebox.clone(), env.parse().unwrap(), stop.clone());
    poll_until(FILL, "every stalled client falls behind", || {
        sockets.behind() == STALLED_THEN_READING + NEVER_READING
    })
    .await;

    // Requests in flight: each suspend waits in the engine until released.
    let hold = app.runtime.hold_pauses();
    let requests: Vec<_> = suspended
        .iter()
        .map(|id| {
            let (alice, path) = (alice.clone(), format!("/api/v1/environments/{id}/suspend"));
            tokio::spawn(async move { http(addr, "POST", &path, &alice, None).await })
        })
        .collect();
    for _ in 0..IN_FLIGHT {
        tokio::time::timeout(Duration::from_secs(10), hold.arrived())
            .await
            .expect("every request reaches the engine");
    }

    let began = Instant::now();
    shutdown.cancel();
    // No new connection is taken.
    poll_until(
        Duration::from_secs(5),
        "new connections are refused",
        || std::net::TcpStream::connect(addr).is_err(),
    )
    .await;
    // The stalled clients read again: behind what their buffers held comes the 1001.
    let draining: Vec<_> = stalled
        .into_iter()
        .map(|ws| tokio::spawn(drain(ws, Duration::from_secs(30))))
        .collect();
    let sockets_closed = poll_until(
        SOCKET_CLOSE_TIMEOUT + Duration::from_secs(3),
        "every socket is let go within the close timeout",
        || sockets.is_empty(),
    )
    .await;
    // The requests in flight finish after the sockets are gone, and succeed.
    for _ in 0..IN_FLIGHT {
        hold.release();
    }
    let mut failed = 0;
    for request in requests {
        match request.await.unwrap() {
            Ok((200, _)) => {}
            other => {
                failed += 1;
                eprintln!("a request in flight failed: {other:?}");
            }
        }
    }
    tokio::time::timeout(Duration::from_secs(10), served)
        .await
        .expect("the server stops once the requests in flight are done")
        .unwrap();
    let stopped = began.elapsed();
    stop.cancel();
    feed.await.unwrap();

    let going_away = End::Closed(1001, "server shutting down".into());
    let mut closed_1001 = 0;
    for reader in readers {
        let d = reader.done.await.unwrap();
        assert_eq!(d.end, going_away, "a reading client: {d:?}");
        closed_1001 += 1;
    }
    let mut held = 0;
    for d in draining {
        let d = d.await.unwrap();
        assert_eq!(
            d.end, going_away,
            "a stalled client that reads again: {d:?}"
        );
        assert!(d.bytes > 0, "{d:?}");
        held += d.bytes;
        closed_1001 += 1;
    }
    // A client that did not read within SOCKET_CLOSE_TIMEOUT could not be told: reading
    // now, it gets what its buffers held and the end of the connection.
    for ws in never_reading {
        let d = drain(ws, Duration::from_secs(30)).await;
        assert_eq!(d.end, End::Dropped, "a client that never read: {d:?}");
    }
    println!(
        "shutdown: {IN_FLIGHT} requests in flight, {failed} failed; {closed_1001} of {} sockets \
         closed with 1001 ({READING} reading, {STALLED_THEN_READING} stalled that read again, \
         {:.2} MiB behind each); {NEVER_READING} that never read dropped; every socket let go \
         {sockets_closed:.1?} after the shutdown began, the server stopped after {stopped:.1?}",
        READING + STALLED_THEN_READING,
        held as f64 / 1048576.0 / STALLED_THEN_READING as f64,
    );
    assert_eq!(failed, 0, "every request in flight succeeds");
    assert_eq!(closed_1001, READING + STALLED_THEN_READING);
}

/// Reads frames until the close frame, within `limit`: its code and reason, and how long it
/// took.
async fn close_within(ws: &mut common::ws::Socket, limit: Duration) -> (u16, String, Duration) {
    use futures::StreamExt;
    let start = Instant::now();
    loop {
        match tokio::time::timeout_at((start + limit).into(), ws.next())
            .await
            .unwrap_or_else(|_| panic!("no close frame within {limit:?}"))
        {
            Some(Ok(Message::Close(Some(frame)))) => {
                break (
                    u16::from(frame.code),
                    frame.reason.to_string(),
                    start.elapsed(),
                );
            }
            Some(Ok(_)) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

#[tokio::test]
async fn deleting_an_api_key_closes_the_sockets_opened_with_it_within_seconds() {
    let app = App::new();
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let key = app
        .call(
            "POST",
            "/api/v1/users/me/api-keys",
            &alice,
            Some(json!({"name": "ci", "scopes": ["read"]})),
        )
        .await;
    assert_eq!(key.status, StatusCode::CREATED, "{}", key.body);
    let (key_id, token) = (
        key.body["id"].as_str().unwrap().to_string(),
        key.body["token"].as_str().unwrap().to_string(),
    );
    let addr = app.serve().await;
    let path = format!("/api/v1/ws/environments/{env}/status");
    let mut with_key = connect_as(addr, &path, &token).await;
    // A ticket issued to the key carries the key too.
    let ticket = app.call("POST", "/api/v1/ws-tickets", &token, None).await;
    assert_eq!(ticket.status, StatusCode::CREATED, "{}", ticket.body);
    let ticket = ticket.body["ticket"].as_str().unwrap();
    let mut with_ticket = connect(addr, &format!("{path}?ticket={ticket}"), None, None)
        .await
        .unwrap();
    let mut with_token = connect_as(addr, &path, &alice).await;
    for ws in [&mut with_key, &mut with_ticket, &mut with_token] {
        assert_eq!(next_json(ws).await["type"], "status");
    }

    let deleted = app
        .call(
            "DELETE",
            &format!("/api/v1/users/me/api-keys/{key_id}"),
            &alice,
            None,
        )
        .await;
    assert_eq!(deleted.status, StatusCode::NO_CONTENT);
    let limit = API_KEY_RECHECK_INTERVAL + Duration::from_secs(1);
    let (code, reason, took) = close_within(&mut with_key, limit).await;
    assert_eq!(
        (code, reason.as_str()),
        (1008, "api key deleted or expired")
    );
    let (code, reason, _) = close_within(&mut with_ticket, limit).await;
    assert_eq!(
        (code, reason.as_str()),
        (1008, "api key deleted or expired")
    );
    println!(
        "a socket opened with a deleted API key closed {took:.1?} after the deletion \
         (API_KEY_RECHECK_INTERVAL {API_KEY_RECHECK_INTERVAL:?})"
    );
    // The socket opened with the user's own token goes on: it follows a start.
    assert_eq!(app.start(&env, &alice).await.status, StatusCode::OK);
    until(&mut with_token, |v| v["status"] == "running").await;
}

#[tokio::test]
async fn disabling_an_account_closes_its_sockets_at_once_saying_the_account_is_disabled() {
    let app = App::new();
    let root = app.signed_in("root").await;
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let addr = app.serve().await;
    let mut ws = connect_as(
        addr,
        &format!("/api/v1/ws/environments/{env}/status"),
        &alice,
    )
    .await;
    assert_eq!(next_json(&mut ws).await["type"], "status");
    app.disable(&root, &alice).await;
    let (code, reason, took) = close_within(&mut ws, Duration::from_secs(2)).await;
    assert_eq!((code, reason.as_str()), (1008, "account disabled"));
    println!("a disabled account's socket closed {took:.1?} after the change");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_terminal_whose_client_does_not_read_is_closed_as_a_slow_consumer_without_waiting_on_it()
{
    let (sockets, shutdown) = (OpenSockets::new(), CancellationToken::new());
    let app = app(&sockets, &shutdown);
    let alice = app.signed_in("alice").await;
    let env = app.running_env(&alice).await;
    let session = app
        .call(
            "POST",
            &format!("/api/v1/environments/{env}/sessions"),
            &alice,
            Some(json!({"session_type": "shell", "session_name": "sh"})),
        )
        .await;
    assert_eq!(session.status, StatusCode::CREATED, "{}", session.body);
    let (addr, _served) = serve(app.router.clone(), shutdown.clone()).await;
    let path = format!("/api/v1/ws/environments/{env}/terminal?session=sh");
    let ws = connect_lean(addr, &path, &alice).await;
    let (mut typing, reading) = futures::StreamExt::split(ws);

    // Each line typed comes back twice (the echo and the output); the client reads nothing.
    let line = format!("echo {}\n", "y".repeat(1000));
    let typist = tokio::spawn(async move {
        let mut typed = 0u64;
        while typed < 64 << 20 {
            if typing
                .send(Message::binary(line.clone().into_bytes()))
                .await
                .is_err()
            {
                break;
            }
            typed += line.len() as u64;
        }
        typed
    });
    let detected = poll_until(
        SOCKET_WRITE_TIMEOUT + Duration::from_secs(30),
        "the client is given up on",
        || sockets.slow_consumers() == 1,
    )
    .await;
    // Reading now, within SOCKET_CLOSE_TIMEOUT, the client gets the output and the close.
    let drained =
        socket_load::drain_counted(reading, Duration::from_secs(30), &Default::default()).await;
    let typed = typist.await.unwrap();
    assert_eq!(
        drained.end,
        End::Closed(1008, "slow consumer".into()),
        "{drained:?}"
    );
    // The terminal's output was read all along: the client was given up on as soon as it was
    // a queue behind, not after a write timed out.
    assert!(detected < SOCKET_WRITE_TIMEOUT, "{detected:?}");
    println!(
        "a terminal client that did not read was closed as a slow consumer {detected:.1?} after \
         typing began ({:.1} MiB typed, {:.2} MiB of output waiting for it)",
        typed as f64 / 1048576.0,
        drained.bytes as f64 / 1048576.0
    );
}
