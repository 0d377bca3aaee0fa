//! `POST /environments/{id}/ports/{port}/open`: a preview URL for a browser.

use hyper::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use vibebox_core::id::EnvironmentId;

use crate::Client;
use crate::error::Result;
use crate::transport::Call;

/// A preview URL. The URL carries a one-time ticket, so it is a secret (`Debug` leaves it
/// out); open it once, within `expires_in` seconds. It serializes to the JSON the server
/// sends, the URL included (it is there to be shown).
#[derive(Clone, Serialize, Deserialize)]
pub struct PreviewUrl {
    /// The one-time URL that signs a browser in to the preview and lands on the path.
    #[serde(serialize_with = "crate::api::auth::expose")]
    pub url: SecretString,
    /// The preview's address, for scripts that send `Authorization` instead.
    pub origin: String,
    /// Seconds the URL's ticket stays valid.
    pub expires_in: u64,
}

impl std::fmt::Debug for PreviewUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PreviewUrl")
            .field("url", &"<redacted>")
            .field("origin", &self.origin)
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl Client {
    /// `POST /environments/{id}/ports/{port}/open?path=`: a preview URL of a TCP port inside
    /// the environment (declared or not), landing on `path` (default `/`). Errors:
    /// `Forbidden`/`NotFound` per the port's share level; `Conflict` when previews are off.
    pub async fn open_preview(
        &self,
        env: EnvironmentId,
        port: u16,
        path: Option<&str>,
    ) -> Result<PreviewUrl> {
        let call = Call::api(
            Method::POST,
            format!("/environments/{env}/ports/{port}/open"),
        )
        .query_opt("path", path);
        self.transport.json(call).await
    }
}
