//! The warm pool (issue 18) on the fake engine: a matching create-and-start claims a warm
//! container instead of creating one, anything else starts cold, the refill keeps each shape
//! full, and warm containers are never anyone's environment until claimed.

use std::sync::Arc;

use vibebox_core::config::{Config, PoolShape};
use vibebox_core::domain::{Environment, EnvironmentStatus, Project};
use vibebox_core::rbac::Actor;
use vibebox_core::runtime::ContainerRuntime;
use vibebox_core::secrets::{AesGcmSecrets, KeyId, Keyring};
use vibebox_core::service::NewEnvironment;
use vibebox_core::store::PageRequest;
use vibebox_core::{ErrorKind, Vibebox};

use super::harness::{H, new_env};

const IMAGE: &str = "vibebox/base:bookworm";

fn pooled(count: usize) -> Config {
    Config {
        default_sessions: vec![],
        pool: vec![PoolShape {
            image: IMAGE.into(),
            cpu_limit: 2.0,
            memory_limit: 512,
            count,
        }],
        ..Config::default()
    }
}

/// `new_env` (2 cores by default, 512 MB: the pool's shape), started at once.
fn started(project: &Project, slug: &str) -> NewEnvironment {
    NewEnvironment {
        start: true,
        ..new_env(project, slug)
    }
}

async fn owner(h: &H, name: &str) -> (Actor, Project) {
    let actor = h.user(name).await;
    let project = h.project(&actor, &format!("{name}-proj"), None).await;
    (actor, project)
}

/// The warm containers on the engine: labelled for the pool, with no environment of theirs.
async fn warm_containers(h: &H) -> usize {
    let mut n = 0;
    for c in h.rt.list(&[]).await.unwrap() {
        let env = c.labels["vibebox.environment_id"].parse().unwrap();
        if c.labels.contains_key("vibebox.pool") && h.store.get_environment(env).await.is_err() {
            n += 1;
        }
    }
    n
}

#[tokio::test]
async fn a_create_and_start_of_the_shape_claims_a_warm_container_and_the_pool_refills() {
    let h = H::with_config(pooled(2)).await;
    let report = h.vb.refill_pool().await.unwrap();
    assert_eq!((report.created, report.warm), (2, 2), "{report:?}");
    let (alice, project) = owner(&h, "alice").await;
    let before = h.rt.container_count();
    let env =
        h.vb.create_environment(&alice, started(&project, "dev"))
            .await
            .unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
    assert_eq!(h.rt.container_count(), before, "no container was created");
    let info = h.rt.inspect(&H::container(&env)).await.unwrap();
    assert!(info.state.is_running());
    assert_eq!(
        info.labels["vibebox.environment_id"],
        env.id.to_string(),
        "the warm container was made for this id"
    );
    assert_eq!(
        info.networks,
        vec![format!("vibebox-net-{}", project.id)],
        "on its project's network only"
    );
    assert_eq!(warm_containers(&h).await, 1);
    // The environment is like any other: listed, stopped, started again (cold this time).
    let listed =
        h.vb.list_environments(&alice, Some(project.id), &PageRequest::first(10))
            .await
            .unwrap()
            .items;
    assert_eq!(listed.len(), 1);
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    let again = h.vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(again.status, EnvironmentStatus::Running);
    let report = h.vb.refill_pool().await.unwrap();
    assert_eq!((report.created, report.warm), (1, 2), "{report:?}");
}

#[tokio::test]
async fn another_shape_a_plain_create_or_an_empty_pool_starts_cold() {
    let h = H::with_config(pooled(1)).await;
    let (alice, project) = owner(&h, "alice").await;
    // The pool was never filled: a cold start, and no failure.
    let cold =
        h.vb.create_environment(&alice, started(&project, "empty"))
            .await
            .unwrap();
    assert_eq!(cold.status, EnvironmentStatus::Running);
    h.vb.refill_pool().await.unwrap();
    let before = h.rt.container_count();
    let bigger =
        h.vb.create_environment(
            &alice,
            NewEnvironment {
                memory_limit: Some(1024),
                ..started(&project, "bigger")
            },
        )
        .await
        .unwrap();
    assert_eq!(bigger.status, EnvironmentStatus::Running);
    assert_eq!(h.rt.container_count(), before + 1, "created cold");
    let plain =
        h.vb.create_environment(&alice, new_env(&project, "plain"))
            .await
            .unwrap();
    assert_eq!(plain.status, EnvironmentStatus::Stopped);
    assert_eq!(warm_containers(&h).await, 1, "the warm one is still there");
}

#[tokio::test]
async fn a_refused_create_keeps_its_warm_container_for_the_next() {
    let h = H::with_config(pooled(1)).await;
    h.vb.refill_pool().await.unwrap();
    let (alice, project) = owner(&h, "alice").await;
    h.vb.create_environment(&alice, new_env(&project, "dev"))
        .await
        .unwrap();
    let e =
        h.vb.create_environment(&alice, started(&project, "dev"))
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::AlreadyExists);
    assert_eq!(e.field(), Some("slug"));
    let before = h.rt.container_count();
    let env =
        h.vb.create_environment(&alice, started(&project, "other"))
            .await
            .unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
    assert_eq!(
        h.rt.container_count(),
        before,
        "the same warm container served"
    );
}

#[tokio::test]
async fn the_running_quota_is_checked_before_anything_is_created() {
    let h = H::with_config(Config {
        max_running_per_user: 1,
        ..pooled(2)
    })
    .await;
    h.vb.refill_pool().await.unwrap();
    let (alice, project) = owner(&h, "alice").await;
    h.vb.create_environment(&alice, started(&project, "one"))
        .await
        .unwrap();
    let e =
        h.vb.create_environment(&alice, started(&project, "two"))
            .await
            .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::QuotaExceeded);
    let listed =
        h.vb.list_environments(&alice, Some(project.id), &PageRequest::first(10))
            .await
            .unwrap()
            .items;
    assert_eq!(listed.len(), 1, "nothing half-made");
    assert_eq!(warm_containers(&h).await, 1);
}

#[tokio::test]
async fn the_reconciler_leaves_warm_containers_and_a_restart_adopts_or_removes_them() {
    let h = H::with_config(pooled(2)).await;
    h.vb.refill_pool().await.unwrap();
    let report = h.vb.reconcile().await.unwrap();
    assert_eq!(report.orphans_removed, 0, "{report:?}");
    assert_eq!(warm_containers(&h).await, 2);
    // A new process with the same shapes adopts them rather than making more.
    let restarted = service(&h, pooled(2));
    let report = restarted.refill_pool().await.unwrap();
    assert_eq!(
        (report.adopted, report.created, report.removed),
        (2, 0, 0),
        "{report:?}"
    );
    // The reconciler of one whose shapes changed removes them, with their home volumes.
    let volumes = h.rt.volumes().len();
    let changed = service(&h, Config::default());
    let report = changed.reconcile().await.unwrap();
    assert_eq!(
        (report.warm_removed, report.orphans_removed),
        (2, 0),
        "{report:?}"
    );
    assert_eq!(warm_containers(&h).await, 0);
    assert_eq!(h.rt.volumes().len(), volumes - 2);
}

#[tokio::test]
async fn deleting_a_claimed_environment_removes_its_container_and_home() {
    let h = H::with_config(pooled(1)).await;
    h.vb.refill_pool().await.unwrap();
    let (alice, project) = owner(&h, "alice").await;
    let env: Environment =
        h.vb.create_environment(&alice, started(&project, "dev"))
            .await
            .unwrap();
    let home = format!("vibebox-{}-home", env.id);
    assert!(h.rt.volumes().contains(&home), "{:?}", h.rt.volumes());
    h.vb.delete_environment(&alice, env.id).await.unwrap();
    assert!(h.rt.inspect(&H::container(&env)).await.is_err());
    assert!(!h.rt.volumes().contains(&home));
}

/// Another service on the same store and engine (a restarted process).
fn service(h: &H, config: Config) -> Vibebox {
    Vibebox::builder()
        .store(h.store.clone())
        .runtime(h.rt.clone())
        .secrets(Arc::new(AesGcmSecrets::new(
            Keyring::generate(KeyId::new("test").unwrap()).unwrap(),
        )))
        .clock(h.clock.clone())
        .config(config)
        .build()
        .unwrap()
}

#[tokio::test]
async fn two_servers_holding_one_warm_container_claim_it_once() {
    let h = H::with_config(pooled(1)).await;
    h.vb.refill_pool().await.unwrap();
    // A second server on the same store and engine adopts the same warm container.
    let other = service(&h, pooled(1));
    assert_eq!(other.refill_pool().await.unwrap().adopted, 1);
    let (alice, project) = owner(&h, "alice").await;
    let (a, b) = tokio::join!(
        h.vb.create_environment(&alice, started(&project, "first")),
        other.create_environment(&alice, started(&project, "second")),
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert_eq!(a.status, EnvironmentStatus::Running);
    assert_eq!(b.status, EnvironmentStatus::Running);
    assert_ne!(a.id, b.id);
    assert_ne!(a.container_id, b.container_id, "one claim per container");
    let from_pool = [&a, &b]
        .iter()
        .filter(|e| {
            h.rt.spec_of(&H::container(e))
                .is_some_and(|s| s.labels.contains_key("vibebox.pool"))
        })
        .count();
    assert_eq!(from_pool, 1, "exactly one of them got the warm container");
}
