//! Reading Docker's inspect answer as a [`ContainerInfo`].

use std::collections::BTreeMap;

use bollard::models::{ContainerInspectResponse, ContainerStateStatusEnum};
use chrono::{DateTime, Utc};
use vibebox_core::domain::Protocol;
use vibebox_core::runtime::{BoundPort, ContainerId, ContainerInfo, ContainerState};

use crate::spec::STORAGE_OPT_SIZE;

/// Parses an engine timestamp. Docker reports "never" as the zero time `0001-01-01T00:00:00Z`.
pub(crate) fn parse_time(s: &str) -> Option<DateTime<Utc>> {
    let t = DateTime::parse_from_rfc3339(s).ok()?.with_timezone(&Utc);
    (t.timestamp() > 0).then_some(t)
}

fn state(status: Option<ContainerStateStatusEnum>) -> ContainerState {
    match status {
        // Still running while it stops.
        Some(ContainerStateStatusEnum::RUNNING | ContainerStateStatusEnum::STOPPING) => {
            ContainerState::Running
        }
        Some(ContainerStateStatusEnum::PAUSED) => ContainerState::Paused,
        Some(ContainerStateStatusEnum::RESTARTING) => ContainerState::Restarting,
        Some(ContainerStateStatusEnum::REMOVING) => ContainerState::Removing,
        Some(ContainerStateStatusEnum::EXITED) => ContainerState::Exited,
        Some(ContainerStateStatusEnum::DEAD) => ContainerState::Dead,
        Some(ContainerStateStatusEnum::CREATED | ContainerStateStatusEnum::EMPTY) | None => {
            ContainerState::Created
        }
    }
}

/// Splits Docker's `8080/tcp` key.
fn parse_port_key(key: &str) -> Option<(u16, Protocol)> {
    let (port, proto) = key.split_once('/').unwrap_or((key, "tcp"));
    let protocol = match proto {
        "tcp" => Protocol::Tcp,
        "udp" => Protocol::Udp,
        _ => return None,
    };
    Some((port.parse().ok()?, protocol))
}

/// The container's info. Ports are the host ports actually bound, so they are empty unless the
/// container runs or is paused (a paused container keeps its ports).
pub(crate) fn container_info(r: ContainerInspectResponse) -> ContainerInfo {
    let st = r.state.unwrap_or_default();
    let state = state(st.status);
    let config = r.config.unwrap_or_default();
    let settings = r.network_settings.unwrap_or_default();
    let mut networks: Vec<String> = settings
        .networks
        .map(|n| n.into_keys().collect())
        .unwrap_or_default();
    networks.sort();
    let mut ports = Vec::new();
    if state.is_live() {
        for (key, bindings) in settings.ports.unwrap_or_default() {
            let Some((container_port, protocol)) = parse_port_key(&key) else {
                continue;
            };
            for b in bindings.unwrap_or_default() {
                let Some(host_port) = b.host_port.as_deref().and_then(|p| p.parse().ok()) else {
                    continue;
                };
                ports.push(BoundPort {
                    container_port,
                    protocol,
                    host_ip: b.host_ip.unwrap_or_default(),
                    host_port,
                });
            }
        }
        // Docker reports IPv4 and IPv6 bindings of one port; keep a stable order.
        ports.sort_by(|a, b| {
            (a.container_port, a.host_ip.as_str()).cmp(&(b.container_port, b.host_ip.as_str()))
        });
    }
    let exited = matches!(state, ContainerState::Exited | ContainerState::Dead);
    ContainerInfo {
        id: ContainerId(r.id.unwrap_or_default()),
        name: r
            .name
            .map(|n| n.trim_start_matches('/').to_string())
            .unwrap_or_default(),
        image: config.image.unwrap_or_default(),
        state,
        exit_code: st.exit_code.filter(|_| exited),
        oom_killed: st.oom_killed.unwrap_or(false),
        error: st.error.filter(|e| !e.is_empty()),
        labels: config
            .labels
            .unwrap_or_default()
            .into_iter()
            .collect::<BTreeMap<_, _>>(),
        ports,
        started_at: st.started_at.as_deref().and_then(parse_time),
        finished_at: st.finished_at.as_deref().and_then(parse_time),
        storage_limit_enforced: r
            .host_config
            .and_then(|h| h.storage_opt)
            .is_some_and(|o| o.contains_key(STORAGE_OPT_SIZE)),
        networks,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_time_means_never() {
        assert_eq!(parse_time("0001-01-01T00:00:00Z"), None);
        assert!(parse_time("2026-11-22T06:09:32.123456789Z").is_some());
        assert_eq!(parse_time("garbage"), None);
    }

    #[test]
    fn port_keys_parse_with_their_protocol() {
        assert_eq!(parse_port_key("8080/tcp"), Some((8080, Protocol::Tcp)));
        assert_eq!(parse_port_key("53/udp"), Some((53, Protocol::Udp)));
        assert_eq!(parse_port_key("1/sctp"), None);
        assert_eq!(parse_port_key("x/tcp"), None);
    }
}
