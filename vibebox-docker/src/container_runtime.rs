//! The [`ContainerRuntime`] implementation: each method delegates to the module that holds
//! its part of the engine's API, inside a `docker.<method>` span (debug level) that names the
//! container, exec, volume or network, as the service's own spans do.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
use tracing::instrument;
use vibebox_core::error::Result;
use vibebox_core::runtime::{
    Capabilities, ContainerId, ContainerInfo, ContainerRuntime, ContainerSpec, ContainerStats,
    ExecId, ExecInfo, ExecSession, ExecSpec, LogChunk, LogOptions, NetworkAttachment, NetworkInfo,
    NetworkSpec, RuntimeEvent, TerminalSize,
};

use crate::runtime::DockerRuntime;

#[async_trait]
impl ContainerRuntime for DockerRuntime {
    fn capabilities(&self) -> Capabilities {
        Capabilities {
            storage_limit: self.storage_limit(),
            kill_exec: true,
            stats: true,
            local_ports: self.host().starts_with("unix://"),
            pause: true,
        }
    }

    #[instrument(level = "debug", name = "docker.ping", skip_all)]
    async fn ping(&self) -> Result<()> {
        self.ping_engine().await
    }

    #[instrument(level = "debug", name = "docker.image_present", skip_all, fields(image = %image))]
    async fn image_present(&self, image: &str) -> Result<bool> {
        self.is_image_present(image).await
    }

    #[instrument(level = "debug", name = "docker.create", skip_all, fields(container.name = %spec.name, image = %spec.image))]
    async fn create(&self, spec: &ContainerSpec) -> Result<ContainerId> {
        self.create_container(spec).await
    }

    #[instrument(level = "debug", name = "docker.start", skip_all, fields(container = %id))]
    async fn start(&self, id: &ContainerId) -> Result<()> {
        self.start_container(id).await
    }

    #[instrument(level = "debug", name = "docker.stop", skip_all, fields(container = %id, grace_ms = grace.as_millis()))]
    async fn stop(&self, id: &ContainerId, grace: Duration) -> Result<()> {
        self.stop_container(id, grace).await
    }

    #[instrument(level = "debug", name = "docker.kill", skip_all, fields(container = %id))]
    async fn kill(&self, id: &ContainerId) -> Result<()> {
        self.kill_container(id).await
    }

    #[instrument(level = "debug", name = "docker.pause", skip_all, fields(container = %id))]
    async fn pause(&self, id: &ContainerId) -> Result<()> {
        self.pause_container(id).await
    }

    #[instrument(level = "debug", name = "docker.resume", skip_all, fields(container = %id))]
    async fn resume(&self, id: &ContainerId) -> Result<()> {
        self.unpause_container(id).await
    }

    #[instrument(level = "debug", name = "docker.remove", skip_all, fields(container = %id))]
    async fn remove(&self, id: &ContainerId) -> Result<()> {
        self.remove_container(id).await
    }

    #[instrument(level = "debug", name = "docker.remove_volume", skip_all, fields(volume = %name))]
    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.remove_named_volume(name).await
    }

    #[instrument(level = "debug", name = "docker.inspect", skip_all, fields(container = %id))]
    async fn inspect(&self, id: &ContainerId) -> Result<ContainerInfo> {
        self.inspect_container(id).await
    }

    #[instrument(level = "debug", name = "docker.list", skip_all)]
    async fn list(&self, labels: &[(String, String)]) -> Result<Vec<ContainerInfo>> {
        self.list_containers(labels).await
    }

    fn logs(&self, id: &ContainerId, options: LogOptions) -> BoxStream<'static, Result<LogChunk>> {
        self.log_stream(id, options)
    }

    #[instrument(level = "debug", name = "docker.exec", skip_all, fields(container = %id, tty = spec.tty.is_some()))]
    async fn exec(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession> {
        self.start_exec(id, spec).await
    }

    #[instrument(level = "debug", name = "docker.resize_exec", skip_all, fields(exec = %exec))]
    async fn resize_exec(&self, exec: &ExecId, size: TerminalSize) -> Result<()> {
        self.resize_terminal(exec, size).await
    }

    #[instrument(level = "debug", name = "docker.inspect_exec", skip_all, fields(exec = %exec))]
    async fn inspect_exec(&self, exec: &ExecId) -> Result<ExecInfo> {
        self.inspect_exec_info(exec).await
    }

    #[instrument(level = "debug", name = "docker.kill_exec", skip_all, fields(exec = %exec))]
    async fn kill_exec(&self, exec: &ExecId) -> Result<()> {
        self.kill_exec_process(exec).await
    }

    fn stats(&self, id: &ContainerId) -> BoxStream<'static, Result<ContainerStats>> {
        self.stats_stream(id)
    }

    fn events(&self, labels: &[(String, String)]) -> BoxStream<'static, Result<RuntimeEvent>> {
        self.event_stream(labels)
    }

    #[instrument(level = "debug", name = "docker.create_network", skip_all, fields(network = %spec.name))]
    async fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
        self.create_bridge_network(spec).await
    }

    #[instrument(level = "debug", name = "docker.inspect_network", skip_all, fields(network = %name))]
    async fn inspect_network(&self, name: &str) -> Result<NetworkInfo> {
        self.inspect_named_network(name).await
    }

    #[instrument(level = "debug", name = "docker.list_networks", skip_all)]
    async fn list_networks(&self, labels: &[(String, String)]) -> Result<Vec<NetworkInfo>> {
        self.list_labelled_networks(labels).await
    }

    #[instrument(level = "debug", name = "docker.remove_network", skip_all, fields(network = %name))]
    async fn remove_network(&self, name: &str) -> Result<()> {
        self.remove_named_network(name).await
    }

    #[instrument(level = "debug", name = "docker.connect_network", skip_all, fields(container = %id, network = %attachment.network))]
    async fn connect_network(
        &self,
        id: &ContainerId,
        attachment: &NetworkAttachment,
    ) -> Result<()> {
        self.connect_container(id, attachment).await
    }

    #[instrument(level = "debug", name = "docker.disconnect_network", skip_all, fields(container = %id, network = %network))]
    async fn disconnect_network(&self, id: &ContainerId, network: &str) -> Result<()> {
        self.disconnect_container(id, network).await
    }
}
