//! Store benchmarks on SQLite and PostgreSQL (DESIGN.md §8, issue 3).
//!
//! - `get_environment`: one environment by id;
//! - `list_visible_page`: one page of 100 environments visible to a user who belongs to 5 teams,
//!   out of 10,000 environments (the first page and a page in the middle);
//! - `append_logs`: batches of 1,000 lines (throughput in lines/s);
//! - retention over 1,000,000 lines: one pass, timed once per backend (too big for repeated
//!   samples), printed at the end together with p50/p95/p99 of the latency benchmarks.
//!
//! SQLite runs on a file in the temp directory. PostgreSQL runs when `VIBEBOX_TEST_POSTGRES_URL`
//! names a server whose role may create databases; `scripts/bench` starts a throwaway cluster
//! and sets it. Run: `scripts/bench` or `cargo bench --bench store`.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod common;

use std::sync::Arc;
use std::time::{Duration, Instant};

use common::Latencies;
use criterion::{BenchmarkId, Criterion, Throughput};
use tokio::runtime::Runtime;
use vibebox_core::Store;
use vibebox_core::domain::{LogStream, NewLogEntry, ProjectOwner, Role};
use vibebox_core::id::{EnvironmentId, UserId};
use vibebox_core::store::{EnvironmentFilter, PageRequest, RetentionPolicy};
use vibebox_core::testing::store_checks::fixtures::{
    environment, membership, now, project, team, unique_email, unique_slug, user,
};

const TEAMS: usize = 10;
const TEAMS_PER_USER: usize = 5;
const PROJECTS_PER_TEAM: usize = 10;
const ENVS_PER_PROJECT: usize = 100; // 10 × 10 × 100 = 10,000 environments
const RETENTION_LINES: usize = 1_000_000;

/// A store with the dashboard data set, and what the benchmarks need from it.
struct Fixture {
    name: &'static str,
    store: Arc<dyn Store>,
    viewer: UserId,
    env_ids: Vec<EnvironmentId>,
    middle_cursor: String,
}

async fn populate(name: &'static str, store: Arc<dyn Store>) -> Fixture {
    let started = Instant::now();
    let users: Vec<_> = (0..4).map(|_| user(&unique_email())).collect();
    for u in &users {
        store.create_user(u, None).await.unwrap();
    }
    let viewer = users[0].id;
    let mut env_ids = Vec::with_capacity(TEAMS * PROJECTS_PER_TEAM * ENVS_PER_PROJECT);
    for t in 0..TEAMS {
        let admin = &users[1 + t % 3];
        let tm = team(&unique_slug("team"));
        store
            .create_team(&tm, &membership(tm.id, admin.id, Role::Admin))
            .await
            .unwrap();
        if t < TEAMS_PER_USER {
            store
                .add_member(&membership(tm.id, viewer, Role::Developer))
                .await
                .unwrap();
        }
        for _ in 0..PROJECTS_PER_TEAM {
            let p = project(ProjectOwner::Team(tm.id), &unique_slug("proj"));
            store.create_project(&p).await.unwrap();
            for i in 0..ENVS_PER_PROJECT {
                let e = environment(p.id, admin.id, &format!("env-{i}"));
                store.create_environment(&e).await.unwrap();
                env_ids.push(e.id);
            }
        }
    }
    let filter = visible_to(viewer);
    let mut page = PageRequest::first(100);
    for _ in 0..25 {
        let p = store.list_environments(&filter, &page).await.unwrap();
        page.cursor = p.next_cursor;
    }
    let middle_cursor = page.cursor.expect("the viewer sees 5,000 environments");
    eprintln!(
        "[{name}] populated {} environments in {:.1?}",
        env_ids.len(),
        started.elapsed()
    );
    Fixture {
        name,
        store,
        viewer,
        env_ids,
        middle_cursor,
    }
}

fn visible_to(user: UserId) -> EnvironmentFilter {
    EnvironmentFilter {
        visible_to: Some(user),
        ..EnvironmentFilter::default()
    }
}

fn log_batch(env: EnvironmentId, n: usize) -> Vec<NewLogEntry> {
    let at = now();
    (0..n)
        .map(|i| NewLogEntry {
            environment_id: env,
            timestamp: at,
            stream: LogStream::Stdout,
            message: format!("line {i}: the quick brown fox jumps over the lazy dog"),
        })
        .collect()
}

fn bench_backend(c: &mut Criterion, rt: &Runtime, fx: &Fixture, lat: &Latencies) {
    let mut group = c.benchmark_group(fx.name);

    let ids = &fx.env_ids;
    group.bench_function("get_environment", |b| {
        b.to_async(rt).iter_custom(|iters| async move {
            let mut total = Duration::ZERO;
            for i in 0..iters {
                let id = ids[(i as usize * 7919) % ids.len()];
                let t = Instant::now();
                fx.store.get_environment(id).await.unwrap();
                let d = t.elapsed();
                lat.record(&format!("{}/get_environment", fx.name), d);
                total += d;
            }
            total
        })
    });

    for (label, cursor) in [("first", None), ("middle", Some(fx.middle_cursor.clone()))] {
        let filter = visible_to(fx.viewer);
        group.bench_with_input(
            BenchmarkId::new("list_visible_page_100_of_10000", label),
            &cursor,
            |b, cursor| {
                let filter = &filter;
                b.to_async(rt).iter_custom(|iters| async move {
                    let page = PageRequest {
                        limit: 100,
                        cursor: cursor.clone(),
                    };
                    let mut total = Duration::ZERO;
                    for _ in 0..iters {
                        let t = Instant::now();
                        let p = fx.store.list_environments(filter, &page).await.unwrap();
                        let d = t.elapsed();
                        assert_eq!(p.items.len(), 100);
                        lat.record(&format!("{}/list_visible_page/{label}", fx.name), d);
                        total += d;
                    }
                    total
                })
            },
        );
    }

    let env = fx.env_ids[0];
    group.throughput(Throughput::Elements(1_000));
    group.bench_function("append_logs_batch_1000", |b| {
        b.to_async(rt).iter_batched(
            || log_batch(env, 1_000),
            |batch| async move { fx.store.append_logs(&batch).await.unwrap() },
            criterion::BatchSize::LargeInput,
        )
    });
    group.finish();
}

/// A retention scenario over 1,000,000 lines in 10 environments.
#[derive(Clone, Copy)]
struct Scenario {
    name: &'static str,
    /// The share of each environment's lines past the 7-day limit.
    old_share: f64,
    /// The per-environment size limit (each environment holds 100,000 lines of 60 bytes).
    max_bytes: u64,
}

const SCENARIOS: [Scenario; 2] = [
    // An hourly pass in steady state: a tenth of the lines have aged out, sizes are in bounds.
    Scenario {
        name: "steady (10% aged out)",
        old_share: 0.10,
        max_bytes: 20 * 1024 * 1024,
    },
    // A first pass over a neglected table: half aged out, and the rest trimmed to 1 MB each.
    Scenario {
        name: "heavy (50% aged out, trimmed to 1 MB)",
        old_share: 0.50,
        max_bytes: 1_000_000,
    },
];

/// Loads 1,000,000 lines into a fresh store, then times one retention pass.
async fn retention_once(backend: &str, store: Arc<dyn Store>, scenario: Scenario) -> String {
    let owner = user(&unique_email());
    store.create_user(&owner, None).await.unwrap();
    let p = project(ProjectOwner::User(owner.id), &unique_slug("proj"));
    store.create_project(&p).await.unwrap();
    let mut envs = Vec::new();
    for i in 0..10 {
        let e = environment(p.id, owner.id, &format!("logs-{i}"));
        store.create_environment(&e).await.unwrap();
        envs.push(e.id);
    }
    let old = now() - chrono::TimeDelta::days(8);
    let fresh = now();
    let message = "x".repeat(60);
    let lines_per_env = RETENTION_LINES / envs.len();
    let old_lines = (lines_per_env as f64 * scenario.old_share) as usize;
    let started = Instant::now();
    for env in &envs {
        let mut written = 0;
        while written < lines_per_env {
            let n = 5_000.min(lines_per_env - written);
            let batch: Vec<_> = (0..n)
                .map(|j| NewLogEntry {
                    environment_id: *env,
                    timestamp: if written + j < old_lines { old } else { fresh },
                    stream: if j % 2 == 0 {
                        LogStream::Stdout
                    } else {
                        LogStream::Stderr
                    },
                    message: message.clone(),
                })
                .collect();
            store.append_logs(&batch).await.unwrap();
            written += n;
        }
    }
    let load = started.elapsed();
    let policy = RetentionPolicy {
        older_than: now() - chrono::TimeDelta::days(7),
        max_bytes_per_environment: scenario.max_bytes,
        batch_size: 10_000,
    };
    let t = Instant::now();
    let report = store.apply_log_retention(&policy).await.unwrap();
    let pass = t.elapsed();
    format!(
        "{backend:<9} {:<38} load {load:>7.2?} ({:>6.0} lines/s); pass {pass:>7.2?}: {} by age, {} by size",
        scenario.name,
        RETENTION_LINES as f64 / load.as_secs_f64(),
        report.deleted_by_age,
        report.deleted_by_size
    )
}

fn sqlite_path() -> String {
    let dir = std::env::temp_dir().join(format!("vibebox-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    format!("sqlite://{}", dir.join("bench.db").display())
}

fn main() {
    let rt = Runtime::new().unwrap();
    let lat = Latencies::default();
    let mut c = Criterion::default()
        .configure_from_args()
        .measurement_time(Duration::from_secs(5))
        .warm_up_time(Duration::from_secs(1));
    let mut summaries = Vec::new();

    let sqlite_url = sqlite_path();
    let sqlite = rt.block_on(async {
        let store = vibebox_sqlite::SqliteStore::connect(&sqlite_url)
            .await
            .unwrap();
        populate("sqlite", Arc::new(store)).await
    });
    bench_backend(&mut c, &rt, &sqlite, &lat);
    for (i, scenario) in SCENARIOS.into_iter().enumerate() {
        let url = sqlite_url.replace("bench.db", &format!("retention-{i}.db"));
        summaries.push(rt.block_on(async {
            let store = vibebox_sqlite::SqliteStore::connect(&url).await.unwrap();
            retention_once("sqlite", Arc::new(store), scenario).await
        }));
    }

    match std::env::var("VIBEBOX_TEST_POSTGRES_URL") {
        Ok(_) => {
            let pg = rt.block_on(async {
                let url = vibebox_postgres::testing::fresh_database_url()
                    .await
                    .unwrap();
                let store = vibebox_postgres::PgStore::connect(&url).await.unwrap();
                populate("postgres", Arc::new(store)).await
            });
            bench_backend(&mut c, &rt, &pg, &lat);
            for scenario in SCENARIOS {
                summaries.push(rt.block_on(async {
                    let url = vibebox_postgres::testing::fresh_database_url()
                        .await
                        .unwrap();
                    let store = vibebox_postgres::PgStore::connect(&url).await.unwrap();
                    retention_once("postgres", Arc::new(store), scenario).await
                }));
            }
        }
        Err(_) => eprintln!(
            "postgres: not measured (VIBEBOX_TEST_POSTGRES_URL is not set; scripts/bench sets it)"
        ),
    }

    c.final_summary();
    lat.report();
    eprintln!("\nretention over {RETENTION_LINES} lines:");
    for s in summaries {
        eprintln!("  {s}");
    }
    if let Some(path) = sqlite_url.strip_prefix("sqlite://") {
        let _ = std::fs::remove_dir_all(std::path::Path::new(path).parent().unwrap());
    }
}
