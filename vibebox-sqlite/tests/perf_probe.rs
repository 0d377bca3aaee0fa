//! Ad-hoc timings (no assertions on time; benchmarks live elsewhere). Run with
//! `cargo test --release -p vibebox-sqlite --test perf_probe -- --ignored --nocapture`.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Instant;

use vibebox_core::domain::{LogStream, ProjectOwner, Role};
use vibebox_core::store::*;
use vibebox_core::testing::store_checks::fixtures::*;
use vibebox_sqlite::SqliteStore;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing probe; run by hand in release"]
async fn environments_by_id_and_visible_pages() {
    let path = common::fresh_path();
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let viewer = create_user(&store).await;
    let other = create_user(&store).await;
    // 50 teams × 4 projects × 50 environments = 10,000; the viewer is in 5 teams.
    let t0 = Instant::now();
    let mut ids = Vec::new();
    for t in 0..50 {
        let team = create_team(&store, &other).await;
        if t % 10 == 0 {
            store
                .add_member(&membership(team.id, viewer.id, Role::Developer))
                .await
                .unwrap();
        }
        for _ in 0..4 {
            let p = project(ProjectOwner::Team(team.id), &unique_slug("p"));
            store.create_project(&p).await.unwrap();
            for _ in 0..50 {
                let e = environment(p.id, other.id, &unique_slug("e"));
                store.create_environment(&e).await.unwrap();
                ids.push(e.id);
            }
        }
    }
    println!("created 10,000 environments in {:?}", t0.elapsed());
    sqlx::query("PRAGMA optimize")
        .execute(store.pool())
        .await
        .unwrap();

    let n = 5000;
    let t0 = Instant::now();
    for i in 0..n {
        store
            .get_environment(ids[(i * 7919) % ids.len()])
            .await
            .unwrap();
    }
    println!("get_environment: {:?} each", t0.elapsed() / n as u32);

    let filter = EnvironmentFilter {
        visible_to: Some(viewer.id),
        ..Default::default()
    };
    let mut cursor = None;
    let mut pages = 0;
    let t0 = Instant::now();
    loop {
        let page = store
            .list_environments(&filter, &PageRequest { limit: 100, cursor })
            .await
            .unwrap();
        pages += 1;
        cursor = page.next_cursor;
        if cursor.is_none() {
            break;
        }
    }
    println!(
        "visible pages of 100 (viewer sees 1,000 of 10,000): {pages} pages, {:?} each",
        t0.elapsed() / pages
    );
    let t0 = Instant::now();
    for _ in 0..50 {
        store
            .list_environments(&filter, &PageRequest::first(100))
            .await
            .unwrap();
    }
    println!("first visible page: {:?} each", t0.elapsed() / 50);

    let all = EnvironmentFilter {
        visible_to: Some(other.id),
        ..Default::default()
    };
    let t0 = Instant::now();
    for _ in 0..20 {
        store
            .list_environments(&all, &PageRequest::first(100))
            .await
            .unwrap();
    }
    println!(
        "first visible page (owner sees all 10,000): {:?} each",
        t0.elapsed() / 20
    );

    let plan: Vec<(i64, i64, i64, String)> = sqlx::query_as(
        "EXPLAIN QUERY PLAN SELECT id FROM environments WHERE project_id IN ( \
         SELECT id FROM projects WHERE owner_user_id = ?1 UNION ALL \
         SELECT p.id FROM memberships m JOIN projects p ON p.owner_team_id = m.team_id \
         WHERE m.user_id = ?1) AND id > ?2 AND (?3 IS NULL OR project_id = ?3) \
         AND (?4 IS NULL OR creator_id = ?4) \
         AND (?5 IS NULL OR status IN (SELECT value FROM json_each(?5))) ORDER BY id LIMIT ?6",
    )
    .bind(viewer.id.0)
    .bind(Vec::<u8>::new())
    .bind(None::<Vec<u8>>)
    .bind(None::<Vec<u8>>)
    .bind(None::<String>)
    .bind(101)
    .fetch_all(store.pool())
    .await
    .unwrap();
    for (_, _, _, detail) in plan {
        println!("  plan: {detail}");
    }
    store.close().await;
    common::remove_db(&path);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "timing probe; run by hand in release"]
async fn log_appends_and_retention_over_a_million_lines() {
    let path = common::fresh_path();
    let store = SqliteStore::connect(&format!("sqlite://{}", path.display()))
        .await
        .unwrap();
    let mut envs = Vec::new();
    for _ in 0..100 {
        envs.push(create_environment(&store).await);
    }
    let base = now() - chrono::TimeDelta::days(10);
    let t0 = Instant::now();
    let total = 1_000_000usize;
    let batch = 500usize;
    for b in 0..total / batch {
        let lines: Vec<_> = (0..batch)
            .map(|i| {
                let n = b * batch + i;
                let env = &envs[n % envs.len()];
                let at = base + chrono::TimeDelta::milliseconds((n as i64) * 700);
                log_line(
                    env.id,
                    at,
                    LogStream::Stdout,
                    "a typical log line of some sixty bytes, give or take",
                )
            })
            .collect();
        store.append_logs(&lines).await.unwrap();
    }
    let elapsed = t0.elapsed();
    println!(
        "appended {total} lines, batches spread over 100 environments, in {elapsed:?}: \
         {:.0} lines/s",
        total as f64 / elapsed.as_secs_f64()
    );

    // As the collectors write: one environment per batch (one collector per environment).
    let t0 = Instant::now();
    let per_env = 200_000usize;
    for b in 0..per_env / batch {
        let env = &envs[b % envs.len()];
        let lines: Vec<_> = (0..batch)
            .map(|i| {
                let at = base + chrono::TimeDelta::milliseconds(((b * batch + i) as i64) * 3500);
                log_line(
                    env.id,
                    at,
                    LogStream::Stderr,
                    "a typical log line of some sixty bytes, give or take",
                )
            })
            .collect();
        store.append_logs(&lines).await.unwrap();
    }
    let elapsed = t0.elapsed();
    println!(
        "appended {per_env} more lines, one environment per batch: {:.0} lines/s",
        per_env as f64 / elapsed.as_secs_f64()
    );

    // Lines span ~8 days: about 3/8 are older than 7 days; then each environment keeps 200 KB.
    let t0 = Instant::now();
    let report = store
        .apply_log_retention(&RetentionPolicy {
            older_than: now() - chrono::TimeDelta::days(7),
            max_bytes_per_environment: 200_000,
            batch_size: 5000,
        })
        .await
        .unwrap();
    println!(
        "retention over {} lines: {report:?} in {:?}",
        total + per_env,
        t0.elapsed()
    );
    let t0 = Instant::now();
    let report = store
        .apply_log_retention(&RetentionPolicy {
            older_than: now() - chrono::TimeDelta::days(30),
            max_bytes_per_environment: 20 * 1024 * 1024,
            batch_size: 5000,
        })
        .await
        .unwrap();
    println!(
        "retention pass with nothing to delete: {report:?} in {:?}",
        t0.elapsed()
    );
    let t0 = Instant::now();
    for _ in 0..100 {
        store
            .query_logs(&LogQuery::all(envs[3].id, 100))
            .await
            .unwrap();
    }
    println!("query_logs page of 100: {:?} each", t0.elapsed() / 100);
    store.close().await;
    common::remove_db(&path);
}
