//! Networks: one bridge per project, on a subnet the service allocates.
//!
//! What Docker 20.10 does (API 1.41), seen on this engine:
//! - `POST /networks/create` with a subnet that overlaps another network's answers 403 "Pool
//!   overlaps with other one on this address space".
//! - It creates a second network with a name already taken, with only a warning (the
//!   `CheckDuplicate` flag that refuses it is gone from the API models bollard speaks); a
//!   name that is ambiguous then answers 400 on inspect. So create looks for the name first,
//!   and after creating keeps the oldest network of that name, removing its own if it lost a
//!   race.
//! - `DELETE /networks/{name}` with a running container attached answers 403 "… has active
//!   endpoints"; stopped containers do not hold it, and cannot start again once it is gone.
//! - Concurrent creates and removes race inside the engine's bridge driver, which checks and
//!   rewrites its iptables rules non-atomically (moby/moby#25393), so this process makes its
//!   network changes one at a time.
//! - Each create re-arranges the `DOCKER-ISOLATION` rules that keep bridges apart, and for an
//!   instant they are not in force: here, 3 of 60 connections from one network to another got
//!   through while 30 networks were being created, and a connection made then stays open.
//!   Bridges are apart in steady state only; NOTES.md ("Reach") says what closes the gap.

use std::collections::{BTreeMap, HashMap};

use bollard::Docker;
use bollard::models::{Ipam, IpamConfig, Network, NetworkCreateRequest, NetworkInspect};
use bollard::query_parameters::{InspectNetworkOptions, ListNetworksOptionsBuilder};
use vibebox_core::error::{Error, Result};
use vibebox_core::runtime::{ContainerId, Ipv4Subnet, NetworkInfo, NetworkSpec};

use crate::error::{self, server_error};
use crate::runtime::DockerRuntime;

/// Held while this process creates or removes a network (see the module docs).
static NETWORK_CHANGES: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

impl DockerRuntime {
    pub(crate) async fn create_bridge_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
        let docker = self.client().await?;
        let _one_at_a_time = NETWORK_CHANGES.lock().await;
        if networks_named(&docker, &spec.name).await?.next().is_some() {
            return Err(Error::already_exists("network", "name"));
        }
        let request = NetworkCreateRequest {
            name: spec.name.clone(),
            driver: Some("bridge".to_string()),
            ipam: Some(Ipam {
                driver: Some("default".to_string()),
                config: Some(vec![IpamConfig {
                    subnet: Some(spec.subnet.to_string()),
                    ..Default::default()
                }]),
                options: None,
            }),
            labels: Some(spec.labels.clone().into_iter().collect()),
            ..Default::default()
        };
        let created = docker
            .create_network(request)
            .await
            .map_err(|e| match server_error(&e) {
                Some((403, message)) if message.contains("overlaps") => Error::Conflict(
                    format!("subnet {} is in use on the engine: {message}", spec.subnet).into(),
                ),
                _ => error::map("network", e),
            })?;
        // Another caller may have created the same name meanwhile: the oldest one wins.
        let mut same: Vec<Network> = networks_named(&docker, &spec.name).await?.collect();
        same.sort_by(|a, b| (&a.created, &a.id).cmp(&(&b.created, &b.id)));
        let winner = same.first().and_then(|n| n.id.clone());
        if winner.as_deref().is_some_and(|w| w != created.id) {
            tracing::info!(network = %spec.name, "another caller created this network first");
            if let Err(e) = docker.remove_network(&created.id).await {
                tracing::warn!(network = %spec.name, error = %e, "could not remove a duplicate network");
            }
            return Err(Error::already_exists("network", "name"));
        }
        self.inspect_named_network(&created.id).await
    }

    pub(crate) async fn inspect_named_network(&self, name: &str) -> Result<NetworkInfo> {
        let docker = self.client().await?;
        let inspected = docker
            .inspect_network(name, None::<InspectNetworkOptions>)
            .await
            .map_err(|e| error::map("network", e))?;
        Ok(info_of_inspect(inspected))
    }

    pub(crate) async fn list_labelled_networks(
        &self,
        labels: &[(String, String)],
    ) -> Result<Vec<NetworkInfo>> {
        let docker = self.client().await?;
        let mut filters: HashMap<String, Vec<String>> = HashMap::new();
        if !labels.is_empty() {
            filters.insert(
                "label".to_string(),
                labels.iter().map(|(k, v)| format!("{k}={v}")).collect(),
            );
        }
        let networks = docker
            .list_networks(Some(
                ListNetworksOptionsBuilder::new().filters(&filters).build(),
            ))
            .await
            .map_err(|e| error::map("network", e))?;
        Ok(networks.into_iter().map(info_of_summary).collect())
    }

    pub(crate) async fn remove_named_network(&self, name: &str) -> Result<()> {
        let docker = self.client().await?;
        let _one_at_a_time = NETWORK_CHANGES.lock().await;
        docker
            .remove_network(name)
            .await
            .map_err(|e| match server_error(&e) {
                Some((403, message)) | Some((409, message)) => {
                    Error::Conflict(format!("network {name} is in use: {message}").into())
                }
                _ => error::map("network", e),
            })
    }
}

/// The networks whose name is exactly `name` (the engine's filter matches substrings).
async fn networks_named(docker: &Docker, name: &str) -> Result<impl Iterator<Item = Network>> {
    let filters = HashMap::from([("name".to_string(), vec![name.to_string()])]);
    let networks = docker
        .list_networks(Some(
            ListNetworksOptionsBuilder::new().filters(&filters).build(),
        ))
        .await
        .map_err(|e| error::map("network", e))?;
    let name = name.to_string();
    Ok(networks
        .into_iter()
        .filter(move |n| n.name.as_deref() == Some(name.as_str())))
}

fn subnets(ipam: Option<Ipam>) -> Vec<Ipv4Subnet> {
    ipam.and_then(|i| i.config)
        .unwrap_or_default()
        .into_iter()
        .filter_map(|c| c.subnet)
        .filter_map(|s| Ipv4Subnet::parse(&s).ok())
        .collect()
}

fn info_of_summary(n: Network) -> NetworkInfo {
    // The list answer carries no containers on this API version; inspect does.
    NetworkInfo {
        id: n.id.unwrap_or_default(),
        name: n.name.unwrap_or_default(),
        subnets: subnets(n.ipam),
        labels: n
            .labels
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        containers: Vec::new(),
    }
}

fn info_of_inspect(n: NetworkInspect) -> NetworkInfo {
    let mut containers: Vec<ContainerId> = n
        .containers
        .unwrap_or_default()
        .into_keys()
        .map(ContainerId)
        .collect();
    containers.sort();
    NetworkInfo {
        id: n.id.unwrap_or_default(),
        name: n.name.unwrap_or_default(),
        subnets: subnets(n.ipam),
        labels: n
            .labels
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        containers,
    }
}
