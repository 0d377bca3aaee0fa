use serde::{Deserialize, Serialize};

use super::string_enum;
use crate::clock::Timestamp;
use crate::id::{EnvironmentExtensionId, EnvironmentId, ExtensionId};

/// A VS Code extension in the catalog.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Extension {
    /// Identity.
    pub id: ExtensionId,
    /// `publisher.name`, unique.
    pub extension_id: String,
    /// Display name.
    pub name: String,
    /// A semantic version.
    pub version: String,
    /// The publisher (the part before the dot).
    pub publisher: String,
    /// Whether it is a custom (non-marketplace) extension.
    pub is_custom: bool,
    /// Where a custom extension's VSIX is downloaded from (custom only).
    pub download_url: Option<String>,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}

/// Where an extension's installation in an environment is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExtensionStatus {
    /// Queued; installed when the environment runs.
    Pending,
    /// Being installed.
    Installing,
    /// Installed.
    Installed,
    /// The installation failed; `error_message` says why. Can be retried.
    Failed,
    /// Being removed.
    Uninstalling,
    /// Removed (the row is deleted right after).
    Removed,
}
string_enum!(ExtensionStatus, "status", {
    Pending => "pending", Installing => "installing", Installed => "installed",
    Failed => "failed", Uninstalling => "uninstalling", Removed => "removed",
});

/// An extension requested for an environment, with its installation status.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct EnvironmentExtension {
    /// Identity.
    pub id: EnvironmentExtensionId,
    /// The environment.
    pub environment_id: EnvironmentId,
    /// The catalog extension; (environment, extension) is unique.
    pub extension_id: ExtensionId,
    /// Installation status.
    pub status: ExtensionStatus,
    /// Why the last installation failed.
    pub error_message: Option<String>,
    /// When it was installed.
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub installed_at: Option<Timestamp>,
    /// Creation time.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub created_at: Timestamp,
    /// Last change.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub updated_at: Timestamp,
}
