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
//!
//! Connecting and disconnecting containers (`POST /networks/{name}/connect` and
//! `…/disconnect`), seen on Docker 20.10.24:
//! - Connecting a running or paused container that is on the network already answers 403
//!   "endpoint with name … already exists in network …"; a created or stopped one, 200, and
//!   its aliases there stay as they were either way. The contract makes both a success that
//!   changes nothing, once inspect confirms the container is on the network.
//! - Disconnecting a container that is not on the network answers 500 "container … is not
//!   connected to (the) network …": a success that changes nothing, too.
//! - A missing container answers 404 "No such container: …" (looked up first), a missing
//!   network 404 "network … not found"; the error names which one is missing.
//! - Aliases on the default `bridge` answer 400 "network-scoped alias is supported only for
//!   containers in user defined networks": `InvalidInput` (`aliases`).
//! - Both work whatever the container's state, paused included; a running container stays
//!   running when it leaves its last network (it then has only loopback).
//! - They add and remove endpoints in the bridge driver that creates and removes rework, so
//!   this process makes them one at a time with those too (a precaution: no race between
//!   them was seen).

use std::collections::{BTreeMap, HashMap};

use bollard::Docker;
use bollard::errors::Error as DockerError;
use bollard::models::{
    EndpointSettings, Ipam, IpamConfig, Network, NetworkConnectRequest, NetworkCreateRequest,
    NetworkDisconnectRequest, NetworkInspect,
};
use bollard::query_parameters::{InspectNetworkOptions, ListNetworksOptionsBuilder};
use vibebox_core::error::{Error, ErrorKind, Result};
use vibebox_core::runtime::{ContainerId, Ipv4Subnet, NetworkAttachment, NetworkInfo, NetworkSpec};

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
                Some((403, message)) if message.contains("overlaps") => Error::runtime(
                    ErrorKind::Conflict,
                    format!("subnet {} is in use on the engine", spec.subnet),
                    Some(error::boxed(e)),
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
                Some((403 | 409, _)) => Error::runtime(
                    ErrorKind::Conflict,
                    format!("network {name} is in use"),
                    Some(error::boxed(e)),
                ),
                _ => error::map("network", e),
            })
    }
}

impl DockerRuntime {
    /// Attaches the container to `attachment.network` with its aliases; a container on the
    /// network already is left alone.
    ///
    /// Errors: `NotFound` (`container`, or `network`); `InvalidInput` (`aliases`) for aliases
    /// on the default bridge; `Conflict` when the engine says the container is on the network
    /// but inspect does not; `Unavailable`.
    pub(crate) async fn connect_container(
        &self,
        id: &ContainerId,
        attachment: &NetworkAttachment,
    ) -> Result<()> {
        let docker = self.client().await?;
        let request = NetworkConnectRequest {
            container: id.as_str().to_string(),
            endpoint_config: Some(EndpointSettings {
                aliases: (!attachment.aliases.is_empty()).then(|| attachment.aliases.clone()),
                ..Default::default()
            }),
        };
        let connected = {
            let _one_at_a_time = NETWORK_CHANGES.lock().await;
            docker.connect_network(&attachment.network, request).await
        };
        let e = match connected {
            Ok(()) => return Ok(()),
            Err(e) => e,
        };
        if !is_already_connected(&e) {
            return Err(endpoint_error(e));
        }
        // The message names an endpoint; make sure it is this container's on this network.
        let info = self.inspect_container(id).await?;
        if info.networks.contains(&attachment.network) {
            tracing::debug!(container = %id, network = %attachment.network, "already connected");
            return Ok(());
        }
        let reason = server_error(&e).map(|(_, m)| m).unwrap_or_default();
        Err(Error::Conflict(
            format!(
                "container {id} cannot join network {}: {reason}",
                attachment.network
            )
            .into(),
        ))
    }

    /// Detaches the container from `network`; a container not on it is left alone.
    ///
    /// Errors: `NotFound` (`container`, or `network`); `Unavailable`.
    pub(crate) async fn disconnect_container(&self, id: &ContainerId, network: &str) -> Result<()> {
        let docker = self.client().await?;
        let request = NetworkDisconnectRequest {
            container: id.as_str().to_string(),
            force: None,
        };
        let disconnected = {
            let _one_at_a_time = NETWORK_CHANGES.lock().await;
            docker.disconnect_network(network, request).await
        };
        match disconnected {
            Ok(()) => Ok(()),
            Err(e) if is_not_connected(&e) => {
                tracing::debug!(container = %id, network, "not connected");
                Ok(())
            }
            Err(e) => Err(endpoint_error(e)),
        }
    }
}

/// 403 "endpoint with name … already exists in network …" (409 too, should an engine send
/// that).
fn is_already_connected(e: &DockerError) -> bool {
    matches!(server_error(e), Some((403 | 409, message)) if message.contains("already exists in network"))
}

/// "container … is not connected to network …" or "… to the network …" (500 on Docker 20.10;
/// any status, should a later engine send another).
fn is_not_connected(e: &DockerError) -> bool {
    matches!(server_error(e), Some((_, message)) if message.contains("is not connected to"))
}

/// Maps an error of connect or disconnect: a 404 names the container or the network, aliases
/// on the default bridge are invalid input, and the rest is mapped as any network error.
fn endpoint_error(e: DockerError) -> Error {
    match server_error(&e) {
        Some((404, message)) if message.contains("No such container") => {
            Error::not_found("container")
        }
        Some((404, _)) => Error::not_found("network"),
        Some((400, message)) if message.contains("network-scoped alias") => Error::invalid(
            "aliases",
            "the engine's default network has no names; aliases need a network of its own",
        ),
        _ => error::map("network", e),
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

#[cfg(test)]
mod tests {
    use vibebox_core::error::ErrorKind;

    use super::*;
    use crate::error::server;

    #[test]
    fn already_connected_is_recognised_and_nothing_else_is() {
        let answer = "endpoint with name vbx-a already exists in network vbx-net";
        assert!(is_already_connected(&server(403, answer)));
        assert!(is_already_connected(&server(409, answer)));
        assert!(!is_already_connected(&server(
            409,
            "network with name vbx-net already exists"
        )));
        assert!(!is_already_connected(&server(404, "No such container: x")));
        assert!(!is_already_connected(&DockerError::RequestTimeoutError));
    }

    #[test]
    fn not_connected_is_recognised_whatever_the_status() {
        assert!(is_not_connected(&server(
            500,
            "container abc is not connected to network bridge"
        )));
        assert!(is_not_connected(&server(
            500,
            "container abc is not connected to the network vbx-net"
        )));
        assert!(!is_not_connected(&server(500, "driver failed")));
        assert!(!is_not_connected(&server(404, "network vbx not found")));
    }

    #[test]
    fn a_404_names_the_container_or_the_network() {
        let e = endpoint_error(server(404, "No such container: vbx-none"));
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.to_string(), "container not found");
        let e = endpoint_error(server(404, "network vbx-nonet not found"));
        assert_eq!(e.kind(), ErrorKind::NotFound);
        assert_eq!(e.to_string(), "network not found");
    }

    #[test]
    fn aliases_on_the_default_bridge_are_invalid_input() {
        let e = endpoint_error(server(
            400,
            "network-scoped alias is supported only for containers in user defined networks",
        ));
        assert_eq!(e.kind(), ErrorKind::InvalidInput);
        assert_eq!(e.field(), Some("aliases"));
        let e = endpoint_error(server(500, "driver failed"));
        assert_eq!(e.kind(), ErrorKind::Internal);
    }
}
