//! `kill` and `stats` of a container a fork bomb holds at its pids limit, on the real engine.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::{Duration, Instant};

use futures::StreamExt;
use vibebox_core::runtime::{ContainerId, ContainerRuntime, ContainerState, ContainerStats};
use vibebox_core::testing::runtime_checks::RuntimeFixture;
use vibebox_docker::DockerRuntime;

use common::RemoveOnDrop;

/// A small limit, so the bomb reaches it at once.
const PIDS_LIMIT: i64 = 48;

/// Keeps the container at its pids limit for as long as it runs. Busybox `sh` exits when a
/// fork fails, so an inner loop forks `sleep`s until it dies of that, and an outer loop
/// starts another one in the pid it freed; the main shell only waits (it never forks again,
/// so the container does not end when forks fail).
const FORK_BOMB: &str = "sleep 3600 & \
    (while :; do (while :; do sleep 1000 & done) 2>/dev/null; done) 2>/dev/null & \
    wait";

/// How long the bomb may take to reach the limit.
const SATURATE_WITHIN: Duration = Duration::from_secs(30);

struct Bombed {
    rt: DockerRuntime,
    id: ContainerId,
    _cleanup: RemoveOnDrop,
}

/// Creates and starts a busybox container with the fork bomb as its command, and waits until
/// `stats` report it within 2 processes of its limit; returns that sample.
async fn bombed(suffix: &str) -> (Bombed, ContainerStats) {
    let rt = common::runtime().await;
    let fx = RuntimeFixture::new(common::TEST_IMAGE);
    let cleanup = RemoveOnDrop(format!("vibebox.conformance.run={}", fx.labels[1].1));
    let mut spec = fx.script_spec(suffix, FORK_BOMB);
    spec.limits.pids_limit = PIDS_LIMIT;
    let id = rt.create(&spec).await.unwrap();
    rt.start(&id).await.unwrap();
    let started = Instant::now();
    let mut stats = rt.stats(&id);
    let limit = u64::try_from(PIDS_LIMIT).unwrap();
    let sample = tokio::time::timeout(SATURATE_WITHIN, async {
        loop {
            let sample = stats
                .next()
                .await
                .expect("stats until the container stops")
                .expect("a stats sample");
            if sample.pids.is_some_and(|p| p + 2 >= limit) {
                return sample;
            }
        }
    })
    .await
    .expect("the fork bomb reaches the pids limit");
    eprintln!(
        "saturated after {:?}: pids {:?} of {:?}",
        started.elapsed(),
        sample.pids,
        sample.pids_limit
    );
    let bombed = Bombed {
        rt,
        id,
        _cleanup: cleanup,
    };
    (bombed, sample)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kill_stops_a_container_a_fork_bomb_holds_at_its_pids_limit() {
    let (c, _) = bombed("kill-bomb").await;
    let started = Instant::now();
    tokio::time::timeout(Duration::from_secs(40), c.rt.kill(&c.id))
        .await
        .expect("kill returns")
        .expect("kill");
    let took = started.elapsed();
    eprintln!("kill of the fork-bombed container took {took:?}");
    assert!(took < Duration::from_secs(10), "kill took {took:?}");
    let info = c.rt.inspect(&c.id).await.unwrap();
    assert_eq!(info.state, ContainerState::Exited, "{info:?}");
    assert_eq!(info.exit_code, Some(137), "{info:?}");
    // Killing it again is a no-op.
    c.rt.kill(&c.id).await.expect("kill a killed container");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stats_of_a_container_at_its_pids_limit_report_pids_at_the_limit() {
    let (c, sample) = bombed("stats-bomb").await;
    let limit = u64::try_from(PIDS_LIMIT).unwrap();
    assert_eq!(sample.pids_limit, Some(limit), "{sample:?}");
    let pids = sample.pids.expect("pids reported");
    assert!(
        pids <= limit && pids + 2 >= limit,
        "pids {pids} should be within 2 of the limit {limit}"
    );
    c.rt.kill(&c.id).await.expect("kill");
}
