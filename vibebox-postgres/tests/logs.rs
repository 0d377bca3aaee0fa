//! Log appends and retention beyond the conformance suite: large batches, exact retention
//! counts with small limits, and batching.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use chrono::TimeDelta;
use common::fresh;
use vibebox_core::ErrorKind;
use vibebox_core::domain::{LogStream, NewLogEntry};
use vibebox_core::id::EnvironmentId;
use vibebox_core::store::*;
use vibebox_core::testing::store_checks::fixtures::*;

fn lines(env: EnvironmentId, n: usize, start: chrono::DateTime<chrono::Utc>) -> Vec<NewLogEntry> {
    (0..n)
        .map(|i| {
            log_line(
                env,
                start + TimeDelta::seconds(i as i64),
                LogStream::Stdout,
                &format!("line {i:05}"),
            )
        })
        .collect()
}

async fn stored_messages(raw: &sqlx::PgPool, env: EnvironmentId) -> Vec<String> {
    sqlx::query_scalar("SELECT message FROM logs WHERE environment_id = $1 ORDER BY id")
        .bind(env.0)
        .fetch_all(raw)
        .await
        .unwrap()
}

#[tokio::test]
async fn large_batch_keeps_append_order_across_statements() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    // One timestamp for all, so only the ids order them; more lines than one INSERT carries.
    let batch: Vec<_> = (0..12_345)
        .map(|i| log_line(e.id, fixed_time(), LogStream::Stdout, &format!("{i}")))
        .collect();
    f.store.append_logs(&batch).await.unwrap();
    let expected: Vec<String> = batch.iter().map(|l| l.message.clone()).collect();
    assert_eq!(stored_messages(&f.raw, e.id).await, expected);
}

#[tokio::test]
async fn failed_large_batch_writes_nothing() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    let mut batch = lines(e.id, 11_000, fixed_time());
    batch.push(log_line(
        EnvironmentId::new(),
        fixed_time(),
        LogStream::Stdout,
        "orphan",
    ));
    assert_not_found(f.store.append_logs(&batch).await, "environment");
    let count: i64 = sqlx::query_scalar("SELECT count(*) FROM logs")
        .fetch_one(&f.raw)
        .await
        .unwrap();
    assert_eq!(count, 0);
}

#[tokio::test]
async fn bytes_column_is_the_utf8_length_and_nul_is_stored_as_replacement() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    f.store
        .append_logs(&[
            log_line(e.id, fixed_time(), LogStream::Stdout, "héllo ✓"),
            log_line(e.id, fixed_time(), LogStream::Stderr, "a\0b"),
        ])
        .await
        .unwrap();
    let rows: Vec<(String, i64)> =
        sqlx::query_as("SELECT message, bytes FROM logs WHERE environment_id = $1 ORDER BY id")
            .bind(e.id.0)
            .fetch_all(&f.raw)
            .await
            .unwrap();
    assert_eq!(
        rows,
        [
            ("héllo ✓".to_string(), "héllo ✓".len() as i64),
            ("a\u{FFFD}b".to_string(), "a\u{FFFD}b".len() as i64),
        ]
    );
}

#[tokio::test]
async fn retention_with_small_limits_drops_by_age_then_by_size() {
    let f = fresh().await;
    let aged = create_environment(&f.store).await;
    let big = create_environment(&f.store).await;
    let small = create_environment(&f.store).await;
    let cutoff = ts(2024, 1, 1);
    // 4 lines before the cut-off, 3 after (each "line 0000N" is 10 bytes).
    f.store
        .append_logs(&lines(aged.id, 7, cutoff - TimeDelta::seconds(4)))
        .await
        .unwrap();
    // 10 recent lines = 100 bytes, limit 35: the 7 oldest go, 3 stay (30 bytes).
    f.store
        .append_logs(&lines(big.id, 10, cutoff + TimeDelta::days(1)))
        .await
        .unwrap();
    f.store
        .append_logs(&lines(small.id, 2, cutoff + TimeDelta::days(1)))
        .await
        .unwrap();

    let report = f
        .store
        .apply_log_retention(&RetentionPolicy {
            older_than: cutoff,
            max_bytes_per_environment: 35,
            batch_size: 3,
        })
        .await
        .unwrap();
    assert_eq!(
        report,
        RetentionReport {
            deleted_by_age: 4,
            deleted_by_size: 7,
        }
    );
    assert_eq!(
        stored_messages(&f.raw, aged.id).await,
        ["line 00004", "line 00005", "line 00006"]
    );
    assert_eq!(
        stored_messages(&f.raw, big.id).await,
        ["line 00007", "line 00008", "line 00009"]
    );
    assert_eq!(f.store.log_bytes(big.id).await.unwrap(), 30);
    assert_eq!(f.store.log_bytes(small.id).await.unwrap(), 20);

    // A second pass finds nothing left to do.
    let again = f
        .store
        .apply_log_retention(&RetentionPolicy {
            older_than: cutoff,
            max_bytes_per_environment: 35,
            batch_size: 3,
        })
        .await
        .unwrap();
    assert_eq!(again, RetentionReport::default());
}

#[tokio::test]
async fn retention_deletes_in_batches_until_every_doomed_line_is_gone() {
    let f = fresh().await;
    let old = create_environment(&f.store).await;
    let big = create_environment(&f.store).await;
    let cutoff = ts(2024, 1, 1);
    // 95 lines older than the cut-off and 5 after.
    f.store
        .append_logs(&lines(old.id, 100, cutoff - TimeDelta::seconds(95)))
        .await
        .unwrap();
    // 100 recent lines of 10 bytes with room for 5: 95 go by size.
    f.store
        .append_logs(&lines(big.id, 100, cutoff + TimeDelta::days(1)))
        .await
        .unwrap();
    let report = f
        .store
        .apply_log_retention(&RetentionPolicy {
            older_than: cutoff,
            max_bytes_per_environment: 50,
            batch_size: 10,
        })
        .await
        .unwrap();
    assert_eq!(
        report,
        RetentionReport {
            deleted_by_age: 95,
            deleted_by_size: 95,
        }
    );
    assert_eq!(stored_messages(&f.raw, old.id).await.len(), 5);
    assert_eq!(
        stored_messages(&f.raw, big.id).await,
        [
            "line 00095",
            "line 00096",
            "line 00097",
            "line 00098",
            "line 00099"
        ]
    );
}

#[tokio::test]
async fn size_retention_shares_small_batches_among_many_environments() {
    let f = fresh().await;
    let mut envs = Vec::new();
    // Five environments over the limit, by different amounts, with interleaved lines.
    for extra in 1..=5 {
        let e = create_environment(&f.store).await;
        f.store
            .append_logs(&lines(e.id, 3 + extra, ts(2024, 1, 1)))
            .await
            .unwrap();
        envs.push((e, extra));
    }
    // A batch smaller than the number of environments: one line each per round at most.
    let report = f
        .store
        .apply_log_retention(&RetentionPolicy {
            older_than: ts(2000, 1, 1),
            max_bytes_per_environment: 30,
            batch_size: 2,
        })
        .await
        .unwrap();
    assert_eq!(report.deleted_by_size, 1 + 2 + 3 + 4 + 5);
    for (e, extra) in envs {
        let kept: Vec<String> = (extra..extra + 3).map(|i| format!("line {i:05}")).collect();
        assert_eq!(stored_messages(&f.raw, e.id).await, kept);
    }
}

#[tokio::test]
async fn size_retention_breaks_timestamp_ties_by_id() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    // Four 10-byte lines at one instant; the limit keeps the two appended last.
    let batch: Vec<_> = (0..4)
        .map(|i| {
            log_line(
                e.id,
                fixed_time(),
                LogStream::Stdout,
                &format!("same t {i:03}"),
            )
        })
        .collect();
    f.store.append_logs(&batch).await.unwrap();
    let report = f
        .store
        .apply_log_retention(&RetentionPolicy {
            older_than: ts(2000, 1, 1),
            max_bytes_per_environment: 20,
            batch_size: 1,
        })
        .await
        .unwrap();
    assert_eq!(report.deleted_by_size, 2);
    assert_eq!(
        stored_messages(&f.raw, e.id).await,
        ["same t 002", "same t 003"]
    );
}

#[tokio::test]
async fn newest_first_paging_walks_a_large_log_once() {
    let f = fresh().await;
    let e = create_environment(&f.store).await;
    f.store
        .append_logs(&lines(e.id, 1_234, fixed_time()))
        .await
        .unwrap();
    let mut q = LogQuery::all(e.id, 500);
    q.order = LogOrder::NewestFirst;
    let mut seen = Vec::new();
    loop {
        let page = f.store.query_logs(&q).await.unwrap();
        seen.extend(page.items.into_iter().map(|l| l.message));
        match page.next_cursor {
            Some(c) => q.cursor = Some(c),
            None => break,
        }
    }
    let expected: Vec<String> = (0..1_234).rev().map(|i| format!("line {i:05}")).collect();
    assert_eq!(seen, expected);
    q.cursor = Some("1_x".into());
    let err = f.store.query_logs(&q).await.unwrap_err();
    assert_eq!(err.kind(), ErrorKind::InvalidInput);
}
