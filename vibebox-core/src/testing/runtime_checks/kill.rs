//! Checks of `kill`: every process dies at once, a stopped container is left alone, an
//! unknown one is `NotFound`.

use std::time::{Duration, Instant};

use super::{
    GRACE, RuntimeFixture, absent_id, drain_until_end, exec_spec, expect_kind, guarded, within,
};
use crate::error::ErrorKind;
use crate::runtime::{ContainerRuntime, ContainerState};

/// How long a kill may take to count as "at once": well under any stop grace period a caller
/// would use, well over what an engine needs to deliver SIGKILL.
const AT_ONCE: Duration = Duration::from_secs(10);

/// `kill` of a running container whose main process ignores SIGTERM returns promptly, and
/// by then the container is exited (with exit code 137, where the runtime reports one) and
/// its execs have ended.
pub async fn kill_stops_a_running_container_at_once(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    guarded(rt, |s| async move {
        let id = s
            .create_started(&fx.script_spec("kill-running", "trap '' TERM; sleep 3600"))
            .await;
        let mut session =
            s.rt.exec(&id, &exec_spec(&["sleep", "3600"]))
                .await
                .expect("exec");
        let started = Instant::now();
        within("kill", s.rt.kill(&id)).await.expect("kill");
        let took = started.elapsed();
        assert!(took < AT_ONCE, "kill took {took:?}");
        // No polling: kill returns once the container has stopped.
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.state, ContainerState::Exited, "{info:?}");
        if let Some(code) = info.exit_code {
            assert_eq!(code, 137, "{info:?}");
        }
        assert!(info.finished_at.is_some(), "{info:?}");
        assert!(!info.oom_killed, "{info:?}");
        drain_until_end("the exec's output to end after kill", &mut session.output).await;
        match s.rt.inspect_exec(&session.id).await {
            Ok(exec) => assert!(!exec.running, "{exec:?}"),
            Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "{e}"),
        }
        // A killed container starts again.
        s.rt.start(&id).await.expect("start after kill");
        assert_eq!(
            s.rt.inspect(&id).await.expect("inspect").state,
            ContainerState::Running
        );
    })
    .await;
}

/// `kill` of a created (never started), a stopped or an already killed container succeeds
/// and changes nothing.
pub async fn kill_of_a_stopped_container_is_a_no_op(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    guarded(rt, |s| async move {
        let created = s.create(&fx.spec("kill-created")).await;
        within("kill a created container", s.rt.kill(&created))
            .await
            .expect("kill a created container");
        let info = s.rt.inspect(&created).await.expect("inspect");
        assert_eq!(info.state, ContainerState::Created, "{info:?}");

        let stopped = s.create_started(&fx.spec("kill-stopped")).await;
        within("stop", s.rt.stop(&stopped, GRACE))
            .await
            .expect("stop");
        let before = s.rt.inspect(&stopped).await.expect("inspect");
        within("kill a stopped container", s.rt.kill(&stopped))
            .await
            .expect("kill a stopped container");
        let after = s.rt.inspect(&stopped).await.expect("inspect");
        assert_eq!(after.state, ContainerState::Exited, "{after:?}");
        assert_eq!(after.exit_code, before.exit_code, "{after:?}");
        assert_eq!(after.finished_at, before.finished_at, "{after:?}");

        let killed = s.create_started(&fx.spec("kill-twice")).await;
        within("kill", s.rt.kill(&killed)).await.expect("kill");
        within("kill again", s.rt.kill(&killed))
            .await
            .expect("kill a killed container");
    })
    .await;
}

/// `kill` of a container that does not exist is `NotFound`.
pub async fn kill_of_an_unknown_container_is_not_found(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    expect_kind(
        within("kill an unknown container", rt.kill(&absent_id(fx))).await,
        ErrorKind::NotFound,
        "kill an unknown container",
    );
}
