//! Environment variables. Secret-like keys are always encrypted; encrypted values are
//! write-only: reads show them masked, and they are decrypted only to create the container.

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;

use super::{AuditRecord, Vibebox};
use crate::clock::Timestamp;
use crate::domain::EnvironmentVariable;
use crate::error::{Error, Result};
use crate::id::{EnvironmentId, VariableId};
use crate::rbac::{Action, Actor};
use crate::secrets::variable_aad;
use crate::store::cursor::page_by_id;
use crate::store::{Page, PageRequest};
use crate::validate;

/// What an encrypted value reads as.
pub const MASKED_VALUE: &str = "********";

/// Most variables one environment may have.
pub const MAX_VARIABLES_PER_ENVIRONMENT: usize = 200;

/// A variable to set.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
pub struct NewVariable {
    /// `^[A-Z_][A-Z0-9_]*$`.
    #[cfg_attr(
        feature = "openapi",
        schema(min_length = 1, max_length = 128, pattern = "^[A-Z_][A-Z0-9_]*$")
    )]
    pub key: String,
    /// The value (at most 32 KiB).
    #[cfg_attr(feature = "openapi", schema(value_type = String, write_only))]
    pub value: SecretString,
    /// Encrypt it (always done for secret-like keys).
    #[serde(default)]
    pub is_encrypted: bool,
}

/// A variable as readers see it: encrypted values are masked. It reads back from its JSON
/// (clients use it as it is).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct VariableView {
    /// Identity.
    pub id: VariableId,
    /// The environment.
    pub environment_id: EnvironmentId,
    /// The key.
    pub key: String,
    /// The value, or [`MASKED_VALUE`] when encrypted.
    pub value: String,
    /// Whether the value is stored encrypted.
    pub is_encrypted: bool,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

impl From<EnvironmentVariable> for VariableView {
    fn from(v: EnvironmentVariable) -> Self {
        Self {
            id: v.id,
            environment_id: v.environment_id,
            value: if v.is_encrypted {
                MASKED_VALUE.to_string()
            } else {
                v.value
            },
            key: v.key,
            is_encrypted: v.is_encrypted,
            created_at: v.created_at,
            updated_at: v.updated_at,
        }
    }
}

impl Vibebox {
    /// Sets a variable (replacing any value of the same key). Takes effect at the next start.
    ///
    /// Errors: `InvalidInput` (`key`, `value`, `variables`); `PermissionDenied`; `NotFound`.
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn set_variable(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        new: NewVariable,
    ) -> Result<VariableView> {
        let access = self
            .environment_for(actor, env_id, Action::ManageEnvironment)
            .await?;
        validate::variable_key(&new.key)?;
        validate::variable_value(new.value.expose_secret())?;
        let existing = self.store().list_variables(env_id).await?;
        if existing.len() >= MAX_VARIABLES_PER_ENVIRONMENT
            && !existing.iter().any(|v| v.key == new.key)
        {
            return Err(Error::invalid(
                "variables",
                "an environment may have at most 200 variables",
            ));
        }
        let encrypt = new.is_encrypted || validate::is_secret_like_key(&new.key);
        let value = if encrypt {
            self.secrets()
                .encrypt(&new.value, &variable_aad(env_id, &new.key))
                .await?
        } else {
            new.value.expose_secret().to_string()
        };
        let now = self.now();
        let stored = self
            .store()
            .put_variable(&EnvironmentVariable {
                id: VariableId::new(),
                environment_id: env_id,
                key: new.key.clone(),
                value,
                is_encrypted: encrypt,
                created_at: now,
                updated_at: now,
            })
            .await?;
        self.audit(
            actor,
            AuditRecord::new("environment.variable.set", "environment", env_id)
                .team(access.project.owner.team_id())
                .details(json!({ "key": new.key, "is_encrypted": encrypt })),
        )
        .await;
        Ok(stored.into())
    }

    /// One page of the environment's variables, encrypted values masked, ordered by id
    /// (the order keys were first set; replacing a value keeps its place). An environment has
    /// at most [`MAX_VARIABLES_PER_ENVIRONMENT`] variables, so the page is cut from the whole
    /// list.
    ///
    /// Errors: `InvalidInput` (`cursor`); `PermissionDenied`; `NotFound` (`environment`).
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn list_variables(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        page: &PageRequest,
    ) -> Result<Page<VariableView>> {
        self.environment_for(actor, env_id, Action::ReadProject)
            .await?;
        let variables = self.store().list_variables(env_id).await?;
        Ok(page_by_id(variables, |v| v.id.0, page, false)?.map(VariableView::from))
    }

    /// Deletes a variable. Errors: `NotFound` (`variable`).
    #[instrument(skip_all, fields(environment.id = %env_id))]
    pub async fn delete_variable(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        key: &str,
    ) -> Result<()> {
        let access = self
            .environment_for(actor, env_id, Action::ManageEnvironment)
            .await?;
        self.store().delete_variable(env_id, key).await?;
        self.audit(
            actor,
            AuditRecord::new("environment.variable.delete", "environment", env_id)
                .team(access.project.owner.team_id())
                .details(json!({ "key": key })),
        )
        .await;
        Ok(())
    }

    /// Re-encrypts every variable made with an older key under the current key (after a key
    /// rotation). Resumable: run it again after an interruption. Returns how many changed.
    #[instrument(skip_all)]
    pub async fn reencrypt_variables(&self, actor: &Actor) -> Result<u64> {
        self.authorize_platform(actor, Action::ManageUsers)?;
        let mut after = None;
        let mut changed = 0;
        loop {
            let batch = self.store().list_encrypted_variables(after, 200).await?;
            let Some(last) = batch.last() else { break };
            after = Some(last.id);
            for mut v in batch {
                if !self.secrets().needs_reencryption(&v.value) {
                    continue;
                }
                let aad = variable_aad(v.environment_id, &v.key);
                v.value = self.secrets().reencrypt(&v.value, &aad).await?;
                v.updated_at = self.now();
                self.store().put_variable(&v).await?;
                changed += 1;
            }
        }
        self.audit(
            actor,
            AuditRecord::new("secrets.reencrypt", "environment_variable", "*")
                .details(json!({ "changed": changed })),
        )
        .await;
        Ok(changed)
    }
}
