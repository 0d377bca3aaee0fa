//! Persisted logs and retention.

use super::prelude::*;

fn at(secs: i64) -> Timestamp {
    fixed_time() + chrono::TimeDelta::seconds(secs)
}

fn messages(page: &Page<LogEntry>) -> Vec<&str> {
    page.items.iter().map(|l| l.message.as_str()).collect()
}

/// Ids increase in the order lines are appended; equal timestamps keep append order.
pub async fn log_ids_increase_in_append_order(store: &dyn Store) {
    let e = create_environment(store).await;
    store
        .append_logs(&[
            log_line(e.id, at(0), LogStream::Stdout, "a"),
            log_line(e.id, at(0), LogStream::Stderr, "b"),
        ])
        .await
        .unwrap();
    store
        .append_logs(&[log_line(e.id, at(0), LogStream::Stdout, "c")])
        .await
        .unwrap();
    let page = store.query_logs(&LogQuery::all(e.id, 10)).await.unwrap();
    assert_eq!(messages(&page), ["a", "b", "c"]);
    assert!(page.items.windows(2).all(|w| w[0].id < w[1].id));
    assert!(page.next_cursor.is_none());
    assert_eq!(page.items[1].stream, LogStream::Stderr);
    assert_eq!(page.items[0].environment_id, e.id);
}

/// A batch with one line for a missing environment writes nothing.
pub async fn failed_log_batch_writes_nothing(store: &dyn Store) {
    let e = create_environment(store).await;
    let res = store
        .append_logs(&[
            log_line(e.id, at(0), LogStream::Stdout, "first"),
            log_line(EnvironmentId::new(), at(1), LogStream::Stdout, "orphan"),
            log_line(e.id, at(2), LogStream::Stdout, "last"),
        ])
        .await;
    assert_not_found(res, "environment");
    assert_eq!(store.log_bytes(e.id).await.unwrap(), 0);
    assert!(store.latest_log(e.id).await.unwrap().is_none());
    store.append_logs(&[]).await.unwrap();
}

/// `since` is inclusive, `until` exclusive, and `stream` filters by stream.
pub async fn log_query_filters_by_time_and_stream(store: &dyn Store) {
    let e = create_environment(store).await;
    let other = create_environment(store).await;
    store
        .append_logs(&[
            log_line(e.id, at(3), LogStream::Stdout, "t3"),
            log_line(e.id, at(1), LogStream::Stdout, "t1"),
            log_line(e.id, at(2), LogStream::Stderr, "t2"),
            log_line(e.id, at(4), LogStream::Stdout, "t4"),
            log_line(other.id, at(2), LogStream::Stdout, "elsewhere"),
        ])
        .await
        .unwrap();
    let mut q = LogQuery::all(e.id, 100);
    assert_eq!(
        messages(&store.query_logs(&q).await.unwrap()),
        ["t1", "t2", "t3", "t4"]
    );
    q.since = Some(at(2));
    q.until = Some(at(4));
    assert_eq!(messages(&store.query_logs(&q).await.unwrap()), ["t2", "t3"]);
    q.stream = Some(LogStream::Stdout);
    assert_eq!(messages(&store.query_logs(&q).await.unwrap()), ["t3"]);
    q.stream = Some(LogStream::Stderr);
    q.order = LogOrder::NewestFirst;
    assert_eq!(messages(&store.query_logs(&q).await.unwrap()), ["t2"]);
}

/// Paging newest first with the cursor visits every line once in (timestamp, id) order.
pub async fn log_query_pages_in_both_orders(store: &dyn Store) {
    let e = create_environment(store).await;
    // Two lines share a timestamp, so the cursor must use the id to break the tie.
    store
        .append_logs(&[
            log_line(e.id, at(1), LogStream::Stdout, "l1"),
            log_line(e.id, at(2), LogStream::Stdout, "l2a"),
            log_line(e.id, at(2), LogStream::Stdout, "l2b"),
            log_line(e.id, at(3), LogStream::Stdout, "l3"),
            log_line(e.id, at(4), LogStream::Stdout, "l4"),
        ])
        .await
        .unwrap();
    for (order, expected) in [
        (LogOrder::OldestFirst, ["l1", "l2a", "l2b", "l3", "l4"]),
        (LogOrder::NewestFirst, ["l4", "l3", "l2b", "l2a", "l1"]),
    ] {
        let mut q = LogQuery::all(e.id, 2);
        q.order = order;
        let mut seen = Vec::new();
        let mut pages = 0;
        loop {
            let page = store.query_logs(&q).await.unwrap();
            pages += 1;
            seen.extend(page.items.iter().map(|l| l.message.clone()));
            match page.next_cursor {
                Some(c) => q.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, expected, "{order:?}");
        assert_eq!(pages, 3);
    }
}

/// A log cursor the store did not issue is `InvalidInput` (`cursor`).
pub async fn malformed_log_cursor_is_invalid_input(store: &dyn Store) {
    let e = create_environment(store).await;
    let mut q = LogQuery::all(e.id, 10);
    q.cursor = Some("garbage".into());
    assert_invalid(store.query_logs(&q).await, "cursor");
}

/// `latest_log` is the greatest (timestamp, id); `log_bytes` sums message bytes.
pub async fn latest_log_and_log_bytes_reflect_stored_lines(store: &dyn Store) {
    let e = create_environment(store).await;
    assert!(store.latest_log(e.id).await.unwrap().is_none());
    assert_eq!(store.log_bytes(e.id).await.unwrap(), 0);
    store
        .append_logs(&[
            log_line(e.id, at(5), LogStream::Stdout, "late"),
            log_line(e.id, at(1), LogStream::Stdout, "héllo"),
            log_line(e.id, at(5), LogStream::Stderr, "later id"),
        ])
        .await
        .unwrap();
    let latest = store.latest_log(e.id).await.unwrap().unwrap();
    assert_eq!(latest.message, "later id");
    assert_eq!(latest.timestamp, at(5));
    assert_eq!(
        store.log_bytes(e.id).await.unwrap(),
        ("late".len() + "héllo".len() + "later id".len()) as u64
    );
}

fn policy() -> RetentionPolicy {
    RetentionPolicy {
        older_than: retention_cutoff(),
        max_bytes_per_environment: RETENTION_MAX_BYTES,
        batch_size: 2,
    }
}

/// Retention deletes lines older than the cut-off and keeps the rest.
pub async fn log_retention_drops_lines_older_than_cutoff(store: &dyn Store) {
    let e = create_environment(store).await;
    let cutoff = retention_cutoff();
    store
        .append_logs(&[
            log_line(e.id, ts(2001, 1, 1), LogStream::Stdout, "ancient"),
            log_line(
                e.id,
                cutoff - chrono::TimeDelta::microseconds(1),
                LogStream::Stdout,
                "just too old",
            ),
            log_line(e.id, cutoff, LogStream::Stdout, "kept at cutoff"),
            log_line(e.id, at(0), LogStream::Stdout, "recent"),
        ])
        .await
        .unwrap();
    let report = store.apply_log_retention(&policy()).await.unwrap();
    assert!(report.deleted_by_age >= 2);
    let page = store.query_logs(&LogQuery::all(e.id, 10)).await.unwrap();
    assert_eq!(messages(&page), ["kept at cutoff", "recent"]);
}

/// Over the size limit, retention deletes an environment's oldest lines first.
pub async fn log_retention_drops_oldest_first_over_size_limit(store: &dyn Store) {
    let e = create_environment(store).await;
    let small = create_environment(store).await;
    let line = |i: i64| {
        let mut msg = format!("line{i} ");
        msg.push_str(&"x".repeat(1000 - msg.len()));
        log_line(e.id, at(i), LogStream::Stdout, &msg)
    };
    // Appended out of time order: size retention goes by timestamp, not by id.
    store
        .append_logs(&[line(3), line(1), line(5), line(2), line(4)])
        .await
        .unwrap();
    store
        .append_logs(&[log_line(small.id, at(0), LogStream::Stdout, "tiny")])
        .await
        .unwrap();
    let report = store.apply_log_retention(&policy()).await.unwrap();
    assert!(report.deleted_by_size >= 3);
    assert_eq!(store.log_bytes(e.id).await.unwrap(), 2000);
    let kept: Vec<_> = store
        .query_logs(&LogQuery::all(e.id, 10))
        .await
        .unwrap()
        .items
        .into_iter()
        .map(|l| l.timestamp)
        .collect();
    assert_eq!(kept, [at(4), at(5)]);
    assert_eq!(store.log_bytes(small.id).await.unwrap(), 4);
}
