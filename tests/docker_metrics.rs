//! The metrics stream through the service on the real Docker engine: CPU %, memory in use and
//! the memory limit, sampled by the engine about once a second, ending when the environment
//! stops.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use docker::*;
use futures::StreamExt;
use vibebox::error::ErrorKind;
use vibebox::runtime::ContainerStats;

/// The harness's environments are limited to 256 MB and half a CPU.
const MEMORY_LIMIT: u64 = 256 << 20;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_report_cpu_under_load_memory_in_use_and_the_limit_about_once_a_second() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let env = d.vb.start_environment(&alice, env.id).await.unwrap();
    let (code, out) = d
        .exec(&env, "nohup sh -c 'while :; do :; done' >/dev/null 2>&1 &")
        .await;
    assert_eq!(code, 0, "{out}");

    let mut stream = d.vb.metrics(&alice, env.id).await.unwrap();
    // Samples until the busy loop shows and at least five came.
    let samples: Vec<ContainerStats> = tokio::time::timeout(WAIT, async {
        let mut samples: Vec<ContainerStats> = Vec::new();
        while samples.len() < 5 || !samples.iter().any(|s| s.cpu_percent > 0.0) {
            let sample = stream.next().await.expect("a sample").expect("a sample");
            samples.push(sample);
        }
        samples
    })
    .await
    .expect("samples in time");

    for s in &samples {
        assert_eq!(s.memory_limit_bytes, MEMORY_LIMIT, "{s:?}");
        assert!(s.memory_bytes > 0 && s.memory_bytes < MEMORY_LIMIT, "{s:?}");
    }
    // A busy loop under a half-CPU limit: some use, never more than the limit allows (with
    // slack for where the engine's sampling window falls).
    let busiest = samples.iter().map(|s| s.cpu_percent).fold(0.0, f64::max);
    assert!(busiest > 0.0 && busiest <= 75.0, "{samples:?}");
    // The engine's own sampling times, not the test's clock.
    for pair in samples.windows(2) {
        let gap = pair[1].at - pair[0].at;
        assert!(
            gap >= chrono::TimeDelta::milliseconds(500) && gap <= chrono::TimeDelta::seconds(2),
            "samples about a second apart: {samples:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_metrics_stream_ends_when_the_environment_stops() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    assert_eq!(
        d.vb.metrics(&alice, env.id).await.err().map(|e| e.kind()),
        Some(ErrorKind::Conflict),
        "a stopped environment has no metrics"
    );
    d.vb.start_environment(&alice, env.id).await.unwrap();
    let mut stream = d.vb.metrics(&alice, env.id).await.unwrap();
    let first = tokio::time::timeout(WAIT, stream.next())
        .await
        .expect("a sample in time");
    assert!(matches!(first, Some(Ok(_))), "{first:?}");

    d.vb.stop_environment(&alice, env.id).await.unwrap();
    let rest = tokio::time::timeout(WAIT, stream.collect::<Vec<_>>())
        .await
        .expect("the stream ends after the stop");
    assert!(rest.iter().all(Result::is_ok), "{rest:?}");
}
