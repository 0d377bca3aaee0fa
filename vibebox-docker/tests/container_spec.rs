//! The container VibeBox creates, as `docker inspect` and the kernel see it: every item of
//! DESIGN.md §7.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use secrecy::SecretString;
use serde_json::Value;
use vibebox_core::domain::Protocol;
use vibebox_core::runtime::{ContainerRuntime, ContainerSpec, HardeningProfile, PortSpec};
use vibebox_core::testing::runtime_checks::RuntimeFixture;
use vibebox_docker::DockerRuntime;

use common::{RemoveOnDrop, docker};

const MB: i64 = 1024 * 1024;

struct Created {
    rt: DockerRuntime,
    id: String,
    inspect: Value,
    _cleanup: RemoveOnDrop,
}

/// Creates and starts a container for `hardening` on the base image as uid 1000, with an
/// engine-chosen port and a variable, and inspects it with the Docker CLI.
async fn create(hardening: HardeningProfile) -> Created {
    let rt = common::runtime().await;
    let fx = RuntimeFixture::new(common::BASE_IMAGE);
    let cleanup = RemoveOnDrop(format!("vibebox.conformance.run={}", fx.labels[1].1));
    let mut spec: ContainerSpec = fx.spec("spec");
    spec.user = Some("1000".into());
    spec.hardening = hardening;
    spec.limits.nano_cpus = 1_500_000_000;
    spec.limits.memory_bytes = 192 * MB;
    spec.limits.pids_limit = 100;
    spec.limits.storage_bytes = Some(1024 * MB);
    spec.labels.insert("vibebox.managed".into(), "true".into());
    spec.env = vec![("GREETING".into(), SecretString::from("hello"))];
    spec.ports = vec![PortSpec {
        container_port: 8080,
        protocol: Protocol::Tcp,
        host_ip: "127.0.0.1".into(),
        host_port: None,
    }];
    let id = rt.create(&spec).await.unwrap();
    rt.start(&id).await.unwrap();
    let out = docker(&["inspect", id.as_str()]);
    let inspect: Value = serde_json::from_str::<Value>(&out).unwrap()[0].clone();
    Created {
        rt,
        id: id.0,
        inspect,
        _cleanup: cleanup,
    }
}

/// Runs `sh -c script` in the container as `user` with the Docker CLI.
fn exec_cli(id: &str, user: &str, script: &str) -> String {
    docker(&["exec", "-u", user, id, "sh", "-c", script])
        .trim()
        .to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_are_nano_cpus_memory_with_equal_swap_and_pids() {
    let c = create(HardeningProfile::Dev).await;
    let h = &c.inspect["HostConfig"];
    assert_eq!(h["NanoCpus"], 1_500_000_000_i64);
    assert_eq!(h["Memory"], 192 * MB);
    assert_eq!(h["MemorySwap"], 192 * MB, "no swap beyond the memory limit");
    assert_eq!(h["PidsLimit"], 100);
    // The kernel enforces them (cgroup v1 or v2 paths).
    let memory = exec_cli(
        &c.id,
        "0",
        "cat /sys/fs/cgroup/memory/memory.limit_in_bytes 2>/dev/null || cat /sys/fs/cgroup/memory.max",
    );
    assert_eq!(memory, (192 * MB).to_string());
    let pids = exec_cli(
        &c.id,
        "0",
        "cat /sys/fs/cgroup/pids/pids.max 2>/dev/null || cat /sys/fs/cgroup/pids.max",
    );
    assert_eq!(pids, "100");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn storage_limit_is_applied_only_where_enforced_and_reported() {
    let c = create(HardeningProfile::Dev).await;
    let enforced = c.rt.capabilities().storage_limit;
    let size = c.inspect["HostConfig"]["StorageOpt"]["size"].clone();
    if enforced {
        assert_eq!(size, (1024 * MB).to_string());
    } else {
        assert_eq!(size, Value::Null, "not claimed where the driver cannot");
    }
    let info =
        c.rt.inspect(&vibebox_core::runtime::ContainerId(c.id.clone()))
            .await
            .unwrap();
    assert_eq!(info.storage_limit_enforced, enforced);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dev_profile_drops_all_capabilities_and_adds_back_the_allowlist() {
    let c = create(HardeningProfile::Dev).await;
    let h = &c.inspect["HostConfig"];
    assert_eq!(h["CapDrop"], serde_json::json!(["ALL"]));
    let added: Vec<String> = serde_json::from_value(h["CapAdd"].clone()).unwrap();
    assert_eq!(added, HardeningProfile::Dev.cap_add());
    assert!(
        h["SecurityOpt"].is_null(),
        "dev keeps setuid working: {}",
        h["SecurityOpt"]
    );
    // The non-root user has no effective capabilities; root has only the allowlist.
    assert_eq!(
        exec_cli(&c.id, "1000", "grep CapEff /proc/self/status"),
        "CapEff:\t0000000000000000"
    );
    let root_caps = exec_cli(&c.id, "0", "grep CapBnd /proc/self/status");
    // CHOWN(0) DAC_OVERRIDE(1) FOWNER(3) KILL(5) SETGID(6) SETUID(7) = 0xeb.
    assert_eq!(root_caps, "CapBnd:\t00000000000000eb");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn strict_profile_adds_nothing_back_and_sets_no_new_privileges() {
    let c = create(HardeningProfile::Strict).await;
    let h = &c.inspect["HostConfig"];
    assert_eq!(h["CapDrop"], serde_json::json!(["ALL"]));
    assert!(
        h["CapAdd"].as_array().is_none_or(|a| a.is_empty()),
        "{}",
        h["CapAdd"]
    );
    assert_eq!(
        h["SecurityOpt"],
        serde_json::json!(["no-new-privileges:true"])
    );
    assert_eq!(
        exec_cli(&c.id, "0", "grep -E 'NoNewPrivs|CapBnd' /proc/self/status"),
        "CapBnd:\t0000000000000000\nNoNewPrivs:\t1"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn never_privileged_no_host_namespace_no_socket_and_default_seccomp() {
    let c = create(HardeningProfile::Dev).await;
    let h = &c.inspect["HostConfig"];
    assert_eq!(h["Privileged"], false);
    for ns in ["PidMode", "UTSMode", "UsernsMode", "CgroupnsMode"] {
        assert!(
            h[ns].is_null() || h[ns] == "" || h[ns] == "private",
            "{ns} = {}",
            h[ns]
        );
    }
    assert!(
        h["IpcMode"] == "private" || h["IpcMode"] == "shareable" || h["IpcMode"] == "",
        "IpcMode = {}",
        h["IpcMode"]
    );
    assert_ne!(h["NetworkMode"], "host");
    assert!(h["Binds"].is_null(), "no host paths: {}", h["Binds"]);
    assert!(
        c.inspect["Mounts"].as_array().is_none_or(|m| m.is_empty()),
        "no mounts at all, so never the engine's socket: {}",
        c.inspect["Mounts"]
    );
    assert!(h["Devices"].as_array().is_none_or(|d| d.is_empty()));
    // No seccomp option means the engine's default profile.
    assert!(
        !h["SecurityOpt"].to_string().contains("seccomp"),
        "{}",
        h["SecurityOpt"]
    );
    assert_eq!(
        exec_cli(&c.id, "0", "grep Seccomp: /proc/self/status"),
        "Seccomp:\t2",
        "filtered by seccomp"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn init_runs_as_pid_one_and_the_engine_never_restarts_it() {
    let c = create(HardeningProfile::Dev).await;
    let h = &c.inspect["HostConfig"];
    assert_eq!(h["Init"], true);
    assert_eq!(h["RestartPolicy"]["Name"], "no");
    let pid1 = exec_cli(&c.id, "0", "cat /proc/1/comm");
    assert!(pid1.contains("init"), "PID 1 is the engine's init: {pid1}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn labels_user_and_variables_are_set() {
    let c = create(HardeningProfile::Dev).await;
    let cfg = &c.inspect["Config"];
    assert_eq!(cfg["Labels"]["vibebox.managed"], "true");
    assert_eq!(cfg["Labels"]["vibebox.conformance"], "true");
    assert_eq!(cfg["User"], "1000");
    assert_eq!(exec_cli(&c.id, "1000", "id -u"), "1000");
    assert_eq!(exec_cli(&c.id, "1000", "printf %s \"$GREETING\""), "hello");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ports_publish_on_loopback_with_the_engine_chosen_port_read_back() {
    let c = create(HardeningProfile::Dev).await;
    let binding = &c.inspect["HostConfig"]["PortBindings"]["8080/tcp"][0];
    assert_eq!(binding["HostIp"], "127.0.0.1");
    let bound = &c.inspect["NetworkSettings"]["Ports"]["8080/tcp"][0];
    assert_eq!(bound["HostIp"], "127.0.0.1");
    let cli_port: u16 = bound["HostPort"].as_str().unwrap().parse().unwrap();
    assert_ne!(cli_port, 0);
    let info =
        c.rt.inspect(&vibebox_core::runtime::ContainerId(c.id.clone()))
            .await
            .unwrap();
    assert_eq!(info.ports.len(), 1);
    assert_eq!(info.ports[0].host_ip, "127.0.0.1");
    assert_eq!(info.ports[0].host_port, cli_port);
}
