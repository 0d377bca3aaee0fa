//! `GET/PATCH /users/me`; for platform admins `GET /users` and `PATCH /users/{id}`.

use hyper::Method;
use serde::Serialize;
use vibebox_core::domain::User;
use vibebox_core::id::UserId;
use vibebox_core::service::Patch;

use crate::Client;
use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::transport::Call;

/// `PATCH /users/me`: fields left `None` (or [`Patch::Keep`]) are not changed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ProfilePatch {
    /// A new display name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// A new SSH public key ([`Patch::Set`]), or [`Patch::Clear`] to remove it.
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub ssh_public_key: Patch<String>,
    /// New notification settings (a JSON object).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub notification_settings: Option<serde_json::Value>,
}

/// `PATCH /users/{id}` (platform admins).
#[derive(Clone, Debug, Default, Serialize)]
pub struct UserAdminPatch {
    /// Disable or re-enable the account; disabling ends its sign-ins at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub disabled: Option<bool>,
    /// Grant or withdraw platform admin rights.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub is_platform_admin: Option<bool>,
}

impl Client {
    /// `GET /users/me`: the caller's account.
    pub async fn me(&self) -> Result<User> {
        self.transport
            .json(Call::api(Method::GET, "/users/me"))
            .await
    }

    /// `PATCH /users/me`: changes the caller's profile. Errors: `Invalid` naming the field.
    pub async fn update_me(&self, patch: &ProfilePatch) -> Result<User> {
        let call = Call::api(Method::PATCH, "/users/me").json(patch)?;
        self.transport.json(call).await
    }

    /// `GET /users`: every account (platform admins). Errors: `Forbidden`.
    pub async fn list_users(&self, page: PageRequest) -> Result<Page<User>> {
        let call = page.apply(Call::api(Method::GET, "/users"));
        self.transport.json(call).await
    }

    /// `PATCH /users/{id}`: disables, enables or promotes an account (platform admins).
    pub async fn update_user(&self, id: UserId, patch: &UserAdminPatch) -> Result<User> {
        let call = Call::api(Method::PATCH, format!("/users/{id}")).json(patch)?;
        self.transport.json(call).await
    }
}
