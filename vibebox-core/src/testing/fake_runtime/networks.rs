//! Networks in the fake engine: named bridges with a subnet, as Docker keeps them. The
//! engine starts with Docker's own `bridge` (172.17.0.0/16), so allocators must avoid it.

use std::collections::BTreeMap;

use super::{Container, FakeRuntime, State, carries, random_hex_id};
use crate::error::{Error, Result};
use crate::runtime::{ContainerSpec, Ipv4Subnet, NetworkInfo, NetworkSpec};

/// The engine's default bridge, present in every fake engine.
const DEFAULT_BRIDGE: (&str, &str) = ("bridge", "172.17.0.0/16");

/// A network the fake engine holds.
pub(super) struct FakeNetwork {
    id: String,
    subnet: Option<Ipv4Subnet>,
    labels: BTreeMap<String, String>,
}

/// The networks of a new engine: Docker's default bridge.
pub(super) fn default_networks() -> BTreeMap<String, FakeNetwork> {
    let (name, subnet) = DEFAULT_BRIDGE;
    BTreeMap::from([(
        name.to_string(),
        FakeNetwork {
            id: random_hex_id(),
            subnet: Ipv4Subnet::parse(subnet).ok(),
            labels: BTreeMap::new(),
        },
    )])
}

impl State {
    /// The id of the network a new container joins, or `NotFound` (`network`) when the spec
    /// names one that does not exist. `None` is the default bridge.
    pub(super) fn network_for(&self, spec: &ContainerSpec) -> Result<Option<String>> {
        match &spec.network {
            None => Ok(None),
            Some(attachment) => self
                .networks
                .get(&attachment.network)
                .map(|n| Some(n.id.clone()))
                .ok_or_else(|| Error::not_found("network")),
        }
    }

    /// Whether the container's network still exists (the one it was created on, by id: a
    /// network recreated under the same name is another network).
    pub(super) fn network_present(&self, c: &Container) -> bool {
        c.network_id
            .as_ref()
            .is_none_or(|id| self.networks.values().any(|n| &n.id == id))
    }

    fn network_info(&self, name: &str, n: &FakeNetwork) -> NetworkInfo {
        let containers = self
            .containers
            .values()
            .filter(|c| c.state.is_live())
            .filter(|c| match (&c.network_id, c.spec.network.is_none()) {
                (Some(id), _) => id == &n.id,
                (None, true) => name == DEFAULT_BRIDGE.0,
                (None, false) => false,
            })
            .map(|c| c.id.clone())
            .collect();
        NetworkInfo {
            id: n.id.clone(),
            name: name.to_string(),
            subnets: n.subnet.into_iter().collect(),
            labels: n.labels.clone(),
            containers,
        }
    }
}

impl FakeRuntime {
    pub(super) fn create_fake_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
        let mut st = self.inner.lock();
        st.check(None)?;
        if st.networks.contains_key(&spec.name) {
            return Err(Error::already_exists("network", "name"));
        }
        if let Some(other) = st
            .networks
            .values()
            .filter_map(|n| n.subnet)
            .find(|s| s.overlaps(&spec.subnet))
        {
            return Err(Error::Conflict(
                format!(
                    "subnet {} overlaps {other}, which another network uses",
                    spec.subnet
                )
                .into(),
            ));
        }
        let network = FakeNetwork {
            id: random_hex_id(),
            subnet: Some(spec.subnet),
            labels: spec.labels.clone(),
        };
        let info = st.network_info(&spec.name, &network);
        st.networks.insert(spec.name.clone(), network);
        Ok(info)
    }

    pub(super) fn inspect_fake_network(&self, name: &str) -> Result<NetworkInfo> {
        let mut st = self.inner.lock();
        st.check(None)?;
        let n = st
            .networks
            .get(name)
            .ok_or_else(|| Error::not_found("network"))?;
        Ok(st.network_info(name, n))
    }

    pub(super) fn list_fake_networks(
        &self,
        labels: &[(String, String)],
    ) -> Result<Vec<NetworkInfo>> {
        let mut st = self.inner.lock();
        st.check(None)?;
        Ok(st
            .networks
            .iter()
            .filter(|(_, n)| carries(&n.labels, labels))
            .map(|(name, n)| st.network_info(name, n))
            .collect())
    }

    pub(super) fn remove_fake_network(&self, name: &str) -> Result<()> {
        let mut st = self.inner.lock();
        st.check(None)?;
        let n = st
            .networks
            .get(name)
            .ok_or_else(|| Error::not_found("network"))?;
        if !st.network_info(name, n).containers.is_empty() {
            return Err(Error::Conflict(
                format!("network {name} has running containers attached").into(),
            ));
        }
        st.networks.remove(name);
        Ok(())
    }

    /// The names of the networks that exist (the default bridge included).
    pub fn networks(&self) -> Vec<String> {
        self.inner.lock().networks.keys().cloned().collect()
    }
}
