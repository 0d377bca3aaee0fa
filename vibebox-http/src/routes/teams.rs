//! `GET/POST /teams`, `GET/PATCH/DELETE /teams/{id}`, members and the team's audit log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use vibebox_core::domain::{AuditEvent, Membership, Role, Team};
use vibebox_core::id::{TeamId, UserId};
use vibebox_core::service::{NewTeam, TeamPatch};
use vibebox_core::store::Page;

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery, PageQuery};
use crate::json::ApiJson;
use crate::problem::ApiError;
use crate::state::AppState;

/// `POST /teams/{id}/members`.
#[derive(Debug, Deserialize)]
pub struct NewMember {
    /// The account to add.
    pub email: String,
    /// admin, developer or viewer.
    pub role: Role,
}

/// `PATCH /teams/{id}/members/{user_id}`.
#[derive(Debug, Deserialize)]
pub struct RoleChange {
    /// The new role.
    pub role: Role,
}

/// The caller's teams.
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<Team>>, ApiError> {
    Ok(Json(s.vibebox.list_teams(&actor, &q.page()?).await?))
}

/// Creates a team; the caller becomes its admin.
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewTeam>,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    let team = s.vibebox.create_team(&actor, new).await?;
    Ok((StatusCode::CREATED, Json(team)))
}

/// One team.
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<TeamId>,
) -> Result<Json<Team>, ApiError> {
    Ok(Json(s.vibebox.get_team(&actor, id).await?))
}

/// Changes a team (admins).
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<TeamId>,
    ApiJson(patch): ApiJson<TeamPatch>,
) -> Result<Json<Team>, ApiError> {
    Ok(Json(s.vibebox.update_team(&actor, id, patch).await?))
}

/// Deletes a team with its projects (admins).
pub async fn delete(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<TeamId>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.delete_team(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The team's members.
pub async fn members(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<TeamId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<Membership>>, ApiError> {
    Ok(Json(s.vibebox.list_members(&actor, id, &q.page()?).await?))
}

/// Adds a member by email (admins).
pub async fn add_member(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<TeamId>,
    ApiJson(new): ApiJson<NewMember>,
) -> Result<(StatusCode, Json<Membership>), ApiError> {
    let m = s
        .vibebox
        .add_member(&actor, id, &new.email, new.role)
        .await?;
    Ok((StatusCode::CREATED, Json(m)))
}

/// Changes a member's role (admins; the last admin stays).
pub async fn update_member(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath((id, user)): ApiPath<(TeamId, UserId)>,
    ApiJson(change): ApiJson<RoleChange>,
) -> Result<Json<Membership>, ApiError> {
    Ok(Json(
        s.vibebox
            .update_member_role(&actor, id, user, change.role)
            .await?,
    ))
}

/// Removes a member (admins, or the member leaving).
pub async fn remove_member(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath((id, user)): ApiPath<(TeamId, UserId)>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.remove_member(&actor, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The team's audit log (team admins).
pub async fn audit(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<TeamId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<AuditEvent>>, ApiError> {
    Ok(Json(
        s.vibebox.list_team_audit(&actor, id, &q.page()?).await?,
    ))
}
