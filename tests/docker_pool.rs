//! The warm pool on the real Docker engine (issue 18): an environment that claimed a warm
//! container and one that started cold pass one set of assertions: what a shell and an exec
//! see, the home directory, the project network and its isolation, and the limits and
//! hardening `docker inspect` shows. What may differ is listed, and checked, at the end.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::collections::BTreeMap;

use docker::*;
use serde_json::{Value, json};
use vibebox::config::PoolShape;
use vibebox::domain::{Environment, EnvironmentStatus};
use vibebox::rbac::Actor;
use vibebox::service::{ExecRequest, NewEnvironment};

/// What a person or an operator can observe of an environment.
#[derive(Debug, PartialEq)]
struct Observed {
    /// `env` from a login shell and from an exec, minus HOSTNAME.
    shell_env: Vec<String>,
    exec_env: Vec<String>,
    /// `id`, the home directory, its owner and mode, a file written and read back.
    identity: String,
    home: String,
    /// `docker inspect`: limits, hardening, user, command, mounts, published ports.
    inspect: BTreeMap<&'static str, Value>,
}

/// Runs `script` through the service's exec, as the environment's owner.
async fn run(d: &D, owner: &Actor, env: &Environment, script: &str) -> String {
    let r =
        d.vb.exec(owner, env.id, ExecRequest::new(["bash", "-c", script]))
            .await
            .unwrap();
    let out = String::from_utf8_lossy(&r.stdout).into_owned();
    assert_eq!(
        r.exit_code,
        Some(0),
        "{script}: {out}{}",
        String::from_utf8_lossy(&r.stderr)
    );
    out
}

fn without_hostname(text: &str) -> Vec<String> {
    let mut lines: Vec<String> = text
        .lines()
        // The exec's own id differs by nature.
        .filter(|l| {
            !l.starts_with("HOSTNAME=") && !l.starts_with("_=") && !l.starts_with("VIBEBOX_EXEC=")
        })
        .map(str::to_string)
        .collect();
    lines.sort();
    lines
}

async fn observe(d: &D, owner: &Actor, env: &Environment) -> Observed {
    let shell_env = without_hostname(&run(d, owner, env, "exec bash -l -c env").await);
    let exec_env = without_hostname(&run(d, owner, env, "env").await);
    let identity = run(d, owner, env, "id; echo $HOME; pwd").await;
    let home = run(
        d,
        owner,
        env,
        "echo kept > ~/probe && cat ~/probe && stat -c '%U %G %a' ~ ~/probe && ls -A ~ | sort",
    )
    .await;
    let c = docker_inspect(env.container_id.as_deref().unwrap());
    let prefix = &d.config.container_name_prefix;
    let host = &c["HostConfig"];
    let mounts: Vec<Value> = c["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            json!({
                "type": m["Type"],
                "destination": m["Destination"],
                "rw": m["RW"],
                // Named for the environment in both cases.
                "name_is_the_environments": m["Name"].as_str() == Some(&format!("{prefix}{}-home", env.id)),
            })
        })
        .collect();
    let networks: Vec<String> = c["NetworkSettings"]["Networks"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    let inspect = BTreeMap::from([
        ("image", c["Config"]["Image"].clone()),
        ("user", c["Config"]["User"].clone()),
        ("cmd", c["Config"]["Cmd"].clone()),
        ("env", c["Config"]["Env"].clone()),
        ("nano_cpus", host["NanoCpus"].clone()),
        ("memory", host["Memory"].clone()),
        ("memory_swap", host["MemorySwap"].clone()),
        ("pids_limit", host["PidsLimit"].clone()),
        ("cap_drop", host["CapDrop"].clone()),
        ("cap_add", host["CapAdd"].clone()),
        ("security_opt", host["SecurityOpt"].clone()),
        ("privileged", host["Privileged"].clone()),
        ("readonly_rootfs", host["ReadonlyRootfs"].clone()),
        ("init", host["Init"].clone()),
        ("restart", host["RestartPolicy"]["Name"].clone()),
        ("port_bindings", host["PortBindings"].clone()),
        ("log_config", host["LogConfig"].clone()),
        ("mounts", json!(mounts)),
        (
            "networks",
            json!(
                networks
                    .iter()
                    .map(|n| n == &format!("{prefix}net-{}", env.project_id))
                    .collect::<Vec<_>>()
            ),
        ),
        ("running", c["State"]["Running"].clone()),
    ]);
    Observed {
        shell_env,
        exec_env,
        identity,
        home,
        inspect,
    }
}

/// Serves `hello-<slug>` on port 8080 inside the environment.
async fn serve(d: &D, owner: &Actor, env: &Environment) {
    run(
        d,
        owner,
        env,
        &format!(
            "mkdir -p /tmp/www && echo hello-{} > /tmp/www/index.html && \
             (setsid python3 -m http.server 8080 --directory /tmp/www >/dev/null 2>&1 &) && \
             for i in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/8080) 2>/dev/null && exit 0; sleep 0.05; done; exit 1",
            env.slug
        ),
    )
    .await;
}

/// An HTTP GET from inside `from`, giving up after 3 s: the exit code and the body.
async fn fetch(d: &D, from: &Environment, host: &str) -> (i64, String) {
    d.exec(
        from,
        &format!(
            "timeout 3 bash -c 'exec 3<>/dev/tcp/{host}/8080 && printf \"GET / HTTP/1.0\\r\\n\\r\\n\" >&3 && sed \"1,/^\\r\\?$/d\" <&3'"
        ),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_claimed_environment_and_a_cold_one_pass_the_same_assertions() {
    let d = D::with(|c| {
        c.default_sessions = vec![];
        c.pool = vec![PoolShape {
            image: BASE_IMAGE.into(),
            cpu_limit: 0.5,
            memory_limit: 256,
            count: 1,
        }];
    })
    .await;
    let report = d.vb.refill_pool().await.unwrap();
    assert_eq!((report.created, report.warm), (1, 1), "{report:?}");
    let alice = d.user("alice").await;
    let mallory = d.user("mallory").await;
    let project = d.project(&alice, "pool-proj").await;
    let other = d.project(&mallory, "other-proj").await;
    let create = |slug: &str| NewEnvironment {
        start: true,
        ..new_env(&project, slug, BASE_IMAGE)
    };
    // The first takes the warm container (no refill runs: this harness has no background
    // tasks), the second finds the pool empty and starts cold.
    let claimed =
        d.vb.create_environment(&alice, create("claimed"))
            .await
            .unwrap();
    let cold =
        d.vb.create_environment(&alice, create("cold"))
            .await
            .unwrap();
    assert_eq!(claimed.status, EnvironmentStatus::Running);
    assert_eq!(cold.status, EnvironmentStatus::Running);
    let claimed_labels =
        &docker_inspect(claimed.container_id.as_deref().unwrap())["Config"]["Labels"];
    let cold_labels = &docker_inspect(cold.container_id.as_deref().unwrap())["Config"]["Labels"];
    assert!(
        claimed_labels["vibebox.pool"].is_string(),
        "the claimed one came from the pool"
    );
    assert!(
        cold_labels["vibebox.pool"].is_null(),
        "the cold one did not"
    );

    let (a, b) = (
        observe(&d, &alice, &claimed).await,
        observe(&d, &alice, &cold).await,
    );
    assert_eq!(a, b);
    assert!(a.home.starts_with("kept\n"), "{}", a.home);
    assert!(
        a.exec_env.iter().any(|l| l.starts_with("PATH=")),
        "{:?}",
        a.exec_env
    );

    // Network: each reaches the other by slug; another project reaches neither.
    let stranger = {
        let env =
            d.vb.create_environment(
                &mallory,
                NewEnvironment {
                    start: true,
                    ..new_env(&other, "stranger", BASE_IMAGE)
                },
            )
            .await
            .unwrap();
        assert_eq!(env.status, EnvironmentStatus::Running);
        env
    };
    serve(&d, &alice, &claimed).await;
    serve(&d, &alice, &cold).await;
    assert_eq!(fetch(&d, &claimed, "cold").await.1.trim(), "hello-cold");
    assert_eq!(fetch(&d, &cold, "claimed").await.1.trim(), "hello-claimed");
    for target in [&claimed, &cold] {
        let (_, ip) = d.exec(target, "hostname -i").await;
        let (code, out) = fetch(&d, &stranger, ip.trim()).await;
        assert_ne!(
            code, 0,
            "another project reached {} at {ip}: {out}",
            target.slug
        );
        let (code, out) = fetch(&d, &stranger, &target.slug).await;
        assert_ne!(code, 0, "another project resolved {}: {out}", target.slug);
    }

    // What differs, by design (README, "The warm pool"): the hostname set at create, and
    // the labels of the container's origin.
    assert_eq!(d.exec(&cold, "hostname").await.1.trim(), "cold");
    assert_eq!(d.exec(&claimed, "hostname").await.1.trim(), "vibebox");
    assert_eq!(
        claimed_labels["vibebox.environment_id"],
        json!(claimed.id.to_string())
    );
}
