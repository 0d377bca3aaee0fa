//! What the engine says about an environment: its container, bound ports and whether the
//! storage limit is enforced.

use serde::Serialize;
use tracing::instrument;

use super::Vibebox;
use crate::domain::Environment;
use crate::error::{ErrorKind, Result};
use crate::id::EnvironmentId;
use crate::rbac::{Action, Actor};
use crate::runtime::{ContainerId, ContainerInfo};

/// An environment with its container as the engine reports it.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct EnvironmentDetails {
    /// The stored environment.
    pub environment: Environment,
    /// Its container, if it has one the engine knows.
    pub container: Option<ContainerInfo>,
    /// Whether the storage limit is enforced: for the container when there is one, otherwise
    /// whether the engine would enforce it at the next start. Never claimed where the engine
    /// cannot.
    pub storage_limit_enforced: bool,
}

impl Vibebox {
    /// The environment with its container's engine-side state.
    ///
    /// Errors: `Unavailable` when the engine cannot be reached; `PermissionDenied`;
    /// `NotFound` (`environment`).
    #[instrument(skip_all, fields(environment.id = %id))]
    pub async fn environment_details(
        &self,
        actor: &Actor,
        id: EnvironmentId,
    ) -> Result<EnvironmentDetails> {
        let access = self.environment_for(actor, id, Action::ReadProject).await?;
        let environment = access.env;
        let container = match &environment.container_id {
            Some(c) => match self.runtime().inspect(&ContainerId(c.clone())).await {
                Ok(info) => Some(info),
                Err(e) if e.kind() == ErrorKind::NotFound => None,
                Err(e) => return Err(e),
            },
            None => None,
        };
        let storage_limit_enforced = match &container {
            Some(info) => info.storage_limit_enforced,
            None => self.runtime().capabilities().storage_limit,
        };
        Ok(EnvironmentDetails {
            environment,
            container,
            storage_limit_enforced,
        })
    }
}
