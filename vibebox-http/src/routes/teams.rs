//! `GET/POST /teams`, `GET/PATCH/DELETE /teams/{id}`, members and the team's audit log.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use vibebox_core::domain::{AuditEvent, Membership, Role, Team};
use vibebox_core::id::{TeamId, UserId};
use vibebox_core::service::{MemberView, NewTeam, TeamPatch};
use vibebox_core::store::Page;

use crate::auth::Caller;
use crate::extract::{ApiPath, ApiQuery, PageQuery};
use crate::json::ApiJson;
use crate::openapi::{Authenticated, Conflict, Forbidden, Invalid, JsonBody, NotFound};
use crate::problem::ApiError;
use crate::state::AppState;

/// `POST /teams/{id}/members`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct NewMember {
    /// The account to add.
    pub email: String,
    /// admin, developer or viewer.
    pub role: Role,
}

/// `PATCH /teams/{id}/members/{user_id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
pub struct RoleChange {
    /// The new role.
    pub role: Role,
}

/// The caller's teams.
#[utoipa::path(
    get,
    path = "/teams",
    tag = "teams",
    params(
        PageQuery,
    ),
    responses(
        (status = 200, description = "The caller's teams", body = Page<Team>),
        Forbidden, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn list(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<Team>>, ApiError> {
    Ok(Json(s.vibebox.list_teams(&actor, &q.page()?).await?))
}

/// Creates a team; the caller becomes its admin.
#[utoipa::path(
    post,
    path = "/teams",
    tag = "teams",
    request_body(content = NewTeam, content_type = "application/json"),
    responses(
        (status = 201, description = "The team; the caller is its admin", body = Team),
        Forbidden, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn create(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiJson(new): ApiJson<NewTeam>,
) -> Result<(StatusCode, Json<Team>), ApiError> {
    let team = s.vibebox.create_team(&actor, new).await?;
    Ok((StatusCode::CREATED, Json(team)))
}

/// One team.
#[utoipa::path(
    get,
    path = "/teams/{id}",
    tag = "teams",
    params(
        ("id" = TeamId, Path, description = "The team"),
    ),
    responses(
        (status = 200, description = "The team", body = Team),
        Forbidden, NotFound, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn get(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<TeamId>,
) -> Result<Json<Team>, ApiError> {
    Ok(Json(s.vibebox.get_team(&actor, id).await?))
}

/// Changes a team (admins).
#[utoipa::path(
    patch,
    path = "/teams/{id}",
    tag = "teams",
    params(
        ("id" = TeamId, Path, description = "The team"),
    ),
    request_body(content = TeamPatch, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed team", body = Team),
        Forbidden, NotFound, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn update(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<TeamId>,
    ApiJson(patch): ApiJson<TeamPatch>,
) -> Result<Json<Team>, ApiError> {
    Ok(Json(s.vibebox.update_team(&actor, id, patch).await?))
}

/// Deletes a team with its projects (admins).
#[utoipa::path(
    delete,
    path = "/teams/{id}",
    tag = "teams",
    params(
        ("id" = TeamId, Path, description = "The team"),
    ),
    responses(
        (status = 204, description = "Done"),
        Forbidden, NotFound, Conflict, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn delete(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<TeamId>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.delete_team(&actor, id).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The team's members, each with their display name and email (`null` if the account is
/// gone).
#[utoipa::path(
    get,
    path = "/teams/{id}/members",
    tag = "teams",
    params(
        ("id" = TeamId, Path, description = "The team"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "The members with their names and emails", body = Page<MemberView>),
        Forbidden, NotFound, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn members(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath(id): ApiPath<TeamId>,
    ApiQuery(q): ApiQuery<PageQuery>,
) -> Result<Json<Page<MemberView>>, ApiError> {
    Ok(Json(s.vibebox.list_members(&actor, id, &q.page()?).await?))
}

/// Adds a member by email (admins).
#[utoipa::path(
    post,
    path = "/teams/{id}/members",
    tag = "teams",
    params(
        ("id" = TeamId, Path, description = "The team"),
    ),
    request_body(content = NewMember, content_type = "application/json"),
    responses(
        (status = 201, description = "The membership", body = Membership),
        Forbidden, NotFound, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    patch,
    path = "/teams/{id}/members/{user_id}",
    tag = "teams",
    params(
        ("id" = TeamId, Path, description = "The team"),
        ("user_id" = UserId, Path, description = "The member"),
    ),
    request_body(content = RoleChange, content_type = "application/json"),
    responses(
        (status = 200, description = "The changed membership", body = Membership),
        Forbidden, NotFound, Conflict, JsonBody, Authenticated,
    ),
    security(("bearer" = []))
)]
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
#[utoipa::path(
    delete,
    path = "/teams/{id}/members/{user_id}",
    tag = "teams",
    params(
        ("id" = TeamId, Path, description = "The team"),
        ("user_id" = UserId, Path, description = "The member"),
    ),
    responses(
        (status = 204, description = "Done"),
        Forbidden, NotFound, Conflict, Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn remove_member(
    State(s): State<AppState>,
    Caller(actor): Caller,
    ApiPath((id, user)): ApiPath<(TeamId, UserId)>,
) -> Result<StatusCode, ApiError> {
    s.vibebox.remove_member(&actor, id, user).await?;
    Ok(StatusCode::NO_CONTENT)
}

/// The team's audit log (team admins).
#[utoipa::path(
    get,
    path = "/teams/{id}/audit",
    tag = "logs",
    params(
        ("id" = TeamId, Path, description = "The team"),
        PageQuery,
    ),
    responses(
        (status = 200, description = "The team's audit events, newest first", body = Page<AuditEvent>),
        Forbidden, NotFound, Invalid, Authenticated,
    ),
    security(("bearer" = []))
)]
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
