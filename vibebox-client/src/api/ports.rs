//! `GET/POST /environments/{id}/ports`, `PATCH/DELETE /environments/{id}/ports/{port_id}`.

use hyper::Method;
use serde::Serialize;
use vibebox_core::domain::{EnvironmentPort, Protocol, ShareLevel};
use vibebox_core::id::{EnvironmentId, PortId};

use crate::Client;
use crate::error::Result;
use crate::page::{Page, PageOrList, PageRequest};
use crate::transport::Call;

/// `POST /environments/{id}/ports`.
#[derive(Clone, Debug, Serialize)]
pub struct NewPort {
    /// The port inside the container (1–65535).
    pub container_port: i64,
    /// A fixed host port (1024–65535); without it the engine chooses one at each start.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host_port: Option<i64>,
    /// TCP (default) or UDP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub protocol: Option<Protocol>,
}

impl NewPort {
    /// A TCP port published on a host port the engine chooses.
    pub fn tcp(container_port: u16) -> Self {
        Self {
            container_port: i64::from(container_port),
            host_port: None,
            protocol: None,
        }
    }
}

impl Client {
    /// `GET /environments/{id}/ports?limit=&cursor=`: the port mappings.
    pub async fn list_ports(
        &self,
        env: EnvironmentId,
        page: PageRequest,
    ) -> Result<Page<EnvironmentPort>> {
        let call = page.apply(Call::api(Method::GET, format!("/environments/{env}/ports")));
        let page: PageOrList<EnvironmentPort> = self.transport.json(call).await?;
        Ok(page.into())
    }

    /// `POST /environments/{id}/ports`: adds a port mapping. Errors: `Conflict` for a
    /// duplicate.
    pub async fn add_port(&self, env: EnvironmentId, new: &NewPort) -> Result<EnvironmentPort> {
        let call = Call::api(Method::POST, format!("/environments/{env}/ports")).json(new)?;
        self.transport.json(call).await
    }

    /// `PATCH /environments/{id}/ports/{port_id}`: sets who may open the port's preview URL.
    pub async fn update_port(
        &self,
        env: EnvironmentId,
        port: PortId,
        share_level: ShareLevel,
    ) -> Result<EnvironmentPort> {
        let call = Call::api(Method::PATCH, format!("/environments/{env}/ports/{port}"))
            .json(&serde_json::json!({"share_level": share_level}))?;
        self.transport.json(call).await
    }

    /// `DELETE /environments/{id}/ports/{port_id}`.
    pub async fn remove_port(&self, env: EnvironmentId, port: PortId) -> Result<()> {
        self.transport
            .empty(Call::api(
                Method::DELETE,
                format!("/environments/{env}/ports/{port}"),
            ))
            .await
    }
}
