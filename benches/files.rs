//! File transfer through the service on the real Docker engine (issue 14): uploading and
//! downloading 100 MiB with `Vibebox::upload_file` and `Vibebox::download`, as the
//! environment's user through exec (target: upload ≥ 100 MB/s).
//!
//! The upload's body is generated on the fly (64 KiB chunks cut from one random MiB), so the
//! process's peak memory says whether the transfer buffers: it is printed before and after.
//! Each upload replaces the same file (temporary file, then rename). The download reads the
//! file back and drops its bytes.
//!
//! The same two transfers then go through the HTTP front (`PUT`/`GET
//! /api/v1/environments/{id}/files`) served on loopback TCP, with a raw HTTP/1.1 client.
//!
//! Needs the engine and the images of `scripts/base-image`. Run: `cargo bench --bench files`;
//! `VIBEBOX_BENCH_QUICK=1` (or `cargo test --benches`) moves 10 MiB a few times, to check that
//! it works. `VIBEBOX_BENCH_FILE_MIB` sets the size.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[path = "../tests/docker/mod.rs"]
mod harness;
#[path = "files/http.rs"]
mod http;

use std::io;
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::Latencies;
use criterion::{Criterion, SamplingMode, Throughput};
use futures::{Stream, StreamExt};
use harness::{BASE_IMAGE, D, new_env};
use vibebox::domain::Environment;
use vibebox::rbac::Actor;

const MIB: usize = 1024 * 1024;
const CHUNK: usize = 64 * 1024;
const UPLOAD: &str = "files/upload";
const DOWNLOAD: &str = "files/download";
const HTTP_UPLOAD: &str = "files/http_upload";
const HTTP_DOWNLOAD: &str = "files/http_download";

/// Peak and current resident memory of this process (KiB).
fn memory() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let field = |name: &str| {
        status
            .lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
            .unwrap()
    };
    (field("VmHWM:"), field("VmRSS:"))
}

/// `len` bytes in 64 KiB chunks cut from `block`.
fn body(block: &Bytes, len: usize) -> impl Stream<Item = io::Result<Bytes>> + Send + 'static {
    let block = block.clone();
    futures::stream::iter((0..len).step_by(CHUNK).map(move |at| {
        let from = at % block.len();
        let n = CHUNK.min(len - at).min(block.len() - from);
        Ok(block.slice(from..from + n))
    }))
}

async fn upload(d: &D, actor: &Actor, env: &Environment, block: &Bytes, len: usize) -> Duration {
    let started = Instant::now();
    let entry =
        d.vb.upload_file(
            actor,
            env.id,
            "bench.bin",
            len as u64,
            body(block, len),
            None,
        )
        .await
        .unwrap();
    assert_eq!(entry.size, len as u64);
    started.elapsed()
}

async fn download(d: &D, actor: &Actor, env: &Environment, len: usize) -> Duration {
    let started = Instant::now();
    let mut download = d.vb.download(actor, env.id, "bench.bin").await.unwrap();
    let mut got = 0usize;
    while let Some(chunk) = download.body.next().await {
        got += chunk.unwrap().len();
    }
    assert_eq!(got, len);
    started.elapsed()
}

fn mb_per_s(len: usize, d: Duration) -> f64 {
    len as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    let quick = std::env::var("VIBEBOX_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
        || !std::env::args().any(|a| a == "--bench");
    let mib: usize = std::env::var("VIBEBOX_BENCH_FILE_MIB")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(if quick { 10 } else { 100 });
    let len = mib * MIB;
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lat = Latencies::default();
    let mut c = Criterion::default()
        .sample_size(10)
        .measurement_time(Duration::from_secs(if quick { 1 } else { 20 }))
        .warm_up_time(Duration::from_millis(if quick { 100 } else { 1000 }))
        .configure_from_args();

    // Declared after the runtime, so it is dropped first: the run's containers are removed
    // on the way out, panics included.
    let d = rt.block_on(D::with(|cfg| cfg.default_sessions = Vec::new()));
    let actor = rt.block_on(d.user("mover"));
    let env = rt.block_on(async {
        let project = d.project(&actor, "moving").await;
        let env =
            d.vb.create_environment(&actor, new_env(&project, "files", BASE_IMAGE))
                .await
                .unwrap();
        d.vb.start_environment(&actor, env.id).await.unwrap()
    });
    let mut block = vec![0u8; MIB];
    getrandom::fill(&mut block).unwrap();
    let block = Bytes::from(block);
    let engine = harness::docker(&[
        "info",
        "--format",
        "Docker {{.ServerVersion}}, {{.Driver}}, cgroup v{{.CgroupVersion}}",
    ]);
    eprintln!(
        "files bench: {} MiB per transfer, run {}, {}",
        mib,
        d.run(),
        engine.trim()
    );

    let before = memory();
    let first = rt.block_on(upload(&d, &actor, &env, &block, len));
    let after = memory();
    eprintln!(
        "first upload: {:.0} MB/s; peak memory {} → {} KiB (resident {} → {} KiB)",
        mb_per_s(len, first),
        before.0,
        after.0,
        before.1,
        after.1
    );

    let mut group = c.benchmark_group("files");
    group.sampling_mode(SamplingMode::Flat);
    group.throughput(Throughput::Bytes(len as u64));
    group.bench_function(format!("upload_{mib}MiB"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let took = upload(&d, &actor, &env, &block, len).await;
                    lat.record(UPLOAD, took);
                    total += took;
                }
                total
            })
        })
    });
    group.bench_function(format!("download_{mib}MiB"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let took = download(&d, &actor, &env, len).await;
                    lat.record(DOWNLOAD, took);
                    total += took;
                }
                total
            })
        })
    });
    let (addr, token, _app) = rt.block_on(harness::serve_http(&d, &actor));
    let path = format!("/api/v1/environments/{}/files?path=bench.bin", env.id);
    group.bench_function(format!("http_upload_{mib}MiB"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let took = http::put(addr, &token, &path, &block, len).await;
                    lat.record(HTTP_UPLOAD, took);
                    total += took;
                }
                total
            })
        })
    });
    group.bench_function(format!("http_download_{mib}MiB"), |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let took = http::get(addr, &token, &path, len).await;
                    lat.record(HTTP_DOWNLOAD, took);
                    total += took;
                }
                total
            })
        })
    });
    group.finish();
    c.final_summary();
    lat.report();
    let end = memory();
    eprintln!("\nsummary ({mib} MiB per transfer):");
    for (label, target) in [
        (UPLOAD, " (target: ≥ 100 MB/s)"),
        (DOWNLOAD, ""),
        (HTTP_UPLOAD, " (target: ≥ 100 MB/s)"),
        (HTTP_DOWNLOAD, ""),
    ] {
        if let Some(p) = lat.get(label) {
            eprintln!(
                "  {label:<20} n={:<3} p50 {:.0} MB/s, p95 {:.0} MB/s{target}",
                p.n,
                mb_per_s(len, p.p50),
                mb_per_s(len, p.p95),
            );
        }
    }
    eprintln!(
        "  memory: peak {} KiB, resident {} KiB at the end",
        end.0, end.1
    );
}
