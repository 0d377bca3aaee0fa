//! Log appends in large batches and retention with small limits.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use vibebox_core::clock::Timestamp;
use vibebox_core::domain::LogStream;
use vibebox_core::store::{LogQuery, LogsStore, RetentionPolicy, RetentionReport};
use vibebox_core::testing::store_checks::fixtures::*;

fn at(secs: i64) -> Timestamp {
    fixed_time() + chrono::TimeDelta::seconds(secs)
}

fn policy(older_than: Timestamp, max_bytes: u64, batch_size: u32) -> RetentionPolicy {
    RetentionPolicy {
        older_than,
        max_bytes_per_environment: max_bytes,
        batch_size,
    }
}

async fn count(store: &vibebox_sqlite::SqliteStore) -> i64 {
    sqlx::query_scalar("SELECT COUNT(*) FROM logs")
        .fetch_one(store.pool())
        .await
        .unwrap()
}

#[tokio::test]
async fn large_batches_keep_append_order() {
    let store = common::disk_store().await;
    let e = create_environment(&store).await;
    // 1000 lines: statements of every size the store uses.
    let lines: Vec<_> = (0..1000)
        .map(|i| log_line(e.id, at(i % 7), LogStream::Stdout, &format!("{i}")))
        .collect();
    store.append_logs(&lines).await.unwrap();
    let ids: Vec<(i64, String)> = sqlx::query_as("SELECT id, message FROM logs ORDER BY id")
        .fetch_all(store.pool())
        .await
        .unwrap();
    let messages: Vec<String> = ids.iter().map(|(_, m)| m.clone()).collect();
    let expected: Vec<String> = (0..1000).map(|i| i.to_string()).collect();
    assert_eq!(messages, expected, "ids follow the order of the batch");
    let page = store.query_logs(&LogQuery::all(e.id, 500)).await.unwrap();
    assert_eq!(page.items.len(), 500);
    assert!(page.next_cursor.is_some());
}

#[tokio::test]
async fn log_bytes_counts_utf8_bytes_not_characters() {
    let store = common::memory_store().await;
    let e = create_environment(&store).await;
    let messages = ["héllo", "日本語", "plain", ""];
    let lines: Vec<_> = messages
        .iter()
        .map(|m| log_line(e.id, at(0), LogStream::Stderr, m))
        .collect();
    store.append_logs(&lines).await.unwrap();
    let expected: usize = messages.iter().map(|m| m.len()).sum();
    assert_eq!(store.log_bytes(e.id).await.unwrap(), expected as u64);
}

#[tokio::test]
async fn age_retention_deletes_in_batches_and_counts_every_line() {
    let store = common::disk_store().await;
    let e = create_environment(&store).await;
    let mut lines: Vec<_> = (0..95)
        .map(|i| log_line(e.id, at(-1000 + i), LogStream::Stdout, "old"))
        .collect();
    lines.extend((0..5).map(|i| log_line(e.id, at(i), LogStream::Stdout, "new")));
    store.append_logs(&lines).await.unwrap();

    let report = store
        .apply_log_retention(&policy(at(0), u64::MAX, 10))
        .await
        .unwrap();
    assert_eq!(
        report,
        RetentionReport {
            deleted_by_age: 95,
            deleted_by_size: 0
        }
    );
    assert_eq!(count(&store).await, 5);
    let again = store
        .apply_log_retention(&policy(at(0), u64::MAX, 10))
        .await
        .unwrap();
    assert_eq!(again, RetentionReport::default());
}

#[tokio::test]
async fn size_retention_keeps_the_newest_lines_within_the_limit() {
    let store = common::disk_store().await;
    let big = create_environment(&store).await;
    let small = create_environment(&store).await;
    // 100 lines of 100 bytes, in pairs sharing a timestamp, appended newest first.
    let lines: Vec<_> = (0..100)
        .rev()
        .map(|i| {
            let msg = format!("{i:0>100}");
            log_line(big.id, at(i / 2), LogStream::Stdout, &msg)
        })
        .collect();
    store.append_logs(&lines).await.unwrap();
    store
        .append_logs(&[log_line(small.id, at(0), LogStream::Stdout, "tiny")])
        .await
        .unwrap();

    let report = store
        .apply_log_retention(&policy(ts(2000, 1, 1), 2_550, 10))
        .await
        .unwrap();
    assert_eq!(
        report,
        RetentionReport {
            deleted_by_age: 0,
            deleted_by_size: 75
        }
    );
    assert_eq!(store.log_bytes(big.id).await.unwrap(), 2_500);
    let kept = store.query_logs(&LogQuery::all(big.id, 100)).await.unwrap();
    let kept: Vec<_> = kept.items.iter().map(|l| l.message.clone()).collect();
    // Oldest first, a timestamp's pair is (2k + 1, 2k): the line appended later has the higher
    // id. The 25 newest lines are the pairs of timestamps 38..=49 and, of the pair at 37, line
    // 74; line 75 (the older of that pair) and everything before it went.
    let mut expected = vec![74];
    expected.extend((38..50).flat_map(|k| [2 * k + 1, 2 * k]));
    let expected: Vec<String> = expected.iter().map(|i| format!("{i:0>100}")).collect();
    assert_eq!(kept, expected);
    assert_eq!(store.log_bytes(small.id).await.unwrap(), 4);
}

#[tokio::test]
async fn age_and_size_retention_report_separately() {
    let store = common::disk_store().await;
    let e = create_environment(&store).await;
    let mut lines: Vec<_> = (0..30)
        .map(|i| log_line(e.id, at(-100 + i), LogStream::Stdout, "0123456789"))
        .collect();
    lines.extend((0..30).map(|i| log_line(e.id, at(i), LogStream::Stdout, "0123456789")));
    store.append_logs(&lines).await.unwrap();
    let report = store
        .apply_log_retention(&policy(at(0), 100, 7))
        .await
        .unwrap();
    assert_eq!(
        report,
        RetentionReport {
            deleted_by_age: 30,
            deleted_by_size: 20
        }
    );
    let oldest = store.query_logs(&LogQuery::all(e.id, 1)).await.unwrap();
    assert_eq!(oldest.items[0].timestamp, at(20));
}

#[tokio::test]
async fn zero_batch_size_still_makes_progress() {
    let store = common::memory_store().await;
    let e = create_environment(&store).await;
    let lines: Vec<_> = (0..3)
        .map(|i| log_line(e.id, at(-10 + i), LogStream::Stdout, "x"))
        .collect();
    store.append_logs(&lines).await.unwrap();
    let report = store
        .apply_log_retention(&policy(at(0), u64::MAX, 0))
        .await
        .unwrap();
    assert_eq!(report.deleted_by_age, 3);
}
