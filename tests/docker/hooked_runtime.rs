//! A runtime that delegates to the Docker engine, but can hang an operation forever at a
//! chosen point (so that a test can kill the VibeBox process there) or hide the engine's
//! events (so that only the periodic reconciler pass can notice a change).

use std::io::Write;
use std::time::Duration;

use async_trait::async_trait;
use futures::StreamExt;
use futures::stream::BoxStream;
use vibebox::error::Result;
use vibebox::runtime::{
    Capabilities, ContainerId, ContainerInfo, ContainerRuntime, ContainerSpec, ContainerStats,
    ExecId, ExecInfo, ExecSession, ExecSpec, LogChunk, LogOptions, NetworkAttachment, NetworkInfo,
    NetworkSpec, RuntimeEvent, TerminalSize,
};
use vibebox_docker::DockerRuntime;

/// The line printed on stdout when an operation hangs at its pause point.
pub const PAUSED: &str = "vibebox-test: paused";

/// Where an operation hangs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Pause {
    /// At `create`, once the engine has created the container (VibeBox has not recorded it).
    AfterCreate,
    /// At `start`, after the container was created and before the engine starts it.
    BeforeStart,
    /// At `start`, once the engine has started the container.
    AfterStart,
    /// At `stop`, before the engine stops the container.
    BeforeStop,
}

impl Pause {
    pub fn as_str(self) -> &'static str {
        match self {
            Pause::AfterCreate => "after-create",
            Pause::BeforeStart => "before-start",
            Pause::AfterStart => "after-start",
            Pause::BeforeStop => "before-stop",
        }
    }

    pub fn parse(s: &str) -> Self {
        match s {
            "after-create" => Pause::AfterCreate,
            "before-start" => Pause::BeforeStart,
            "after-start" => Pause::AfterStart,
            "before-stop" => Pause::BeforeStop,
            other => panic!("unknown pause point {other}"),
        }
    }
}

/// The engine, with an optional pause point and optionally without events.
#[derive(Debug)]
pub struct Hooked {
    inner: DockerRuntime,
    pause: Option<Pause>,
    events: bool,
}

impl Hooked {
    /// Hangs forever at `pause`, after printing [`PAUSED`].
    pub fn pausing(inner: DockerRuntime, pause: Pause) -> Self {
        Self {
            inner,
            pause: Some(pause),
            events: true,
        }
    }

    /// Reports no engine events (the stream stays open and silent).
    pub fn without_events(inner: DockerRuntime) -> Self {
        Self {
            inner,
            pause: None,
            events: false,
        }
    }

    async fn maybe_pause(&self, here: Pause) {
        if self.pause == Some(here) {
            {
                let mut out = std::io::stdout().lock();
                writeln!(out, "{PAUSED}").unwrap();
                out.flush().unwrap();
            }
            std::future::pending::<()>().await;
        }
    }
}

#[async_trait]
impl ContainerRuntime for Hooked {
    fn capabilities(&self) -> Capabilities {
        self.inner.capabilities()
    }

    async fn ping(&self) -> Result<()> {
        self.inner.ping().await
    }

    async fn image_present(&self, image: &str) -> Result<bool> {
        self.inner.image_present(image).await
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<ContainerId> {
        let id = self.inner.create(spec).await?;
        self.maybe_pause(Pause::AfterCreate).await;
        Ok(id)
    }

    async fn start(&self, id: &ContainerId) -> Result<()> {
        self.maybe_pause(Pause::BeforeStart).await;
        self.inner.start(id).await?;
        self.maybe_pause(Pause::AfterStart).await;
        Ok(())
    }

    async fn stop(&self, id: &ContainerId, grace: Duration) -> Result<()> {
        self.maybe_pause(Pause::BeforeStop).await;
        self.inner.stop(id, grace).await
    }

    async fn kill(&self, id: &ContainerId) -> Result<()> {
        self.inner.kill(id).await
    }

    async fn pause(&self, id: &ContainerId) -> Result<()> {
        self.inner.pause(id).await
    }

    async fn resume(&self, id: &ContainerId) -> Result<()> {
        self.inner.resume(id).await
    }

    async fn remove(&self, id: &ContainerId) -> Result<()> {
        self.inner.remove(id).await
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.inner.remove_volume(name).await
    }

    async fn inspect(&self, id: &ContainerId) -> Result<ContainerInfo> {
        self.inner.inspect(id).await
    }

    async fn list(&self, labels: &[(String, String)]) -> Result<Vec<ContainerInfo>> {
        self.inner.list(labels).await
    }

    fn logs(&self, id: &ContainerId, options: LogOptions) -> BoxStream<'static, Result<LogChunk>> {
        self.inner.logs(id, options)
    }

    async fn exec(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession> {
        self.inner.exec(id, spec).await
    }

    async fn resize_exec(&self, exec: &ExecId, size: TerminalSize) -> Result<()> {
        self.inner.resize_exec(exec, size).await
    }

    async fn inspect_exec(&self, exec: &ExecId) -> Result<ExecInfo> {
        self.inner.inspect_exec(exec).await
    }

    async fn kill_exec(&self, exec: &ExecId) -> Result<()> {
        self.inner.kill_exec(exec).await
    }

    fn stats(&self, id: &ContainerId) -> BoxStream<'static, Result<ContainerStats>> {
        self.inner.stats(id)
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
        self.inner.create_network(spec).await
    }

    async fn inspect_network(&self, name: &str) -> Result<NetworkInfo> {
        self.inner.inspect_network(name).await
    }

    async fn list_networks(&self, labels: &[(String, String)]) -> Result<Vec<NetworkInfo>> {
        self.inner.list_networks(labels).await
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.inner.remove_network(name).await
    }

    async fn connect_network(
        &self,
        id: &ContainerId,
        attachment: &NetworkAttachment,
    ) -> Result<()> {
        self.inner.connect_network(id, attachment).await
    }

    async fn disconnect_network(&self, id: &ContainerId, network: &str) -> Result<()> {
        self.inner.disconnect_network(id, network).await
    }

    fn events(&self, labels: &[(String, String)]) -> BoxStream<'static, Result<RuntimeEvent>> {
        if self.events {
            self.inner.events(labels)
        } else {
            futures::stream::pending().boxed()
        }
    }
}
