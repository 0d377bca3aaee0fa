//! The warm pool on the real Docker engine (issue 18), with the raw engine's baseline from the
//! same run:
//!
//! - create and start to ready, where ready means an exec of `true` has succeeded:
//!   `Vibebox::create_environment` with `start` claiming a warm container, the same request
//!   finding the pool empty (a cold start), and the raw engine's create + start + exec of a
//!   container of the same image and limits;
//! - what a refill costs the API: p50/p99 of `get_environment` (the store) and of an exec of
//!   `true` (the engine), first on a quiet engine, then while warm containers are made and
//!   removed again and again, each refill pausing `Config::pool_refill_gap` between creates
//!   (target: p99 not more than 20 % slower).
//!
//! Run: `cargo bench --bench pool` (about three minutes); `VIBEBOX_BENCH_QUICK=1` (or no
//! `--bench` argument) takes few samples, to check that it works.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[path = "common/engine.rs"]
mod engine;
#[path = "../tests/docker/mod.rs"]
mod harness;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use bollard::models::{ContainerCreateBody, HostConfig};
use common::{Percentiles, ms, quick, row};
use engine::raw_exec_true;
use harness::{BASE_IMAGE, D, new_env};
use vibebox::config::PoolShape;
use vibebox::domain::EnvironmentStatus;
use vibebox::rbac::Actor;
use vibebox::service::{ExecRequest, NewEnvironment};

const CPU: f64 = 0.5;
const MEMORY_MB: i64 = 256;

/// Creates (and starts) `new`, then execs `true` in it, then deletes it: how long the create
/// took, and how long until the exec had succeeded.
async fn to_ready(d: &D, actor: &Actor, new: NewEnvironment) -> (Duration, Duration) {
    let t = Instant::now();
    let env = d.vb.create_environment(actor, new).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
    let created = t.elapsed();
    let r =
        d.vb.exec(actor, env.id, ExecRequest::new(["true"]))
            .await
            .unwrap();
    assert_eq!(r.exit_code, Some(0));
    let ready = t.elapsed();
    d.vb.delete_environment(actor, env.id).await.unwrap();
    (created, ready)
}

fn main() {
    let rt = engine::runtime();
    rt.block_on(async {
        let n = if quick() { 5 } else { 40 };
        let d = D::with(|c| {
            c.default_sessions = vec![];
            c.pool = vec![PoolShape {
                image: BASE_IMAGE.into(),
                cpu_limit: CPU,
                memory_limit: MEMORY_MB,
                count: 1,
            }];
        })
        .await;
        let docker = engine::docker().await;
        let alice = d.user("alice").await;
        let project = d.project(&alice, "bench").await;
        let user = d.config.container_user.clone();
        // Kept running throughout: the project's network stays (as it does for a project in
        // use), and the API measurements below run against it.
        let env =
            d.vb.create_environment(
                &alice,
                NewEnvironment {
                    start: true,
                    memory_limit: Some(MEMORY_MB + 1),
                    ..new_env(&project, "api", BASE_IMAGE)
                },
            )
            .await
            .unwrap();
        let api_env = env.id;
        let (mut warm, mut cold, mut raw, mut claims) =
            (Vec::new(), Vec::new(), Vec::new(), Vec::new());
        for i in 0..n + 2 {
            // From the pool (refilled, untimed, before each sample).
            assert_eq!(d.vb.refill_pool().await.unwrap().warm, 1);
            let new = NewEnvironment {
                start: true,
                ..new_env(&project, &format!("warm-{i}"), BASE_IMAGE)
            };
            let (claim_took, took_warm) = to_ready(&d, &alice, new).await;
            // Cold: the same request with the pool drained (another memory size is another
            // shape, so nothing matches).
            let new = NewEnvironment {
                start: true,
                memory_limit: Some(MEMORY_MB + 1),
                ..new_env(&project, &format!("cold-{i}"), BASE_IMAGE)
            };
            let (_, took_cold) = to_ready(&d, &alice, new).await;

            // Raw: create, start and exec with bollard.
            let name = format!("{}raw-{i}", d.config.container_name_prefix);
            let t = Instant::now();
            docker
                .create_container(
                    Some(
                        bollard::query_parameters::CreateContainerOptionsBuilder::new()
                            .name(&name)
                            .build(),
                    ),
                    ContainerCreateBody {
                        image: Some(BASE_IMAGE.into()),
                        cmd: Some(vec!["sleep".into(), "infinity".into()]),
                        user: user.clone(),
                        labels: Some(d.config.container_labels.clone().into_iter().collect()),
                        host_config: Some(HostConfig {
                            nano_cpus: Some((CPU * 1e9) as i64),
                            memory: Some(MEMORY_MB * 1024 * 1024),
                            init: Some(true),
                            ..Default::default()
                        }),
                        ..Default::default()
                    },
                )
                .await
                .unwrap();
            docker.start_container(&name, None).await.unwrap();
            raw_exec_true(&docker, &name, user.clone()).await;
            let took_raw = t.elapsed();
            docker
                .remove_container(
                    &name,
                    Some(
                        bollard::query_parameters::RemoveContainerOptionsBuilder::new()
                            .force(true)
                            .build(),
                    ),
                )
                .await
                .unwrap();
            if i >= 2 {
                warm.push(took_warm);
                claims.push(claim_took);
                cold.push(took_cold);
                raw.push(took_raw);
            }
        }
        println!("| create and start to ready | n | p50 ms | p95 ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|---|");
        let warm = Percentiles::of(&warm).unwrap();
        row("raw engine: create + start + exec `true`", &Percentiles::of(&raw).unwrap());
        row("VibeBox, cold: create with start + exec `true`", &Percentiles::of(&cold).unwrap());
        row("VibeBox, warm pool: create with start + exec `true`", &warm);
        row(
            "VibeBox, warm pool: the create with start alone",
            &Percentiles::of(&claims).unwrap(),
        );
        println!(
            "\nfrom the pool: p50 {:.1} ms (target ≤ 50)\n",
            ms(warm.p50)
        );

        // What a refill costs the API.
        let calls = if quick() { 20 } else { 300 };
        let measure = || async {
            let (mut store, mut exec) = (Vec::new(), Vec::new());
            for _ in 0..calls {
                let t = Instant::now();
                d.vb.get_environment(&alice, api_env).await.unwrap();
                store.push(t.elapsed());
                let t = Instant::now();
                d.vb.exec(&alice, api_env, ExecRequest::new(["true"]))
                    .await
                    .unwrap();
                exec.push(t.elapsed());
            }
            (
                Percentiles::of(&store).unwrap(),
                Percentiles::of(&exec).unwrap(),
            )
        };
        let (quiet_store, quiet_exec) = measure().await;
        // Refills, again and again: a pool of 3 filled by one service, emptied by another
        // configured without it. Only calls made wholly while a refill runs count (the
        // removals in between are not a refill).
        let churn = Arc::new(AtomicBool::new(true));
        let filling = Arc::new(AtomicBool::new(false));
        let filler = {
            let mut cfg = d.config.clone();
            cfg.pool[0].count = 3;
            harness::build(d.store.clone(), d.rt.clone(), cfg, d.secrets.clone())
        };
        let emptier = harness::build(
            d.store.clone(),
            d.rt.clone(),
            vibebox::config::Config {
                pool: vec![],
                ..d.config.clone()
            },
            d.secrets.clone(),
        );
        let refills = {
            let (churn, filling) = (churn.clone(), filling.clone());
            tokio::spawn(async move {
                let mut made = 0;
                while churn.load(Ordering::SeqCst) {
                    filling.store(true, Ordering::SeqCst);
                    made += filler.refill_pool().await.unwrap().created;
                    filling.store(false, Ordering::SeqCst);
                    emptier.refill_pool().await.unwrap();
                }
                made
            })
        };
        let (mut busy_store, mut busy_exec) = (Vec::new(), Vec::new());
        let deadline = Instant::now() + Duration::from_secs(if quick() { 60 } else { 600 });
        while (busy_store.len() < calls || busy_exec.len() < calls) && Instant::now() < deadline {
            let during = filling.load(Ordering::SeqCst);
            let t = Instant::now();
            d.vb.get_environment(&alice, api_env).await.unwrap();
            let took = t.elapsed();
            if during && filling.load(Ordering::SeqCst) && busy_store.len() < calls {
                busy_store.push(took);
            }
            let during = filling.load(Ordering::SeqCst);
            let t = Instant::now();
            d.vb.exec(&alice, api_env, ExecRequest::new(["true"]))
                .await
                .unwrap();
            let took = t.elapsed();
            if during && filling.load(Ordering::SeqCst) && busy_exec.len() < calls {
                busy_exec.push(took);
            }
            if !during {
                tokio::task::yield_now().await;
            }
        }
        churn.store(false, Ordering::SeqCst);
        let made = refills.await.unwrap();
        let busy_store = Percentiles::of(&busy_store).unwrap();
        let busy_exec = Percentiles::of(&busy_exec).unwrap();
        println!("| API call | n | p50 ms | p95 ms | p99 ms | max ms |");
        println!("|---|---|---|---|---|---|");
        row("get_environment, quiet", &quiet_store);
        row("get_environment, during a refill", &busy_store);
        row("exec `true`, quiet", &quiet_exec);
        row("exec `true`, during a refill", &busy_exec);
        println!(
            "\n{made} warm containers made by the refills; p99 during a refill / quiet: store {:.2}×, exec {:.2}× (target ≤ 1.20×)",
            busy_store.p99.as_secs_f64() / quiet_store.p99.as_secs_f64(),
            busy_exec.p99.as_secs_f64() / quiet_exec.p99.as_secs_f64(),
        );
        d.vb.delete_environment(&alice, api_env).await.unwrap();
    });
}
