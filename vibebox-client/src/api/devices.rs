//! The caller's signed-in devices: `GET /users/me/sessions`, `DELETE /users/me/sessions/{id}`.

use hyper::Method;
use serde::{Deserialize, Serialize};
use vibebox_core::clock::Timestamp;
use vibebox_core::id::{RefreshFamilyId, RefreshSessionId, UserId};

use crate::Client;
use crate::error::Result;
use crate::page::{Page, PageOrList, PageRequest};
use crate::transport::Call;

/// One sign-in (a refresh token of a device), never the token itself. It serializes to the
/// JSON the server sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    /// Identity.
    pub id: RefreshSessionId,
    /// The signed-in user.
    pub user_id: UserId,
    /// The sign-in this token belongs to.
    pub family_id: RefreshFamilyId,
    /// Absolute expiry.
    pub expires_at: Timestamp,
    /// When the token was rotated.
    pub used_at: Option<Timestamp>,
    /// When it was revoked.
    pub revoked_at: Option<Timestamp>,
    /// The client's user agent.
    pub user_agent: Option<String>,
    /// The client's IP address.
    pub ip: Option<String>,
    /// Creation time.
    pub created_at: Timestamp,
    /// Last change.
    pub updated_at: Timestamp,
}

impl Client {
    /// `GET /users/me/sessions?limit=&cursor=`: the caller's signed-in devices, ordered by id.
    pub async fn list_devices(&self, page: PageRequest) -> Result<Page<Device>> {
        let call = page.apply(Call::api(Method::GET, "/users/me/sessions"));
        let page: PageOrList<Device> = self.transport.json(call).await?;
        Ok(page.into())
    }

    /// `DELETE /users/me/sessions/{id}`: signs a device out. Errors: `NotFound`.
    pub async fn revoke_device(&self, id: RefreshSessionId) -> Result<()> {
        self.transport
            .empty(Call::api(
                Method::DELETE,
                format!("/users/me/sessions/{id}"),
            ))
            .await
    }
}
