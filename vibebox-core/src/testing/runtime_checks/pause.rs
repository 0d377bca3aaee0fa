//! Checks of `pause` and `resume`: a paused container is frozen (exec refused), a resumed one
//! has kept its processes and files, and pause works only on a running container. Every check
//! is skipped when the engine reports no pause capability (the contract then is `Unsupported`).

use super::{
    GRACE, RuntimeFixture, absent_id, drain_until_end, exec_spec, expect_kind, guarded, next_event,
    read_output, sh, wait_exec_end, within,
};
use crate::error::ErrorKind;
use crate::runtime::{ContainerId, ContainerRuntime, ContainerState, RuntimeEventKind};

/// Runs `script` in the container with `sh -c` and returns its stdout; it must exit 0.
async fn run(rt: &dyn ContainerRuntime, id: &ContainerId, script: &str) -> String {
    let mut session = within("exec", rt.exec(id, &sh(script)))
        .await
        .unwrap_or_else(|e| panic!("exec {script:?} failed: {e}"));
    let (out, err) = read_output(&mut session).await;
    let info = wait_exec_end(rt, &session.id).await;
    assert_eq!(info.exit_code, Some(0), "{script:?}: {out:?} {err:?}");
    out
}

async fn state(rt: &dyn ContainerRuntime, id: &ContainerId) -> ContainerState {
    rt.inspect(id).await.expect("inspect").state
}

/// A paused container reports `paused`; exec into it, starting it and killing an exec in it
/// are `Conflict` (nothing runs in a frozen container, and the exec lives on), and it keeps
/// its ports.
pub async fn pause_freezes_the_container(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    if !rt.capabilities().pause {
        return;
    }
    guarded(rt, |s| async move {
        let mut spec = fx.spec("pause-freezes");
        spec.ports = vec![super::port(8080, None)];
        let id = s.create_started(&spec).await;
        let ports = s.rt.inspect(&id).await.expect("inspect").ports;
        let session =
            s.rt.exec(&id, &exec_spec(&["sleep", "3600"]))
                .await
                .expect("exec");
        within("pause", s.rt.pause(&id)).await.expect("pause");
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.state, ContainerState::Paused, "{info:?}");
        assert_eq!(info.ports, ports, "a paused container keeps its ports");
        let e = expect_kind(
            within("exec while paused", s.rt.exec(&id, &exec_spec(&["true"]))).await,
            ErrorKind::Conflict,
            "exec while paused",
        );
        assert!(e.to_string().contains("paused"), "{e}");
        expect_kind(
            within("start while paused", s.rt.start(&id)).await,
            ErrorKind::Conflict,
            "start while paused",
        );
        if s.rt.capabilities().kill_exec {
            expect_kind(
                within("kill_exec while paused", s.rt.kill_exec(&session.id)).await,
                ErrorKind::Conflict,
                "kill_exec while paused",
            );
        }
        let exec = s.rt.inspect_exec(&session.id).await.expect("inspect_exec");
        assert!(exec.running, "{exec:?}");
        assert_eq!(state(s.rt, &id).await, ContainerState::Paused);
    })
    .await;
}

/// After `resume` the container runs again with what it had: a process started before the
/// pause still runs with the same pid, a file written in /tmp is still there, and exec works
/// again.
pub async fn resume_thaws_and_keeps_memory(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    if !rt.capabilities().pause {
        return;
    }
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("resume-keeps")).await;
        run(s.rt, &id, "echo kept-across-pause > /tmp/vbx-pause").await;
        let mut background =
            s.rt.exec(&id, &exec_spec(&["sleep", "3600"]))
                .await
                .expect("exec");
        // The engine may report the exec before its process exists: wait for its pid.
        let before = within("the background exec's pid", async {
            loop {
                let info = s.rt.inspect_exec(&background.id).await.expect("inspect");
                assert!(info.running, "{info:?}");
                if info.pid.is_some() {
                    return info;
                }
                tokio::time::sleep(std::time::Duration::from_millis(20)).await;
            }
        })
        .await;

        within("pause", s.rt.pause(&id)).await.expect("pause");
        assert_eq!(state(s.rt, &id).await, ContainerState::Paused);
        let frozen = s.rt.inspect_exec(&background.id).await.expect("inspect");
        assert!(frozen.running, "a frozen process is not dead: {frozen:?}");

        within("resume", s.rt.resume(&id)).await.expect("resume");
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.state, ContainerState::Running, "{info:?}");
        let after = s.rt.inspect_exec(&background.id).await.expect("inspect");
        assert!(after.running, "{after:?}");
        assert_eq!(after.pid, before.pid, "the same process, not a new one");
        let file = run(s.rt, &id, "cat /tmp/vbx-pause").await;
        assert_eq!(file.trim_end(), "kept-across-pause");

        within("stop", s.rt.stop(&id, GRACE)).await.expect("stop");
        drain_until_end("the background exec to end", &mut background.output).await;
    })
    .await;
}

/// Pausing or resuming a container that does not run (created, or stopped) is `Conflict`,
/// and leaves it as it was.
pub async fn pause_of_a_stopped_container_is_conflict(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    if !rt.capabilities().pause {
        return;
    }
    guarded(rt, |s| async move {
        let created = s.create(&fx.spec("pause-created")).await;
        expect_kind(
            within("pause a created container", s.rt.pause(&created)).await,
            ErrorKind::Conflict,
            "pause a created container",
        );
        expect_kind(
            within("resume a created container", s.rt.resume(&created)).await,
            ErrorKind::Conflict,
            "resume a created container",
        );
        assert_eq!(state(s.rt, &created).await, ContainerState::Created);

        let stopped = s.create_started(&fx.spec("pause-stopped")).await;
        within("stop", s.rt.stop(&stopped, GRACE))
            .await
            .expect("stop");
        expect_kind(
            within("pause a stopped container", s.rt.pause(&stopped)).await,
            ErrorKind::Conflict,
            "pause a stopped container",
        );
        expect_kind(
            within("resume a stopped container", s.rt.resume(&stopped)).await,
            ErrorKind::Conflict,
            "resume a stopped container",
        );
        assert_eq!(state(s.rt, &stopped).await, ContainerState::Exited);
    })
    .await;
}

/// `pause` and `resume` of a container that does not exist are `NotFound`.
pub async fn pause_of_an_unknown_container_is_not_found(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    if !rt.capabilities().pause {
        return;
    }
    let id = absent_id(fx);
    expect_kind(
        within("pause an unknown container", rt.pause(&id)).await,
        ErrorKind::NotFound,
        "pause an unknown container",
    );
    expect_kind(
        within("resume an unknown container", rt.resume(&id)).await,
        ErrorKind::NotFound,
        "resume an unknown container",
    );
}

/// Pausing a paused container succeeds and leaves it paused; resuming a running one succeeds
/// and leaves it running.
pub async fn pausing_twice_is_fine(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    if !rt.capabilities().pause {
        return;
    }
    guarded(rt, |s| async move {
        let id = s.create_started(&fx.spec("pause-twice")).await;
        within("resume a running container", s.rt.resume(&id))
            .await
            .expect("resume a running container");
        assert_eq!(state(s.rt, &id).await, ContainerState::Running);
        within("pause", s.rt.pause(&id)).await.expect("pause");
        within("pause again", s.rt.pause(&id))
            .await
            .expect("pause a paused container");
        assert_eq!(state(s.rt, &id).await, ContainerState::Paused);
        within("resume", s.rt.resume(&id)).await.expect("resume");
        within("resume again", s.rt.resume(&id))
            .await
            .expect("resume a resumed container");
        assert_eq!(state(s.rt, &id).await, ContainerState::Running);
        run(s.rt, &id, "true").await;
    })
    .await;
}

/// A paused container can be stopped (and then starts again), killed, and removed, without
/// resuming it first; an exec running in it ends with it.
pub async fn paused_container_can_be_stopped_and_removed(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    if !rt.capabilities().pause {
        return;
    }
    guarded(rt, |s| async move {
        let stopped = s.create_started(&fx.spec("paused-stop")).await;
        let mut session =
            s.rt.exec(&stopped, &exec_spec(&["sleep", "3600"]))
                .await
                .expect("exec");
        within("pause", s.rt.pause(&stopped)).await.expect("pause");
        within("stop a paused container", s.rt.stop(&stopped, GRACE))
            .await
            .expect("stop a paused container");
        let info = s.rt.inspect(&stopped).await.expect("inspect");
        assert_eq!(info.state, ContainerState::Exited, "{info:?}");
        assert!(info.exit_code.is_some(), "{info:?}");
        drain_until_end("the exec's output to end after stop", &mut session.output).await;
        s.rt.start(&stopped).await.expect("start after stop");
        assert_eq!(state(s.rt, &stopped).await, ContainerState::Running);

        let killed = s.create_started(&fx.spec("paused-kill")).await;
        within("pause", s.rt.pause(&killed)).await.expect("pause");
        within("kill a paused container", s.rt.kill(&killed))
            .await
            .expect("kill a paused container");
        assert_eq!(state(s.rt, &killed).await, ContainerState::Exited);

        let removed = s.create_started(&fx.spec("paused-remove")).await;
        within("pause", s.rt.pause(&removed)).await.expect("pause");
        within("remove a paused container", s.rt.remove(&removed))
            .await
            .expect("remove a paused container");
        expect_kind(
            s.rt.inspect(&removed).await,
            ErrorKind::NotFound,
            "inspect after remove",
        );
    })
    .await;
}

/// `events` report a pause and an unpause of a matching container.
pub async fn events_report_pause_and_unpause(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    if !rt.capabilities().pause {
        return;
    }
    guarded(rt, |s| async move {
        let labels = fx.with_label("vibebox.conformance.events", "paused");
        let mut spec = fx.spec("events-pause");
        spec.labels
            .insert("vibebox.conformance.events".into(), "paused".into());
        let mut events = s.rt.events(&labels);
        let id = s.create(&spec).await;
        // The stream may connect lazily: pause and resume until its pause event is seen.
        s.rt.start(&id).await.expect("start");
        let mut seen = false;
        for _ in 0..5 {
            within("pause", s.rt.pause(&id)).await.expect("pause");
            let wait = tokio::time::timeout(
                std::time::Duration::from_secs(3),
                next_event(&mut events, &id, |k| *k == RuntimeEventKind::Pause),
            );
            if wait.await.is_ok() {
                seen = true;
                break;
            }
            within("resume", s.rt.resume(&id)).await.expect("resume");
        }
        assert!(seen, "a pause event");
        within("resume", s.rt.resume(&id)).await.expect("resume");
        within(
            "an unpause event",
            next_event(&mut events, &id, |k| *k == RuntimeEventKind::Unpause),
        )
        .await;
    })
    .await;
}
