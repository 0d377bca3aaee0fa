//! Many environments started at once on one service, and the process's memory with them
//! running.
//!
//! The service runs its background jobs (reconciler on engine events, reaper, retention) as an
//! embedding application would, so the starts race with the reconciler's passes. For scale,
//! the same number of raw bollard create+starts of the same container spec run at once
//! afterwards.

use std::time::{Duration, Instant};

use bollard::Docker;
use futures::StreamExt;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;
use vibebox::domain::{Environment, EnvironmentStatus, Project};
use vibebox::runtime::ContainerRuntime;

use crate::common::Latencies;
use crate::harness::{BUSYBOX_IMAGE, D, RUN_LABEL, container, docker, new_env};
use crate::start::{raw_body, raw_remove, raw_start};

pub const CONCURRENT: &str = "start/concurrent_each";

/// What the concurrent start found.
pub struct Crowd {
    pub n: usize,
    pub failures: Vec<String>,
    pub total: Duration,
    /// Containers of this run the engine lists as running once every start returned.
    pub running: usize,
    /// VmRSS of the bench process before the starts and with every environment running (KiB).
    pub rss_before_kib: u64,
    pub rss_with_kib: u64,
    /// The same number of raw create+starts at once: failures and total time.
    pub raw_failures: Vec<String>,
    pub raw_total: Duration,
}

/// Starts `n` new busybox environments (64 MB each) concurrently, then removes them.
pub async fn run(d: &D, raw: &Docker, n: usize, lat: &Latencies) -> Crowd {
    let actor = d.user("crowd").await;
    let project = d.project(&actor, "crowd").await;
    let mut envs = Vec::with_capacity(n);
    for i in 0..n {
        let mut new = new_env(&project, &format!("crowd-{i}"), BUSYBOX_IMAGE);
        new.memory_limit = Some(64);
        envs.push(d.vb.create_environment(&actor, new).await.unwrap());
    }
    let token = CancellationToken::new();
    let background = d.vb.spawn_background(token.clone());
    let rss_before_kib = vm_rss_kib();

    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for env in &envs {
        let (vb, actor, id) = (d.vb.clone(), actor.clone(), env.id);
        set.spawn(async move {
            let t = Instant::now();
            let r = vb.start_environment(&actor, id).await;
            (r, t.elapsed())
        });
    }
    let mut failures = Vec::new();
    let mut started = Vec::new();
    while let Some(joined) = set.join_next().await {
        let (result, took) = joined.unwrap();
        lat.record(CONCURRENT, took);
        match result {
            Ok(env) if env.status == EnvironmentStatus::Running => started.push(env),
            Ok(env) => failures.push(format!("{} ended {}", env.slug, env.status)),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let total = t0.elapsed();
    let rss_with_kib = vm_rss_kib();
    let running = docker(&[
        "ps",
        "-q",
        "--filter",
        &format!("label={RUN_LABEL}={}", d.run()),
        "--filter",
        "status=running",
    ])
    .lines()
    .count();

    // Not timed: stop the background jobs first so the reconciler does not race the removal,
    // then remove the containers and the environments.
    token.cancel();
    background.shutdown().await;
    futures::stream::iter(&started)
        .for_each_concurrent(8, |env| async move {
            raw_remove(raw, container(env).as_str()).await;
        })
        .await;
    let (vb, actor) = (&d.vb, &actor);
    futures::stream::iter(&envs)
        .for_each_concurrent(8, |env| async move {
            if let Err(e) = vb.delete_environment(actor, env.id).await {
                eprintln!("warning: could not delete environment {}: {e}", env.slug);
            }
        })
        .await;
    let (raw_failures, raw_total) = raw_crowd(d, raw, &envs[0], &project, n).await;
    Crowd {
        n,
        failures,
        total,
        running,
        rss_before_kib,
        rss_with_kib,
        raw_failures,
        raw_total,
    }
}

/// `n` raw create+starts of containers like `template`'s at once; removes them afterwards.
async fn raw_crowd(
    d: &D,
    raw: &Docker,
    template: &Environment,
    project: &Project,
    n: usize,
) -> (Vec<String>, Duration) {
    let storage = d.rt.capabilities().storage_limit;
    let t0 = Instant::now();
    let mut set = JoinSet::new();
    for i in 0..n {
        let raw = raw.clone();
        let slug = format!("raw-crowd-{i}");
        let name = format!("{}{slug}", d.config.container_name_prefix);
        let body = raw_body(&d.config, template, project, &slug, storage);
        set.spawn(async move { raw_start(&raw, &name, body).await });
    }
    let mut failures = Vec::new();
    let mut ids = Vec::new();
    while let Some(joined) = set.join_next().await {
        match joined.unwrap() {
            Ok((_, id)) => ids.push(id),
            Err(e) => failures.push(e.to_string()),
        }
    }
    let total = t0.elapsed();
    futures::stream::iter(&ids)
        .for_each_concurrent(8, |id| async move { raw_remove(raw, id).await })
        .await;
    (failures, total)
}

/// The resident set size of this process, from /proc/self/status.
pub fn vm_rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS in /proc/self/status")
}
