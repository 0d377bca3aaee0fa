//! Starting an environment through VibeBox against a raw bollard create+start of the same
//! container, interleaved in one run so both see the same engine and machine load.
//!
//! Each round times four starts, in an order that rotates from round to round: VibeBox with no
//! default session; the raw create+start (the baseline of the target); the raw sequence of
//! engine calls VibeBox makes (list by label, create, start, inspect), which tells how much of
//! the difference is engine calls and how much is VibeBox itself; and VibeBox opening the
//! default tmux session. Every environment is new (its container is created, not reused);
//! creating the environment record and removing the container afterwards are not timed.

use std::collections::{BTreeSet, HashMap};
use std::time::{Duration, Instant};

use bollard::Docker;
use bollard::models::{
    ContainerCreateBody, HostConfig, HostConfigCgroupnsModeEnum, Mount, MountType,
    MountVolumeOptions, RestartPolicy, RestartPolicyNameEnum,
};
use bollard::query_parameters::{
    CreateContainerOptionsBuilder, InspectContainerOptions, ListContainersOptionsBuilder,
    RemoveContainerOptionsBuilder,
};
use vibebox::Vibebox;
use vibebox::config::Config;
use vibebox::domain::{Environment, EnvironmentStatus, Project, SessionStatus, SessionType};
use vibebox::rbac::Actor;
use vibebox::runtime::{ContainerRuntime, LABEL_ENVIRONMENT_ID, LABEL_MANAGED, LABEL_PROJECT_ID};
use vibebox::store::PageRequest;
use vibebox_docker::{DockerOptions, host_from_env};

use crate::common::Latencies;
use crate::harness::{BASE_IMAGE, D, container, docker_inspect, new_env};

pub const VIBEBOX: &str = "start/vibebox";
pub const RAW: &str = "start/raw_bollard";
pub const RAW_LIKE_VIBEBOX: &str = "start/raw_bollard_list_create_start_inspect";
pub const VIBEBOX_TMUX: &str = "start/vibebox_with_tmux_session";

const MB: i64 = 1024 * 1024;

/// A bollard client made the way `DockerRuntime` makes its own: same address, negotiated API
/// version, same request timeout.
pub async fn raw_client() -> Docker {
    Docker::connect_with_host(&host_from_env())
        .expect("the Docker address is usable")
        .with_timeout(DockerOptions::default().request_timeout)
        .negotiate_version()
        .await
        .expect("the engine answers")
}

/// Runs `rounds` rounds. `tmux` is a service like `d.vb` but with the default tmux session.
pub async fn compare(d: &D, tmux: &Vibebox, raw: &Docker, rounds: usize, lat: &Latencies) {
    let actor = d.user("starter").await;
    let project = d.project(&actor, "starts").await;
    // An environment never started: its defaults are the limits the raw container copies.
    let template =
        d.vb.create_environment(&actor, new_env(&project, "template", BASE_IMAGE))
            .await
            .unwrap();
    let storage = d.rt.capabilities().storage_limit;
    for round in 0..rounds {
        let mut inspected = Vec::new();
        for k in 0..4 {
            let slug = format!("r{round}-{k}");
            match (round + k) % 4 {
                0 => {
                    let (took, env) = start_via(&d.vb, &actor, &project, &slug).await;
                    lat.record(VIBEBOX, took);
                    if round == 0 {
                        inspected.push(docker_inspect(container(&env).as_str()));
                    }
                    d.vb.delete_environment(&actor, env.id).await.unwrap();
                }
                1 => {
                    let name = format!("{}raw-{round}", d.config.container_name_prefix);
                    let body = raw_body(&d.config, &template, &project, &slug, storage);
                    let (took, id) = raw_start(raw, &name, body).await.unwrap();
                    lat.record(RAW, took);
                    if round == 0 {
                        inspected.push(docker_inspect(&id));
                    }
                    raw_remove(raw, &id).await;
                }
                2 => {
                    let name = format!("{}raw-all-{round}", d.config.container_name_prefix);
                    let body = raw_body(&d.config, &template, &project, &slug, storage);
                    let (took, id) = raw_calls_of_vibebox(raw, &name, body).await;
                    lat.record(RAW_LIKE_VIBEBOX, took);
                    raw_remove(raw, &id).await;
                }
                _ => {
                    let (took, env) = start_via(tmux, &actor, &project, &slug).await;
                    lat.record(VIBEBOX_TMUX, took);
                    if round == 0 {
                        assert_tmux_session(tmux, &actor, &env).await;
                    }
                    tmux.delete_environment(&actor, env.id).await.unwrap();
                }
            }
        }
        if let [a, b] = &inspected[..] {
            assert_same_spec(a, b);
        }
    }
}

/// Creates an environment (not timed) and times `start_environment`.
async fn start_via(
    vb: &Vibebox,
    actor: &Actor,
    project: &Project,
    slug: &str,
) -> (Duration, Environment) {
    let env = vb
        .create_environment(actor, new_env(project, slug, BASE_IMAGE))
        .await
        .unwrap();
    let t = Instant::now();
    let started = vb.start_environment(actor, env.id).await.unwrap();
    let took = t.elapsed();
    assert_eq!(started.status, EnvironmentStatus::Running);
    (took, started)
}

/// The default tmux session really started, so the timed start included it.
async fn assert_tmux_session(vb: &Vibebox, actor: &Actor, env: &Environment) {
    let sessions = vb
        .list_sessions(actor, env.id, false, &PageRequest::first(50))
        .await
        .unwrap()
        .items;
    assert!(
        sessions.iter().any(|s| s.session_type == SessionType::Tmux
            && s.session_name == "main"
            && s.status == SessionStatus::Active),
        "the default tmux session is active: {sessions:?}"
    );
}

/// The body `vibebox-docker` sends for an environment like `template` (its image and limits;
/// vibebox-docker/src/spec.rs), built by hand from the same configuration. [`assert_same_spec`] checks it against a
/// container VibeBox created.
pub fn raw_body(
    cfg: &Config,
    template: &Environment,
    project: &Project,
    hostname: &str,
    storage: bool,
) -> ContainerCreateBody {
    let mut labels: HashMap<String, String> = cfg.container_labels.clone().into_iter().collect();
    labels.extend([
        (LABEL_MANAGED.to_string(), "true".to_string()),
        (
            LABEL_ENVIRONMENT_ID.to_string(),
            uuid::Uuid::now_v7().to_string(),
        ),
        (LABEL_PROJECT_ID.to_string(), project.id.to_string()),
        // VibeBox's own label for the spec's hash (not public): 24 hex digits.
        ("vibebox.spec_hash".to_string(), "0".repeat(24)),
    ]);
    let memory = template.memory_limit * MB;
    // A fresh named volume for the home directory, as VibeBox gives each environment.
    let mounts = cfg.home_volume.as_ref().map(|target| {
        vec![Mount {
            target: Some(target.clone()),
            source: Some(format!(
                "{}raw-home-{}",
                cfg.container_name_prefix,
                uuid::Uuid::now_v7().simple()
            )),
            typ: Some(MountType::VOLUME),
            read_only: Some(false),
            volume_options: Some(MountVolumeOptions {
                labels: Some(labels.clone()),
                ..Default::default()
            }),
            ..Default::default()
        }]
    });
    let security_opt = cfg
        .hardening
        .no_new_privileges()
        .then(|| vec!["no-new-privileges:true".to_string()]);
    ContainerCreateBody {
        image: Some(template.base_image.clone()),
        cmd: cfg.container_command.clone(),
        user: cfg.container_user.clone(),
        hostname: Some(hostname.to_string()),
        env: Some(Vec::new()),
        labels: Some(labels),
        tty: Some(false),
        open_stdin: Some(false),
        host_config: Some(HostConfig {
            nano_cpus: Some((template.cpu_limit * 1e9).round() as i64),
            memory: Some(memory),
            memory_swap: Some(memory),
            pids_limit: Some(cfg.pids_limit),
            storage_opt: storage.then(|| {
                HashMap::from([(
                    "size".to_string(),
                    (template.storage_limit * MB).to_string(),
                )])
            }),
            cap_drop: Some(vec!["ALL".to_string()]),
            cap_add: Some(
                cfg.hardening
                    .cap_add()
                    .iter()
                    .map(|c| c.to_string())
                    .collect(),
            ),
            security_opt,
            privileged: Some(false),
            cgroupns_mode: Some(HostConfigCgroupnsModeEnum::PRIVATE),
            mounts,
            init: Some(true),
            restart_policy: Some(RestartPolicy {
                name: Some(RestartPolicyNameEnum::NO),
                maximum_retry_count: None,
            }),
            ..Default::default()
        }),
        ..Default::default()
    }
}

/// Times create+start and returns the container id.
pub async fn raw_start(
    raw: &Docker,
    name: &str,
    body: ContainerCreateBody,
) -> Result<(Duration, String), bollard::errors::Error> {
    let t = Instant::now();
    let created = raw
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(name).build()),
            body,
        )
        .await?;
    raw.start_container(
        &created.id,
        None::<bollard::query_parameters::StartContainerOptions>,
    )
    .await?;
    Ok((t.elapsed(), created.id))
}

/// Times the engine calls of a VibeBox start: list the environment's containers by label,
/// create, start, inspect.
async fn raw_calls_of_vibebox(
    raw: &Docker,
    name: &str,
    body: ContainerCreateBody,
) -> (Duration, String) {
    let env_label = body
        .labels
        .as_ref()
        .and_then(|l| l.get(LABEL_ENVIRONMENT_ID))
        .cloned()
        .unwrap_or_default();
    let filters = HashMap::from([(
        "label".to_string(),
        vec![format!("{LABEL_ENVIRONMENT_ID}={env_label}")],
    )]);
    let t = Instant::now();
    let listed = raw
        .list_containers(Some(
            ListContainersOptionsBuilder::new()
                .all(true)
                .filters(&filters)
                .build(),
        ))
        .await
        .unwrap();
    assert!(listed.is_empty());
    let created = raw
        .create_container(
            Some(CreateContainerOptionsBuilder::new().name(name).build()),
            body,
        )
        .await
        .unwrap();
    raw.start_container(
        &created.id,
        None::<bollard::query_parameters::StartContainerOptions>,
    )
    .await
    .unwrap();
    let inspected = raw
        .inspect_container(&created.id, None::<InspectContainerOptions>)
        .await
        .unwrap();
    assert_eq!(inspected.state.and_then(|s| s.running), Some(true));
    (t.elapsed(), created.id)
}

/// `docker rm -f -v` and the removal of its named volumes, the way VibeBox deletes an
/// environment.
pub async fn raw_remove(raw: &Docker, id: &str) {
    let volumes: Vec<String> = raw
        .inspect_container(id, None::<InspectContainerOptions>)
        .await
        .unwrap()
        .mounts
        .unwrap_or_default()
        .into_iter()
        .filter(|m| m.typ.as_deref() == Some("volume"))
        .filter_map(|m| m.name)
        .collect();
    raw.remove_container(
        id,
        Some(
            RemoveContainerOptionsBuilder::new()
                .force(true)
                .v(true)
                .build(),
        ),
    )
    .await
    .unwrap();
    for v in volumes {
        raw.remove_volume(&v, None::<bollard::query_parameters::RemoveVolumeOptions>)
            .await
            .unwrap();
    }
}

/// The fields of `docker inspect` that the create body decides.
const SPEC_FIELDS: &[&str] = &[
    "/Config/Image",
    "/Config/Cmd",
    "/Config/Entrypoint",
    "/Config/User",
    "/Config/Env",
    "/Config/Tty",
    "/Config/OpenStdin",
    "/Config/ExposedPorts",
    "/HostConfig/NanoCpus",
    "/HostConfig/Memory",
    "/HostConfig/MemorySwap",
    "/HostConfig/PidsLimit",
    "/HostConfig/StorageOpt",
    "/HostConfig/CapDrop",
    "/HostConfig/CapAdd",
    "/HostConfig/SecurityOpt",
    "/HostConfig/Privileged",
    "/HostConfig/Init",
    "/HostConfig/RestartPolicy",
    "/HostConfig/PortBindings",
    "/HostConfig/Binds",
    "/HostConfig/CgroupnsMode",
    "/HostConfig/NetworkMode",
];

/// The mounts' kinds and targets (their volume names differ by design).
fn mount_shapes(v: &serde_json::Value) -> Vec<(String, String)> {
    v.pointer("/HostConfig/Mounts")
        .and_then(|m| m.as_array())
        .map(|m| {
            m.iter()
                .map(|m| (m["Type"].to_string(), m["Target"].to_string()))
                .collect()
        })
        .unwrap_or_default()
}

/// Panics unless both containers have the same spec and the same label names.
fn assert_same_spec(a: &serde_json::Value, b: &serde_json::Value) {
    let differ: Vec<String> = SPEC_FIELDS
        .iter()
        .filter(|f| a.pointer(f) != b.pointer(f))
        .map(|f| format!("{f}: {:?} vs {:?}", a.pointer(f), b.pointer(f)))
        .collect();
    assert!(
        differ.is_empty(),
        "the raw baseline must create the same container as VibeBox: {differ:#?}"
    );
    assert_eq!(mount_shapes(a), mount_shapes(b), "the same kinds of mounts");
    let keys = |v: &serde_json::Value| -> BTreeSet<String> {
        v.pointer("/Config/Labels")
            .and_then(|l| l.as_object())
            .map(|l| l.keys().cloned().collect())
            .unwrap_or_default()
    };
    assert_eq!(keys(a), keys(b), "both containers carry the same labels");
}
