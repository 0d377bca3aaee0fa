//! The catalog (`GET/POST /extensions`) and an environment's extensions.

use hyper::Method;
use serde::Serialize;
use vibebox_core::domain::{EnvironmentExtension, Extension};
use vibebox_core::id::{EnvironmentId, ExtensionId};

use crate::Client;
use crate::error::Result;
use crate::page::{Page, PageOrList, PageRequest};
use crate::transport::Call;

/// `POST /extensions` (platform admins).
#[derive(Clone, Debug, Serialize)]
pub struct NewExtension {
    /// `publisher.name`.
    pub extension_id: String,
    /// Display name.
    pub name: String,
    /// Semantic version.
    pub version: String,
    /// Custom (not from the marketplace): requires `download_url`.
    pub is_custom: bool,
    /// Where a custom extension's VSIX is downloaded from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub download_url: Option<String>,
}

impl Client {
    /// `GET /extensions`: the catalog.
    pub async fn list_extensions(&self, page: PageRequest) -> Result<Page<Extension>> {
        let call = page.apply(Call::api(Method::GET, "/extensions"));
        self.transport.json(call).await
    }

    /// `POST /extensions`: adds a catalog entry (platform admins).
    pub async fn add_extension(&self, new: &NewExtension) -> Result<Extension> {
        let call = Call::api(Method::POST, "/extensions").json(new)?;
        self.transport.json(call).await
    }

    /// `GET /environments/{id}/extensions?limit=&cursor=`: the environment's extensions and
    /// their status, ordered by id.
    pub async fn list_environment_extensions(
        &self,
        env: EnvironmentId,
        page: PageRequest,
    ) -> Result<Page<EnvironmentExtension>> {
        let call = page.apply(Call::api(
            Method::GET,
            format!("/environments/{env}/extensions"),
        ));
        let page: PageOrList<EnvironmentExtension> = self.transport.json(call).await?;
        Ok(page.into())
    }

    /// `POST /environments/{id}/extensions`: requests an installation (or retries a failed
    /// one) of the catalog's `extension_id` (`publisher.name`).
    pub async fn install_extension(
        &self,
        env: EnvironmentId,
        extension_id: &str,
    ) -> Result<EnvironmentExtension> {
        let call = Call::api(Method::POST, format!("/environments/{env}/extensions"))
            .json(&serde_json::json!({"extension_id": extension_id}))?;
        self.transport.json(call).await
    }

    /// `DELETE /environments/{id}/extensions/{ext_id}`.
    pub async fn uninstall_extension(&self, env: EnvironmentId, ext: ExtensionId) -> Result<()> {
        self.transport
            .empty(Call::api(
                Method::DELETE,
                format!("/environments/{env}/extensions/{ext}"),
            ))
            .await
    }
}
