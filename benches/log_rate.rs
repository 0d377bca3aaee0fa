//! The highest sustained rate of container output that the log collector stores without
//! losing a line, on the real Docker engine and the on-disk SQLite store (issue 13).
//!
//! For each rate of a ladder, a fresh environment prints numbered 100-byte lines at that rate
//! for a while (a shell loop writing `seq` batches every 50 ms into the main process's FIFO,
//! so they reach the engine's json-file log), then a marker. The bench waits until the marker
//! is stored and reports: the rate achieved, lines stored and lost (lost lines are recorded
//! as gaps), how long after the last line the marker was stored, the latency of reading the
//! environment through the service during the burst (the API must not block), and the
//! process's peak memory. The engine's own rotation settings decide how much backlog it keeps
//! (this machine: 10 MB × 3).
//!
//! Run: `cargo bench --bench log_rate` (about 3 minutes);
//! `VIBEBOX_BENCH_QUICK=1` runs two short rates. `VIBEBOX_BENCH_LOG_RATES=10000,50000` sets the
//! ladder and `VIBEBOX_BENCH_LOG_SECONDS` the duration of each rate (default 20 s).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[path = "../tests/docker/mod.rs"]
mod harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use common::Percentiles;
use harness::{D, FORWARDER, container};

/// Resident memory of this process now (KiB).
fn vm_rss() -> u64 {
    std::fs::read_to_string("/proc/self/status")
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}

/// Runs the writer to its end, however long it takes; returns its exit code and output.
async fn run_writer(d: &D, env: &vibebox::domain::Environment, script: &str) -> (i64, String) {
    use futures::StreamExt;
    use vibebox::runtime::ContainerRuntime;
    let mut session =
        d.rt.exec(
            &container(env),
            &vibebox::runtime::ExecSpec {
                cmd: vec!["/bin/sh".into(), "-c".into(), script.into()],
                user: d.config.container_user.clone(),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    let mut out = Vec::new();
    while let Some(chunk) = session.output.next().await {
        out.extend_from_slice(&chunk.unwrap().data);
    }
    let info =
        d.vb.unchecked()
            .runtime()
            .inspect_exec(&session.id)
            .await
            .unwrap();
    (
        info.exit_code.unwrap_or(-1),
        String::from_utf8_lossy(&out).into_owned(),
    )
}

/// How many stored lines of the environment start with `line-`, read page by page.
async fn count_stored(d: &D, actor: &vibebox::rbac::Actor, env: vibebox::id::EnvironmentId) -> u64 {
    let mut n = 0;
    let mut cursor = None;
    loop {
        let page =
            d.vb.query_logs(
                actor,
                env,
                vibebox::service::LogFilter::default(),
                &vibebox::store::PageRequest {
                    limit: vibebox::store::PageRequest::MAX_LIMIT,
                    cursor,
                },
            )
            .await
            .unwrap();
        n += page
            .items
            .iter()
            .filter(|l| l.message.starts_with("line-"))
            .count() as u64;
        match page.next_cursor {
            Some(next) => cursor = Some(next),
            None => return n,
        }
    }
}

struct Row {
    target: u64,
    achieved: f64,
    written: u64,
    stored: u64,
    gaps: u64,
    marker_lag: Duration,
    api: Percentiles,
    /// The largest VmRSS sampled while the burst ran and was collected.
    peak_rss_kib: u64,
}

async fn one_rate(
    d: &D,
    actor: &vibebox::rbac::Actor,
    round: usize,
    rate: u64,
    seconds: u64,
) -> Row {
    let project = d.project(actor, &format!("rate-{round}")).await;
    let env = d.env(actor, &project, "printer").await;
    let env = d.vb.start_environment(actor, env.id).await.unwrap();
    let gaps_before = d.vb.log_collection_report().gaps;
    let step = (rate / 20).max(1);
    let total = rate * seconds;
    let script = format!(
        "until [ -p /tmp/o ]; do sleep 0.05; done; i=1; \
         while [ $i -le {total} ]; do seq -f 'line-%g-abcdefghijklmnopqrstuvwxyz0123456789abcdefghijklmnopqrstuvwxyz012345678' $i $((i+{step}-1)); \
         i=$((i+{step})); sleep 0.05; done > /tmp/o; echo marker-{rate} > /tmp/o"
    );
    // The API while the burst runs: reads of the environment, 20 a second.
    let stop = Arc::new(AtomicBool::new(false));
    let reads = {
        let (vb, actor, stop) = (d.vb.clone(), actor.clone(), stop.clone());
        tokio::spawn(async move {
            let (mut took, mut peak) = (Vec::new(), 0);
            while !stop.load(Ordering::Relaxed) {
                let t = Instant::now();
                vb.get_environment(&actor, env.id).await.unwrap();
                took.push(t.elapsed());
                peak = peak.max(vm_rss());
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
            (took, peak)
        })
    };
    let started = Instant::now();
    let (code, out) = run_writer(d, &env, &script).await;
    assert_eq!(code, 0, "the writer failed: {out}");
    let wrote_for = started.elapsed();
    let marker = format!("marker-{rate}");
    loop {
        let latest = d.vb.unchecked().store().latest_log(env.id).await.unwrap();
        if latest.is_some_and(|l| l.message == marker) {
            break;
        }
        assert!(
            wrote_for + started.elapsed() < Duration::from_secs(seconds * 20 + 120),
            "the marker was not stored in time"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let marker_lag = started.elapsed() - wrote_for;
    stop.store(true, Ordering::Relaxed);
    let (took, peak_rss_kib) = reads.await.unwrap();
    let api = Percentiles::of(&took).unwrap();
    let stored = count_stored(d, actor, env.id).await;
    d.vb.delete_environment(actor, env.id).await.unwrap();
    Row {
        target: rate,
        achieved: total as f64 / wrote_for.as_secs_f64(),
        written: total,
        stored,
        gaps: d.vb.log_collection_report().gaps - gaps_before,
        marker_lag,
        api,
        peak_rss_kib,
    }
}

fn main() {
    let quick = std::env::var("VIBEBOX_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
        || !std::env::args().any(|a| a == "--bench");
    let rates: Vec<u64> = std::env::var("VIBEBOX_BENCH_LOG_RATES")
        .ok()
        .map(|v| v.split(',').filter_map(|r| r.trim().parse().ok()).collect())
        .unwrap_or_else(|| {
            if quick {
                vec![2_000, 10_000]
            } else {
                vec![10_000, 20_000, 40_000, 60_000, 80_000, 120_000]
            }
        });
    let seconds: u64 = std::env::var("VIBEBOX_BENCH_LOG_SECONDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 2 } else { 20 });
    let rt = tokio::runtime::Runtime::new().unwrap();
    let d = rt.block_on(D::with(|cfg| {
        cfg.default_sessions = Vec::new();
        cfg.container_command = Some(vec!["/bin/sh".into(), "-c".into(), FORWARDER.into()]);
    }));
    let actor = rt.block_on(d.user("printer"));
    eprintln!(
        "log rate bench: {} s per rate, engine {}",
        seconds,
        harness::docker(&["info", "--format", "{{.ServerVersion}} {{.LoggingDriver}}"]).trim()
    );
    println!(
        "| target lines/s | achieved lines/s | written | stored | lost | gaps | marker stored after | GET env p50 / p99 / max during the burst | peak RSS during the burst |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (round, rate) in rates.into_iter().enumerate() {
        let r = rt.block_on(one_rate(&d, &actor, round, rate, seconds));
        println!(
            "| {} | {:.0} | {} | {} | {} | {} | {:.2} s | {:.2} / {:.2} / {:.2} ms | {} MiB |",
            r.target,
            r.achieved,
            r.written,
            r.stored,
            r.written - r.stored,
            r.gaps,
            r.marker_lag.as_secs_f64(),
            r.api.p50.as_secs_f64() * 1e3,
            r.api.p99.as_secs_f64() * 1e3,
            r.api.max.as_secs_f64() * 1e3,
            r.peak_rss_kib / 1024,
        );
    }
}
