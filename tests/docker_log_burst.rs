//! Log collection under abuse on the real Docker engine: bursts of hundreds of thousands of
//! lines with the engine's json-file driver rotating its files (this machine's engine rotates
//! at 10 MB × 3), and VibeBox restarting in the middle of a burst.
//!
//! What must hold whatever the machine's speed: every line the container wrote is either
//! stored exactly once, in order, or lies inside a gap that is recorded as a log line
//! between its neighbours; a marker written after the bursts is stored and streamed live;
//! and collection goes on afterwards.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::time::Duration;

use docker::*;
use tokio::sync::broadcast;
use vibebox::Vibebox;
use vibebox::domain::LogEntry;
use vibebox::events::{Event, EventKind};
use vibebox::id::EnvironmentId;
use vibebox::rbac::Actor;

/// Lines per burst, as in the operator's report.
const BURST: u32 = 200_000;
/// How long the collector may take to store a whole run of bursts.
const COLLECT_WAIT: Duration = Duration::from_secs(240);

/// Writes `line-<n>-…` (100 bytes) for `from..=to` to the container's log: the operator's
/// loop, into the main process's stdout through [`FORWARDER`]'s FIFO (the environment's user
/// may not open `/proc/1/fd/1`).
fn burst(from: u32, to: u32) -> String {
    format!(
        "for i in $(seq {from} {to}); do echo \"line-$i-abcdefghijklmnopqrstuvwxyz0123456789\
         abcdefghijklmnopqrstuvwxyz0123456789abcdefghij\"; done > /tmp/o"
    )
}

/// Waits until the latest stored line is `marker`, then returns every stored line.
async fn wait_marker_stored(
    vb: &Vibebox,
    actor: &Actor,
    env: EnvironmentId,
    marker: &str,
) -> Vec<LogEntry> {
    let deadline = tokio::time::Instant::now() + COLLECT_WAIT;
    loop {
        let latest = vb.unchecked().store().latest_log(env).await.unwrap();
        if latest.as_ref().is_some_and(|l| l.message == marker) {
            return stored_logs(vb, actor, env).await;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "the marker was not stored in time; the latest line is {:?}",
            latest.map(|l| l.message)
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Receives live lines until `marker`; returns how many burst lines and gap events came.
async fn live_until(rx: &mut broadcast::Receiver<Event>, marker: &str) -> (u64, u64) {
    tokio::time::timeout(COLLECT_WAIT, async {
        let (mut lines, mut gaps) = (0, 0);
        loop {
            match rx.recv().await {
                Ok(Event {
                    kind: EventKind::Log { message, .. },
                    ..
                }) => {
                    if message == marker {
                        return (lines, gaps);
                    }
                    lines += 1;
                }
                Ok(Event {
                    kind: EventKind::LogGap { .. },
                    ..
                }) => gaps += 1,
                Ok(_) | Err(broadcast::error::RecvError::Lagged(_)) => {}
                Err(e) => panic!("the subscription ended: {e}"),
            }
        }
    })
    .await
    .expect("the marker was streamed live")
}

/// What the stored lines say about `line-1` … `line-<n>`.
#[derive(Debug)]
struct Accounting {
    stored: u32,
    lost: u32,
    gaps: usize,
}

/// Checks that each of `line-1` … `line-<n>` is stored at most once, in order, and that each
/// run of missing numbers has a gap line between its stored neighbours.
fn account(lines: &[LogEntry], n: u32) -> Accounting {
    let mut last: u32 = 0;
    let mut gap_since_last = false;
    let mut acc = Accounting {
        stored: 0,
        lost: 0,
        gaps: 0,
    };
    for l in lines {
        if l.message
            .contains("was lost: the engine rotated its log files away")
        {
            gap_since_last = true;
            acc.gaps += 1;
            continue;
        }
        let Some(num) = l
            .message
            .strip_prefix("line-")
            .and_then(|rest| rest.split('-').next())
            .and_then(|num| num.parse::<u32>().ok())
        else {
            continue;
        };
        assert!(
            num > last,
            "line-{num} stored after line-{last}: a duplicate or out of order"
        );
        if num != last + 1 {
            assert!(
                gap_since_last,
                "line-{} to line-{} are missing and no gap was recorded between line-{last} and line-{num}",
                last + 1,
                num - 1
            );
            acc.lost += num - last - 1;
        }
        acc.stored += 1;
        last = num;
        gap_since_last = false;
    }
    if last != n {
        assert!(
            gap_since_last,
            "line-{} to line-{n} are missing with no gap recorded",
            last + 1
        );
        acc.lost += n - last;
    }
    acc
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_bursts_with_rotation_lose_nothing_silently_and_the_marker_arrives() {
    let d = forwarding(|_| {}).await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let mut rx = d.vb.subscribe(&alice, env.id).await.unwrap();
    let marker = format!("marker-{}", d.run());
    emit(&d, &env, &burst(1, BURST)).await;
    emit(&d, &env, &burst(BURST + 1, 2 * BURST)).await;
    emit(&d, &env, &format!("echo {marker} > /tmp/o")).await;
    let (live, live_gaps) = live_until(&mut rx, &marker).await;
    let lines = wait_marker_stored(&d.vb, &alice, env.id, &marker).await;
    let acc = account(&lines, 2 * BURST);
    eprintln!(
        "two bursts: {acc:?}; live: {live} lines and {live_gaps} gap events before the marker"
    );
    assert_eq!(acc.stored + acc.lost, 2 * BURST);
    assert_eq!(acc.gaps as u64, d.vb.log_collection_report().gaps);
    // Collection goes on.
    emit(&d, &env, "echo after-the-marker > /tmp/o").await;
    wait_marker_stored(&d.vb, &alice, env.id, "after-the-marker").await;
    assert!(d.vb.is_collecting(env.id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_of_vibebox_in_the_middle_of_a_burst_resumes_without_duplicates() {
    let d = forwarding(|_| {}).await;
    let (alice, env) = d.owner_with_running_env("alice").await;
    let marker = format!("marker-{}", d.run());
    let writer = {
        let (rt, c, user) = (
            d.rt.clone(),
            container(&env),
            d.config.container_user.clone(),
        );
        let script = format!(
            "until [ -p /tmp/o ]; do sleep 0.05; done; {}; echo {marker} > /tmp/o",
            burst(1, BURST)
        );
        tokio::spawn(async move { exec_in(&*rt, &c, &script, user).await })
    };
    wait_until("some of the burst is stored", || async {
        d.vb.unchecked().store().log_bytes(env.id).await.unwrap() > 1_000_000
    })
    .await;
    // VibeBox goes away mid-burst: lines read but not stored are dropped with it.
    d.vb.shutdown_collectors().await;
    let vb = d.restarted().await;
    let background = vb.spawn_background(Default::default());
    let (code, out) = writer.await.unwrap();
    assert_eq!(code, 0, "the burst failed: {out}");
    let lines = wait_marker_stored(&vb, &alice, env.id, &marker).await;
    let acc = account(&lines, BURST);
    eprintln!("restart mid-burst: {acc:?}");
    assert_eq!(acc.stored + acc.lost, BURST);
    background.shutdown().await;
}
