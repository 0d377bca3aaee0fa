//! Connecting: the negotiated API version, and clear errors for an engine that is not there.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::time::Duration;

use vibebox_core::error::ErrorKind;
use vibebox_core::runtime::ContainerRuntime;
use vibebox_docker::DockerRuntime;

/// The engine's own API version, from the Docker CLI.
fn engine_api_version() -> String {
    let out = std::process::Command::new("docker")
        .args(["version", "--format", "{{.Server.APIVersion}}"])
        .output()
        .expect("the docker CLI runs");
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

#[tokio::test]
async fn api_version_is_negotiated_down_to_the_engines() {
    let rt = common::runtime().await;
    // bollard defaults to a newer version than this engine speaks.
    assert_eq!(rt.api_version(), Some(engine_api_version()));
}

#[tokio::test]
async fn missing_socket_is_unavailable_saying_the_engine_is_not_running() {
    let path = std::env::temp_dir().join("vibebox-no-engine.sock");
    let e = DockerRuntime::connect(&format!("unix://{}", path.display()))
        .await
        .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(e.to_string().contains("not running"), "{e}");
}

#[tokio::test]
async fn refused_tcp_engine_is_unavailable_promptly() {
    let e = tokio::time::timeout(
        Duration::from_secs(10),
        DockerRuntime::connect("tcp://127.0.0.1:1"),
    )
    .await
    .expect("no hang")
    .unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(
        e.to_string().contains("cannot reach the Docker engine"),
        "{e}"
    );
}

#[tokio::test]
async fn lazy_runtime_builds_without_an_engine_and_fails_each_call_as_unavailable() {
    let rt = DockerRuntime::lazy("unix:///nonexistent/docker.sock").unwrap();
    assert_eq!(rt.api_version(), None);
    assert_eq!(rt.ping().await.unwrap_err().kind(), ErrorKind::Unavailable);
    let e = rt.image_present("vibebox/base:bookworm").await.unwrap_err();
    assert_eq!(e.kind(), ErrorKind::Unavailable);
    assert!(!rt.capabilities().storage_limit);
}

#[tokio::test]
async fn unusable_address_is_invalid_input_naming_docker_host() {
    let e = DockerRuntime::lazy("ftp://example.com").unwrap_err();
    assert_eq!(e.kind(), ErrorKind::InvalidInput);
    assert_eq!(e.field(), Some("docker_host"));
}
