//! Benchmarks on the real Docker engine (issue 4), with the on-disk SQLite store:
//!
//! - starting an environment through VibeBox against a raw bollard create+start of the same
//!   container, interleaved in one run (target: ratio ≤ 1.10 at p50), and the same start with
//!   the default tmux session;
//! - 100 environments started concurrently: failures (target: none) and total time, and the
//!   memory of the process with them running;
//! - the terminal keystroke echo round trip (target: p99 ≤ 10 ms), a criterion benchmark;
//! - a container log line until a subscriber receives it (target: p99 ≤ 50 ms), a criterion
//!   benchmark.
//!
//! Needs the engine and the images of `scripts/base-image`. Every container carries this run's
//! label and is removed at the end, also when the bench panics. Run:
//! `cargo bench --bench docker` (the full run takes several minutes);
//! `VIBEBOX_BENCH_QUICK=1 cargo bench --bench docker` takes few samples, to check that it works.
//! Under `cargo test --benches` (no `--bench` argument) it runs the quick plan.
//! `VIBEBOX_BENCH_START_ROUNDS` and `VIBEBOX_BENCH_CONCURRENT` override those two counts.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[path = "docker/concurrent.rs"]
mod concurrent;
#[path = "../tests/docker/mod.rs"]
mod harness;
#[path = "docker/logs.rs"]
mod logs;
#[path = "docker/start.rs"]
mod start;
#[path = "docker/summary.rs"]
mod summary;
#[path = "docker/terminal.rs"]
mod terminal;

use std::time::Duration;

use common::Latencies;
use criterion::Criterion;
use vibebox::config::Config;

use crate::harness::{D, build};

/// How many samples each part takes.
pub struct Plan {
    pub quick: bool,
    /// Rounds of the interleaved start comparison (one start of each kind per round).
    pub start_rounds: usize,
    /// Environments started at once.
    pub concurrent: usize,
    /// criterion's sample count (at least n(n+1)/2 timed calls each with linear sampling).
    pub sample_size: usize,
    pub measurement_time: Duration,
    pub warm_up_time: Duration,
}

impl Plan {
    fn from_env() -> Self {
        let quick = std::env::var("VIBEBOX_BENCH_QUICK").is_ok_and(|v| !v.is_empty() && v != "0")
            || !std::env::args().any(|a| a == "--bench");
        let count = |var: &str| std::env::var(var).ok().and_then(|v| v.parse().ok());
        let plan = if quick {
            Self {
                quick,
                start_rounds: 3,
                concurrent: 10,
                sample_size: 10,
                measurement_time: Duration::from_secs(1),
                warm_up_time: Duration::from_millis(200),
            }
        } else {
            Self {
                quick,
                start_rounds: 30,
                concurrent: 100,
                sample_size: 50,
                measurement_time: Duration::from_secs(10),
                warm_up_time: Duration::from_secs(2),
            }
        };
        Self {
            start_rounds: count("VIBEBOX_BENCH_START_ROUNDS").unwrap_or(plan.start_rounds),
            concurrent: count("VIBEBOX_BENCH_CONCURRENT").unwrap_or(plan.concurrent),
            ..plan
        }
    }
}

fn main() {
    let plan = Plan::from_env();
    let rt = tokio::runtime::Runtime::new().unwrap();
    let lat = Latencies::default();
    let mut c = Criterion::default()
        .sample_size(plan.sample_size)
        .measurement_time(plan.measurement_time)
        .warm_up_time(plan.warm_up_time)
        .configure_from_args();

    // Declared after the runtime, so it is dropped first: the run's containers and database
    // are removed on the way out, panics included.
    let d = rt.block_on(D::with(|cfg| {
        cfg.default_sessions = Vec::new();
        cfg.max_running_per_user = 1000;
    }));
    let engine = harness::docker(&[
        "info",
        "--format",
        "Docker {{.ServerVersion}}, {{.Driver}}, cgroup v{{.CgroupVersion}}",
    ]);
    eprintln!(
        "docker bench: {} plan, run {}, {}",
        if plan.quick { "quick" } else { "full" },
        d.run(),
        engine.trim()
    );
    let raw = rt.block_on(start::raw_client());
    let with_tmux = build(
        d.store.clone(),
        d.rt.clone(),
        Config {
            default_sessions: Config::default().default_sessions,
            ..d.config.clone()
        },
        d.secrets.clone(),
    );

    eprintln!("start comparison: {} rounds", plan.start_rounds);
    rt.block_on(start::compare(
        &d,
        &with_tmux,
        &raw,
        plan.start_rounds,
        &lat,
    ));
    eprintln!("{} concurrent starts", plan.concurrent);
    let crowd = rt.block_on(concurrent::run(&d, &raw, plan.concurrent, &lat));

    let actor = rt.block_on(d.user("typist"));
    let mut term = rt.block_on(terminal::open(&d, &actor));
    let mut probe = rt.block_on(logs::open(&d, &actor));
    let mut group = c.benchmark_group("docker");
    group.bench_function("terminal_keystroke_echo", |b| {
        b.iter_custom(|iters| rt.block_on(terminal::keystrokes(&mut term, iters, &lat)))
    });
    group.bench_function("log_line_to_subscriber", |b| {
        b.iter_custom(|iters| rt.block_on(logs::lines(&mut probe, iters, &lat)))
    });
    group.finish();
    rt.block_on(term.control.close());
    drop(probe);

    c.final_summary();
    lat.report();
    summary::print(&plan, &lat, &crowd);
}
