use async_trait::async_trait;

use super::{MemoryStore, State, paginate};
use crate::domain::{EnvironmentExtension, Extension, ExtensionStatus};
use crate::error::{Error, Result};
use crate::id::{EnvironmentExtensionId, EnvironmentId, ExtensionId};
use crate::store::{ExtensionsStore, Page, PageRequest};

impl State {
    fn installation(&self, env: EnvironmentId, ext: ExtensionId) -> Result<EnvironmentExtensionId> {
        self.environment_extensions
            .values()
            .find(|x| x.environment_id == env && x.extension_id == ext)
            .map(|x| x.id)
            .ok_or(Error::not_found("environment_extension"))
    }
}

#[async_trait]
impl ExtensionsStore for MemoryStore {
    async fn create_extension(&self, ext: &Extension) -> Result<()> {
        self.with(|s| {
            if s.extensions.contains_key(&ext.id) {
                return Err(Error::already_exists("extension", "id"));
            }
            if s.extensions
                .values()
                .any(|x| x.extension_id == ext.extension_id)
            {
                return Err(Error::already_exists("extension", "extension_id"));
            }
            s.extensions.insert(ext.id, ext.clone());
            Ok(())
        })
    }

    async fn get_extension(&self, id: ExtensionId) -> Result<Extension> {
        self.with(|s| {
            s.extensions
                .get(&id)
                .cloned()
                .ok_or(Error::not_found("extension"))
        })
    }

    async fn find_extension(&self, extension_id: &str) -> Result<Option<Extension>> {
        self.with(|s| {
            Ok(s.extensions
                .values()
                .find(|x| x.extension_id == extension_id)
                .cloned())
        })
    }

    async fn list_extensions(&self, page: &PageRequest) -> Result<Page<Extension>> {
        self.with(|s| {
            let exts = s.extensions.values().cloned().collect();
            paginate(exts, |x| x.id.0, page, false)
        })
    }

    async fn add_environment_extension(&self, ext: &EnvironmentExtension) -> Result<()> {
        self.with(|s| {
            s.require_environment(ext.environment_id)?;
            if !s.extensions.contains_key(&ext.extension_id) {
                return Err(Error::not_found("extension"));
            }
            if s.environment_extensions.contains_key(&ext.id) {
                return Err(Error::already_exists("environment_extension", "id"));
            }
            if s.installation(ext.environment_id, ext.extension_id).is_ok() {
                return Err(Error::already_exists(
                    "environment_extension",
                    "extension_id",
                ));
            }
            s.environment_extensions.insert(ext.id, ext.clone());
            Ok(())
        })
    }

    async fn get_environment_extension(
        &self,
        env: EnvironmentId,
        ext: ExtensionId,
    ) -> Result<EnvironmentExtension> {
        self.with(|s| {
            let id = s.installation(env, ext)?;
            s.environment_extensions
                .get(&id)
                .cloned()
                .ok_or(Error::not_found("environment_extension"))
        })
    }

    async fn list_environment_extensions(
        &self,
        env: EnvironmentId,
    ) -> Result<Vec<EnvironmentExtension>> {
        self.with(|s| {
            Ok(s.environment_extensions
                .values()
                .filter(|x| x.environment_id == env)
                .cloned()
                .collect())
        })
    }

    async fn update_environment_extension(
        &self,
        ext: &EnvironmentExtension,
        expected_status: ExtensionStatus,
    ) -> Result<()> {
        self.with(|s| {
            let stored = s
                .environment_extensions
                .get_mut(&ext.id)
                .ok_or(Error::not_found("environment_extension"))?;
            if stored.status != expected_status {
                return Err(Error::StaleVersion {
                    resource: "environment_extension",
                });
            }
            stored.status = ext.status;
            stored.error_message.clone_from(&ext.error_message);
            stored.installed_at = ext.installed_at;
            stored.updated_at = ext.updated_at;
            Ok(())
        })
    }

    async fn delete_environment_extension(
        &self,
        env: EnvironmentId,
        ext: ExtensionId,
    ) -> Result<()> {
        self.with(|s| {
            let id = s.installation(env, ext)?;
            s.environment_extensions.remove(&id);
            Ok(())
        })
    }

    async fn list_environment_extensions_by_status(
        &self,
        statuses: &[ExtensionStatus],
        limit: u32,
    ) -> Result<Vec<EnvironmentExtension>> {
        self.with(|s| {
            Ok(s.environment_extensions
                .values()
                .filter(|x| statuses.contains(&x.status))
                .take(limit as usize)
                .cloned()
                .collect())
        })
    }
}
