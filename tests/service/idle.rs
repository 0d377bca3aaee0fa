//! Auto-suspend (issue 18): each environment's idle policy, on a manual clock. Activity
//! postpones the suspend, a silent connection does not, a busy CPU keeps an untouched
//! environment awake, a long-suspended one is stopped, and `never` means never.

use std::sync::Arc;
use std::time::Duration;

use vibebox_core::config::Config;
use vibebox_core::domain::{AuditActor, Environment, EnvironmentStatus, IdlePolicy, SessionType};
use vibebox_core::rbac::Actor;
use vibebox_core::runtime::{Capabilities, ContainerRuntime, ContainerState, TerminalSize};
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox_core::service::{EnvironmentPatch, ExecRequest, IdleReport, NewSession};
use vibebox_core::store::{AuditFilter, PageRequest};
use vibebox_core::testing::FakeRuntime;
use vibebox_core::{ErrorKind, Vibebox};

use super::harness::{H, new_env};

const MINUTE: Duration = Duration::from_secs(60);
const HOUR: Duration = Duration::from_secs(60 * 60);

/// The service with no default sessions (their terminals would be activity of their own).
async fn harness() -> H {
    harness_on(FakeRuntime::new()).await
}

async fn harness_on(rt: FakeRuntime) -> H {
    H::with_runtime(
        rt,
        Config {
            default_sessions: vec![],
            idle_cpu_window: Duration::from_millis(500),
            ..Config::default()
        },
    )
    .await
}

/// A user with a running environment under `policy`.
async fn running(h: &H, name: &str, policy: IdlePolicy) -> (Actor, Environment) {
    let actor = h.user(name).await;
    let project = h.project(&actor, &format!("{name}-proj"), None).await;
    let env =
        h.vb.create_environment(
            &actor,
            vibebox_core::service::NewEnvironment {
                idle_policy: Some(policy),
                ..new_env(&project, "dev")
            },
        )
        .await
        .unwrap();
    let env = h.vb.start_environment(&actor, env.id).await.unwrap();
    (actor, env)
}

async fn pass(h: &H) -> IdleReport {
    h.vb.apply_idle_policies().await.unwrap()
}

async fn status(h: &H, env: &Environment) -> EnvironmentStatus {
    h.store.get_environment(env.id).await.unwrap().status
}

async fn state(h: &H, env: &Environment) -> ContainerState {
    h.rt.inspect(&H::container(env)).await.unwrap().state
}

#[tokio::test]
async fn an_untouched_environment_is_suspended_after_its_idle_minutes_and_audited() {
    let h = harness().await;
    let (_, env) = running(&h, "alice", IdlePolicy::DEFAULT).await;
    assert_eq!(pass(&h).await.suspended, 0);
    h.clock.advance(14 * MINUTE);
    assert_eq!(pass(&h).await.suspended, 0, "14 minutes are not 15");
    h.clock.advance(MINUTE);
    let report = pass(&h).await;
    assert_eq!(report.suspended, 1, "{report:?}");
    assert_eq!(status(&h, &env).await, EnvironmentStatus::Suspended);
    assert_eq!(state(&h, &env).await, ContainerState::Paused);
    let audit = h
        .store
        .list_audit(&AuditFilter::default(), &PageRequest::first(100))
        .await
        .unwrap()
        .items;
    let suspend = audit
        .iter()
        .find(|e| e.action == "environment.suspend")
        .expect("the suspend is audited");
    assert_eq!(suspend.details["reason"], "idle");
    assert_eq!(suspend.details["idle_minutes"], 15);
    assert_eq!(suspend.actor, AuditActor::System, "the system suspended it");
}

#[tokio::test]
async fn an_exec_postpones_the_suspend_by_the_whole_idle_time() {
    let h = harness().await;
    let (alice, env) = running(&h, "alice", IdlePolicy::DEFAULT).await;
    h.clock.advance(10 * MINUTE);
    h.vb.exec(&alice, env.id, ExecRequest::new(["true"]))
        .await
        .unwrap();
    h.clock.advance(10 * MINUTE);
    assert_eq!(pass(&h).await.suspended, 0, "10 minutes since the exec");
    h.clock.advance(5 * MINUTE);
    assert_eq!(pass(&h).await.suspended, 1, "15 minutes since the exec");
}

#[tokio::test]
async fn terminal_keystrokes_are_activity_but_a_silent_open_terminal_is_not() {
    let h = harness().await;
    let (alice, env) = running(&h, "alice", IdlePolicy::DEFAULT).await;
    h.vb.create_session(
        &alice,
        env.id,
        NewSession {
            session_name: "sh".into(),
            session_type: SessionType::Shell,
            idle_timeout_minutes: Some(24 * 60),
        },
    )
    .await
    .unwrap();
    let size = TerminalSize { cols: 80, rows: 24 };
    let mut terminal =
        h.vb.open_terminal(&alice, env.id, "sh", size)
            .await
            .unwrap();
    h.clock.advance(10 * MINUTE);
    terminal.input.write(b"echo hi\n").await.unwrap();
    h.clock.advance(10 * MINUTE);
    assert_eq!(pass(&h).await.suspended, 0, "a keystroke 10 minutes ago");
    // The terminal stays open and silent.
    h.clock.advance(5 * MINUTE);
    assert_eq!(pass(&h).await.suspended, 1, "silence for 15 minutes");
    assert_eq!(status(&h, &env).await, EnvironmentStatus::Suspended);
    // Typing into the held terminal wakes the environment through the next access.
    drop(terminal);
}

#[tokio::test]
async fn a_streamed_exec_writing_stdin_is_activity() {
    let h = harness().await;
    let (alice, env) = running(&h, "alice", IdlePolicy::DEFAULT).await;
    let mut stream =
        h.vb.exec_stream(&alice, env.id, ExecRequest::new(["cat"]), None)
            .await
            .unwrap();
    h.clock.advance(12 * MINUTE);
    tokio::io::AsyncWriteExt::write_all(&mut stream.stdin, b"bytes\n")
        .await
        .unwrap();
    h.clock.advance(12 * MINUTE);
    assert_eq!(pass(&h).await.suspended, 0, "stdin 12 minutes ago");
    h.clock.advance(3 * MINUTE);
    assert_eq!(pass(&h).await.suspended, 1);
}

#[tokio::test]
async fn a_busy_cpu_keeps_an_untouched_environment_awake() {
    let h = harness().await;
    let (_, env) = running(&h, "alice", IdlePolicy::DEFAULT).await;
    let container = H::container(&env);
    assert!(h.rt.set_usage(&container, 80.0, 64 << 20));
    h.clock.advance(16 * MINUTE);
    let report = pass(&h).await;
    assert_eq!((report.suspended, report.kept_busy), (0, 1), "{report:?}");
    assert_eq!(status(&h, &env).await, EnvironmentStatus::Running);
    // The busy sample counted as activity: the build that ends now has 15 more minutes.
    assert!(h.rt.set_usage(&container, 0.5, 64 << 20));
    h.clock.advance(14 * MINUTE);
    assert_eq!(pass(&h).await.suspended, 0);
    h.clock.advance(MINUTE);
    let report = pass(&h).await;
    assert_eq!((report.suspended, report.kept_busy), (1, 0), "{report:?}");
}

#[tokio::test]
async fn a_long_suspended_environment_is_stopped_and_its_container_with_it() {
    let h = harness().await;
    let (alice, env) = running(&h, "alice", IdlePolicy::DEFAULT).await;
    h.vb.suspend_environment(&alice, env.id).await.unwrap();
    h.clock.advance(23 * HOUR);
    assert_eq!(pass(&h).await.stopped, 0);
    h.clock.advance(HOUR);
    assert_eq!(pass(&h).await.stopped, 1);
    assert_eq!(status(&h, &env).await, EnvironmentStatus::Stopped);
    assert!(
        !state(&h, &env).await.is_live(),
        "the container is stopped, not left frozen"
    );
}

#[tokio::test]
async fn never_means_never() {
    let h = harness().await;
    let (alice, awake) = running(&h, "alice", IdlePolicy::NEVER).await;
    let (bob, asleep) = running(&h, "bob", IdlePolicy::NEVER).await;
    h.vb.suspend_environment(&bob, asleep.id).await.unwrap();
    for _ in 0..3 {
        h.clock.advance(400 * 24 * HOUR);
        let report = pass(&h).await;
        assert_eq!((report.suspended, report.stopped), (0, 0), "{report:?}");
    }
    assert_eq!(status(&h, &awake).await, EnvironmentStatus::Running);
    assert_eq!(status(&h, &asleep).await, EnvironmentStatus::Suspended);
    // Each half of the policy is independent: suspend never, stop after an hour suspended.
    let policy = IdlePolicy {
        suspend_after_minutes: None,
        stop_after_hours: Some(1),
    };
    for (actor, env) in [(&alice, &awake), (&bob, &asleep)] {
        h.vb.update_environment(
            actor,
            env.id,
            EnvironmentPatch {
                idle_policy: Some(policy),
                ..Default::default()
            },
        )
        .await
        .unwrap();
    }
    h.clock.advance(HOUR);
    let report = pass(&h).await;
    assert_eq!((report.suspended, report.stopped), (0, 1), "{report:?}");
    assert_eq!(status(&h, &awake).await, EnvironmentStatus::Running);
    assert_eq!(status(&h, &asleep).await, EnvironmentStatus::Stopped);
}

#[tokio::test]
async fn a_restarted_server_counts_every_environment_as_active_from_its_first_pass() {
    let h = harness().await;
    let (_, env) = running(&h, "alice", IdlePolicy::DEFAULT).await;
    h.clock.advance(60 * MINUTE);
    // A new process on the same store and engine knows no activity yet.
    let restarted = Vibebox::builder()
        .store(h.store.clone())
        .runtime(h.rt.clone())
        .secrets(Arc::new(AesGcmSecrets::new(
            Keyring::generate(KeyId::new("test").unwrap()).unwrap(),
        )))
        .clock(h.clock.clone())
        .config(Config {
            idle_cpu_window: Duration::from_millis(500),
            ..Config::default()
        })
        .build()
        .unwrap();
    assert_eq!(restarted.apply_idle_policies().await.unwrap().suspended, 0);
    h.clock.advance(15 * MINUTE);
    assert_eq!(restarted.apply_idle_policies().await.unwrap().suspended, 1);
    assert_eq!(status(&h, &env).await, EnvironmentStatus::Suspended);
}

#[tokio::test]
async fn an_engine_that_cannot_freeze_leaves_idle_environments_running() {
    let rt = FakeRuntime::new().with_capabilities(Capabilities {
        pause: false,
        ..FakeRuntime::new().capabilities()
    });
    let h = harness_on(rt).await;
    let (_, env) = running(&h, "alice", IdlePolicy::DEFAULT).await;
    h.clock.advance(60 * MINUTE);
    let report = pass(&h).await;
    assert_eq!((report.checked, report.suspended), (1, 0), "{report:?}");
    assert_eq!(status(&h, &env).await, EnvironmentStatus::Running);
}

#[tokio::test]
async fn the_idle_policy_is_validated_naming_the_field_and_kept() {
    let h = harness().await;
    let alice = h.user("alice").await;
    let project = h.project(&alice, "proj", None).await;
    let bad = |suspend, stop| vibebox_core::service::NewEnvironment {
        idle_policy: Some(IdlePolicy {
            suspend_after_minutes: suspend,
            stop_after_hours: stop,
        }),
        ..new_env(&project, "dev")
    };
    for (new, field) in [
        (bad(Some(0), None), "idle_policy.suspend_after_minutes"),
        (bad(Some(10081), None), "idle_policy.suspend_after_minutes"),
        (bad(None, Some(0)), "idle_policy.stop_after_hours"),
        (bad(Some(5), Some(8761)), "idle_policy.stop_after_hours"),
    ] {
        let e = h.vb.create_environment(&alice, new).await.unwrap_err();
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.field(), Some(field), "{e}");
    }
    let env =
        h.vb.create_environment(&alice, new_env(&project, "dev"))
            .await
            .unwrap();
    assert_eq!(env.idle_policy, IdlePolicy::DEFAULT, "the default");
    let patched = IdlePolicy {
        suspend_after_minutes: Some(90),
        stop_after_hours: None,
    };
    let e =
        h.vb.update_environment(
            &alice,
            env.id,
            EnvironmentPatch {
                idle_policy: Some(IdlePolicy {
                    suspend_after_minutes: Some(-1),
                    ..patched
                }),
                name: Some("renamed".into()),
                ..Default::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.field(), Some("idle_policy.suspend_after_minutes"));
    assert_eq!(
        h.store.get_environment(env.id).await.unwrap(),
        env,
        "nothing of a refused patch is written"
    );
    h.vb.update_environment(
        &alice,
        env.id,
        EnvironmentPatch {
            idle_policy: Some(patched),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(
        h.vb.get_environment(&alice, env.id)
            .await
            .unwrap()
            .idle_policy,
        patched
    );
}

#[tokio::test]
async fn the_session_reaper_leaves_a_frozen_environment_alone() {
    let h = harness().await;
    let (alice, env) = running(&h, "alice", IdlePolicy::DEFAULT).await;
    h.vb.create_session(
        &alice,
        env.id,
        NewSession {
            session_name: "main".into(),
            session_type: SessionType::Tmux,
            idle_timeout_minutes: Some(1),
        },
    )
    .await
    .unwrap();
    h.vb.suspend_environment(&alice, env.id).await.unwrap();
    h.clock.advance(2 * MINUTE);
    h.vb.reap_idle_sessions().await.unwrap();
    let reaped = h.vb.reap_idle_sessions().await.unwrap();
    assert_eq!(reaped.terminated, 0, "no kill inside a frozen container");
    assert_eq!(state(&h, &env).await, ContainerState::Paused);
}

/// An access that comes while an idle freeze is under way (the pause held by the engine)
/// neither fails on the frozen container nor is lost: it waits for the freeze, then resumes
/// the environment. Whether it reaches the freeze lock before or after the release, it sees
/// the freeze.
#[tokio::test]
async fn an_access_during_an_idle_freeze_waits_and_resumes_instead_of_failing() {
    let rt = FakeRuntime::new();
    let hold = rt.hold_pauses();
    let h = harness_on(rt).await;
    let (alice, env) = running(&h, "alice", IdlePolicy::DEFAULT).await;
    h.clock.advance(16 * MINUTE);
    let vb = h.vb.clone();
    let pass = tokio::spawn(async move { vb.apply_idle_policies().await.unwrap() });
    hold.arrived().await;
    assert_eq!(
        status(&h, &env).await,
        EnvironmentStatus::Running,
        "the freeze has begun, its status not written"
    );
    let vb = h.vb.clone();
    let access = tokio::spawn(async move {
        vb.exec(&alice, env.id, ExecRequest::new(["echo", "back"]))
            .await
    });
    hold.release();
    let report = pass.await.unwrap();
    assert_eq!(report.suspended, 1, "{report:?}");
    let result = access
        .await
        .unwrap()
        .expect("the access resumed the environment");
    assert_eq!(result.exit_code, Some(0));
    assert_eq!(status(&h, &env).await, EnvironmentStatus::Running);
    assert_eq!(state(&h, &env).await, ContainerState::Running);
}
