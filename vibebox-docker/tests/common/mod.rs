//! Shared by the Docker tests: the engine (which must be running: these tests never skip),
//! the images `scripts/base-image` builds, and cleanup by run id.
#![allow(dead_code)]

use vibebox_docker::DockerRuntime;

/// The busybox image `scripts/busybox-image` builds.
pub const TEST_IMAGE: &str = "vibebox/busybox:test";
/// The Debian image `scripts/base-image` builds.
pub const BASE_IMAGE: &str = "vibebox/base:bookworm";

/// The engine from DOCKER_HOST or the default socket, with the test images present. Fails
/// the test, with what to do, when either is missing.
pub async fn runtime() -> DockerRuntime {
    let rt = match DockerRuntime::from_env().await {
        Ok(rt) => rt,
        Err(e) => panic!("these tests need a running Docker engine: {e}"),
    };
    for image in [TEST_IMAGE, BASE_IMAGE] {
        let present = vibebox_core::runtime::ContainerRuntime::image_present(&rt, image)
            .await
            .unwrap_or(false);
        assert!(present, "image {image} is missing: run scripts/base-image");
    }
    rt
}

/// The Docker CLI's stdout (the tests' independent view of the engine).
pub fn docker(args: &[&str]) -> String {
    let out = std::process::Command::new("docker")
        .args(args)
        .output()
        .expect("the docker CLI runs");
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Removes every container carrying `label=value` when dropped, also when the test failed.
pub struct RemoveOnDrop(pub String);

impl Drop for RemoveOnDrop {
    fn drop(&mut self) {
        let ids = docker(&["ps", "-aq", "--filter", &format!("label={}", self.0)]);
        let ids: Vec<&str> = ids.split_whitespace().collect();
        if !ids.is_empty() {
            let mut args = vec!["rm", "-f", "-v"];
            args.extend(ids);
            docker(&args);
        }
    }
}
