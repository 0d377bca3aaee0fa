use async_trait::async_trait;

use super::{Page, PageRequest};
use crate::domain::{EnvironmentExtension, Extension, ExtensionStatus};
use crate::error::Result;
use crate::id::{EnvironmentId, ExtensionId};

/// The extension catalog and per-environment installations.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait ExtensionsStore: Send + Sync {
    /// Errors: `AlreadyExists` (`extension_id`).
    async fn create_extension(&self, ext: &Extension) -> Result<()>;

    /// Errors: `NotFound` (`extension`).
    async fn get_extension(&self, id: ExtensionId) -> Result<Extension>;

    /// Finds a catalog entry by its `publisher.name` id.
    async fn find_extension(&self, extension_id: &str) -> Result<Option<Extension>>;

    /// The catalog, ordered by id.
    async fn list_extensions(&self, page: &PageRequest) -> Result<Page<Extension>>;

    /// Errors: `NotFound` (`environment` or `extension`); `AlreadyExists` (`extension_id`) if
    /// the environment already has it.
    async fn add_environment_extension(&self, ext: &EnvironmentExtension) -> Result<()>;

    /// Errors: `NotFound` (`environment_extension`).
    async fn get_environment_extension(
        &self,
        env: EnvironmentId,
        ext: ExtensionId,
    ) -> Result<EnvironmentExtension>;

    /// The environment's extensions, ordered by id.
    async fn list_environment_extensions(
        &self,
        env: EnvironmentId,
    ) -> Result<Vec<EnvironmentExtension>>;

    /// Compare-and-set: writes status, error_message, installed_at and updated_at if the stored
    /// status is still `expected_status`.
    ///
    /// Errors: `NotFound` (`environment_extension`); `StaleVersion` when the status differs.
    async fn update_environment_extension(
        &self,
        ext: &EnvironmentExtension,
        expected_status: ExtensionStatus,
    ) -> Result<()>;

    /// Errors: `NotFound` (`environment_extension`).
    async fn delete_environment_extension(
        &self,
        env: EnvironmentId,
        ext: ExtensionId,
    ) -> Result<()>;

    /// Installations (of any environment) in one of the given states, ordered by id.
    async fn list_environment_extensions_by_status(
        &self,
        statuses: &[ExtensionStatus],
        limit: u32,
    ) -> Result<Vec<EnvironmentExtension>>;
}
