//! What an idle fleet costs on the real Docker engine (issue 18): N environments running idle
//! against the same N suspended, with the raw engine's N plain containers (running, then
//! `docker pause`d) from the same run as the baseline.
//!
//! Each phase is measured over a quiet window after a settle period:
//!
//! - container memory: the sum over the containers of the engine's one-shot stats
//!   (`memory_stats.usage` less the inactive page cache, `total_inactive_file` on cgroup v1,
//!   the figure `docker stats` shows); the usage with the page cache is printed below;
//! - container CPU: the containers' cumulative CPU time (`cpu_stats.cpu_usage.total_usage`,
//!   one-shot stats before and after the window), as a share of one core;
//! - the engine: resident memory (`VmRSS`, and the proportional set size from `smaps_rollup`,
//!   which shares the shims' common pages out among them instead of counting them in each)
//!   and CPU time over the window of the `dockerd`, `containerd` and `containerd-shim*`
//!   processes, read from `/proc` (so the engine must run on this host), and the host's
//!   `MemAvailable`.
//!
//! The phases run one after the other, never side by side: the empty engine; the raw
//! containers (the harness's base image, the command, user and limits VibeBox gives its
//! containers, on the default bridge, no volume), running, then paused, then removed; then
//! VibeBox's environments (0.5 CPU, 256 MB, no default session, ten per project, so one
//! project network per ten), running idle, suspended, resumed, and deleted. VibeBox's
//! background tasks (reconciler, health pass) do not run, as in the test harness. The time
//! the fleet operations took (start, pause/suspend, unpause/resume, removal of all N, eight at
//! a time) is printed too.
//!
//! Run: `cargo bench --bench idle_fleet` (N = 100, 4–5 minutes); `VIBEBOX_BENCH_QUICK=1`
//! (or no `--bench` argument) takes N = 10 and shorter windows, to check that it works.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;
#[path = "common/engine.rs"]
mod engine;
#[path = "../tests/docker/mod.rs"]
mod harness;

use std::collections::HashMap;
use std::future::Future;
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{ContainerCreateBody, HostConfig};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, RemoveContainerOptionsBuilder, StatsOptionsBuilder,
};
use common::{Percentiles, ms};
use futures::{StreamExt, stream};
use harness::{BASE_IMAGE, D, RUN_LABEL, container, new_env};
use vibebox::domain::{Environment, EnvironmentStatus};

/// The label of this bench's raw containers (its value: the harness's run id).
const BENCH_LABEL: &str = "vibebox.bench.idle_fleet";
/// How many engine or service calls are in flight at once.
const CONCURRENCY: usize = 8;
/// Environments per project (a project network is a /27: 29 addresses).
const PER_PROJECT: usize = 10;
/// The limits of every container, raw or not.
const CPU_LIMIT: f64 = 0.5;
const MEMORY_MB: i64 = 256;

const MIB: f64 = 1024.0 * 1024.0;

/// The fleet size, the settle period before a running fleet is measured, the one before a
/// frozen fleet is, and the measurement window.
struct Scale {
    n: usize,
    settle_running: Duration,
    settle_frozen: Duration,
    window: Duration,
}

fn scale() -> Scale {
    if common::quick() {
        Scale {
            n: 10,
            settle_running: Duration::from_secs(2),
            settle_frozen: Duration::from_secs(1),
            window: Duration::from_secs(3),
        }
    } else {
        Scale {
            n: 100,
            settle_running: Duration::from_secs(10),
            settle_frozen: Duration::from_secs(5),
            window: Duration::from_secs(10),
        }
    }
}

// ---- Container figures: the engine's one-shot stats ----

/// One container's stats at one moment.
#[derive(Clone, Copy)]
struct Sample {
    /// `memory_stats.usage` (page cache included).
    usage: u64,
    /// The usage less the inactive page cache (what `docker stats` shows).
    working_set: u64,
    /// Cumulative CPU time, in nanoseconds.
    cpu_ns: u64,
    /// When the answer came.
    at: Instant,
}

async fn sample(docker: &Docker, id: &str) -> Sample {
    let options = StatsOptionsBuilder::new()
        .stream(false)
        .one_shot(true)
        .build();
    let mut stats = Box::pin(docker.stats(id, Some(options)));
    let s = stats
        .next()
        .await
        .expect("one stats sample")
        .expect("the engine's stats");
    let at = Instant::now();
    let memory = s.memory_stats.unwrap_or_default();
    let usage = memory.usage.unwrap_or(0);
    let inactive = memory
        .stats
        .as_ref()
        .and_then(|m| {
            m.get("total_inactive_file")
                .or_else(|| m.get("inactive_file"))
                .copied()
        })
        .unwrap_or(0);
    let cpu_ns = s
        .cpu_stats
        .and_then(|c| c.cpu_usage)
        .and_then(|u| u.total_usage)
        .unwrap_or(0);
    Sample {
        usage,
        working_set: usage.saturating_sub(inactive),
        cpu_ns,
        at,
    }
}

/// Every container's stats, in the order of `ids`.
async fn sweep(docker: &Docker, ids: &[String]) -> Vec<Sample> {
    stream::iter(ids)
        .map(|id| sample(docker, id))
        .buffered(CONCURRENCY)
        .collect()
        .await
}

// ---- Host figures: /proc ----

/// One of the engine's processes.
struct EngineProcess {
    comm: String,
    /// `VmRSS`, KiB: shared pages (the shims' code) count in full in every process.
    rss_kib: u64,
    /// The proportional set size, KiB (`smaps_rollup`; 0 unless asked for): shared pages
    /// divided among the processes that map them.
    pss_kib: u64,
    /// utime + stime, in clock ticks.
    ticks: u64,
}

/// A `Name:   value kB` line's value.
fn kib(text: &str, name: &str) -> Option<u64> {
    text.lines().find_map(|l| {
        l.strip_prefix(name)
            .and_then(|v| v.strip_prefix(':'))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
    })
}

/// The engine's processes (`dockerd`, `containerd`, `containerd-shim*`) by pid; with their
/// PSS when `pss` (reading it walks their page tables).
fn engine_processes(pss: bool) -> HashMap<u32, EngineProcess> {
    let mut out = HashMap::new();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return out;
    };
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        let Ok(comm) = std::fs::read_to_string(format!("/proc/{pid}/comm")) else {
            continue;
        };
        let comm = comm.trim();
        if !(comm == "dockerd" || comm == "containerd" || comm.starts_with("containerd-shim")) {
            continue;
        }
        let rss_kib = std::fs::read_to_string(format!("/proc/{pid}/status"))
            .ok()
            .and_then(|s| kib(&s, "VmRSS"))
            .unwrap_or(0);
        let pss_kib = if pss {
            std::fs::read_to_string(format!("/proc/{pid}/smaps_rollup"))
                .ok()
                .and_then(|s| kib(&s, "Pss"))
                .unwrap_or(0)
        } else {
            0
        };
        // Fields after the command's closing parenthesis: state is the 3rd field of the
        // line, utime the 14th, stime the 15th.
        let ticks = std::fs::read_to_string(format!("/proc/{pid}/stat"))
            .ok()
            .and_then(|s| {
                let rest = s.get(s.rfind(')')? + 1..)?;
                let f: Vec<&str> = rest.split_whitespace().collect();
                Some(f.get(11)?.parse::<u64>().ok()? + f.get(12)?.parse::<u64>().ok()?)
            })
            .unwrap_or(0);
        out.insert(
            pid,
            EngineProcess {
                comm: comm.to_string(),
                rss_kib,
                pss_kib,
                ticks,
            },
        );
    }
    out
}

/// A field of /proc/meminfo, in KiB.
fn meminfo(field: &str) -> u64 {
    std::fs::read_to_string("/proc/meminfo")
        .ok()
        .and_then(|s| kib(&s, field))
        .unwrap_or(0)
}

/// The host's busy CPU time (all but idle and iowait), in clock ticks.
fn host_busy_ticks() -> u64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let Some(line) = stat.lines().find(|l| l.starts_with("cpu ")) else {
        return 0;
    };
    let f: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .filter_map(|v| v.parse().ok())
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is inside user and nice).
    let total: u64 = f.iter().take(8).sum();
    total.saturating_sub(f.get(3).copied().unwrap_or(0) + f.get(4).copied().unwrap_or(0))
}

fn clock_ticks() -> f64 {
    std::process::Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

// ---- One phase ----

/// The figures of one phase.
struct Measured {
    label: &'static str,
    n: usize,
    working_set: u64,
    usage: u64,
    /// The containers' CPU, % of one core.
    cpu_pct: f64,
    engine_rss_kib: u64,
    engine_pss_kib: u64,
    /// RSS and PSS of `dockerd`, `containerd` and the shims (all of them), KiB.
    dockerd_rss_kib: u64,
    containerd_rss_kib: u64,
    shims_rss_kib: u64,
    shims_pss_kib: u64,
    /// The engine's CPU over the quiet window, % of one core.
    engine_cpu_pct: f64,
    shims: usize,
    /// The engine's running (or paused) containers, this bench's and any other's.
    on_engine: usize,
    mem_available_kib: u64,
    /// The whole host's busy CPU over the quiet window, % of one core.
    host_busy_pct: f64,
}

/// Measures the containers `ids` over `window`: stats of every container, a quiet window
/// (only /proc read, at both ends), stats again.
async fn measure(
    label: &'static str,
    docker: &Docker,
    ids: &[String],
    window: Duration,
    hz: f64,
) -> Measured {
    let before = sweep(docker, ids).await;
    let (e0, b0, t0) = (engine_processes(false), host_busy_ticks(), Instant::now());
    tokio::time::sleep(window).await;
    let (e1, b1, t1) = (engine_processes(false), host_busy_ticks(), Instant::now());
    let memory = engine_processes(true);
    let sum = |f: fn(&EngineProcess) -> u64, which: fn(&str) -> bool| -> u64 {
        memory.values().filter(|p| which(&p.comm)).map(f).sum()
    };
    let shim = |c: &str| c.starts_with("containerd-shim");
    let after = sweep(docker, ids).await;
    let on_engine = harness::docker(&["ps", "-q"]).split_whitespace().count();
    let quiet = (t1 - t0).as_secs_f64();
    let cpu_pct = before
        .iter()
        .zip(&after)
        .map(|(b, a)| {
            a.cpu_ns.saturating_sub(b.cpu_ns) as f64 / (a.at - b.at).as_nanos() as f64 * 100.0
        })
        .fold(0.0, |sum, c| sum + c);
    let engine_ticks: u64 = e1
        .iter()
        .filter_map(|(pid, p)| e0.get(pid).map(|p0| p.ticks.saturating_sub(p0.ticks)))
        .sum();
    Measured {
        label,
        n: ids.len(),
        working_set: after.iter().map(|s| s.working_set).sum(),
        usage: after.iter().map(|s| s.usage).sum(),
        cpu_pct,
        engine_rss_kib: sum(|p| p.rss_kib, |_| true),
        engine_pss_kib: sum(|p| p.pss_kib, |_| true),
        dockerd_rss_kib: sum(|p| p.rss_kib, |c| c == "dockerd"),
        containerd_rss_kib: sum(|p| p.rss_kib, |c| c == "containerd"),
        shims_rss_kib: sum(|p| p.rss_kib, shim),
        shims_pss_kib: sum(|p| p.pss_kib, shim),
        engine_cpu_pct: engine_ticks as f64 / hz / quiet * 100.0,
        shims: memory.values().filter(|p| shim(&p.comm)).count(),
        on_engine,
        mem_available_kib: meminfo("MemAvailable"),
        host_busy_pct: b1.saturating_sub(b0) as f64 / hz / quiet * 100.0,
    }
}

// ---- Fleet operations ----

/// How long one operation on the whole fleet took, and each call.
struct Timed {
    label: &'static str,
    all: Duration,
    each: Vec<Duration>,
}

/// Runs `op` on every item, `CONCURRENCY` at a time; returns the outputs (in no particular
/// order) and the timing.
async fn fleet<'a, T, R, F, Fut>(label: &'static str, items: &'a [T], op: F) -> (Vec<R>, Timed)
where
    F: Fn(usize, &'a T) -> Fut,
    Fut: Future<Output = R>,
{
    let t = Instant::now();
    let done: Vec<(R, Duration)> = stream::iter(items.iter().enumerate())
        .map(|(i, item)| {
            let call = op(i, item);
            async move {
                let t = Instant::now();
                let r = call.await;
                (r, t.elapsed())
            }
        })
        .buffer_unordered(CONCURRENCY)
        .collect()
        .await;
    let all = t.elapsed();
    let (out, each) = done.into_iter().unzip();
    (out, Timed { label, all, each })
}

/// Removes this run's raw containers with the Docker CLI when dropped: the error path's
/// cleanup (they also carry the harness's run label, which its own cleanup removes).
struct RawContainers {
    run: String,
}

impl Drop for RawContainers {
    fn drop(&mut self) {
        let filter = format!("label={BENCH_LABEL}={}", self.run);
        let ids = harness::docker(&["ps", "-aq", "--filter", &filter]);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids);
            harness::docker(&args);
        }
    }
}

/// Creates and starts one raw container: the base image, VibeBox's command, user and
/// limits, an init as PID 1.
async fn raw_container(docker: &Docker, d: &D, i: usize) -> String {
    let run = d.run().to_string();
    let memory = MEMORY_MB * 1024 * 1024;
    let body = ContainerCreateBody {
        image: Some(BASE_IMAGE.to_string()),
        cmd: d.config.container_command.clone(),
        user: d.config.container_user.clone(),
        labels: Some(HashMap::from([
            (BENCH_LABEL.to_string(), run.clone()),
            (RUN_LABEL.to_string(), run),
        ])),
        tty: Some(false),
        host_config: Some(HostConfig {
            nano_cpus: Some((CPU_LIMIT * 1e9) as i64),
            memory: Some(memory),
            memory_swap: Some(memory),
            pids_limit: Some(d.config.pids_limit),
            cap_drop: Some(vec!["ALL".to_string()]),
            init: Some(true),
            ..Default::default()
        }),
        ..Default::default()
    };
    let name = format!("{}raw-{i:03}", d.config.container_name_prefix);
    let options = CreateContainerOptionsBuilder::new().name(&name).build();
    let id = docker
        .create_container(Some(options), body)
        .await
        .expect("create a raw container")
        .id;
    docker
        .start_container(&id, None)
        .await
        .expect("start a raw container");
    id
}

fn print_table(rows: &[Measured], window: Duration) {
    println!(
        "\n| measurement | n | container memory MiB | per container MiB | container CPU % of one core ({} s window) | engine RSS MiB (dockerd + containerd + shims) | engine PSS MiB | engine CPU % of one core | host MemAvailable MiB |",
        window.as_secs()
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    let mib = |k: u64| k as f64 / 1024.0;
    for m in rows {
        let per = if m.n == 0 {
            "–".to_string()
        } else {
            format!("{:.2}", m.working_set as f64 / MIB / m.n as f64)
        };
        println!(
            "| {} | {} | {:.1} | {per} | {:.2} | {:.1} | {:.1} | {:.2} | {:.0} |",
            m.label,
            m.n,
            m.working_set as f64 / MIB,
            m.cpu_pct,
            mib(m.engine_rss_kib),
            mib(m.engine_pss_kib),
            m.engine_cpu_pct,
            mib(m.mem_available_kib)
        );
    }
    println!(
        "\ncontainer memory: one-shot stats, `memory_stats.usage` less `total_inactive_file` (as `docker stats`). Details:"
    );
    for m in rows {
        println!(
            "  {:<22} usage with page cache {:>6.1} MiB; RSS dockerd {:.1}, containerd {:.1}, {} shims {:.1} (PSS {:.1}) MiB; {} containers on the engine; host busy {:.1} % of one core",
            m.label,
            m.usage as f64 / MIB,
            mib(m.dockerd_rss_kib),
            mib(m.containerd_rss_kib),
            m.shims,
            mib(m.shims_rss_kib),
            mib(m.shims_pss_kib),
            m.on_engine,
            m.host_busy_pct
        );
    }
}

fn print_operations(ops: &[Timed]) {
    println!(
        "\n| fleet operation ({CONCURRENCY} at a time) | n | all took s | each p50 ms | each p99 ms | each max ms |"
    );
    println!("|---|---|---|---|---|---|");
    for t in ops {
        let p = Percentiles::of(&t.each).expect("some calls");
        println!(
            "| {} | {} | {:.2} | {:.1} | {:.1} | {:.1} |",
            t.label,
            p.n,
            t.all.as_secs_f64(),
            ms(p.p50),
            ms(p.p99),
            ms(p.max)
        );
    }
}

fn main() {
    let rt = engine::runtime();
    rt.block_on(async {
        let began = Instant::now();
        let Scale {
            n,
            settle_running,
            settle_frozen,
            window,
        } = scale();
        let hz = clock_ticks();
        let d = D::with(|c| {
            c.default_sessions = vec![];
            c.max_running_per_user = n as u64 + 10;
        })
        .await;
        let _raw_cleanup = RawContainers {
            run: d.run().to_string(),
        };
        let docker = engine::docker().await;
        // References, which the per-call futures below copy.
        let (docker, d) = (&docker, &d);
        let mut rows = Vec::new();
        let mut ops = Vec::new();
        eprintln!("idle fleet: n = {n}, settle {settle_running:?} (frozen {settle_frozen:?}), window {window:?}");

        rows.push(measure("engine, no container", docker, &[], window, hz).await);

        // ---- The raw engine ----
        let slots: Vec<()> = vec![(); n];
        let (raw, t) = fleet("raw: create + start", &slots, |i, _| {
            raw_container(docker, d, i)
        })
        .await;
        ops.push(t);
        eprintln!("raw: {n} containers running; settling");
        tokio::time::sleep(settle_running).await;
        rows.push(measure("raw running", docker, &raw, window, hz).await);
        let (_, t) = fleet("raw: pause", &raw, |_, id| async move {
            docker.pause_container(id).await.expect("pause");
        })
        .await;
        ops.push(t);
        tokio::time::sleep(settle_frozen).await;
        rows.push(measure("raw paused", docker, &raw, window, hz).await);
        let (_, t) = fleet("raw: unpause", &raw, |_, id| async move {
            docker.unpause_container(id).await.expect("unpause");
        })
        .await;
        ops.push(t);
        let (_, t) = fleet("raw: remove (force)", &raw, |_, id| async move {
            let options = RemoveContainerOptionsBuilder::new()
                .force(true)
                .v(true)
                .build();
            docker
                .remove_container(id, Some(options))
                .await
                .expect("remove");
        })
        .await;
        ops.push(t);
        eprintln!("raw: done");

        // ---- VibeBox ----
        let actor = &d.user("fleet").await;
        let mut projects = Vec::new();
        for p in 0..n.div_ceil(PER_PROJECT) {
            projects.push(d.project(actor, &format!("fleet-{p:02}")).await);
        }
        let mut envs: Vec<Environment> = Vec::with_capacity(n);
        for i in 0..n {
            let mut new = new_env(
                &projects[i / PER_PROJECT],
                &format!("env-{i:03}"),
                BASE_IMAGE,
            );
            new.cpu_limit = Some(CPU_LIMIT);
            new.memory_limit = Some(MEMORY_MB);
            envs.push(d.vb.create_environment(actor, new).await.unwrap());
        }
        let (started, t) = fleet("VibeBox: start_environment", &envs, |_, env| async move {
            let started = d.vb.start_environment(actor, env.id).await.unwrap();
            assert_eq!(started.status, EnvironmentStatus::Running);
            started
        })
        .await;
        ops.push(t);
        let ids: Vec<String> = started.iter().map(|e| container(e).0).collect();
        eprintln!("VibeBox: {n} environments running; settling");
        tokio::time::sleep(settle_running).await;
        rows.push(measure("VibeBox running idle", docker, &ids, window, hz).await);
        let (_, t) = fleet("VibeBox: suspend_environment", &envs, |_, env| async move {
            let s = d.vb.suspend_environment(actor, env.id).await.unwrap();
            assert_eq!(s.status, EnvironmentStatus::Suspended);
        })
        .await;
        ops.push(t);
        tokio::time::sleep(settle_frozen).await;
        rows.push(measure("VibeBox suspended", docker, &ids, window, hz).await);
        let (_, t) = fleet("VibeBox: resume_environment", &envs, |_, env| async move {
            let r = d.vb.resume_environment(actor, env.id).await.unwrap();
            assert_eq!(r.status, EnvironmentStatus::Running);
        })
        .await;
        ops.push(t);
        let (_, t) = fleet("VibeBox: delete_environment (kills)", &envs, |_, env| async move {
            d.vb.delete_environment(actor, env.id).await.unwrap();
        })
        .await;
        ops.push(t);

        print_table(&rows, window);
        print_operations(&ops);
        println!(
            "\nthe whole run took {:.0} s",
            began.elapsed().as_secs_f64()
        );
    });
}
