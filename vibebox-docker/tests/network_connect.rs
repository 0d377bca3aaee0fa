//! `connect_network` and `disconnect_network` on the real engine, where names resolve: a
//! container connected with an alias answers to it (and to its name) on that network until it
//! is disconnected, and connecting it again with other aliases changes nothing. The fake
//! engine resolves no names, so this is not part of the shared conformance suite.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use futures::StreamExt;
use vibebox_core::ErrorKind;
use vibebox_core::runtime::{
    ContainerId, ContainerRuntime, ExecSpec, Ipv4Subnet, NetworkAttachment, NetworkSpec,
};
use vibebox_core::testing::runtime_checks::RuntimeFixture;
use vibebox_docker::DockerRuntime;

/// Where the test takes its subnet from (the conformance checks use 10.254.0.0/16).
const POOL: &str = "10.253.0.0/16";

/// Removes the test's containers, then its network, when dropped (also when it failed).
struct Cleanup {
    label: String,
    network: String,
}

impl Drop for Cleanup {
    fn drop(&mut self) {
        drop(common::RemoveOnDrop(self.label.clone()));
        common::docker(&["network", "rm", &self.network]);
    }
}

/// Creates the network on the first free /28 of [`POOL`].
async fn create_network(rt: &DockerRuntime, fx: &RuntimeFixture, name: &str) {
    let pool = Ipv4Subnet::parse(POOL).unwrap();
    for index in 0..pool.subnet_count(28) {
        let spec = NetworkSpec {
            name: name.to_string(),
            subnet: pool.nth_subnet(28, index).unwrap(),
            labels: fx.labels.iter().cloned().collect(),
        };
        match rt.create_network(&spec).await {
            Ok(_) => return,
            Err(e) if e.kind() == ErrorKind::Conflict => continue,
            Err(e) => panic!("create network {name}: {e}"),
        }
    }
    panic!("no free /28 in {POOL}");
}

/// Whether `name` resolves in the container (busybox `nslookup` against the engine's DNS).
async fn resolves(rt: &DockerRuntime, id: &ContainerId, name: &str) -> bool {
    let spec = ExecSpec {
        cmd: vec!["nslookup".into(), name.into()],
        ..ExecSpec::default()
    };
    let mut session = rt.exec(id, &spec).await.expect("exec nslookup");
    while session.output.next().await.is_some() {}
    for _ in 0..200 {
        let info = rt.inspect_exec(&session.id).await.expect("inspect_exec");
        if !info.running {
            return info.exit_code == Some(0);
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
    }
    panic!("nslookup {name} did not end");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_alias_given_at_connect_resolves_on_the_network_until_disconnect() {
    let rt = common::runtime().await;
    let fx = RuntimeFixture::new(common::TEST_IMAGE);
    let network = fx.network_name("resolve");
    let _cleanup = Cleanup {
        label: format!("vibebox.conformance.run={}", fx.labels[1].1),
        network: network.clone(),
    };
    create_network(&rt, &fx, &network).await;

    let mover_spec = fx.spec("mover");
    let mover = rt.create(&mover_spec).await.unwrap();
    rt.start(&mover).await.unwrap();
    let mut peer_spec = fx.spec("peer");
    peer_spec.network = Some(NetworkAttachment {
        network: network.clone(),
        aliases: Vec::new(),
    });
    let peer = rt.create(&peer_spec).await.unwrap();
    rt.start(&peer).await.unwrap();
    assert!(!resolves(&rt, &peer, "mover-alias").await, "not yet on it");

    let joined = NetworkAttachment {
        network: network.clone(),
        aliases: vec!["mover-alias".into()],
    };
    rt.connect_network(&mover, &joined).await.unwrap();
    assert!(resolves(&rt, &peer, "mover-alias").await);
    assert!(resolves(&rt, &peer, &mover_spec.name).await);

    // Connected already: the engine's 403 is a success, and the aliases stay as they were.
    let other = NetworkAttachment {
        network: network.clone(),
        aliases: vec!["other-alias".into()],
    };
    rt.connect_network(&mover, &other).await.unwrap();
    assert!(resolves(&rt, &peer, "mover-alias").await);
    assert!(!resolves(&rt, &peer, "other-alias").await);

    rt.disconnect_network(&mover, &network).await.unwrap();
    assert!(!resolves(&rt, &peer, "mover-alias").await);
    assert!(!resolves(&rt, &peer, &mover_spec.name).await);
    let info = rt.inspect(&mover).await.unwrap();
    assert!(info.state.is_running(), "{info:?}");
    assert_eq!(info.networks, vec!["bridge".to_string()]);
}
