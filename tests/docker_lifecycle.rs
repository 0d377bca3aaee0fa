//! Environment lifecycle through the service on the real Docker engine: start creates and
//! starts the container, stop is graceful, restart keeps the filesystem, delete removes the
//! container, and failures land in `error` with a message a user can act on.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod docker;

use docker::*;
use secrecy::SecretString;
use vibebox::domain::EnvironmentStatus;
use vibebox::error::ErrorKind;
use vibebox::runtime::ContainerRuntime;
use vibebox::service::{NewPort, NewVariable};
use vibebox::store::PageRequest;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn start_creates_and_runs_the_container_with_its_labels() {
    let d = D::new().await;
    let (alice, project, env) = d.owner_with_env("alice").await;
    let started = d.vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(started.status, EnvironmentStatus::Running);
    let id = container(&started);
    let inspect = docker_inspect(id.as_str());
    assert_eq!(inspect["State"]["Running"], true);
    let labels = &inspect["Config"]["Labels"];
    assert_eq!(labels["vibebox.managed"], "true");
    assert_eq!(labels["vibebox.environment_id"], env.id.to_string());
    assert_eq!(labels["vibebox.project_id"], project.id.to_string());
    assert_eq!(inspect["Config"]["User"], "1000");
    let (code, out) = d.exec(&started, "id -u; echo $HOME").await;
    assert_eq!(code, 0);
    assert_eq!(out, "1000\n/home/vibebox\n");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn stop_is_graceful_and_leaves_the_container_stopped() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let started = d.vb.start_environment(&alice, env.id).await.unwrap();
    let stopped = d.vb.stop_environment(&alice, env.id).await.unwrap();
    assert_eq!(stopped.status, EnvironmentStatus::Stopped);
    let inspect = docker_inspect(container(&started).as_str());
    assert_eq!(inspect["State"]["Status"], "exited");
    // The init forwards SIGTERM: the main process ends by the signal (143), not by the kill
    // after the grace period (137).
    assert_eq!(inspect["State"]["ExitCode"], 143);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn restart_of_a_stopped_environment_keeps_its_filesystem() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let first = d.vb.start_environment(&alice, env.id).await.unwrap();
    let (code, _) = d.exec(&first, "echo kept > $HOME/notes.txt").await;
    assert_eq!(code, 0);
    d.vb.stop_environment(&alice, env.id).await.unwrap();
    let second = d.vb.start_environment(&alice, env.id).await.unwrap();
    assert_eq!(
        second.container_id, first.container_id,
        "the container is reused"
    );
    let (code, out) = d.exec(&second, "cat $HOME/notes.txt").await;
    assert_eq!((code, out.as_str()), (0, "kept\n"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn delete_removes_the_container_and_its_home_volume() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let started = d.vb.start_environment(&alice, env.id).await.unwrap();
    let id = container(&started);
    assert!(container_exists(id.as_str()));
    let volume = format!("{}{}-home", d.config.container_name_prefix, env.id);
    assert!(volume_exists(&volume));
    d.vb.delete_environment(&alice, env.id).await.unwrap();
    assert!(!container_exists(id.as_str()), "the container is gone");
    assert!(!volume_exists(&volume), "the home volume is gone");
    assert_eq!(
        d.store.get_environment(env.id).await.unwrap_err().kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn absent_image_lands_in_error_naming_the_image() {
    let d = D::new().await;
    let alice = d.user("alice").await;
    let project = d.project(&alice, "proj").await;
    let image = format!("vibebox/absent-{}:none", d.run());
    let env =
        d.vb.create_environment(&alice, new_env(&project, "dev", &image))
            .await
            .unwrap();
    let e = d.vb.start_environment(&alice, env.id).await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Conflict);
    let now = d.reload(&env).await;
    assert_eq!(now.status, EnvironmentStatus::Error);
    let message = now.error_message.unwrap();
    assert!(
        message.contains(&format!(
            "image {image} is not present and could not be pulled"
        )),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn main_process_that_exits_lands_in_error_with_its_exit_code() {
    let d = D::with(|c| {
        c.container_command = Some(vec![
            "/bin/sh".into(),
            "-c".into(),
            "echo booting; exit 3".into(),
        ])
    })
    .await;
    let background = d.vb.spawn_background(Default::default());
    let (alice, _, env) = d.owner_with_env("alice").await;
    let mut rx = d.vb.subscribe(&alice, env.id).await.unwrap();
    // The start either sees the exit itself or reports running just before it; either way
    // the environment ends in error, through the engine's die event.
    let _ = d.vb.start_environment(&alice, env.id).await;
    wait_status(&mut rx, |s| s == EnvironmentStatus::Error).await;
    let now = d.reload(&env).await;
    assert_eq!(now.status, EnvironmentStatus::Error);
    let message = now.error_message.unwrap();
    assert!(message.contains("exit code 3"), "{message}");
    background.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unset_host_port_is_assigned_by_the_engine_and_stored() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    d.add_engine_chosen_port(&alice, &env, 8080).await;
    let started = d.vb.start_environment(&alice, env.id).await.unwrap();
    let ports =
        d.vb.list_ports(&alice, env.id, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    assert_eq!(ports[0].host_port, None, "the request stays engine-chosen");
    let stored = ports[0]
        .bound_host_port
        .expect("the bound host port is stored");
    let cli = docker(&["port", container(&started).as_str(), "8080/tcp"]);
    assert_eq!(cli.trim(), format!("127.0.0.1:{stored}"));
    d.vb.stop_environment(&alice, env.id).await.unwrap();
    let ports =
        d.vb.list_ports(&alice, env.id, &PageRequest::first(50))
            .await
            .unwrap()
            .items;
    assert_eq!(ports[0].bound_host_port, None, "cleared when stopped");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn variables_reach_the_container_decrypted() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    d.vb.set_variable(
        &alice,
        env.id,
        NewVariable {
            key: "API_TOKEN".into(),
            value: SecretString::from("tok-123"),
            is_encrypted: true,
        },
    )
    .await
    .unwrap();
    let started = d.vb.start_environment(&alice, env.id).await.unwrap();
    let (code, out) = d.exec(&started, "printf %s \"$API_TOKEN\"").await;
    assert_eq!((code, out.as_str()), (0, "tok-123"));
    let running = d.rt.inspect(&container(&started)).await.unwrap();
    assert!(running.state.is_running());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn details_report_the_storage_limit_as_the_engine_enforces_it() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let started = d.vb.start_environment(&alice, env.id).await.unwrap();
    let details = d.vb.environment_details(&alice, env.id).await.unwrap();
    let inspect = docker_inspect(container(&started).as_str());
    let engine_has_quota = !inspect["HostConfig"]["StorageOpt"]["size"].is_null();
    assert_eq!(details.storage_limit_enforced, engine_has_quota);
    assert_eq!(
        details.storage_limit_enforced,
        d.rt.capabilities().storage_limit
    );
    assert_eq!(
        details.container.map(|c| c.id),
        started.container_id.map(vibebox::runtime::ContainerId)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn home_survives_the_container_being_recreated_for_a_changed_spec() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let first = d.vb.start_environment(&alice, env.id).await.unwrap();
    let (code, _) = d.exec(&first, "echo kept > $HOME/notes.txt").await;
    assert_eq!(code, 0);
    d.vb.stop_environment(&alice, env.id).await.unwrap();
    // A new port changes the container spec: the next start recreates the container.
    d.vb.add_port(
        &alice,
        env.id,
        NewPort {
            container_port: 9000,
            host_port: None,
            protocol: None,
        },
    )
    .await
    .unwrap();
    let second = d.vb.start_environment(&alice, env.id).await.unwrap();
    assert_ne!(second.container_id, first.container_id, "a new container");
    assert!(
        !container_exists(container(&first).as_str()),
        "the old one is gone"
    );
    let (code, out) = d
        .exec(&second, "cat $HOME/notes.txt; ls -a $HOME | grep -c bashrc")
        .await;
    assert_eq!(
        (code, out.as_str()),
        (0, "kept\n1\n"),
        "files and the image's dotfiles"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn container_mounts_only_its_named_home_volume() {
    let d = D::new().await;
    let (alice, _, env) = d.owner_with_env("alice").await;
    let started = d.vb.start_environment(&alice, env.id).await.unwrap();
    let inspect = docker_inspect(container(&started).as_str());
    let mounts = inspect["Mounts"].as_array().unwrap();
    assert_eq!(mounts.len(), 1, "{mounts:?}");
    assert_eq!(mounts[0]["Type"], "volume");
    assert_eq!(
        mounts[0]["Name"],
        format!("{}{}-home", d.config.container_name_prefix, env.id)
    );
    assert_eq!(mounts[0]["Destination"], "/home/vibebox");
    assert!(inspect["HostConfig"]["Binds"].is_null());
    let (code, out) = d.exec(&started, "stat -c %u $HOME").await;
    assert_eq!(
        (code, out.as_str()),
        (0, "1000\n"),
        "the home stays the user's"
    );
}
