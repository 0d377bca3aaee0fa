use std::sync::Arc;

use vibebox_core::ErrorKind;
use vibebox_core::config::Config;
use vibebox_core::domain::EnvironmentStatus;
use vibebox_core::events::EventKind;
use vibebox_core::runtime::{
    HardeningProfile, LABEL_ENVIRONMENT_ID, LABEL_MANAGED, LABEL_PROJECT_ID,
};
use vibebox_core::service::{EnvironmentPatch, NewPort};
use vibebox_core::store::PageRequest;
use vibebox_core::testing::FakeFailure;

use super::harness::{H, wait_for};

#[tokio::test]
async fn start_creates_a_hardened_container_with_the_environment_limits_and_labels() {
    let h = H::new().await;
    let (alice, project, env) = h.owner_with_env("alice").await;
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
    assert!(env.error_message.is_none());
    let spec = h.rt.spec_of(&H::container(&env)).unwrap();
    assert_eq!(spec.image, "vibebox/base:bookworm");
    assert_eq!(spec.limits.nano_cpus, 2_000_000_000);
    assert_eq!(spec.limits.memory_bytes, 512 * 1024 * 1024);
    assert_eq!(spec.limits.pids_limit, 1024);
    assert_eq!(
        spec.limits.storage_bytes, None,
        "the fake cannot enforce storage"
    );
    assert_eq!(spec.hardening, HardeningProfile::Dev);
    assert_eq!(spec.user.as_deref(), Some("1000"));
    assert_eq!(spec.labels[LABEL_MANAGED], "true");
    assert_eq!(spec.labels[LABEL_ENVIRONMENT_ID], env.id.to_string());
    assert_eq!(spec.labels[LABEL_PROJECT_ID], project.id.to_string());
}

#[tokio::test]
async fn start_binds_host_ports_on_loopback_and_stop_clears_them() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.vb.add_port(
        &alice,
        env.id,
        NewPort {
            container_port: 8080,
            host_port: None,
            protocol: None,
        },
    )
    .await
    .unwrap();
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let spec = h.rt.spec_of(&H::container(&env)).unwrap();
    assert_eq!(spec.ports[0].host_ip, "127.0.0.1");
    let ports =
        h.vb.list_ports(&alice, env.id, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    let bound = ports[0]
        .bound_host_port
        .expect("the engine's port is recorded");
    assert!(bound >= 1024);
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    let ports =
        h.vb.list_ports(&alice, env.id, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    assert_eq!(ports[0].bound_host_port, None);
}

#[tokio::test]
async fn status_changes_are_published_in_order() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    h.vb.start_environment(&alice, env.id).await.unwrap();
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        let status = wait_for(&mut rx, |k| match k {
            EventKind::Status { status, .. } => Some(*status),
            _ => None,
        })
        .await;
        seen.push(status);
    }
    use EnvironmentStatus::*;
    assert_eq!(seen, [Starting, Running, Stopping, Stopped]);
}

#[tokio::test]
async fn starting_a_running_environment_is_a_no_op() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let first = h.vb.start_environment(&alice, env.id).await.unwrap();
    let again = h.vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(first.version, again.version);
    assert_eq!(h.rt.container_count(), 1);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_starts_create_one_container() {
    let h = Arc::new(H::new().await);
    let (alice, _, env) = h.owner_with_env("alice").await;
    let starts = (0..8).map(|_| {
        let (h, alice) = (h.clone(), alice.clone());
        tokio::spawn(async move { h.vb.start_environment(&alice, env.id).await })
    });
    let results = futures::future::join_all(starts).await;
    for r in results {
        let env = r.unwrap().unwrap();
        assert!(matches!(
            env.status,
            EnvironmentStatus::Starting | EnvironmentStatus::Running
        ));
    }
    let env = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
    assert_eq!(h.rt.container_count(), 1);
}

#[tokio::test]
async fn a_failing_start_leaves_the_environment_in_error_with_the_message() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.rt.fail_next(FakeFailure::Start);
    let e = h.vb.start_environment(&alice, env.id).await.unwrap_err();
    let env = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Error);
    let message = env.error_message.unwrap();
    assert!(message.contains(&e.to_string()), "{message} / {e}");
    // Retrying from error works.
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
    assert!(env.error_message.is_none());
}

#[tokio::test]
async fn a_missing_image_is_an_error_naming_the_image() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.rt.remove_image("vibebox/base:bookworm");
    let e = h.vb.start_environment(&alice, env.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    let env = h.vb.get_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Error);
    assert!(
        env.error_message
            .unwrap()
            .contains("image vibebox/base:bookworm is not present")
    );
}

#[tokio::test]
async fn the_running_quota_is_enforced_per_user() {
    let h = H::with_config(Config {
        max_running_per_user: 2,
        ..Config::default()
    })
    .await;
    let alice = h.user("alice").await;
    let project = h.project(&alice, "proj", None).await;
    let mut envs = Vec::new();
    for slug in ["one", "two", "three"] {
        envs.push(h.env(&alice, &project, slug).await);
    }
    h.vb.start_environment(&alice, envs[0].id).await.unwrap();
    h.vb.start_environment(&alice, envs[1].id).await.unwrap();
    let e =
        h.vb.start_environment(&alice, envs[2].id)
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
    let third = h.vb.get_environment(&alice, envs[2].id).await.unwrap();
    assert_eq!(third.status, EnvironmentStatus::Stopped);
    h.vb.stop_environment(&alice, envs[0].id).await.unwrap();
    h.vb.start_environment(&alice, envs[2].id).await.unwrap();
}

#[tokio::test]
async fn stopping_while_starting_is_refused_and_stop_is_idempotent() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let stopped = h.vb.stop_environment(&alice, env.id).await.unwrap();
    assert_eq!(
        stopped.version, env.version,
        "stopping a stopped environment changes nothing"
    );
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let env = h.vb.stop_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Stopped);
}

#[tokio::test]
async fn a_restart_keeps_the_container_and_its_filesystem() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let first = h.vb.start_environment(&alice, env.id).await.unwrap();
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    let second = h.vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(first.container_id, second.container_id);
    assert_eq!(h.rt.container_count(), 1);
}

#[tokio::test]
async fn changing_limits_recreates_the_container_at_the_next_start() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let first = h.vb.start_environment(&alice, env.id).await.unwrap();
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    h.vb.update_environment(
        &alice,
        env.id,
        EnvironmentPatch {
            memory_limit: Some(1024),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    let second = h.vb.start_environment(&alice, env.id).await.unwrap();
    assert_ne!(first.container_id, second.container_id);
    assert_eq!(h.rt.container_count(), 1, "the old container is removed");
    let spec = h.rt.spec_of(&H::container(&second)).unwrap();
    assert_eq!(spec.limits.memory_bytes, 1024 * 1024 * 1024);
}

#[tokio::test]
async fn deleting_a_running_environment_stops_it_and_removes_the_container() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    let mut rx = h.vb.subscribe(&alice, env.id).await.unwrap();
    h.vb.start_environment(&alice, env.id).await.unwrap();
    h.vb.delete_environment(&alice, env.id).await.unwrap();
    assert_eq!(h.rt.container_count(), 0);
    assert_eq!(
        h.vb.get_environment(&alice, env.id)
            .await
            .unwrap_err()
            .kind(),
        ErrorKind::NotFound
    );
    wait_for(&mut rx, |k| matches!(k, EventKind::Deleted).then_some(())).await;
}

#[tokio::test]
async fn an_unavailable_engine_fails_the_start_with_unavailable() {
    let h = H::new().await;
    let (alice, _, env) = h.owner_with_env("alice").await;
    h.rt.set_unavailable(true);
    let e = h.vb.start_environment(&alice, env.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    h.rt.set_unavailable(false);
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
}
