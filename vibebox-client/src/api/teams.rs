//! `GET/POST /teams`, `GET/PATCH/DELETE /teams/{id}` and members.

use hyper::Method;
use serde::Serialize;
use vibebox_core::domain::{Membership, Role, Team};
use vibebox_core::id::{TeamId, UserId};
use vibebox_core::service::{MemberView, Patch};

use crate::Client;
use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::transport::Call;

/// `POST /teams`.
#[derive(Clone, Debug, Serialize)]
pub struct NewTeam {
    /// 1–100 characters.
    pub name: String,
    /// Unique slug (`^[a-z0-9]+(-[a-z0-9]+)*$`, 3–50 characters).
    pub slug: String,
    /// Free text.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
}

/// `PATCH /teams/{id}`: fields left `None` (or [`Patch::Keep`]) are not changed.
#[derive(Clone, Debug, Default, Serialize)]
pub struct TeamPatch {
    /// A new name.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// A new slug.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub slug: Option<String>,
    /// A new description, or [`Patch::Clear`] to clear it.
    #[serde(skip_serializing_if = "Patch::is_keep")]
    pub description: Patch<String>,
}

impl Client {
    /// `GET /teams`: the caller's teams.
    pub async fn list_teams(&self, page: PageRequest) -> Result<Page<Team>> {
        let call = page.apply(Call::api(Method::GET, "/teams"));
        self.transport.json(call).await
    }

    /// `POST /teams`: creates a team with the caller as its admin. Errors: `Invalid`;
    /// `Conflict` for a taken slug.
    pub async fn create_team(&self, new: &NewTeam) -> Result<Team> {
        let call = Call::api(Method::POST, "/teams").json(new)?;
        self.transport.json(call).await
    }

    /// `GET /teams/{id}`. Errors: `NotFound`.
    pub async fn get_team(&self, id: TeamId) -> Result<Team> {
        self.transport
            .json(Call::api(Method::GET, format!("/teams/{id}")))
            .await
    }

    /// `PATCH /teams/{id}` (admins).
    pub async fn update_team(&self, id: TeamId, patch: &TeamPatch) -> Result<Team> {
        let call = Call::api(Method::PATCH, format!("/teams/{id}")).json(patch)?;
        self.transport.json(call).await
    }

    /// `DELETE /teams/{id}`: deletes a team with its projects (admins).
    pub async fn delete_team(&self, id: TeamId) -> Result<()> {
        self.transport
            .empty(Call::api(Method::DELETE, format!("/teams/{id}")))
            .await
    }

    /// `GET /teams/{id}/members`: the members with their display names and emails (`None`
    /// for an account deleted while the page was read).
    pub async fn list_members(&self, team: TeamId, page: PageRequest) -> Result<Page<MemberView>> {
        let call = page.apply(Call::api(Method::GET, format!("/teams/{team}/members")));
        self.transport.json(call).await
    }

    /// `POST /teams/{id}/members`: adds an account by email (admins). Errors: `NotFound` for
    /// an unknown email; `Conflict` for a member already.
    pub async fn add_member(&self, team: TeamId, email: &str, role: Role) -> Result<Membership> {
        let call = Call::api(Method::POST, format!("/teams/{team}/members"))
            .json(&serde_json::json!({"email": email, "role": role}))?;
        self.transport.json(call).await
    }

    /// `PATCH /teams/{id}/members/{user_id}`: changes a member's role (admins). Errors:
    /// `Conflict` when it would leave the team without an admin.
    pub async fn update_member(
        &self,
        team: TeamId,
        user: UserId,
        role: Role,
    ) -> Result<Membership> {
        let call = Call::api(Method::PATCH, format!("/teams/{team}/members/{user}"))
            .json(&serde_json::json!({"role": role}))?;
        self.transport.json(call).await
    }

    /// `DELETE /teams/{id}/members/{user_id}`: removes a member (admins, or the member
    /// leaving).
    pub async fn remove_member(&self, team: TeamId, user: UserId) -> Result<()> {
        self.transport
            .empty(Call::api(
                Method::DELETE,
                format!("/teams/{team}/members/{user}"),
            ))
            .await
    }
}
