//! Checks of networks: create, inspect, list and remove; names and subnets are exclusive; a
//! running container holds its network; a missing network is `NotFound`; containers are
//! connected to networks and disconnected from them, idempotently.

use std::collections::BTreeMap;

use super::{RuntimeFixture, Scope, absent_id, expect_kind, guarded, within};
use crate::error::{ErrorKind, Result};
use crate::runtime::{
    ContainerId, ContainerRuntime, ContainerState, Ipv4Subnet, NetworkAttachment, NetworkInfo,
    NetworkSpec,
};

/// Where the checks take their subnets from: a range Docker's default pools do not use.
const CHECK_POOL: &str = "10.254.0.0/16";
/// The size of each check network.
const CHECK_PREFIX: u8 = 28;

impl RuntimeFixture {
    /// The name of a check network: the fixture's name prefix plus `net-<suffix>`.
    pub fn network_name(&self, suffix: &str) -> String {
        format!("{}net-{suffix}", self.name_prefix)
    }
}

impl Scope<'_> {
    /// Creates a network named for the fixture on the first free subnet of the check pool,
    /// and removes it when the check ends.
    async fn create_network(&self, fx: &RuntimeFixture, suffix: &str) -> NetworkInfo {
        let name = fx.network_name(suffix);
        let pool = Ipv4Subnet::parse(CHECK_POOL).expect("the check pool parses");
        for index in 0..pool.subnet_count(CHECK_PREFIX) {
            let Some(subnet) = pool.nth_subnet(CHECK_PREFIX, index) else {
                break;
            };
            match self
                .rt
                .create_network(&network_spec(fx, &name, subnet))
                .await
            {
                Ok(info) => {
                    self.networks.lock().unwrap().push(name.clone());
                    return info;
                }
                // Taken by another check or another run: try the next one.
                Err(e) if e.kind() == ErrorKind::Conflict => continue,
                Err(e) => panic!("create network {name} failed: {e}"),
            }
        }
        panic!("no free /{CHECK_PREFIX} subnet in {CHECK_POOL}")
    }
}

fn network_spec(fx: &RuntimeFixture, name: &str, subnet: Ipv4Subnet) -> NetworkSpec {
    NetworkSpec {
        name: name.to_string(),
        subnet,
        labels: fx.labels.iter().cloned().collect::<BTreeMap<_, _>>(),
    }
}

fn names(networks: Result<Vec<NetworkInfo>>) -> Vec<String> {
    networks
        .expect("list_networks")
        .into_iter()
        .map(|n| n.name)
        .collect()
}

/// A created network is inspected by name with its subnet and labels, is listed by its labels
/// and among all networks (with the engine's own), and is gone once removed: inspect and a
/// second remove are `NotFound`.
pub async fn network_round_trip_create_inspect_list_remove(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    guarded(rt, |s| async move {
        let created = s.create_network(fx, "round-trip").await;
        let name = fx.network_name("round-trip");
        assert_eq!(created.name, name);
        assert_eq!(created.subnets.len(), 1, "{created:?}");
        let inspected = within("inspect_network", s.rt.inspect_network(&name))
            .await
            .expect("inspect_network");
        assert_eq!(inspected.subnets, created.subnets);
        for (k, v) in &fx.labels {
            assert_eq!(inspected.labels.get(k), Some(v), "label {k}");
        }
        assert!(inspected.containers.is_empty(), "{inspected:?}");
        assert!(names(s.rt.list_networks(&fx.labels).await).contains(&name));
        let all = names(s.rt.list_networks(&[]).await);
        assert!(all.contains(&name), "{all:?}");
        assert!(
            all.len() >= 2,
            "the engine's own networks are listed too: {all:?}"
        );
        within("remove_network", s.rt.remove_network(&name))
            .await
            .expect("remove_network");
        expect_kind(
            s.rt.inspect_network(&name).await,
            ErrorKind::NotFound,
            "inspect removed",
        );
        expect_kind(
            s.rt.remove_network(&name).await,
            ErrorKind::NotFound,
            "remove removed",
        );
        assert!(!names(s.rt.list_networks(&fx.labels).await).contains(&name));
    })
    .await;
}

/// A name is taken once: creating a second network with it (on another subnet) is
/// `AlreadyExists`, and the first is left as it was.
pub async fn network_name_taken_is_already_exists(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let first = s.create_network(fx, "dup").await;
        let other = s.create_network(fx, "dup-other").await;
        let other_subnet = other.subnets[0];
        s.rt.remove_network(&other.name)
            .await
            .expect("remove the other");
        let again =
            s.rt.create_network(&network_spec(fx, &first.name, other_subnet))
                .await;
        expect_kind(
            again,
            ErrorKind::AlreadyExists,
            "second network with the name",
        );
        let kept = s.rt.inspect_network(&first.name).await.expect("inspect");
        assert_eq!(kept.id, first.id);
        assert_eq!(kept.subnets, first.subnets);
    })
    .await;
}

/// Subnets are exclusive: a network on a subnet overlapping one in use is `Conflict`, and
/// nothing is created.
pub async fn overlapping_subnet_is_conflict(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let first = s.create_network(fx, "overlap").await;
        let taken = first.subnets[0];
        let wider = Ipv4Subnet::new(taken.network(), taken.prefix() - 1).expect("wider subnet");
        let name = fx.network_name("overlap-second");
        let e = expect_kind(
            s.rt.create_network(&network_spec(fx, &name, wider)).await,
            ErrorKind::Conflict,
            "overlapping subnet",
        );
        assert!(e.to_string().contains(&wider.to_string()), "{e}");
        expect_kind(
            s.rt.inspect_network(&name).await,
            ErrorKind::NotFound,
            "not created",
        );
    })
    .await;
}

/// A container created on a network is attached to it (inspect says so both ways); while it
/// runs the network cannot be removed (`Conflict`); once it is gone, it can.
pub async fn running_container_holds_its_network(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let net = s.create_network(fx, "held").await;
        let mut spec = fx.spec("on-net");
        spec.network = Some(NetworkAttachment {
            network: net.name.clone(),
            aliases: vec!["web".into()],
        });
        let id = s.create_started(&spec).await;
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.networks, vec![net.name.clone()]);
        let inspected =
            s.rt.inspect_network(&net.name)
                .await
                .expect("inspect_network");
        assert_eq!(inspected.containers, vec![id.clone()]);
        expect_kind(
            s.rt.remove_network(&net.name).await,
            ErrorKind::Conflict,
            "remove a network in use",
        );
        s.rt.remove(&id).await.expect("remove the container");
        within("remove_network", s.rt.remove_network(&net.name))
            .await
            .expect("remove_network after the container");
    })
    .await;
}

/// A container cannot run on a network that does not exist: `create` refuses it, or (Docker
/// checks only then) `start` does, with `NotFound`. A stopped container whose network was
/// removed cannot start either (`NotFound`).
pub async fn missing_network_is_not_found(rt: &dyn ContainerRuntime, fx: &RuntimeFixture) {
    guarded(rt, |s| async move {
        let mut spec = fx.spec("no-net");
        spec.network = Some(NetworkAttachment {
            network: fx.network_name("never-created"),
            aliases: Vec::new(),
        });
        match s.rt.create(&spec).await {
            Err(e) => assert_eq!(e.kind(), ErrorKind::NotFound, "create: {e}"),
            Ok(id) => {
                s.created.lock().unwrap().push(id.clone());
                expect_kind(
                    s.rt.start(&id).await,
                    ErrorKind::NotFound,
                    "start on a missing network",
                );
                let info = s.rt.inspect(&id).await.expect("inspect");
                assert!(!info.state.is_running(), "{info:?}");
            }
        }

        let net = s.create_network(fx, "removed").await;
        let mut spec = fx.spec("net-removed");
        spec.network = Some(NetworkAttachment {
            network: net.name.clone(),
            aliases: Vec::new(),
        });
        let id = s.create(&spec).await;
        s.rt.remove_network(&net.name)
            .await
            .expect("remove while stopped");
        expect_kind(
            s.rt.start(&id).await,
            ErrorKind::NotFound,
            "start without its network",
        );
    })
    .await;
}

/// The engine's default network.
const DEFAULT_NETWORK: &str = "bridge";

fn attachment(network: &str, aliases: &[&str]) -> NetworkAttachment {
    NetworkAttachment {
        network: network.to_string(),
        aliases: aliases.iter().map(|a| a.to_string()).collect(),
    }
}

/// The sorted names of the networks the container is on, as `inspect` reports them.
async fn networks_of(rt: &dyn ContainerRuntime, id: &ContainerId) -> Vec<String> {
    let mut names = rt.inspect(id).await.expect("inspect").networks;
    names.sort();
    names
}

/// Whether the network lists the container among its attached (running) containers.
async fn attached(rt: &dyn ContainerRuntime, network: &str, id: &ContainerId) -> bool {
    rt.inspect_network(network)
        .await
        .expect("inspect_network")
        .containers
        .contains(id)
}

/// A running container on the default network, connected to another network with an alias,
/// is on both (inspect says so both ways); disconnected from the default network it keeps
/// running on the other one, which cannot be removed while it is attached (`Conflict`);
/// disconnected from that one too, it still runs, and the network can be removed.
pub async fn connect_then_disconnect_moves_a_running_container_between_networks(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    guarded(rt, |s| async move {
        let net = s.create_network(fx, "move").await;
        let id = s.create_started(&fx.spec("mover")).await;
        assert_eq!(networks_of(s.rt, &id).await, vec![DEFAULT_NETWORK]);
        assert!(attached(s.rt, DEFAULT_NETWORK, &id).await);

        within(
            "connect_network",
            s.rt.connect_network(&id, &attachment(&net.name, &["mover-alias"])),
        )
        .await
        .expect("connect_network");
        let mut both = vec![DEFAULT_NETWORK.to_string(), net.name.clone()];
        both.sort();
        assert_eq!(networks_of(s.rt, &id).await, both);
        let inspected =
            s.rt.inspect_network(&net.name)
                .await
                .expect("inspect_network");
        assert_eq!(inspected.containers, vec![id.clone()]);

        within(
            "disconnect_network",
            s.rt.disconnect_network(&id, DEFAULT_NETWORK),
        )
        .await
        .expect("disconnect from the default network");
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.state, ContainerState::Running, "{info:?}");
        assert_eq!(info.networks, vec![net.name.clone()]);
        assert!(!attached(s.rt, DEFAULT_NETWORK, &id).await);
        assert!(attached(s.rt, &net.name, &id).await);
        expect_kind(
            s.rt.remove_network(&net.name).await,
            ErrorKind::Conflict,
            "remove a network a running container was connected to",
        );

        within(
            "disconnect_network",
            s.rt.disconnect_network(&id, &net.name),
        )
        .await
        .expect("disconnect from the other network");
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.state, ContainerState::Running, "{info:?}");
        assert!(info.networks.is_empty(), "{info:?}");
        assert!(!attached(s.rt, &net.name, &id).await);
        within("remove_network", s.rt.remove_network(&net.name))
            .await
            .expect("remove_network once disconnected");
    })
    .await;
}

/// Connecting a container to a network it is on already succeeds and changes nothing, while
/// it is stopped and while it runs; so does disconnecting it from a network it is not on. A
/// stopped container connected to a network is attached to it once started.
pub async fn connecting_twice_and_disconnecting_twice_are_fine(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    guarded(rt, |s| async move {
        let net = s.create_network(fx, "twice").await;
        let id = s.create(&fx.spec("twice")).await;
        let joined = attachment(&net.name, &["twice-alias"]);
        let mut both = vec![DEFAULT_NETWORK.to_string(), net.name.clone()];
        both.sort();
        for round in ["created", "created, again"] {
            within("connect_network", s.rt.connect_network(&id, &joined))
                .await
                .unwrap_or_else(|e| panic!("connect ({round}): {e}"));
            assert_eq!(networks_of(s.rt, &id).await, both, "{round}");
        }
        // A stopped container holds no network.
        assert!(!attached(s.rt, &net.name, &id).await);

        within("start", s.rt.start(&id)).await.expect("start");
        assert!(attached(s.rt, &net.name, &id).await);
        within("connect_network", s.rt.connect_network(&id, &joined))
            .await
            .expect("connect while running, again");
        assert_eq!(networks_of(s.rt, &id).await, both);
        let inspected =
            s.rt.inspect_network(&net.name)
                .await
                .expect("inspect_network");
        assert_eq!(inspected.containers, vec![id.clone()]);

        for round in ["running", "running, again"] {
            within(
                "disconnect_network",
                s.rt.disconnect_network(&id, &net.name),
            )
            .await
            .unwrap_or_else(|e| panic!("disconnect ({round}): {e}"));
            assert_eq!(
                networks_of(s.rt, &id).await,
                vec![DEFAULT_NETWORK],
                "{round}"
            );
        }
        assert!(!attached(s.rt, &net.name, &id).await);
        let info = s.rt.inspect(&id).await.expect("inspect");
        assert_eq!(info.state, ContainerState::Running, "{info:?}");
    })
    .await;
}

/// The default network has no names: connecting a container to it with aliases is
/// `InvalidInput` (`aliases`) and leaves the container off it; without aliases it works.
pub async fn aliases_on_the_default_network_are_invalid_input(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    guarded(rt, |s| async move {
        let net = s.create_network(fx, "no-alias").await;
        let mut spec = fx.spec("no-alias");
        spec.network = Some(attachment(&net.name, &[]));
        let id = s.create_started(&spec).await;
        let e = expect_kind(
            within(
                "connect_network",
                s.rt.connect_network(&id, &attachment(DEFAULT_NETWORK, &["named"])),
            )
            .await,
            ErrorKind::InvalidInput,
            "aliases on the default network",
        );
        assert_eq!(e.field(), Some("aliases"), "{e}");
        assert_eq!(networks_of(s.rt, &id).await, vec![net.name.clone()]);
        within(
            "connect_network",
            s.rt.connect_network(&id, &attachment(DEFAULT_NETWORK, &[])),
        )
        .await
        .expect("connect to the default network without aliases");
        let mut both = vec![DEFAULT_NETWORK.to_string(), net.name.clone()];
        both.sort();
        assert_eq!(networks_of(s.rt, &id).await, both);
        assert!(attached(s.rt, DEFAULT_NETWORK, &id).await);
    })
    .await;
}

/// Connecting to or disconnecting from a network that does not exist is `NotFound`
/// (`network`), and so is either for a container that does not exist (`container`); the
/// container is left on its networks.
pub async fn connecting_to_a_missing_network_is_not_found(
    rt: &dyn ContainerRuntime,
    fx: &RuntimeFixture,
) {
    guarded(rt, |s| async move {
        let net = s.create_network(fx, "present").await;
        let id = s.create_started(&fx.spec("lost")).await;
        let missing = fx.network_name("never-created");
        let e = expect_kind(
            s.rt.connect_network(&id, &attachment(&missing, &["lost"]))
                .await,
            ErrorKind::NotFound,
            "connect to a missing network",
        );
        assert_eq!(e.to_string(), "network not found");
        let e = expect_kind(
            s.rt.disconnect_network(&id, &missing).await,
            ErrorKind::NotFound,
            "disconnect from a missing network",
        );
        assert_eq!(e.to_string(), "network not found");
        assert_eq!(networks_of(s.rt, &id).await, vec![DEFAULT_NETWORK]);

        let absent = absent_id(fx);
        let e = expect_kind(
            s.rt.connect_network(&absent, &attachment(&net.name, &[]))
                .await,
            ErrorKind::NotFound,
            "connect a missing container",
        );
        assert_eq!(e.to_string(), "container not found");
        let e = expect_kind(
            s.rt.disconnect_network(&absent, &net.name).await,
            ErrorKind::NotFound,
            "disconnect a missing container",
        );
        assert_eq!(e.to_string(), "container not found");
        let inspected =
            s.rt.inspect_network(&net.name)
                .await
                .expect("inspect_network");
        assert!(inspected.containers.is_empty(), "{inspected:?}");
    })
    .await;
}
