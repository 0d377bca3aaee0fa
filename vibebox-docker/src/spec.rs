//! The create body of a container: [`ContainerSpec`] turned into Docker's terms, with the
//! hardened defaults of DESIGN.md §7.

use std::collections::HashMap;

use bollard::models::{
    ContainerCreateBody, EndpointSettings, HostConfig, HostConfigCgroupnsModeEnum,
    HostConfigLogConfig, Mount, MountType, MountVolumeOptions, NetworkingConfig, PortBinding,
    RestartPolicy, RestartPolicyNameEnum,
};
use secrecy::ExposeSecret;
use vibebox_core::domain::Protocol;
use vibebox_core::runtime::{ContainerSpec, PortSpec};

/// The `storage_opt` key Docker reads a disk quota from.
pub(crate) const STORAGE_OPT_SIZE: &str = "size";

/// The log driver every container is created with. Its output is kept on the engine's disk,
/// and the log collector and `logs` read it back.
pub(crate) const LOG_DRIVER: &str = "json-file";
/// The size at which the log file rotates. With [`LOG_MAX_FILE`], this puts a bound on
/// each container's log on the engine's disk.
pub(crate) const LOG_MAX_SIZE: &str = "10m";
/// How many log files are kept, the live one included (3 × 10 MB).
pub(crate) const LOG_MAX_FILE: &str = "3";

/// The log settings: `json-file` with rotation. They are set here and not left to the
/// engine, because Docker's default `json-file` has no `max-size`, so one environment that
/// prints without end would fill the host's disk (RELIABILITY.md, abuse containment).
fn log_config() -> HostConfigLogConfig {
    HostConfigLogConfig {
        typ: Some(LOG_DRIVER.to_string()),
        config: Some(HashMap::from([
            ("max-size".to_string(), LOG_MAX_SIZE.to_string()),
            ("max-file".to_string(), LOG_MAX_FILE.to_string()),
        ])),
    }
}

/// Docker's key for a published port: `8080/tcp`.
pub(crate) fn port_key(container_port: u16, protocol: Protocol) -> String {
    let proto = match protocol {
        Protocol::Tcp => "tcp",
        Protocol::Udp => "udp",
    };
    format!("{container_port}/{proto}")
}

fn binding(p: &PortSpec) -> PortBinding {
    PortBinding {
        host_ip: Some(p.host_ip.clone()),
        // An empty host port lets the engine choose one; it is read back after start.
        host_port: Some(p.host_port.map(|h| h.to_string()).unwrap_or_default()),
    }
}

/// Builds the create body. The storage limit is set only when `enforce_storage` is true (the
/// engine can enforce it); variables are exposed only into this body.
///
/// Every container is unprivileged, drops all capabilities and adds back only the profile's
/// allowlist, shares no host namespace (a private cgroup namespace, and the engine's defaults:
/// private PID, IPC and UTS namespaces, and the spec's network or else the engine's bridge),
/// mounts only named volumes,
/// never a host path (so never the engine's socket), keeps the default seccomp profile, runs an init as PID 1
/// and is never restarted by the engine: the reconciler decides. Its log rotates at
/// 3 × 10 MB whatever the engine's default log options say.
pub(crate) fn create_body(spec: &ContainerSpec, enforce_storage: bool) -> ContainerCreateBody {
    let mut port_bindings: HashMap<String, Option<Vec<PortBinding>>> = HashMap::new();
    for p in &spec.ports {
        port_bindings
            .entry(port_key(p.container_port, p.protocol))
            .or_insert_with(|| Some(Vec::new()))
            .get_or_insert_with(Vec::new)
            .push(binding(p));
    }
    let mut exposed: Vec<String> = port_bindings.keys().cloned().collect();
    exposed.sort();
    let mut security_opt = Vec::new();
    if spec.hardening.no_new_privileges() {
        security_opt.push("no-new-privileges:true".to_string());
    }
    let storage_opt = spec
        .limits
        .storage_bytes
        .filter(|_| enforce_storage)
        .map(|b| HashMap::from([(STORAGE_OPT_SIZE.to_string(), b.to_string())]));
    // Named volumes only, never a host path; a new volume gets the container's labels so it
    // can be found by them.
    let volume_labels: HashMap<String, String> = spec.labels.clone().into_iter().collect();
    let mounts: Vec<Mount> = spec
        .volumes
        .iter()
        .map(|v| Mount {
            target: Some(v.target.clone()),
            source: Some(v.name.clone()),
            typ: Some(MountType::VOLUME),
            read_only: Some(false),
            volume_options: Some(MountVolumeOptions {
                labels: Some(volume_labels.clone()),
                ..Default::default()
            }),
            ..Default::default()
        })
        .collect();
    let host_config = HostConfig {
        nano_cpus: Some(spec.limits.nano_cpus),
        memory: Some(spec.limits.memory_bytes),
        memory_swap: Some(spec.limits.memory_bytes),
        pids_limit: Some(spec.limits.pids_limit),
        storage_opt,
        cap_drop: Some(vec!["ALL".to_string()]),
        cap_add: Some(
            spec.hardening
                .cap_add()
                .iter()
                .map(|c| c.to_string())
                .collect(),
        ),
        security_opt: (!security_opt.is_empty()).then_some(security_opt),
        privileged: Some(false),
        // The engine's default is the host's cgroup namespace on cgroup v1.
        cgroupns_mode: Some(HostConfigCgroupnsModeEnum::PRIVATE),
        init: Some(true),
        restart_policy: Some(RestartPolicy {
            name: Some(RestartPolicyNameEnum::NO),
            maximum_retry_count: None,
        }),
        log_config: Some(log_config()),
        port_bindings: (!port_bindings.is_empty()).then_some(port_bindings),
        mounts: (!mounts.is_empty()).then_some(mounts),
        network_mode: spec.network.as_ref().map(|n| n.network.clone()),
        ..Default::default()
    };
    // The project's own network, with the environment's names on it.
    let networking_config = spec.network.as_ref().map(|n| NetworkingConfig {
        endpoints_config: Some(HashMap::from([(
            n.network.clone(),
            EndpointSettings {
                aliases: (!n.aliases.is_empty()).then(|| n.aliases.clone()),
                ..Default::default()
            },
        )])),
    });
    ContainerCreateBody {
        image: Some(spec.image.clone()),
        cmd: spec.cmd.clone(),
        user: spec.user.clone(),
        hostname: spec.hostname.clone(),
        env: Some(
            spec.env
                .iter()
                .map(|(k, v)| format!("{k}={}", v.expose_secret()))
                .collect(),
        ),
        labels: Some(spec.labels.clone().into_iter().collect()),
        exposed_ports: (!exposed.is_empty()).then_some(exposed),
        tty: Some(false),
        open_stdin: Some(false),
        host_config: Some(host_config),
        networking_config,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use secrecy::SecretString;
    use vibebox_core::runtime::{HardeningProfile, Limits};

    use super::*;

    fn spec(hardening: HardeningProfile) -> ContainerSpec {
        ContainerSpec {
            name: "vibebox-x".into(),
            image: "vibebox/base:bookworm".into(),
            cmd: None,
            user: Some("1000".into()),
            hostname: Some("web".into()),
            env: vec![("TOKEN".into(), SecretString::from("s3cret"))],
            limits: Limits {
                nano_cpus: 1_500_000_000,
                memory_bytes: 512 << 20,
                pids_limit: 1024,
                storage_bytes: Some(10 << 30),
            },
            ports: vec![
                PortSpec {
                    container_port: 8080,
                    protocol: Protocol::Tcp,
                    host_ip: "127.0.0.1".into(),
                    host_port: None,
                },
                PortSpec {
                    container_port: 53,
                    protocol: Protocol::Udp,
                    host_ip: "127.0.0.1".into(),
                    host_port: Some(15353),
                },
            ],
            volumes: Vec::new(),
            labels: BTreeMap::from([("vibebox.managed".into(), "true".into())]),
            hardening,
            network: None,
        }
    }

    fn host(body: &ContainerCreateBody) -> &HostConfig {
        body.host_config.as_ref().unwrap_or_else(|| unreachable!())
    }

    #[test]
    fn swap_equals_memory_so_no_extra_swap_is_granted() {
        let body = create_body(&spec(HardeningProfile::Dev), false);
        assert_eq!(host(&body).memory, Some(512 << 20));
        assert_eq!(host(&body).memory_swap, host(&body).memory);
        assert_eq!(host(&body).nano_cpus, Some(1_500_000_000));
        assert_eq!(host(&body).pids_limit, Some(1024));
    }

    #[test]
    fn storage_limit_is_set_only_where_the_engine_enforces_it() {
        assert_eq!(
            create_body(&spec(HardeningProfile::Dev), false)
                .host_config
                .and_then(|h| h.storage_opt),
            None
        );
        let enforced = create_body(&spec(HardeningProfile::Dev), true);
        assert_eq!(
            host(&enforced)
                .storage_opt
                .as_ref()
                .and_then(|o| o.get(STORAGE_OPT_SIZE))
                .map(String::as_str),
            Some("10737418240")
        );
    }

    #[test]
    fn strict_profile_adds_no_capability_and_sets_no_new_privileges() {
        let body = create_body(&spec(HardeningProfile::Strict), false);
        assert_eq!(host(&body).cap_drop, Some(vec!["ALL".to_string()]));
        assert_eq!(host(&body).cap_add, Some(vec![]));
        assert_eq!(
            host(&body).security_opt,
            Some(vec!["no-new-privileges:true".to_string()])
        );
        let dev = create_body(&spec(HardeningProfile::Dev), false);
        assert_eq!(host(&dev).security_opt, None);
        assert!(
            host(&dev)
                .cap_add
                .as_ref()
                .is_some_and(|c| c.contains(&"SETUID".to_string()))
        );
    }

    #[test]
    fn ports_bind_the_requested_address_and_leave_unset_host_ports_to_the_engine() {
        let body = create_body(&spec(HardeningProfile::Dev), false);
        let bindings = host(&body).port_bindings.clone().unwrap_or_default();
        let tcp = bindings
            .get("8080/tcp")
            .cloned()
            .flatten()
            .unwrap_or_default();
        assert_eq!(tcp.len(), 1);
        assert_eq!(tcp[0].host_ip.as_deref(), Some("127.0.0.1"));
        assert_eq!(tcp[0].host_port.as_deref(), Some(""));
        let udp = bindings
            .get("53/udp")
            .cloned()
            .flatten()
            .unwrap_or_default();
        assert_eq!(udp[0].host_port.as_deref(), Some("15353"));
        assert_eq!(
            body.exposed_ports,
            Some(vec!["53/udp".to_string(), "8080/tcp".to_string()])
        );
    }

    #[test]
    fn never_privileged_with_init_and_no_restart_policy() {
        let body = create_body(&spec(HardeningProfile::Dev), false);
        let h = host(&body);
        assert_eq!(h.privileged, Some(false));
        assert_eq!(h.init, Some(true));
        assert_eq!(
            h.restart_policy.as_ref().and_then(|r| r.name),
            Some(RestartPolicyNameEnum::NO)
        );
        assert_eq!(h.binds, None);
        assert_eq!(h.mounts, None);
        assert_eq!(h.network_mode, None);
        assert_eq!(h.pid_mode, None);
        assert_eq!(h.ipc_mode, None);
        assert_eq!(h.cgroupns_mode, Some(HostConfigCgroupnsModeEnum::PRIVATE));
    }

    #[test]
    fn the_log_rotates_whatever_the_engines_defaults() {
        let body = create_body(&spec(HardeningProfile::Strict), false);
        let log = host(&body).log_config.clone().unwrap_or_default();
        assert_eq!(log.typ.as_deref(), Some("json-file"));
        let config = log.config.unwrap_or_default();
        assert_eq!(config.get("max-size").map(String::as_str), Some("10m"));
        assert_eq!(config.get("max-file").map(String::as_str), Some("3"));
    }

    #[test]
    fn volumes_are_named_volume_mounts_never_host_paths() {
        let mut s = spec(HardeningProfile::Dev);
        s.volumes = vec![vibebox_core::runtime::VolumeMount {
            name: "vibebox-x-home".into(),
            target: "/home/vibebox".into(),
        }];
        let body = create_body(&s, false);
        let mounts = host(&body).mounts.clone().unwrap_or_default();
        assert_eq!(mounts.len(), 1);
        assert_eq!(mounts[0].typ, Some(MountType::VOLUME));
        assert_eq!(mounts[0].source.as_deref(), Some("vibebox-x-home"));
        assert_eq!(mounts[0].target.as_deref(), Some("/home/vibebox"));
        assert_eq!(host(&body).binds, None);
    }

    #[test]
    fn variables_are_exposed_only_in_the_env_list() {
        let body = create_body(&spec(HardeningProfile::Dev), false);
        assert_eq!(body.env, Some(vec!["TOKEN=s3cret".to_string()]));
    }
}
