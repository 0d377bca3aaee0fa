//! Suspend and resume (issue 18): the freeze, the resume any access triggers, the quota,
//! and the reconciler following the engine.

use std::time::Duration;

use vibebox_core::config::Config;
use vibebox_core::domain::{Environment, EnvironmentStatus};
use vibebox_core::events::EventKind;
use vibebox_core::rbac::Actor;
use vibebox_core::runtime::{Capabilities, ContainerRuntime, ContainerState};
use vibebox_core::service::ExecRequest;
use vibebox_core::store::{AuditFilter, PageRequest};
use vibebox_core::testing::FakeRuntime;
use vibebox_core::{ErrorKind, Vibebox};

use super::harness::{H, wait_for};

/// A user with a running environment, suspended.
async fn suspended(h: &H, name: &str) -> (Actor, Environment) {
    let (actor, _, env) = h.owner_with_env(name).await;
    h.vb.start_environment(&actor, env.id).await.unwrap();
    let env = h.vb.suspend_environment(&actor, env.id).await.unwrap();
    (actor, env)
}

async fn state(h: &H, env: &Environment) -> ContainerState {
    h.rt.inspect(&H::container(env)).await.unwrap().state
}

async fn status(h: &H, actor: &Actor, env: &Environment) -> EnvironmentStatus {
    h.vb.get_environment(actor, env.id).await.unwrap().status
}

fn echo(text: &str) -> ExecRequest {
    ExecRequest::new(["sh", "-c", &format!("echo {text}")])
}

#[tokio::test]
async fn suspending_freezes_the_container_and_is_audited() {
    let h = H::new().await;
    let (alice, env) = suspended(&h, "alice").await;
    assert_eq!(env.status, EnvironmentStatus::Suspended);
    assert_eq!(state(&h, &env).await, ContainerState::Paused);
    let audit = h
        .store
        .list_audit(&AuditFilter::default(), &PageRequest::first(100))
        .await
        .unwrap()
        .items;
    assert!(audit.iter().any(|e| e.action == "environment.suspend"));
    // Suspending again changes nothing.
    let again = h.vb.suspend_environment(&alice, env.id).await.unwrap();
    assert_eq!(again.version, env.version);
}

#[tokio::test]
async fn only_a_running_environment_can_be_suspended() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let e = h.vb.suspend_environment(&alice, env.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    assert_eq!(
        e.to_string(),
        "environment cannot go from stopped to suspended"
    );
}

#[tokio::test]
async fn a_viewer_can_neither_suspend_nor_resume() {
    let h = H::new().await;
    let t = h.team_env().await;
    h.vb.start_environment(&t.alice, t.env.id).await.unwrap();
    let e =
        h.vb.suspend_environment(&t.viewer, t.env.id)
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    h.vb.suspend_environment(&t.alice, t.env.id).await.unwrap();
    let e =
        h.vb.resume_environment(&t.viewer, t.env.id)
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::PermissionDenied);
    assert_eq!(
        status(&h, &t.alice, &t.env).await,
        EnvironmentStatus::Suspended
    );
}

#[tokio::test]
async fn an_engine_that_cannot_freeze_refuses_with_unsupported() {
    let rt = FakeRuntime::new().with_capabilities(Capabilities {
        storage_limit: false,
        kill_exec: true,
        stats: true,
        local_ports: false,
        pause: false,
    });
    let h = H::with_runtime(rt, Config::default()).await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let e = h.vb.suspend_environment(&alice, env.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unsupported);
    assert_eq!(status(&h, &alice, &env).await, EnvironmentStatus::Running);
}

#[tokio::test]
async fn a_suspended_environment_counts_toward_the_running_quota() {
    let h = H::with_config(Config {
        max_running_per_user: 1,
        ..Config::default()
    })
    .await;
    let (alice, env) = suspended(&h, "alice").await;
    let project = h.vb.get_project(&alice, env.project_id).await.unwrap();
    let second = h.env(&alice, &project, "second").await;
    let e = h.vb.start_environment(&alice, second.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
}

#[tokio::test]
async fn an_exec_resumes_a_suspended_environment_and_answers() {
    let h = H::new().await;
    let (alice, env) = suspended(&h, "alice").await;
    let mut events = h.vb.events().subscribe(env.id);
    let r = h.vb.exec(&alice, env.id, echo("awake")).await.unwrap();
    assert_eq!(&r.stdout[..], b"awake\n");
    assert_eq!(status(&h, &alice, &env).await, EnvironmentStatus::Running);
    assert_eq!(state(&h, &env).await, ContainerState::Running);
    // The stream told watchers: resuming, then running.
    let first = wait_for(&mut events, |k| match k {
        EventKind::Status { status, .. } => Some(*status),
        _ => None,
    })
    .await;
    assert_eq!(first, EnvironmentStatus::Resuming);
    let second = wait_for(&mut events, |k| match k {
        EventKind::Status { status, .. } => Some(*status),
        _ => None,
    })
    .await;
    assert_eq!(second, EnvironmentStatus::Running);
}

#[tokio::test]
async fn concurrent_accesses_share_one_resume() {
    let h = H::new().await;
    let (alice, env) = suspended(&h, "alice").await;
    let mut events = h.vb.events().subscribe(env.id);
    let mut tasks = Vec::new();
    for i in 0..8 {
        let vb: Vibebox = h.vb.clone();
        let alice = alice.clone();
        tasks.push(tokio::spawn(async move {
            vb.exec(&alice, env.id, echo(&format!("n{i}"))).await
        }));
    }
    for (i, task) in tasks.into_iter().enumerate() {
        let r = task.await.unwrap().unwrap();
        assert_eq!(r.stdout, format!("n{i}\n").into_bytes());
    }
    let mut resumes = 0;
    while let Ok(event) = events.try_recv() {
        if let EventKind::Status { status, .. } = event.kind
            && status == EnvironmentStatus::Resuming
        {
            resumes += 1;
        }
    }
    assert_eq!(resumes, 1, "one resume for eight accesses");
}

#[tokio::test]
async fn an_explicit_resume_thaws_and_only_a_suspended_environment_resumes() {
    let h = H::new().await;
    let (alice, env) = suspended(&h, "alice").await;
    let env = h.vb.resume_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
    assert_eq!(state(&h, &env).await, ContainerState::Running);
    let again = h.vb.resume_environment(&alice, env.id).await.unwrap();
    assert_eq!(again.version, env.version);
    let (_, _, stopped) = h.owner_with_env("bob").await;
    let bob = h.user("bob2").await;
    let _ = bob;
    let e =
        h.vb.resume_environment(&alice, stopped.id)
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "bob's environment is hidden");
}

#[tokio::test]
async fn a_suspended_environment_can_be_stopped_and_deleted() {
    let h = H::new().await;
    let (alice, env) = suspended(&h, "alice").await;
    let stopped = h.vb.stop_environment(&alice, env.id).await.unwrap();
    assert_eq!(stopped.status, EnvironmentStatus::Stopped);
    h.vb.start_environment(&alice, env.id).await.unwrap();
    h.vb.suspend_environment(&alice, env.id).await.unwrap();
    h.vb.delete_environment(&alice, env.id).await.unwrap();
    let e = h.vb.get_environment(&alice, env.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let e = h.rt.inspect(&H::container(&env)).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound, "the container went with it");
}

#[tokio::test]
async fn a_resume_whose_container_vanished_fails_the_environment() {
    let h = H::new().await;
    let (alice, env) = suspended(&h, "alice").await;
    h.rt.remove(&H::container(&env)).await.unwrap();
    let e = h.vb.exec(&alice, env.id, echo("x")).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::NotFound);
    let env = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Error);
    assert!(
        env.error_message
            .unwrap()
            .contains("start the environment again"),
        "the way out is named"
    );
}

#[tokio::test]
async fn a_container_paused_behind_our_back_makes_the_environment_suspended() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    h.rt.pause(&H::container(&env)).await.unwrap();
    let report = h.vb.reconcile().await.unwrap();
    assert_eq!(report.repaired, 1);
    assert_eq!(status(&h, &alice, &env).await, EnvironmentStatus::Suspended);
    // And then thawed behind our back: running again.
    h.rt.resume(&H::container(&env)).await.unwrap();
    let report = h.vb.reconcile().await.unwrap();
    assert_eq!(report.repaired, 1);
    assert_eq!(status(&h, &alice, &env).await, EnvironmentStatus::Running);
    // Nothing to repair when they agree.
    assert_eq!(h.vb.reconcile().await.unwrap().repaired, 0);
}

#[tokio::test]
async fn a_resume_interrupted_past_its_deadline_follows_the_engine() {
    let h = H::new().await;
    let (alice, env) = suspended(&h, "alice").await;
    // A server that died after writing `resuming`, before thawing.
    let mut resuming = env.clone();
    resuming.status = EnvironmentStatus::Resuming;
    h.store
        .update_environment(&resuming, env.status, env.version)
        .await
        .unwrap();
    assert_eq!(
        h.vb.reconcile().await.unwrap().repaired,
        0,
        "a resume in flight is left alone"
    );
    h.clock
        .advance(Config::default().transition_deadline + Duration::from_secs(1));
    assert_eq!(h.vb.reconcile().await.unwrap().repaired, 1);
    assert_eq!(status(&h, &alice, &env).await, EnvironmentStatus::Suspended);
    // The next access resumes it as usual.
    let r = h.vb.exec(&alice, env.id, echo("back")).await.unwrap();
    assert_eq!(&r.stdout[..], b"back\n");
}

#[tokio::test]
async fn metrics_of_a_suspended_environment_show_it_frozen_without_resuming_it() {
    use futures::StreamExt;
    let h = H::new().await;
    let (alice, env) = suspended(&h, "alice").await;
    assert!(h.rt.set_usage(&H::container(&env), 70.0, 128 << 20));
    let mut stats = h.vb.metrics(&alice, env.id).await.unwrap();
    let sample = stats.next().await.unwrap().unwrap();
    assert_eq!(sample.cpu_percent, 0.0, "a frozen container gets no CPU");
    assert_eq!(sample.memory_bytes, 128 << 20, "its memory is kept");
    assert_eq!(status(&h, &alice, &env).await, EnvironmentStatus::Suspended);
    assert_eq!(state(&h, &env).await, ContainerState::Paused);
}
