//! Overload: 100 WebSocket clients that never read, on a logs socket fed faster than any
//! client reads, beside one client that reads. Each stalled client is closed as a slow
//! consumer within the write timeout of its stall, the server's memory stays under one bound
//! however many waves of 100 come (what a wave held is freed and used again: three waves here),
//! and the reading client keeps receiving throughout. This test has its own binary: it
//! measures the process's resident memory, which tests running beside it would disturb.
//!
//! Run with `--nocapture` to see the figures (RELIABILITY.md, "Overload and shutdown").
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;
mod socket_load;

use std::time::{Duration, Instant};

use common::{App, config};
use socket_load::{
    End, Reader, connect_lean, drain, feed_logs, poll_until, rss_mib, serve, tcp_buffers_mib,
};
use tokio_util::sync::CancellationToken;
use vibebox_http::{
    HttpConfig, OpenSockets, SOCKET_CLOSE_TIMEOUT, SOCKET_QUEUE_BYTES, SOCKET_WRITE_TIMEOUT,
};

/// Clients that never read, in each wave.
const STALLED: usize = 100;
/// How long the feed may take to fill a wave's buffers (about 0.6 MB a client with
/// [`socket_load::SEND_BUFFER`]; 60 MB in all), on a loaded machine.
const FILL: Duration = Duration::from_secs(30);
/// Scheduling slack on top of the write and close timeouts (a loaded debug build).
const SLACK: Duration = Duration::from_secs(3);
/// Waves of [`STALLED`] clients.
const WAVES: usize = 3;
/// The most the process's memory may grow over its baseline while [`STALLED`] clients are
/// stalled, in any wave: each socket holds at most [`SOCKET_QUEUE_BYTES`] of frames (25 MiB
/// for 100). The rest is what the allocator keeps: freed memory stays in the process for reuse,
/// spread over its per-thread arenas, so later waves still raise the peak a little, less each
/// time (measured over seven waves: +48, +52, +54, +54, +57, +57, +57 MiB). A socket that
/// leaked its queue would cross the bound by the third wave.
const RSS_GROWTH_MIB: f64 = (STALLED * SOCKET_QUEUE_BYTES) as f64 / (1024.0 * 1024.0) + 50.0;

/// What one wave of stalled clients did.
struct Wave {
    rss_peak: f64,
    rss_after: f64,
    tcp_peak: f64,
    /// From the feed's start until the last stalled client fell behind.
    fell_behind_after: Duration,
    /// From then until every stalled client was let go.
    closed_after: Duration,
    held_mib: f64,
}

/// Opens [`STALLED`] logs sockets that never read, feeds the logs until every one of them is
/// closed as a slow consumer, then reads them to their end.
async fn wave(
    app: &App,
    sockets: &OpenSockets,
    addr: std::net::SocketAddr,
    env: &str,
    token: &str,
    reader: &Reader,
) -> Wave {
    let path = format!("/api/v1/ws/environments/{env}/logs");
    let slow_before = sockets.slow_consumers();
    let mut stalled = Vec::new();
    for _ in 0..STALLED {
        stalled.push(connect_lean(addr, &path, token).await);
    }
    poll_until(Duration::from_secs(10), "every socket open", || {
        sockets.len() == STALLED + 1
    })
    .await;

    let stop = CancellationToken::new();
    let feed = feed_logs(app.vibebox.clone(), env.parse().unwrap(), stop.clone());
    let started = Instant::now();
    // Each stalled client is closed within this of the moment the last one fell behind.
    let bound = SOCKET_WRITE_TIMEOUT + SOCKET_CLOSE_TIMEOUT + SLACK;
    let (mut rss_peak, mut tcp_peak) = (rss_mib(), tcp_buffers_mib());
    let mut all_behind: Option<Instant> = None;
    loop {
        let closed = (sockets.slow_consumers() - slow_before) as usize;
        if closed == STALLED && sockets.len() == 1 {
            break;
        }
        rss_peak = rss_peak.max(rss_mib());
        tcp_peak = tcp_peak.max(tcp_buffers_mib());
        if all_behind.is_none() && sockets.behind() + closed >= STALLED {
            all_behind = Some(Instant::now());
        }
        match all_behind {
            None => assert!(
                started.elapsed() < FILL,
                "every stalled client falls behind within {FILL:?}: {} did",
                sockets.behind() + closed
            ),
            Some(at) => assert!(
                at.elapsed() < bound,
                "every stalled client is closed within {bound:?} of falling behind: \
                 {closed} closed, {} open",
                sockets.len()
            ),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let all_behind = all_behind.unwrap_or_else(Instant::now);
    let fell_behind_after = all_behind - started;
    let closed_after = all_behind.elapsed();
    assert_eq!(
        sockets.slow_consumers() - slow_before,
        STALLED as u64,
        "only the stalled clients are slow consumers"
    );

    // The reading client was never held up: it keeps receiving.
    let read = reader.frames();
    poll_until(
        Duration::from_secs(10),
        "the reading client keeps receiving",
        || reader.frames() > read + 1000,
    )
    .await;
    stop.cancel();
    feed.await.unwrap();
    let rss_after = rss_mib();

    // A stalled client that finally reads gets what its buffers held, then the end of the
    // connection without a close frame: the close could not get past its full buffers within
    // SOCKET_CLOSE_TIMEOUT, so the server dropped the connection.
    let ends = futures::future::join_all(
        stalled
            .into_iter()
            .map(|ws| drain(ws, Duration::from_secs(60))),
    )
    .await;
    for d in &ends {
        assert_eq!(d.end, End::Dropped, "{d:?}");
        assert!(d.bytes > 0, "{d:?}");
    }
    let held: u64 = ends.iter().map(|d| d.bytes).sum();
    Wave {
        rss_peak,
        rss_after,
        tcp_peak,
        fell_behind_after,
        closed_after,
        held_mib: held as f64 / (1024.0 * 1024.0),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_that_never_read_are_closed_as_slow_consumers_and_memory_stays_bounded() {
    let sockets = OpenSockets::new();
    let shutdown = CancellationToken::new();
    let app = App::with(HttpConfig {
        sockets: sockets.clone(),
        shutdown: shutdown.clone(),
        ..config()
    });
    let alice = app.signed_in("alice").await;
    let (_, env) = app.project_with_env(&alice).await;
    let (addr, served) = serve(app.router.clone(), shutdown.clone()).await;
    let limit = (FILL + SOCKET_WRITE_TIMEOUT + SOCKET_CLOSE_TIMEOUT) * WAVES as u32
        + Duration::from_secs(120);
    let reader = Reader::spawn(
        connect_lean(addr, &format!("/api/v1/ws/environments/{env}/logs"), &alice).await,
        limit,
    );

    let rss_before = rss_mib();
    let tcp_before = tcp_buffers_mib();
    let mut waves = Vec::new();
    for _ in 0..WAVES {
        waves.push(wave(&app, &sockets, addr, &env, &alice, &reader).await);
    }
    let tcp_after = tcp_buffers_mib();

    shutdown.cancel();
    let reader = reader.done.await.unwrap();
    served.await.unwrap();
    assert_eq!(
        reader.end,
        End::Closed(1001, "server shutting down".into()),
        "the reading client was never closed as slow: {reader:?}"
    );

    for (n, w) in waves.iter().enumerate() {
        let n = n + 1;
        println!(
            "wave {n}: {STALLED} stalled + 1 reading; all stalled fell behind {:.1?} after the \
             feed began and were let go {:.1?} later (bound {:?}); RSS before {rss_before:.1} MiB, \
             peak {:.1} MiB, after {:.1} MiB; kernel TCP buffers before {tcp_before:.1} MiB, peak \
             {:.1} MiB; the stalled clients read {:.1} MiB ({:.2} MiB each), then the end without \
             a close frame",
            w.fell_behind_after,
            w.closed_after,
            SOCKET_WRITE_TIMEOUT + SOCKET_CLOSE_TIMEOUT + SLACK,
            w.rss_peak,
            w.rss_after,
            w.tcp_peak,
            w.held_mib,
            w.held_mib / STALLED as f64,
        );
    }
    println!(
        "kernel TCP buffers after the clients read: {tcp_after:.1} MiB; the reading client got {} frames",
        reader.frames
    );
    for (n, w) in waves.iter().enumerate() {
        assert!(
            w.rss_peak - rss_before <= RSS_GROWTH_MIB,
            "wave {}: RSS grew {:.1} MiB (bound {RSS_GROWTH_MIB:.0})",
            n + 1,
            w.rss_peak - rss_before
        );
    }
}
