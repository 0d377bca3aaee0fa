//! Port mappings. Changes take effect at the next start (the container is recreated).

use serde::Deserialize;
use serde_json::json;
use tracing::instrument;

use super::{AuditRecord, Vibebox};
use crate::domain::{EnvironmentPort, Protocol};
use crate::error::{Error, Result};
use crate::id::{EnvironmentId, PortId};
use crate::rbac::{Action, Actor};
use crate::validate;

/// Most ports one environment may publish.
pub const MAX_PORTS_PER_ENVIRONMENT: usize = 32;

/// A new port mapping.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
pub struct NewPort {
    /// The port inside the container (1–65535).
    #[cfg_attr(feature = "openapi", schema(minimum = 1, maximum = 65535))]
    pub container_port: i64,
    /// A fixed host port (1024–65535); without it the engine chooses one at each start.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(minimum = 1024, maximum = 65535))]
    pub host_port: Option<i64>,
    /// TCP (default) or UDP.
    #[serde(default)]
    pub protocol: Option<Protocol>,
}

impl Vibebox {
    /// Adds a port mapping.
    ///
    /// Errors: `InvalidInput` (`container_port`, `host_port`, `ports`); `AlreadyExists`
    /// (`container_port` or `host_port`); `PermissionDenied`; `NotFound`.
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn add_port(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        new: NewPort,
    ) -> Result<EnvironmentPort> {
        let access = self
            .environment_for(actor, env_id, Action::ManageEnvironment)
            .await?;
        let container_port = validate::container_port(new.container_port)?;
        let host_port = new.host_port.map(validate::host_port).transpose()?;
        if self.store().list_ports(env_id).await?.len() >= MAX_PORTS_PER_ENVIRONMENT {
            return Err(Error::invalid(
                "ports",
                "an environment may publish at most 32 ports",
            ));
        }
        let now = self.now();
        let port = EnvironmentPort {
            id: PortId::new(),
            environment_id: env_id,
            container_port,
            host_port,
            bound_host_port: None,
            protocol: new.protocol.unwrap_or(Protocol::Tcp),
            created_at: now,
            updated_at: now,
        };
        self.store().add_port(&port).await?;
        self.audit(
            actor,
            AuditRecord::new("environment.port.add", "environment", env_id)
                .team(access.project.owner.team_id())
                .details(json!({ "container_port": container_port, "host_port": host_port })),
        )
        .await;
        Ok(port)
    }

    /// The environment's ports, with the host ports bound at the last start.
    pub async fn list_ports(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
    ) -> Result<Vec<EnvironmentPort>> {
        self.environment_for(actor, env_id, Action::ReadProject)
            .await?;
        self.store().list_ports(env_id).await
    }

    /// Removes a port mapping. Errors: `NotFound` (`port`).
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn remove_port(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        port: PortId,
    ) -> Result<()> {
        let access = self
            .environment_for(actor, env_id, Action::ManageEnvironment)
            .await?;
        self.store().delete_port(env_id, port).await?;
        self.audit(
            actor,
            AuditRecord::new("environment.port.remove", "environment", env_id)
                .team(access.project.owner.team_id())
                .details(json!({ "port_id": port })),
        )
        .await;
        Ok(())
    }
}
