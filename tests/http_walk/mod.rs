//! The end-to-end walk through HTTP (issue 5, item 8), on the real Docker engine and the store
//! that the including test target provides as `crate::backend::harness(tweak)`:
//! `tests/http_walk_sqlite.rs` and `tests/http_walk_postgres.rs`.
//!
//! Every call goes over a real loopback socket to `vibebox_http::router`: register and sign
//! in; a team with a second member as viewer; a team project; an environment with a port and
//! a secret variable; start it, read its logs (stored and live), open a terminal and run
//! commands, read its metrics; install an extension; stop it and delete it. Each step is
//! checked against the engine with the Docker CLI or an exec of its own, and at each stage
//! the viewer is refused every write (403, nothing changed) while reads succeed, and a
//! stranger is told that nothing exists (404).

mod client;
mod viewer;

use std::time::Duration;

use serde_json::{Value, json};

use crate::docker::{
    BASE_IMAGE, D, WAIT, container_exists, container_running, containers_of, docker_inspect,
    exec_in, volume_exists,
};
use client::{control, type_in, until_json, until_output};

/// The main process: says it started, then copies whatever is written to the FIFO
/// `/tmp/walk-log` to its stdout (opened read-write, so it never reaches end-of-file), which
/// lets the walk make the container log a line while a socket listens.
const MAIN_PROCESS: &str = "echo \"vibebox: environment started\"; cd /tmp && \
                            { [ -p walk-log ] || mkfifo walk-log; } && exec cat 0<>walk-log";

/// An installer standing in for code-server: records its arguments in the environment.
const INSTALLER: &str = "/home/vibebox/bin/code-server";
const INSTALLER_SHIM: &str = "mkdir -p $HOME/bin && printf '#!/bin/sh\\necho \"$@\" >> \
                              $HOME/installer-calls\\n' > $HOME/bin/code-server && \
                              chmod +x $HOME/bin/code-server";

/// The environment's limits (256 MB, half a CPU), as the engine must apply them.
const MEMORY_MB: i64 = 256;
const MEMORY_BYTES: i64 = MEMORY_MB * 1024 * 1024;

/// Polls `probe` until it yields a value, failing the test after [`WAIT`].
async fn eventually<T, F, Fut>(what: &str, mut probe: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Option<T>>,
{
    let found = tokio::time::timeout(WAIT, async {
        loop {
            if let Some(v) = probe().await {
                return v;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("timed out waiting until {what}"))
}

/// The ids the walk creates, shared with the viewer's and the stranger's checks.
#[derive(Clone, Debug, Default)]
pub struct Walk {
    pub owner: String,
    pub owner_token: String,
    pub viewer: String,
    pub viewer_token: String,
    pub stranger_token: String,
    pub team: String,
    pub project: String,
    pub environment: String,
    pub port: String,
    pub session: String,
    pub extension: String,
    pub other_extension: String,
}

impl Walk {
    fn env_path(&self, rest: &str) -> String {
        format!("/environments/{}{rest}", self.environment)
    }
}

fn id_of(v: &Value) -> String {
    v["id"]
        .as_str()
        .unwrap_or_else(|| panic!("no id in {v}"))
        .to_string()
}

/// Asserts the status of a reply, showing its body otherwise.
#[track_caller]
fn expect(reply: &client::Reply, status: u16, what: &str) {
    assert_eq!(reply.status, status, "{what}: {}", reply.raw);
}

/// Runs a command in the environment's container as its user (the test's own exec, not the
/// API's).
async fn exec(d: &D, container: &str, script: &str) -> (i64, String) {
    exec_in(
        &*d.rt,
        &vibebox::runtime::ContainerId(container.to_string()),
        script,
        d.config.container_user.clone(),
    )
    .await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_whole_path_through_http_matches_the_real_container_and_the_viewer_is_refused_every_write()
 {
    let d = crate::backend::harness(|c| {
        c.container_command = Some(vec!["/bin/sh".into(), "-c".into(), MAIN_PROCESS.into()]);
        c.extension_install_command = vec![INSTALLER.into(), "--install-extension".into()];
        c.extension_uninstall_command = vec![INSTALLER.into(), "--uninstall-extension".into()];
    })
    .await;
    let api = client::serve(&d).await;
    let canary = format!("walk-secret-{}", d.run());
    let mut w = Walk::default();

    // Register and sign in. The first account is the platform admin (it adds to the
    // extension catalog below).
    (w.owner, w.owner_token) = api.register_and_sign_in("owner").await;
    (w.viewer, w.viewer_token) = api.register_and_sign_in("viewer").await;
    (_, w.stranger_token) = api.register_and_sign_in("stranger").await;
    let me = api.read("/users/me", &w.owner_token).await;
    assert_eq!(
        (me["id"].as_str(), me["is_platform_admin"].as_bool()),
        (Some(&*w.owner), Some(true))
    );

    // A team with the second member as viewer.
    let team = api
        .post(
            "/teams",
            &w.owner_token,
            json!({"name": "Walkers", "slug": "walkers"}),
        )
        .await;
    expect(&team, 201, "creating the team");
    w.team = id_of(&team.body);
    let member = api
        .post(
            &format!("/teams/{}/members", w.team),
            &w.owner_token,
            json!({"email": "viewer@example.com", "role": "viewer"}),
        )
        .await;
    expect(&member, 201, "adding the viewer");
    assert_eq!(
        (
            member.body["user_id"].as_str(),
            member.body["role"].as_str()
        ),
        (Some(&*w.viewer), Some("viewer"))
    );
    let members = api
        .read(&format!("/teams/{}/members", w.team), &w.viewer_token)
        .await;
    let mut roles: Vec<(String, String)> = members["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| {
            (
                m["user_id"].as_str().unwrap().into(),
                m["role"].as_str().unwrap().into(),
            )
        })
        .collect();
    roles.sort();
    let mut want = vec![
        (w.owner.clone(), "admin".to_string()),
        (w.viewer.clone(), "viewer".to_string()),
    ];
    want.sort();
    assert_eq!(roles, want, "the team's members as the viewer reads them");

    // A team project.
    let project = api
        .post(
            "/projects",
            &w.owner_token,
            json!({"name": "Walk", "slug": "walk", "team_id": w.team}),
        )
        .await;
    expect(&project, 201, "creating the team project");
    w.project = id_of(&project.body);
    assert_eq!(project.body["owner"], json!({"type": "team", "id": w.team}));

    // An environment with a port and a secret variable: stopped, and no container yet.
    let env = api
        .post(
            "/environments",
            &w.owner_token,
            json!({"project_id": w.project, "name": "Dev", "slug": "dev",
                   "base_image": BASE_IMAGE, "cpu_limit": 0.5, "memory_limit": MEMORY_MB}),
        )
        .await;
    expect(&env, 201, "creating the environment");
    w.environment = id_of(&env.body);
    assert_eq!(env.body["status"], "stopped");
    let env_model: vibebox::domain::Environment = serde_json::from_value(env.body.clone()).unwrap();
    assert!(
        containers_of(&env_model).is_empty(),
        "no container before the first start"
    );
    let port = api
        .post(
            &w.env_path("/ports"),
            &w.owner_token,
            json!({"container_port": 8080}),
        )
        .await;
    expect(&port, 201, "adding the port");
    w.port = id_of(&port.body);
    assert_eq!(
        (
            port.body["host_port"].clone(),
            port.body["protocol"].clone()
        ),
        (Value::Null, json!("tcp"))
    );
    let secret = api
        .post(
            &w.env_path("/variables"),
            &w.owner_token,
            json!({"key": "API_TOKEN", "value": canary}),
        )
        .await;
    expect(&secret, 201, "setting the secret variable");
    assert!(
        !secret.raw.contains(&canary),
        "the secret is not echoed: {}",
        secret.raw
    );
    assert_eq!(
        secret.body["is_encrypted"], true,
        "a key with TOKEN is always encrypted"
    );
    let plain = api
        .post(
            &w.env_path("/variables"),
            &w.owner_token,
            json!({"key": "GREETING", "value": "hello-walk"}),
        )
        .await;
    expect(&plain, 201, "setting a plain variable");
    for token in [&w.owner_token, &w.viewer_token] {
        let listed = api.get(&w.env_path("/variables"), token).await;
        expect(&listed, 200, "listing the variables");
        assert!(
            !listed.raw.contains(&canary),
            "the secret never leaves encrypted: {}",
            listed.raw
        );
        let by_key = |k: &str| {
            listed.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .find(|v| v["key"] == k)
                .cloned()
                .unwrap()
        };
        assert_eq!(by_key("API_TOKEN")["is_encrypted"], true);
        assert_ne!(by_key("API_TOKEN")["value"], json!(canary), "masked");
        assert_eq!(by_key("GREETING")["value"], "hello-walk");
    }

    // The extension catalog (platform admin) for the install below.
    for (id, version) in [("acme.linter", "1.2.3"), ("acme.other", "0.1.0")] {
        let added = api
            .post(
                "/extensions",
                &w.owner_token,
                json!({"extension_id": id, "name": id, "version": version, "is_custom": false}),
            )
            .await;
        expect(&added, 201, "adding to the catalog");
        if id == "acme.linter" {
            w.extension = id_of(&added.body);
        } else {
            w.other_extension = id_of(&added.body);
        }
    }

    // The viewer may not start it (a stopped environment: a start would really happen).
    let refused = api
        .call(
            axum::http::Method::POST,
            &w.env_path("/start"),
            Some(&w.viewer_token),
            None,
        )
        .await;
    expect(&refused, 403, "the viewer starting the environment");
    assert_eq!(
        api.read(&w.env_path(""), &w.owner_token).await["status"],
        "stopped"
    );
    assert!(
        containers_of(&env_model).is_empty(),
        "the viewer's start created no container"
    );
    viewer::stranger_sees_nothing(&api, &w).await;

    // Start: the status socket follows, and the engine runs the container as the API says.
    let mut status = api
        .socket(&socket_path(&w, "status"), &w.owner_token)
        .await
        .unwrap();
    until_json(&mut status, "the current status", |v| {
        v["type"] == "status" && v["status"] == "stopped"
    })
    .await;
    let started = api
        .call(
            axum::http::Method::POST,
            &w.env_path("/start"),
            Some(&w.owner_token),
            None,
        )
        .await;
    expect(&started, 200, "starting the environment");
    assert_eq!(started.body["status"], "running");
    until_json(&mut status, "running on the status socket", |v| {
        v["type"] == "status" && v["status"] == "running"
    })
    .await;
    let container = started.body["container_id"].as_str().unwrap().to_string();
    assert!(
        container_running(&container),
        "the engine runs the container"
    );
    let inspect = docker_inspect(&container);
    assert_eq!(
        inspect["HostConfig"]["Memory"], MEMORY_BYTES,
        "the memory limit"
    );
    assert_eq!(
        inspect["HostConfig"]["NanoCpus"], 500_000_000,
        "the CPU limit"
    );
    assert_eq!(
        inspect["Config"]["Labels"]["vibebox.environment_id"],
        json!(w.environment)
    );
    let ports = api.read(&w.env_path("/ports"), &w.viewer_token).await;
    let bound = ports["items"][0]["bound_host_port"]
        .as_u64()
        .expect("the bound host port is reported");
    let published = &inspect["NetworkSettings"]["Ports"]["8080/tcp"];
    assert_eq!(
        (
            published[0]["HostIp"].as_str(),
            published[0]["HostPort"].as_str()
        ),
        (Some("127.0.0.1"), Some(bound.to_string().as_str())),
        "8080/tcp published on 127.0.0.1 at the reported port: {published}"
    );
    assert_eq!(
        exec(&d, &container, "printf %s \"$API_TOKEN\"").await,
        (0, canary.clone()),
        "the secret inside the container"
    );
    assert_eq!(
        exec(&d, &container, "printf %s \"$GREETING\"").await,
        (0, "hello-walk".to_string())
    );
    let listed = api.get(&w.env_path("/variables"), &w.owner_token).await;
    assert!(
        !listed.raw.contains(&canary),
        "still masked once running: {}",
        listed.raw
    );

    // Logs: the stored line through REST; a new line live through the logs socket.
    let logs_path = w.env_path("/logs");
    eventually("the start line is stored", || async {
        let page = api.read(&logs_path, &w.viewer_token).await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["message"] == "vibebox: environment started" && l["stream"] == "stdout")
            .then_some(())
    })
    .await;
    let mut logs = api
        .socket(&socket_path(&w, "logs"), &w.viewer_token)
        .await
        .unwrap();
    until_json(&mut logs, "the replayed start line", |v| {
        v["type"] == "log" && v["message"] == "vibebox: environment started"
    })
    .await;
    let live = format!("walk-live-{}", d.run());
    let (code, out) = exec(&d, &container, &format!("echo {live} > /tmp/walk-log")).await;
    assert_eq!(code, 0, "{out}");
    let line = until_json(&mut logs, "the live line", |v| {
        v["type"] == "log" && v["message"] == json!(live)
    })
    .await;
    assert_eq!(line["stream"], "stdout");
    eventually("the live line is stored too", || async {
        let page = api
            .read(&format!("{logs_path}?stream=stdout"), &w.owner_token)
            .await;
        page["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["message"] == json!(live))
            .then_some(())
    })
    .await;

    // Metrics on the status socket: the engine's real memory limit.
    let metrics = until_json(&mut status, "a metrics frame", |v| v["type"] == "metrics").await;
    assert_eq!(metrics["memory_limit_bytes"], MEMORY_BYTES, "{metrics}");
    let used = metrics["memory_bytes"].as_i64().unwrap();
    assert!(used > 0 && used < MEMORY_BYTES, "{metrics}");
    assert!(metrics["cpu_percent"].as_f64().is_some(), "{metrics}");

    // Install an extension: the installer really runs in the container.
    assert_eq!(exec(&d, &container, INSTALLER_SHIM).await.0, 0);
    let install = api
        .post(
            &w.env_path("/extensions"),
            &w.owner_token,
            json!({"extension_id": "acme.linter"}),
        )
        .await;
    expect(&install, 202, "requesting the install");
    let installed = eventually("the extension is installed", || async {
        let list = api.read(&w.env_path("/extensions"), &w.viewer_token).await;
        let one = list["items"].as_array().unwrap().first().cloned()?;
        assert_ne!(one["status"], "failed", "{one}");
        (one["status"] == "installed").then_some(one)
    })
    .await;
    assert_eq!(installed["extension_id"], json!(w.extension));
    assert_eq!(
        exec(&d, &container, "cat $HOME/installer-calls").await,
        (0, "--install-extension acme.linter@1.2.3\n".to_string()),
        "the installer ran once in the container"
    );

    // A shell session for the terminal.
    let session = api
        .post(
            &w.env_path("/sessions"),
            &w.owner_token,
            json!({"session_type": "shell", "session_name": "sh"}),
        )
        .await;
    expect(&session, 201, "creating the shell session");
    w.session = id_of(&session.body);

    // Everything exists now: the viewer reads it all and is refused every write.
    viewer::viewer_reads_everything(&api, &w).await;
    viewer::viewer_is_refused_every_write(&api, &w).await;
    assert!(
        container_running(&container),
        "the viewer's stop changed nothing in the engine"
    );
    assert_eq!(
        exec(&d, &container, "cat $HOME/installer-calls").await.1,
        "--install-extension acme.linter@1.2.3\n",
        "the viewer's uninstall and install ran nothing in the container"
    );
    viewer::stranger_sees_nothing(&api, &w).await;

    // A terminal: the command runs in the container as its user, and resize reaches it.
    let mut term = api
        .socket(&socket_path(&w, "terminal?session=sh"), &w.owner_token)
        .await
        .unwrap();
    type_in(
        &mut term,
        "id -u; echo typed-$((6*7)) > $HOME/from-terminal\r",
    )
    .await;
    let seen = until_output(&mut term, "1000").await;
    assert!(
        seen.contains("id -u"),
        "the TTY echoes the keystrokes: {seen:?}"
    );
    let ran = eventually("the terminal's command wrote its file", || async {
        let (code, out) = exec(&d, &container, "cat $HOME/from-terminal").await;
        (code == 0).then_some(out)
    })
    .await;
    assert_eq!(ran, "typed-42\n");
    control(
        &mut term,
        json!({"type": "resize", "cols": 132, "rows": 43}),
    )
    .await;
    type_in(&mut term, "stty size\r").await;
    until_output(&mut term, "43 132").await;
    type_in(&mut term, "exit 7\r").await;
    let exit = until_json(&mut term, "the exit frame", |v| v["type"] == "exit").await;
    assert_eq!(exit["code"], 7);
    drop(term);

    // Uninstall the extension: the uninstaller runs in the container.
    let removed = api
        .delete(
            &format!("{}/{}", w.env_path("/extensions"), w.extension),
            &w.owner_token,
        )
        .await;
    expect(&removed, 204, "uninstalling the extension");
    assert_eq!(
        exec(&d, &container, "cat $HOME/installer-calls").await.1,
        "--install-extension acme.linter@1.2.3\n--uninstall-extension acme.linter\n"
    );
    let left = api.read(&w.env_path("/extensions"), &w.owner_token).await;
    assert!(
        left["items"]
            .as_array()
            .unwrap()
            .iter()
            .all(|e| e["status"] == "removed"),
        "nothing installed is left: {left}"
    );

    // End the shell session.
    let ended = api
        .delete(&format!("/sessions/{}", w.session), &w.owner_token)
        .await;
    expect(&ended, 200, "ending the session");
    assert_eq!(ended.body["status"], "terminated");

    // Stop: the container stops; the status socket says so.
    let stopped = api
        .call(
            axum::http::Method::POST,
            &w.env_path("/stop"),
            Some(&w.owner_token),
            None,
        )
        .await;
    expect(&stopped, 200, "stopping the environment");
    assert_eq!(stopped.body["status"], "stopped");
    until_json(&mut status, "stopped on the status socket", |v| {
        v["type"] == "status" && v["status"] == "stopped"
    })
    .await;
    assert!(
        container_exists(&container) && !container_running(&container),
        "the container is stopped, not gone"
    );

    // Delete: the container and its home volume go; the API forgets the environment.
    let home = inspect["Mounts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["Destination"] == "/home/vibebox")
        .and_then(|m| m["Name"].as_str())
        .expect("the home volume")
        .to_string();
    assert!(volume_exists(&home));
    let deleted = api.delete(&w.env_path(""), &w.owner_token).await;
    expect(&deleted, 204, "deleting the environment");
    assert!(!container_exists(&container), "the container is removed");
    assert!(
        containers_of(&env_model).is_empty(),
        "no container is left for the environment"
    );
    assert!(!volume_exists(&home), "the home volume is removed");
    expect(
        &api.get(&w.env_path(""), &w.owner_token).await,
        404,
        "the deleted environment",
    );
    let remaining = api
        .read(
            &format!("/environments?project_id={}", w.project),
            &w.viewer_token,
        )
        .await;
    assert_eq!(
        remaining["items"],
        json!([]),
        "the project has no environment left"
    );
}

/// The path of one of the walk's environment's sockets.
fn socket_path(w: &Walk, which: &str) -> String {
    format!("/ws/environments/{}/{which}", w.environment)
}
