//! The log collector through the service on the real Docker engine: every line the main
//! process writes is published live and persisted in batches with the engine's timestamp and
//! its stream, exactly once and in order, across a VibeBox crash and restart and across the
//! container stopping and starting again.
//!
//! The environments' main process forwards what is written to the FIFO `/tmp/o` to its stdout
//! and `/tmp/e` to its stderr, so a test makes it print lines on demand with an exec.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::time::Duration;

use chrono::{DateTime, Utc};
use docker::*;
use tokio::sync::broadcast;
use vibebox::Vibebox;
use vibebox::clock::{Timestamp, truncate};
use vibebox::domain::{LogEntry, LogStream};
use vibebox::events::{Event, EventKind};
use vibebox::id::EnvironmentId;
use vibebox::rbac::Actor;
use vibebox::service::LogFilter;
use vibebox::store::PageRequest;

/// A script printing `line <from>` … `line <to>` on stdout.
fn numbered(from: u32, to: u32) -> String {
    format!("seq -f 'line %g' {from} {to} > /tmp/o")
}

/// Polls the stored lines until `done` holds for them.
async fn wait_stored(
    vb: &Vibebox,
    actor: &Actor,
    env: EnvironmentId,
    done: impl Fn(&[LogEntry]) -> bool,
) -> Vec<LogEntry> {
    let deadline = tokio::time::Instant::now() + WAIT;
    loop {
        let lines = stored_logs(vb, actor, env).await;
        if done(&lines) {
            return lines;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the lines were not stored in time; {} stored, the last {:?}",
            lines.len(),
            lines.last().map(|l| &l.message)
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// The numbers of `line <n>` lines, in stored order.
fn numbers(lines: &[LogEntry]) -> Vec<u32> {
    lines
        .iter()
        .map(|l| {
            l.message
                .strip_prefix("line ")
                .and_then(|n| n.parse().ok())
                .unwrap_or_else(|| panic!("unexpected line {:?}", l.message))
        })
        .collect()
}

/// The stored lines are `line 1` … `line n` on stdout, each once, in order, with ids and
/// timestamps increasing in that order.
fn assert_exactly_once_in_order(lines: &[LogEntry], n: u32) {
    let got = numbers(lines);
    let want: Vec<u32> = (1..=n).collect();
    if got != want {
        let at = got.iter().zip(&want).take_while(|(g, w)| g == w).count();
        panic!(
            "expected line 1 to line {n} once each, in order; {} stored, from index {at}: {:?}",
            got.len(),
            &got[at.saturating_sub(2)..(at + 3).min(got.len())]
        );
    }
    assert!(lines.iter().all(|l| l.stream == LogStream::Stdout));
    assert!(
        lines
            .windows(2)
            .all(|w| w[0].id < w[1].id && w[0].timestamp <= w[1].timestamp),
        "ids and timestamps increase in stored order"
    );
}

/// Receives the next `n` live log lines.
async fn live_lines(rx: &mut broadcast::Receiver<Event>, n: usize) -> Vec<(LogStream, String)> {
    tokio::time::timeout(WAIT, async {
        let mut got = Vec::with_capacity(n);
        while got.len() < n {
            match rx.recv().await {
                Ok(Event {
                    kind:
                        EventKind::Log {
                            stream, message, ..
                        },
                    ..
                }) => got.push((stream, message)),
                Ok(_) => {}
                Err(e) => panic!("the subscription failed: {e}"),
            }
        }
        got
    })
    .await
    .expect("the live lines in time")
}

/// The container's output as `docker logs --timestamps` shows it: stream, engine timestamp
/// (nanoseconds) and line.
fn engine_lines(container: &str) -> Vec<(LogStream, DateTime<Utc>, String)> {
    let out = std::process::Command::new("docker")
        .args(["logs", "--timestamps", container])
        .output()
        .expect("the docker CLI runs");
    let parse = |stream, bytes: &[u8]| -> Vec<_> {
        String::from_utf8_lossy(bytes)
            .lines()
            .map(|l| {
                let (ts, line) = l.split_once(' ').expect("a timestamp and a line");
                let ts = DateTime::parse_from_rfc3339(ts).expect("an RFC 3339 timestamp");
                (stream, ts.with_timezone(&Utc), line.to_string())
            })
            .collect()
    };
    let mut all = parse(LogStream::Stdout, &out.stdout);
    all.extend(parse(LogStream::Stderr, &out.stderr));
    all
}

/// Polls `docker logs` until the engine has `line`.
async fn wait_engine_has(container: &str, line: &str) {
    let deadline = tokio::time::Instant::now() + WAIT;
    while !engine_lines(container).iter().any(|(_, _, l)| l == line) {
        assert!(
            tokio::time::Instant::now() < deadline,
            "the engine did not log {line:?} in time"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn messages(lines: &[LogEntry], stream: LogStream) -> Vec<&str> {
    lines
        .iter()
        .filter(|l| l.stream == stream)
        .map(|l| l.message.as_str())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_keep_their_stream_and_engine_timestamp_and_reach_subscribers_live() {
    let d = forwarding(|_| {}).await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    let mut rx = d.vb.subscribe(&alice, env.id).await.unwrap();
    emit(
        &d,
        &env,
        "printf 'out 1\\n' > /tmp/o; printf 'err 1\\n' > /tmp/e; \
         printf 'out 2\\n' > /tmp/o; printf 'err 2\\n' > /tmp/e",
    )
    .await;

    // The engine orders each stream; it does not order stdout against stderr.
    let live = live_lines(&mut rx, 4).await;
    let live_of = |s: LogStream| -> Vec<&str> {
        live.iter()
            .filter(|(stream, _)| *stream == s)
            .map(|(_, m)| m.as_str())
            .collect()
    };
    assert_eq!(live_of(LogStream::Stdout), ["out 1", "out 2"]);
    assert_eq!(live_of(LogStream::Stderr), ["err 1", "err 2"]);

    let lines = wait_stored(&d.vb, &alice, env.id, |l| l.len() >= 4).await;
    assert_eq!(lines.len(), 4);
    assert_eq!(messages(&lines, LogStream::Stdout), ["out 1", "out 2"]);
    assert_eq!(messages(&lines, LogStream::Stderr), ["err 1", "err 2"]);
    let engine = engine_lines(container(&env).as_str());
    for line in &lines {
        let (stream, at, _) = engine
            .iter()
            .find(|(_, _, m)| *m == line.message)
            .unwrap_or_else(|| panic!("the engine logged {:?}", line.message));
        assert_eq!(line.stream, *stream, "{:?} keeps its stream", line.message);
        assert_eq!(
            line.timestamp,
            truncate(*at),
            "{:?} keeps the engine's timestamp (to the microsecond)",
            line.message
        );
    }

    let stderr =
        d.vb.query_logs(
            &alice,
            env.id,
            LogFilter {
                stream: Some(LogStream::Stderr),
                ..Default::default()
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    let stderr: Vec<_> = stderr.items.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(stderr, ["err 1", "err 2"]);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_burst_is_stored_in_full_batches_once_and_in_order_while_subscribers_see_every_line() {
    // Batches of 50; a partial batch waits a minute, longer than the test.
    let d = forwarding(|cfg| {
        cfg.log_batch_size = 50;
        cfg.log_batch_delay = Duration::from_secs(60);
    })
    .await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    let mut rx = d.vb.subscribe(&alice, env.id).await.unwrap();
    emit(&d, &env, &numbered(1, 320)).await;

    let live = live_lines(&mut rx, 320).await;
    let expected: Vec<_> = (1..=320)
        .map(|n| (LogStream::Stdout, format!("line {n}")))
        .collect();
    assert_eq!(live, expected, "every line is published live, in order");

    // Six full batches are stored; the last 20 lines wait for their batch to fill.
    let lines = wait_stored(&d.vb, &alice, env.id, |l| l.len() >= 300).await;
    assert_exactly_once_in_order(&lines, 300);

    emit(&d, &env, &numbered(321, 350)).await;
    let lines = wait_stored(&d.vb, &alice, env.id, |l| l.len() >= 350).await;
    assert_exactly_once_in_order(&lines, 350);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn after_a_crash_and_restart_collection_resumes_without_duplicates_or_gaps() {
    let d = forwarding(|cfg| {
        cfg.log_batch_size = 50;
        cfg.log_batch_delay = Duration::from_secs(60);
    })
    .await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    emit(&d, &env, &numbered(1, 310)).await;
    let lines = wait_stored(&d.vb, &alice, env.id, |l| l.len() >= 300).await;
    assert_exactly_once_in_order(&lines, 300);

    // The crash: lines 301-310 were read but never stored.
    d.vb.shutdown_collectors().await;
    assert!(!d.vb.is_collecting(env.id));
    // Written while VibeBox is down.
    emit(&d, &env, &numbered(311, 330)).await;

    let vb = d.restarted().await;
    assert!(!vb.is_collecting(env.id));
    vb.reconcile().await.unwrap();
    assert!(
        vb.is_collecting(env.id),
        "the reconciler resumes collection"
    );
    emit(&d, &env, &numbered(331, 350)).await;

    // The resume point is line 300: the engine sends it again with its nanosecond timestamp,
    // which the store keeps to the microsecond; it must be skipped exactly once. Lines
    // 301-350 then make one full batch.
    let lines = wait_stored(&vb, &alice, env.id, |l| l.len() >= 350).await;
    assert_exactly_once_in_order(&lines, 350);

    // Nothing more arrives late: stopping drains the collector.
    vb.stop_environment(&alice, env.id).await.unwrap();
    assert_exactly_once_in_order(&stored_logs(&vb, &alice, env.id).await, 350);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lines_written_just_before_a_stop_are_persisted_and_not_stored_again_after_a_start() {
    // Nothing is written before the stream ends: no batch fills or times out in this test.
    let d = forwarding(|cfg| {
        cfg.log_batch_size = 10_000;
        cfg.log_batch_delay = Duration::from_secs(60);
    })
    .await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    let id = container(&env);
    emit(&d, &env, &numbered(1, 5)).await;
    wait_engine_has(id.as_str(), "line 5").await;
    assert!(stored_logs(&d.vb, &alice, env.id).await.is_empty());

    d.vb.stop_environment(&alice, env.id).await.unwrap();
    assert!(!d.vb.is_collecting(env.id));
    assert_exactly_once_in_order(&stored_logs(&d.vb, &alice, env.id).await, 5);

    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    assert!(d.vb.is_collecting(env.id));
    emit(&d, &env, &numbered(6, 10)).await;
    wait_engine_has(id.as_str(), "line 10").await;
    // The restarted container's log holds the first run's lines too.
    let engine: Vec<_> = engine_lines(id.as_str())
        .into_iter()
        .map(|(_, _, l)| l)
        .collect();
    let expected: Vec<_> = (1..=10).map(|n| format!("line {n}")).collect();
    assert_eq!(engine, expected);

    d.vb.stop_environment(&alice, env.id).await.unwrap();
    assert_exactly_once_in_order(&stored_logs(&d.vb, &alice, env.id).await, 10);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_line_over_16_kib_is_stored_in_engine_pieces_and_invalid_utf8_is_replaced() {
    let d = forwarding(|_| {}).await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    emit(
        &d,
        &env,
        "{ head -c 40000 /dev/zero | tr '\\0' x; echo; } > /tmp/o; \
         printf 'a\\377b\\n' > /tmp/o; printf '\\n' > /tmp/o; printf 'after\\n' > /tmp/o",
    )
    .await;
    let lines = wait_stored(&d.vb, &alice, env.id, |l| {
        l.last().is_some_and(|l| l.message == "after")
    })
    .await;

    let (pieces, rest) = lines.split_at(lines.len() - 3);
    assert!(pieces.len() >= 3, "the engine splits the line in pieces");
    assert!(pieces.iter().all(|p| p.message.len() <= 16 * 1024));
    let joined: String = pieces.iter().map(|p| p.message.as_str()).collect();
    assert_eq!(
        joined,
        "x".repeat(40_000),
        "the pieces make the line, in order"
    );
    let rest: Vec<_> = rest.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(rest, ["a\u{fffd}b", "", "after"]);
    let timestamps: Vec<Timestamp> = lines.iter().map(|l| l.timestamp).collect();
    assert!(timestamps.is_sorted());
}
