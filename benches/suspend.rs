//! Suspend and resume on the real Docker engine (issue 18), each with its raw baseline from
//! the same run:
//!
//! - resume to ready: from the first access to a suspended environment until an exec of
//!   `true` has succeeded (`Vibebox::exec`, which resumes it first), against the raw engine's
//!   unpause followed by the same raw bollard exec (target: p50 ≤ 50 ms, p99 ≤ 100 ms);
//! - the freeze: `Vibebox::suspend_environment` against a raw bollard pause.
//!
//! Samples alternate between the two, on one running environment.
//!
//! Run: `cargo bench --bench suspend` (about a minute); `VIBEBOX_BENCH_QUICK=1` (or no
//! `--bench` argument) takes few samples, to check that it works.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[path = "common/engine.rs"]
mod engine;
#[path = "../tests/docker/mod.rs"]
mod harness;

use std::time::Instant;

use common::{Percentiles, ms, row};
use engine::raw_exec_true;
use harness::{D, container};
use vibebox::domain::EnvironmentStatus;
use vibebox::service::ExecRequest;

fn samples() -> usize {
    if common::quick() { 10 } else { 200 }
}

fn main() {
    let rt = engine::runtime();
    rt.block_on(async {
        let n = samples();
        let d = D::with(|c| c.default_sessions = vec![]).await;
        let (alice, env) = d.owner_with_running_env("bench").await;
        let docker = engine::docker().await;
        let id = container(&env);
        let user = d.config.container_user.clone();
        let (mut raw_ready, mut our_ready, mut raw_pause, mut our_pause) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..n + 5 {
            // Raw: pause, then unpause and exec.
            let t = Instant::now();
            docker.pause_container(id.as_str()).await.unwrap();
            let raw_paused = t.elapsed();
            let t = Instant::now();
            docker.unpause_container(id.as_str()).await.unwrap();
            raw_exec_true(&docker, id.as_str(), user.clone()).await;
            let raw_took = t.elapsed();
            // Ours: suspend, then the first exec resumes it.
            let t = Instant::now();
            let suspended = d.vb.suspend_environment(&alice, env.id).await.unwrap();
            let our_paused = t.elapsed();
            assert_eq!(suspended.status, EnvironmentStatus::Suspended);
            let t = Instant::now();
            let result = d
                .vb
                .exec(&alice, env.id, ExecRequest::new(["true"]))
                .await
                .unwrap();
            let our_took = t.elapsed();
            assert_eq!(result.exit_code, Some(0));
            if i >= 5 {
                raw_ready.push(raw_took);
                our_ready.push(our_took);
                raw_pause.push(raw_paused);
                our_pause.push(our_paused);
            }
        }
        println!("| measurement | n | p50 ms | p95 ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|---|");
        let raw = Percentiles::of(&raw_ready).unwrap();
        let ours = Percentiles::of(&our_ready).unwrap();
        row("resume to ready: raw unpause + exec `true`", &raw);
        row("resume to ready: Vibebox::exec on a suspended environment", &ours);
        row("freeze: raw pause", &Percentiles::of(&raw_pause).unwrap());
        row(
            "freeze: Vibebox::suspend_environment",
            &Percentiles::of(&our_pause).unwrap(),
        );
        println!(
            "\nresume to ready p50 {:.1} ms (target ≤ 50), p99 {:.1} ms (target ≤ 100); {:.2}× the raw engine at p50",
            ms(ours.p50),
            ms(ours.p99),
            ours.p50.as_secs_f64() / raw.p50.as_secs_f64()
        );
        d.vb.stop_environment(&alice, env.id).await.unwrap();
    });
}
