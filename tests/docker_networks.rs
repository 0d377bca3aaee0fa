//! Project networks on the real Docker engine: an environment reaches its project's other
//! environments by name and nothing of another project, by address or by name; networks go
//! with their last environment; and explicit subnets hold more networks than the engine's
//! default address pools (about 31).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use std::collections::BTreeSet;

use docker::*;
use vibebox::domain::{Environment, Project};
use vibebox::rbac::Actor;
use vibebox::runtime::{ContainerRuntime, Ipv4Subnet, NetworkSpec};

/// Held by each test while it creates or removes networks or checks isolation. Docker 20.10
/// re-inserts its isolation rules whenever a network is created, and a connection opened in
/// that instant gets through (and stays, as an established connection); the isolation check
/// must run when no network is being made (NOTES.md, "Reach").
static NETWORK_TESTS: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// Busybox environments without sessions (busybox has no tmux).
async fn harness() -> D {
    D::with(|c| c.default_sessions = vec![]).await
}

async fn started(d: &D, actor: &Actor, project: &Project, slug: &str) -> Environment {
    started_on(d, actor, project, slug, BUSYBOX_IMAGE).await
}

async fn started_on(
    d: &D,
    actor: &Actor,
    project: &Project,
    slug: &str,
    image: &str,
) -> Environment {
    let env =
        d.vb.create_environment(actor, new_env(project, slug, image))
            .await
            .unwrap();
    d.vb.start_environment(actor, env.id).await.unwrap()
}

/// Serves `hello-<slug>` over HTTP on port 8080 inside the environment, and waits until it
/// answers there.
async fn serve(d: &D, env: &Environment) {
    let script = format!(
        "mkdir -p /tmp/www && echo hello-{slug} > /tmp/www/index.html && httpd -p 8080 -h /tmp/www",
        slug = env.slug
    );
    let (code, out) = d.exec(env, &script).await;
    assert_eq!(code, 0, "httpd did not start: {out}");
    let (code, out) = d
        .exec(
            env,
            "for i in $(seq 1 100); do wget -q -O- http://127.0.0.1:8080/ && exit 0; usleep 50000; done; exit 1",
        )
        .await;
    assert_eq!(code, 0, "httpd does not answer locally: {out}");
}

/// An HTTP GET from inside `from` (a Debian environment: bash's /dev/tcp, and glibc to
/// resolve names), giving up after 3 s: the exit code and the body.
async fn fetch(d: &D, from: &Environment, host: &str) -> (i64, String) {
    let script = format!(
        "timeout 3 bash -c 'exec 3<>/dev/tcp/{host}/8080 && printf \"GET / HTTP/1.0\\r\\n\\r\\n\" >&3 && sed \"1,/^\\r\\?$/d\" <&3'"
    );
    d.exec(from, &script).await
}

fn network_json(name: &str) -> serde_json::Value {
    let out = docker(&["network", "inspect", name]);
    let v: serde_json::Value = serde_json::from_str(&out).unwrap_or(serde_json::Value::Null);
    v.get(0).cloned().unwrap_or(serde_json::Value::Null)
}

fn subnet_of(network: &serde_json::Value) -> Ipv4Subnet {
    let s = network["IPAM"]["Config"][0]["Subnet"].as_str().unwrap();
    Ipv4Subnet::parse(s).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_environment_reaches_its_siblings_by_name_and_nothing_of_another_project() {
    let _alone = NETWORK_TESTS.lock().await;
    let d = harness().await;
    let alice = d.user("alice").await;
    let mallory = d.user("mallory").await;
    let project_a = d.project(&alice, "proj-a").await;
    let project_b = d.project(&mallory, "proj-b").await;
    // Servers on busybox (httpd), clients on Debian.
    let (a1, a2, b1, b2) = tokio::join!(
        started_on(&d, &alice, &project_a, "app-a1", BASE_IMAGE),
        started(&d, &alice, &project_a, "app-a2"),
        started(&d, &mallory, &project_b, "app-b1"),
        started_on(&d, &mallory, &project_b, "app-b2", BASE_IMAGE),
    );
    serve(&d, &a2).await;
    serve(&d, &b1).await;

    // The sibling answers by its slug and by its container name.
    let (code, out) = fetch(&d, &a1, "app-a2").await;
    assert_eq!((code, out.trim()), (0, "hello-app-a2"));
    let a2_name = format!("{}{}", d.config.container_name_prefix, a2.id);
    let (code, out) = fetch(&d, &a1, &a2_name).await;
    assert_eq!((code, out.trim()), (0, "hello-app-a2"));

    // Project B's server answers its own sibling, by name and by address...
    let (_, b1_ip) = d.exec(&b1, "hostname -i").await;
    let b1_ip = b1_ip.trim().to_string();
    let (code, out) = fetch(&d, &b2, "app-b1").await;
    assert_eq!((code, out.trim()), (0, "hello-app-b1"));
    let (code, out) = fetch(&d, &b2, &b1_ip).await;
    assert_eq!(
        (code, out.trim()),
        (0, "hello-app-b1"),
        "b1 serves on {b1_ip}"
    );
    // ...but not project A: neither by address nor by name, which does not resolve there.
    let (code, out) = fetch(&d, &a1, &b1_ip).await;
    assert_ne!(code, 0, "project A reached project B at {b1_ip}: {out}");
    assert!(!out.contains("hello-app-b1"), "{out}");
    let (code, out) = fetch(&d, &a1, "app-b1").await;
    assert_ne!(code, 0, "project A resolved project B's name: {out}");
    let (code, out) = fetch(&d, &b2, "app-a2").await;
    assert_ne!(code, 0, "project B reached project A by name: {out}");
    let (_, a2_ip) = d.exec(&a2, "hostname -i").await;
    let (code, out) = fetch(&d, &b2, a2_ip.trim()).await;
    assert_ne!(code, 0, "project B reached project A at {a2_ip}: {out}");

    // What the engine says: one labelled network per project, disjoint subnets.
    let net_a = network_json(&format!(
        "{}net-{}",
        d.config.container_name_prefix, project_a.id
    ));
    let net_b = network_json(&format!(
        "{}net-{}",
        d.config.container_name_prefix, project_b.id
    ));
    assert_eq!(
        net_a["Labels"]["vibebox.project_id"],
        project_a.id.to_string()
    );
    assert_eq!(net_a["Labels"]["vibebox.managed"], "true");
    assert!(!subnet_of(&net_a).overlaps(&subnet_of(&net_b)));
    let on_a: BTreeSet<String> = net_a["Containers"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert_eq!(
        on_a,
        BTreeSet::from([container(&a1).0, container(&a2).0]),
        "project A's network holds exactly its environments"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_network_goes_with_the_last_environment_and_orphans_with_the_reconciler() {
    let _alone = NETWORK_TESTS.lock().await;
    let d = harness().await;
    let alice = d.user("alice").await;
    let project = d.project(&alice, "proj").await;
    let (one, two) = tokio::join!(
        started(&d, &alice, &project, "one"),
        started(&d, &alice, &project, "two"),
    );
    let name = format!("{}net-{}", d.config.container_name_prefix, project.id);
    d.vb.delete_environment(&alice, one.id).await.unwrap();
    assert!(
        !network_json(&name).is_null(),
        "kept while an environment remains"
    );
    d.vb.delete_environment(&alice, two.id).await.unwrap();
    assert!(
        network_json(&name).is_null(),
        "removed with the last environment"
    );

    // A network of this instance whose project is gone is removed by the reconciler.
    let gone = vibebox::id::ProjectId::new();
    let orphan = format!("{}net-{gone}", d.config.container_name_prefix);
    let mut labels: std::collections::BTreeMap<String, String> = d.config.container_labels.clone();
    labels.insert("vibebox.managed".into(), "true".into());
    labels.insert("vibebox.project_id".into(), gone.to_string());
    create_somewhere(&d, &orphan, labels).await;
    assert!(!network_json(&orphan).is_null());
    let report = d.vb.reconcile().await.unwrap();
    assert_eq!(report.networks_removed, 1);
    assert!(network_json(&orphan).is_null());
}

/// Creates a network on the first free /28 of 10.252.0.0/16 (a range only these tests use).
async fn create_somewhere(
    d: &D,
    name: &str,
    labels: std::collections::BTreeMap<String, String>,
) -> Ipv4Subnet {
    let range = Ipv4Subnet::parse("10.252.0.0/16").unwrap();
    for i in 0..range.subnet_count(28) {
        let subnet = range.nth_subnet(28, i).unwrap();
        let spec = NetworkSpec {
            name: name.to_string(),
            subnet,
            labels: labels.clone(),
        };
        match d.rt.create_network(&spec).await {
            Ok(_) => return subnet,
            Err(e) if e.kind() == vibebox::ErrorKind::Conflict => continue,
            Err(e) => panic!("create {name}: {e}"),
        }
    }
    panic!("no free subnet in {range}")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explicit_subnets_hold_more_networks_than_the_engines_default_pools() {
    let _alone = NETWORK_TESTS.lock().await;
    // Docker's default pools give about 31 networks; 64 with explicit /28 subnets all exist
    // at once. The run's label removes them at the end, also when the test fails.
    const COUNT: usize = 64;
    let d = harness().await;
    let labels: std::collections::BTreeMap<String, String> = d.config.container_labels.clone();
    let mut subnets = Vec::new();
    for i in 0..COUNT {
        let name = format!("{}many-{i}", d.config.container_name_prefix);
        subnets.push(create_somewhere(&d, &name, labels.clone()).await);
    }
    let listed =
        d.rt.list_networks(
            &d.config
                .container_labels
                .clone()
                .into_iter()
                .collect::<Vec<_>>(),
        )
        .await
        .unwrap();
    assert_eq!(listed.len(), COUNT);
    for (i, a) in subnets.iter().enumerate() {
        assert!(
            subnets[i + 1..].iter().all(|b| !a.overlaps(b)),
            "{a} overlaps"
        );
    }
    // A project started now still gets a network of its own from the service's pool.
    let alice = d.user("alice").await;
    let project = d.project(&alice, "proj").await;
    let env = started(&d, &alice, &project, "dev").await;
    let net = network_json(&format!(
        "{}net-{}",
        d.config.container_name_prefix, project.id
    ));
    assert!(!net.is_null());
    let info = d.rt.inspect(&container(&env)).await.unwrap();
    assert_eq!(info.networks.len(), 1);
}
