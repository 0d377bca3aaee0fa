//! The raw engine's own costs, the baselines of the benches that measure against Docker. Kept
//! apart from `common` because crates that share `common` without bollard (the CLI's bench)
//! must still build.
#![allow(dead_code)]

use bollard::Docker;
use bollard::exec::{CreateExecOptions, StartExecResults};
use futures::StreamExt;

/// The runtime the engine benches run on: two workers, like the machine's two cores.
pub fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

/// A bollard client of the local engine, for the raw baselines.
pub async fn docker() -> Docker {
    Docker::connect_with_local_defaults()
        .unwrap()
        .negotiate_version()
        .await
        .unwrap()
}

/// A raw bollard exec of `true` (create, start, read to the end, inspect): the engine's own
/// cost, the baseline of exec measurements.
pub async fn raw_exec_true(docker: &Docker, container: &str, user: Option<String>) {
    let exec = docker
        .create_exec(
            container,
            CreateExecOptions::<String> {
                cmd: Some(vec!["true".into()]),
                attach_stdout: Some(true),
                attach_stderr: Some(true),
                user,
                ..Default::default()
            },
        )
        .await
        .unwrap();
    if let StartExecResults::Attached { mut output, .. } =
        docker.start_exec(&exec.id, None).await.unwrap()
    {
        while output.next().await.is_some() {}
    }
    let info = docker.inspect_exec(&exec.id).await.unwrap();
    assert_eq!(info.exit_code, Some(0));
}
