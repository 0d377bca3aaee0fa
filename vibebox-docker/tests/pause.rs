//! `pause` racing exec starts, on the real engine.
//!
//! Docker 20.10 answers an exec's start before runc has set the process up; a pause in that
//! window freezes `runc init` half-way and wedges the engine on the container (inspect,
//! unpause and `rm -f` hang until its freezer cgroup is thawed by hand:
//! `echo THAWED > /sys/fs/cgroup/freezer/docker/<id>/freezer.state` on cgroup v1). Before the
//! runtime waited for starting execs, the first test wedged within two rounds.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use vibebox_core::ErrorKind;
use vibebox_core::runtime::{ContainerRuntime, ContainerState, ExecSpec};
use vibebox_core::testing::runtime_checks::RuntimeFixture;

/// Removes the test's containers when dropped, giving up after a while should the engine be
/// wedged (so that a failure fails, rather than hangs).
struct RemoveOnDrop(String);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let ids = common::docker(&["ps", "-aq", "--filter", &format!("label={}", self.0)]);
        for id in ids.split_whitespace() {
            let _ = std::process::Command::new("timeout")
                .args(["30", "docker", "rm", "-f", "-v", id])
                .output();
        }
    }
}

/// How long one engine call may take before the engine counts as wedged.
const WEDGED: Duration = Duration::from_secs(15);

fn sleeper() -> ExecSpec {
    ExecSpec {
        cmd: vec!["sleep".into(), "3600".into()],
        ..ExecSpec::default()
    }
}

async fn answered<T>(what: &str, fut: impl Future<Output = T>) -> T {
    match tokio::time::timeout(WEDGED, fut).await {
        Ok(v) => v,
        Err(_) => panic!(
            "{what} hung for {WEDGED:?}: the engine is wedged on the container (thaw its \
             freezer cgroup to recover)"
        ),
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn pause_right_after_an_exec_start_never_wedges_the_engine() {
    let rt = common::runtime().await;
    let fx = RuntimeFixture::new(common::TEST_IMAGE);
    let _cleanup = RemoveOnDrop(format!("vibebox.conformance.run={}", fx.labels[1].1));
    let id = rt.create(&fx.spec("pause-race")).await.unwrap();
    rt.start(&id).await.unwrap();
    for round in 0..15 {
        let _session = rt.exec(&id, &sleeper()).await.unwrap();
        answered("pause", rt.pause(&id)).await.unwrap();
        let info = answered("inspect", rt.inspect(&id)).await.unwrap();
        assert_eq!(info.state, ContainerState::Paused, "round {round}");
        answered("resume", rt.resume(&id)).await.unwrap();
    }
    answered("remove", rt.remove(&id)).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn execs_racing_pauses_either_start_or_are_refused() {
    let rt = Arc::new(common::runtime().await);
    let fx = RuntimeFixture::new(common::TEST_IMAGE);
    let _cleanup = RemoveOnDrop(format!("vibebox.conformance.run={}", fx.labels[1].1));
    let id = rt.create(&fx.spec("pause-race-many")).await.unwrap();
    rt.start(&id).await.unwrap();
    let starter = {
        let (rt, id) = (rt.clone(), id.clone());
        tokio::spawn(async move {
            let (mut started, mut refused) = (0, 0);
            let mut sessions = Vec::new();
            for _ in 0..40 {
                match answered("exec", rt.exec(&id, &sleeper())).await {
                    Ok(s) => {
                        started += 1;
                        sessions.push(s);
                    }
                    Err(e) if e.kind() == ErrorKind::Conflict => refused += 1,
                    Err(e) => panic!("exec failed: {e}"),
                }
            }
            (started, refused)
        })
    };
    for _ in 0..10 {
        answered("pause", rt.pause(&id)).await.unwrap();
        tokio::time::sleep(Duration::from_millis(20)).await;
        answered("resume", rt.resume(&id)).await.unwrap();
    }
    let (started, refused) = starter.await.unwrap();
    assert_eq!(started + refused, 40);
    assert!(started > 0, "no exec started");
    let info = answered("inspect", rt.inspect(&id)).await.unwrap();
    assert_eq!(info.state, ContainerState::Running);
    answered("remove", rt.remove(&id)).await.unwrap();
}
