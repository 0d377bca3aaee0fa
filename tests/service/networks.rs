//! Project networks on the fake engine: one labelled network per project from the pool,
//! disjoint subnets, removal with the last environment and by the reconciler, and the move
//! off the default bridge.

use std::collections::BTreeSet;

use vibebox_core::ErrorKind;
use vibebox_core::config::{Config, NetworkPool};
use vibebox_core::domain::EnvironmentStatus;
use vibebox_core::runtime::{ContainerRuntime, Ipv4Subnet, NetworkSpec};

use super::harness::H;

fn pool(range: &str, prefix: u8) -> Option<NetworkPool> {
    Some(NetworkPool::new(Ipv4Subnet::parse(range).unwrap(), prefix).unwrap())
}

fn network_of(h: &H, project: vibebox_core::id::ProjectId) -> String {
    let name = format!("{}net-{project}", h.vb.config().container_name_prefix);
    assert!(
        h.rt.networks().contains(&name),
        "{name} in {:?}",
        h.rt.networks()
    );
    name
}

#[tokio::test]
async fn environments_of_a_project_share_one_labelled_network_from_the_pool() {
    let h = H::new().await;
    let (alice, project, dev) = h.owner_with_env("alice").await;
    let web = h.env(&alice, &project, "web").await;
    let dev = h.vb.start_environment(&alice, dev.id).await.unwrap();
    let web = h.vb.start_environment(&alice, web.id).await.unwrap();
    let name = network_of(&h, project.id);
    let info = h.rt.inspect_network(&name).await.unwrap();
    let pool = NetworkPool::default();
    assert_eq!(info.subnets.len(), 1);
    assert!(pool.range().overlaps(&info.subnets[0]));
    assert_eq!(info.subnets[0].prefix(), pool.prefix());
    assert_eq!(
        info.labels.get("vibebox.managed").map(String::as_str),
        Some("true")
    );
    assert_eq!(
        info.labels.get("vibebox.project_id"),
        Some(&project.id.to_string())
    );
    let attached: BTreeSet<_> = info.containers.into_iter().collect();
    assert_eq!(
        attached,
        BTreeSet::from([H::container(&dev), H::container(&web)])
    );
    let container = h.rt.inspect(&H::container(&dev)).await.unwrap();
    assert_eq!(container.networks, vec![name]);
}

#[tokio::test]
async fn projects_get_disjoint_subnets_and_a_thousand_fit_in_the_default_pool() {
    let h = H::new().await;
    let pool = NetworkPool::default();
    assert!(pool.capacity() >= 1000, "{}", pool.capacity());
    // 999 projects' networks already exist, on the subnets the allocator would try first
    // for most of them; the next project still gets a free one.
    let mut taken = Vec::new();
    for i in 0..999 {
        let subnet = pool.subnet(i).unwrap();
        h.rt.create_network(&NetworkSpec {
            name: format!("other-project-{i}"),
            subnet,
            labels: Default::default(),
        })
        .await
        .unwrap();
        taken.push(subnet);
    }
    let (alice, project, env) = h.owner_with_env("alice").await;
    let (bob, bob_project, bob_env) = h.owner_with_env("bob").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    h.vb.start_environment(&bob, bob_env.id).await.unwrap();
    let mine =
        h.rt.inspect_network(&network_of(&h, project.id))
            .await
            .unwrap()
            .subnets[0];
    let bobs =
        h.rt.inspect_network(&network_of(&h, bob_project.id))
            .await
            .unwrap()
            .subnets[0];
    assert!(!mine.overlaps(&bobs), "{mine} vs {bobs}");
    for t in &taken {
        assert!(!t.overlaps(&mine) && !t.overlaps(&bobs), "{t} reused");
    }
    // 1,001 project networks, none overlapping, plus the engine's default bridge.
    let all = h.rt.list_networks(&[]).await.unwrap();
    assert_eq!(all.len(), 1002);
    let subnets: Vec<Ipv4Subnet> = all.iter().flat_map(|n| n.subnets.clone()).collect();
    for (i, a) in subnets.iter().enumerate() {
        assert!(
            subnets[i + 1..].iter().all(|b| !a.overlaps(b)),
            "{a} overlaps"
        );
    }
}

#[tokio::test]
async fn an_exhausted_pool_fails_the_start_naming_the_pool() {
    let h = H::with_config(Config {
        network_pool: pool("10.99.0.0/27", 28),
        ..Config::default()
    })
    .await;
    let alice = h.user("alice").await;
    let mut errors = Vec::new();
    for i in 0..3 {
        let project = h.project(&alice, &format!("proj-{i}"), None).await;
        let env = h.env(&alice, &project, "dev").await;
        match h.vb.start_environment(&alice, env.id).await {
            Ok(e) => assert_eq!(e.status, EnvironmentStatus::Running),
            Err(e) => {
                let env = h.vb.get_environment(&alice, env.id).await.unwrap();
                assert_eq!(env.status, EnvironmentStatus::Error);
                errors.push(e);
            }
        }
    }
    // Two /28 subnets in a /27: the third project finds none.
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].kind(), ErrorKind::Conflict);
    let message = errors[0].to_string();
    assert!(
        message.contains("10.99.0.0/27") && message.contains("/28"),
        "{message}"
    );
}

#[tokio::test]
async fn the_network_goes_with_the_last_environment_of_the_project() {
    let h = H::new().await;
    let (alice, project, dev) = h.owner_with_env("alice").await;
    let web = h.env(&alice, &project, "web").await;
    h.vb.start_environment(&alice, dev.id).await.unwrap();
    h.vb.start_environment(&alice, web.id).await.unwrap();
    let name = network_of(&h, project.id);
    h.vb.delete_environment(&alice, dev.id).await.unwrap();
    assert!(
        h.rt.networks().contains(&name),
        "kept for the other environment"
    );
    h.vb.delete_environment(&alice, web.id).await.unwrap();
    assert!(!h.rt.networks().contains(&name), "{:?}", h.rt.networks());
}

#[tokio::test]
async fn the_reconciler_removes_networks_of_projects_without_environments() {
    let h = H::new().await;
    let (alice, project, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    let kept = network_of(&h, project.id);
    // A network left by a project deleted while the engine was failing, and one of a
    // project that exists but has no environment.
    let gone = vibebox_core::id::ProjectId::new();
    let empty = h.project(&alice, "empty", None).await;
    let pool = NetworkPool::default();
    for (i, p) in [gone, empty.id].into_iter().enumerate() {
        let mut labels: std::collections::BTreeMap<_, _> =
            [("vibebox.managed".to_string(), "true".to_string())].into();
        labels.insert("vibebox.project_id".into(), p.to_string());
        h.rt.create_network(&NetworkSpec {
            name: format!("{}net-{p}", h.vb.config().container_name_prefix),
            subnet: pool.subnet(2000 + i as u64).unwrap(),
            labels,
        })
        .await
        .unwrap();
    }
    // And a network of another system, without VibeBox's labels.
    h.rt.create_network(&NetworkSpec {
        name: "someone-elses".into(),
        subnet: pool.subnet(2010).unwrap(),
        labels: Default::default(),
    })
    .await
    .unwrap();
    let report = h.vb.reconcile().await.unwrap();
    assert_eq!(report.networks_removed, 2);
    let left = h.rt.networks();
    assert!(
        left.contains(&kept) && left.contains(&"someone-elses".to_string()),
        "{left:?}"
    );
    assert_eq!(left.len(), 3, "{left:?}");
    assert_eq!(h.vb.reconcile().await.unwrap().networks_removed, 0);
}

#[tokio::test]
async fn an_environment_on_the_default_bridge_moves_to_its_project_network_at_next_start() {
    let h = H::with_config(Config {
        network_pool: None,
        ..Config::default()
    })
    .await;
    let (alice, project, env) = h.owner_with_env("alice").await;
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    let before = H::container(&env);
    assert_eq!(
        h.rt.inspect(&before).await.unwrap().networks,
        vec!["bridge".to_string()]
    );
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    assert_eq!(h.rt.networks(), vec!["bridge".to_string()]);

    // The same store and engine, now with a pool.
    let vb = vibebox_core::Vibebox::builder()
        .store(h.store.clone())
        .runtime(h.rt.clone())
        .secrets(h.vb.unchecked().secrets().clone())
        .clock(h.clock.clone())
        .config(Config::default())
        .build()
        .unwrap();
    let env = vb.start_environment(&alice, env.id).await.unwrap();
    let after = H::container(&env);
    assert_ne!(after, before, "recreated on the project's network");
    let name = network_of(&h, project.id);
    assert_eq!(h.rt.inspect(&after).await.unwrap().networks, vec![name]);
    assert!(
        h.rt.inspect(&before).await.is_err(),
        "the old container is gone"
    );
}

#[tokio::test]
async fn a_network_removed_while_stopped_is_made_again_at_start() {
    let h = H::new().await;
    let (alice, project, env) = h.owner_with_env("alice").await;
    h.vb.start_environment(&alice, env.id).await.unwrap();
    h.vb.stop_environment(&alice, env.id).await.unwrap();
    let name = network_of(&h, project.id);
    h.rt.remove_network(&name).await.unwrap();
    let env = h.vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(env.status, EnvironmentStatus::Running);
    let info = h.rt.inspect(&H::container(&env)).await.unwrap();
    assert_eq!(info.networks, vec![name.clone()]);
    assert!(
        h.rt.inspect_network(&name)
            .await
            .unwrap()
            .containers
            .contains(&info.id)
    );
}
