//! The [`ContainerRuntime`] implementation: each method delegates to the module that holds
//! its part of the engine's API.

use std::time::Duration;

use async_trait::async_trait;
use futures::stream::BoxStream;
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

    async fn ping(&self) -> Result<()> {
        self.ping_engine().await
    }

    async fn image_present(&self, image: &str) -> Result<bool> {
        self.is_image_present(image).await
    }

    async fn create(&self, spec: &ContainerSpec) -> Result<ContainerId> {
        self.create_container(spec).await
    }

    async fn start(&self, id: &ContainerId) -> Result<()> {
        self.start_container(id).await
    }

    async fn stop(&self, id: &ContainerId, grace: Duration) -> Result<()> {
        self.stop_container(id, grace).await
    }

    async fn kill(&self, id: &ContainerId) -> Result<()> {
        self.kill_container(id).await
    }

    async fn pause(&self, id: &ContainerId) -> Result<()> {
        self.pause_container(id).await
    }

    async fn resume(&self, id: &ContainerId) -> Result<()> {
        self.unpause_container(id).await
    }

    async fn remove(&self, id: &ContainerId) -> Result<()> {
        self.remove_container(id).await
    }

    async fn remove_volume(&self, name: &str) -> Result<()> {
        self.remove_named_volume(name).await
    }

    async fn inspect(&self, id: &ContainerId) -> Result<ContainerInfo> {
        self.inspect_container(id).await
    }

    async fn list(&self, labels: &[(String, String)]) -> Result<Vec<ContainerInfo>> {
        self.list_containers(labels).await
    }

    fn logs(&self, id: &ContainerId, options: LogOptions) -> BoxStream<'static, Result<LogChunk>> {
        self.log_stream(id, options)
    }

    async fn exec(&self, id: &ContainerId, spec: &ExecSpec) -> Result<ExecSession> {
        self.start_exec(id, spec).await
    }

    async fn resize_exec(&self, exec: &ExecId, size: TerminalSize) -> Result<()> {
        self.resize_terminal(exec, size).await
    }

    async fn inspect_exec(&self, exec: &ExecId) -> Result<ExecInfo> {
        self.inspect_exec_info(exec).await
    }

    async fn kill_exec(&self, exec: &ExecId) -> Result<()> {
        self.kill_exec_process(exec).await
    }

    fn stats(&self, id: &ContainerId) -> BoxStream<'static, Result<ContainerStats>> {
        self.stats_stream(id)
    }

    fn events(&self, labels: &[(String, String)]) -> BoxStream<'static, Result<RuntimeEvent>> {
        self.event_stream(labels)
    }

    async fn create_network(&self, spec: &NetworkSpec) -> Result<NetworkInfo> {
        self.create_bridge_network(spec).await
    }

    async fn inspect_network(&self, name: &str) -> Result<NetworkInfo> {
        self.inspect_named_network(name).await
    }

    async fn list_networks(&self, labels: &[(String, String)]) -> Result<Vec<NetworkInfo>> {
        self.list_labelled_networks(labels).await
    }

    async fn remove_network(&self, name: &str) -> Result<()> {
        self.remove_named_network(name).await
    }

    async fn connect_network(
        &self,
        id: &ContainerId,
        attachment: &NetworkAttachment,
    ) -> Result<()> {
        self.connect_container(id, attachment).await
    }

    async fn disconnect_network(&self, id: &ContainerId, network: &str) -> Result<()> {
        self.disconnect_container(id, network).await
    }
}
