//! Networks in the fake engine: named bridges with a subnet, as Docker keeps them. The
//! engine starts with Docker's own `bridge` (172.17.0.0/16), so allocators must avoid it.
//!
//! A container is on the networks it holds an `Attachment` to: the one it was created on
//! (its spec's, else `bridge`), plus those it was connected to, minus those it was
//! disconnected from. As on Docker 20.10, connecting a container that is on the network
//! already leaves it (and its aliases) alone, disconnecting one that is not on it does
//! nothing, aliases on the default bridge are refused, and the state of the container does
//! not matter.

use std::collections::BTreeMap;

use super::{Container, FakeRuntime, State, carries, random_hex_id};
use crate::error::{Error, Result};
use crate::runtime::{
    ContainerId, ContainerSpec, Ipv4Subnet, NetworkAttachment, NetworkInfo, NetworkSpec,
};

/// The engine's default bridge, present in every fake engine.
const DEFAULT_BRIDGE: (&str, &str) = ("bridge", "172.17.0.0/16");

/// A network the fake engine holds.
pub(super) struct FakeNetwork {
    id: String,
    subnet: Option<Ipv4Subnet>,
    labels: BTreeMap<String, String>,
}

/// A container's place on a network.
#[derive(Clone, Debug)]
pub(super) struct Attachment {
    /// The network's name when the container joined it.
    network: String,
    /// The network's id (a network recreated under the same name is another network).
    network_id: String,
    /// The extra names the container answers to there.
    aliases: Vec<String>,
}

impl Attachment {
    /// Whether it is to the network of this name or id (Docker keys a container's networks
    /// by name, and keeps each one's id).
    fn joins(&self, name: &str, id: &str) -> bool {
        self.network == name || self.network_id == id
    }
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

impl Container {
    /// The names of the networks it is on, sorted (as the Docker adapter reports them).
    pub(super) fn network_names(&self) -> Vec<String> {
        let mut names: Vec<String> = self.attachments.iter().map(|a| a.network.clone()).collect();
        names.sort();
        names
    }
}

impl State {
    /// Where a new container is attached: its spec's network, or the default bridge. Errors:
    /// `NotFound` (`network`) when the spec names one that does not exist.
    pub(super) fn attachments_for(&self, spec: &ContainerSpec) -> Result<Vec<Attachment>> {
        let attachment = spec.network.clone().unwrap_or_else(|| NetworkAttachment {
            network: DEFAULT_BRIDGE.0.to_string(),
            aliases: Vec::new(),
        });
        Ok(vec![self.attachment(&attachment)?])
    }

    /// An attachment to an existing network. Errors: `NotFound` (`network`).
    fn attachment(&self, attachment: &NetworkAttachment) -> Result<Attachment> {
        let network = self
            .networks
            .get(&attachment.network)
            .ok_or_else(|| Error::not_found("network"))?;
        Ok(Attachment {
            network: attachment.network.clone(),
            network_id: network.id.clone(),
            aliases: attachment.aliases.clone(),
        })
    }

    /// Whether every network the container is on still exists (by id: a network recreated
    /// under the same name is another network).
    pub(super) fn network_present(&self, c: &Container) -> bool {
        c.attachments
            .iter()
            .all(|a| self.networks.values().any(|n| n.id == a.network_id))
    }

    fn network_info(&self, name: &str, n: &FakeNetwork) -> NetworkInfo {
        let containers = self
            .containers
            .values()
            .filter(|c| c.state.is_live())
            .filter(|c| c.attachments.iter().any(|a| a.network_id == n.id))
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

    pub(super) fn connect_fake_network(
        &self,
        id: &ContainerId,
        attachment: &NetworkAttachment,
    ) -> Result<()> {
        let mut st = self.inner.lock();
        st.check(None)?;
        // Docker looks for the container first.
        st.container(id)?;
        let joined = st.attachment(attachment)?;
        if attachment.network == DEFAULT_BRIDGE.0 && !attachment.aliases.is_empty() {
            // Docker: 400 "network-scoped alias is supported only for containers in user
            // defined networks".
            return Err(Error::invalid(
                "aliases",
                "the engine's default network has no names; aliases need a network of its own",
            ));
        }
        let Some(c) = st.containers.get_mut(id.as_str()) else {
            return Err(Error::not_found("container"));
        };
        // Docker 20.10 answers 403 "endpoint with name … already exists in network …" for a
        // live container and 200 for a stopped one, changing nothing either way.
        if c.attachments
            .iter()
            .any(|a| a.joins(&joined.network, &joined.network_id))
        {
            return Ok(());
        }
        c.attachments.push(joined);
        drop(st);
        self.inner.bump();
        Ok(())
    }

    pub(super) fn disconnect_fake_network(&self, id: &ContainerId, network: &str) -> Result<()> {
        let mut st = self.inner.lock();
        st.check(None)?;
        st.container(id)?;
        let network_id = st
            .networks
            .get(network)
            .map(|n| n.id.clone())
            .ok_or_else(|| Error::not_found("network"))?;
        let Some(c) = st.containers.get_mut(id.as_str()) else {
            return Err(Error::not_found("container"));
        };
        // Docker 20.10 answers 500 "container … is not connected to the network …" when it is
        // not on it: the contract leaves it alone.
        let before = c.attachments.len();
        c.attachments.retain(|a| !a.joins(network, &network_id));
        let changed = c.attachments.len() != before;
        drop(st);
        if changed {
            self.inner.bump();
        }
        Ok(())
    }

    /// The aliases a container answers to on a network it is on (`None` when it is not on
    /// it, or does not exist).
    pub fn network_aliases(&self, id: &ContainerId, network: &str) -> Option<Vec<String>> {
        self.inner
            .lock()
            .containers
            .get(id.as_str())?
            .attachments
            .iter()
            .find(|a| a.network == network)
            .map(|a| a.aliases.clone())
    }

    /// The names of the networks that exist (the default bridge included).
    pub fn networks(&self) -> Vec<String> {
        self.inner.lock().networks.keys().cloned().collect()
    }
}
