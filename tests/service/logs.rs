use std::time::Duration;

use vibebox_core::config::Config;
use vibebox_core::domain::{LogStream, NewLogEntry};
use vibebox_core::events::EventKind;
use vibebox_core::service::LogFilter;
use vibebox_core::store::PageRequest;

use super::harness::{H, wait_for};

#[tokio::test]
async fn container_output_is_published_live_and_persisted() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let first = wait_for(&mut rx, |k| match k {
        EventKind::Log { message, .. } => Some(message.clone()),
        _ => None,
    })
    .await;
    assert_eq!(first, "vibebox: environment started");
    h.rt.push_log(&H::container(&env), LogStream::Stderr, "oops");
    let (stream, message) = wait_for(&mut rx, |k| match k {
        EventKind::Log {
            stream, message, ..
        } => Some((*stream, message.clone())),
        _ => None,
    })
    .await;
    assert_eq!((stream, message.as_str()), (LogStream::Stderr, "oops"));
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    let all =
        h.vb.query_logs(
            &alice,
            env.id,
            LogFilter::default(),
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    let messages: Vec<_> = all.items.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages, ["vibebox: environment started", "oops"]);
    let stderr =
        h.vb.query_logs(
            &alice,
            env.id,
            LogFilter {
                stream: Some(LogStream::Stderr),
                ..Default::default()
            },
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    assert_eq!(stderr.items.len(), 1);
}

#[tokio::test]
async fn a_restarted_collector_resumes_without_duplicates() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    h.rt.push_log(&H::container(&env), LogStream::Stdout, "after restart");
    wait_for(&mut rx, |k| match k {
        EventKind::Log { message, .. } if message == "after restart" => Some(()),
        _ => None,
    })
    .await;
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    let all =
        h.vb.query_logs(
            &alice,
            env.id,
            LogFilter::default(),
            &PageRequest::first(50),
        )
        .await
        .unwrap();
    let messages: Vec<_> = all.items.iter().map(|l| l.message.as_str()).collect();
    // The container printed its start line twice (two starts) — each exactly once in the store.
    assert_eq!(
        messages,
        [
            "vibebox: environment started",
            "vibebox: environment started",
            "after restart"
        ]
    );
}

#[tokio::test]
async fn retention_drops_old_lines_and_keeps_environments_under_the_size_limit() {
    let h = H::with_config(Config {
        log_max_age: Duration::from_secs(3600),
        log_max_bytes_per_environment: 10,
        ..Config::default()
    })
    .await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let now = h.vb.clock().now();
    let line = |secs_ago: i64, msg: &str| NewLogEntry {
        environment_id: env.id,
        timestamp: now - chrono::TimeDelta::seconds(secs_ago),
        stream: LogStream::Stdout,
        message: msg.into(),
    };
    h.store
        .append_logs(&[
            line(7200, "ancient"),
            line(30, "aaaa"),
            line(20, "bbbb"),
            line(10, "cccc"),
        ])
        .await
        .unwrap();
    let report = h.vb.apply_retention().await.unwrap();
    assert_eq!((report.deleted_by_age, report.deleted_by_size), (1, 1));
    let left =
        h.vb.query_logs(
            &alice,
            env.id,
            LogFilter::default(),
            &PageRequest::first(10),
        )
        .await
        .unwrap();
    let messages: Vec<_> = left.items.iter().map(|l| l.message.as_str()).collect();
    assert_eq!(messages, ["bbbb", "cccc"]);
}

#[tokio::test]
async fn metrics_stream_the_memory_limit_of_a_running_environment() {
    use futures::StreamExt;
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    assert!(h.vb.metrics(&alice, env.id).await.is_err());
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let mut stats = h.vb.metrics(&alice, env.id).await.unwrap();
    let sample = tokio::time::timeout(Duration::from_secs(5), stats.next())
        .await
        .unwrap()
        .unwrap()
        .unwrap();
    assert_eq!(sample.memory_limit_bytes, 512 * 1024 * 1024);
}

#[tokio::test]
async fn background_shutdown_also_stops_the_log_collectors() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let background = h.vb.spawn_background(Default::default());
    h.vb.start_environment(&alice, env.id).await.unwrap();
    assert!(h.vb.is_collecting(env.id));
    background.shutdown().await;
    assert!(!h.vb.is_collecting(env.id));
}
