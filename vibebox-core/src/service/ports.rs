//! Port mappings. Changes take effect at the next start (the container is recreated), except
//! share levels, which decide who may open a port's preview URL at once.

use serde::Deserialize;
use serde_json::json;
use tracing::instrument;

use super::{AuditRecord, Vibebox};
use crate::domain::{EnvironmentPort, Protocol, ShareLevel};
use crate::error::{Error, Result};
use crate::id::{EnvironmentId, PortId};
use crate::rbac::{Action, Actor};
use crate::store::cursor::page_by_id;
use crate::store::{Page, PageRequest};
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

/// A change to a port mapping: `PATCH /environments/{id}/ports/{port_id}`.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
pub struct PortPatch {
    /// Who may open the port's preview URL.
    pub share_level: ShareLevel,
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
            share_level: ShareLevel::Private,
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

    /// One page of the environment's ports, with the host ports bound at the last start,
    /// ordered by id (creation order). An environment has at most
    /// [`MAX_PORTS_PER_ENVIRONMENT`] ports, so the page is cut from the whole list.
    ///
    /// Errors: `InvalidInput` (`cursor`); `PermissionDenied`; `NotFound` (`environment`).
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn list_ports(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        page: &PageRequest,
    ) -> Result<Page<EnvironmentPort>> {
        self.environment_for(actor, env_id, Action::ReadProject)
            .await?;
        let ports = self.store().list_ports(env_id).await?;
        page_by_id(ports, |p| p.id.0, page, false)
    }

    /// Sets who may open the port's preview URL (DESIGN.md §3): allowed to those who may exec
    /// in the environment. Takes effect at once; the container is not touched.
    ///
    /// Errors: `NotFound` (`environment` the actor may not see, or `port` not in the
    /// environment); `PermissionDenied` (a viewer, a developer on another's environment, a key
    /// without `environments:exec`).
    #[instrument(skip_all, fields(environment.id = %env_id, port.id = %port, share_level = %level))]
    pub async fn set_port_share_level(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        port: PortId,
        level: ShareLevel,
    ) -> Result<EnvironmentPort> {
        let access = self
            .environment_for(actor, env_id, Action::ExecEnvironment)
            .await?;
        let stored = self
            .store()
            .set_port_share_level(env_id, port, level, self.now())
            .await?;
        self.audit(
            actor,
            AuditRecord::new("environment.port_share", "environment", env_id)
                .team(access.project.owner.team_id())
                .details(json!({
                    "port_id": port,
                    "port": stored.container_port,
                    "share_level": level.as_str(),
                })),
        )
        .await;
        Ok(stored)
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
