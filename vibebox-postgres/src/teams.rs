//! [`TeamsStore`]: teams and memberships, keeping at least one admin per team.
//!
//! Demoting or removing a member locks the team row (`FOR UPDATE`) before counting admins, so
//! two concurrent demotions of a team's two admins run one after the other and the second sees
//! that only one admin is left.

use async_trait::async_trait;
use sqlx::{Postgres, Transaction};
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{Membership, Role, Team};
use vibebox_core::id::{TeamId, UserId};
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::one_affected;
use vibebox_core::store::{Page, PageRequest, TeamsStore};
use vibebox_core::{Error, Result};

use crate::PgStore;
use crate::error::map;
use crate::rows::{convert, parse};

#[derive(sqlx::FromRow)]
struct TeamRow {
    id: Uuid,
    name: String,
    slug: String,
    description: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<TeamRow> for Team {
    fn from(r: TeamRow) -> Self {
        Team {
            id: TeamId(r.id),
            name: r.name,
            slug: r.slug,
            description: r.description,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    team_id: Uuid,
    user_id: Uuid,
    role: String,
    joined_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<MembershipRow> for Membership {
    type Error = Error;
    fn try_from(r: MembershipRow) -> Result<Self> {
        Ok(Membership {
            team_id: TeamId(r.team_id),
            user_id: UserId(r.user_id),
            role: parse("membership role", &r.role)?,
            joined_at: r.joined_at,
            updated_at: r.updated_at,
        })
    }
}

async fn insert_membership<'e>(exec: impl sqlx::PgExecutor<'e>, m: &Membership) -> Result<()> {
    sqlx::query(
        "INSERT INTO memberships (team_id, user_id, role, joined_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5)",
    )
    .bind(m.team_id.0)
    .bind(m.user_id.0)
    .bind(m.role.as_str())
    .bind(m.joined_at)
    .bind(m.updated_at)
    .execute(exec)
    .await
    .map(|_| ())
    .map_err(map)
}

/// Locks the team and returns the member's current role; checks that changing it away from
/// admin leaves another admin. Errors: `NotFound` (`membership`); `LastAdmin`.
async fn lock_and_check(
    tx: &mut Transaction<'static, Postgres>,
    team: TeamId,
    user: UserId,
    new_role: Option<Role>,
) -> Result<()> {
    let locked: Option<i32> = sqlx::query_scalar("SELECT 1 FROM teams WHERE id = $1 FOR UPDATE")
        .bind(team.0)
        .fetch_optional(&mut **tx)
        .await
        .map_err(map)?;
    if locked.is_none() {
        return Err(Error::not_found("membership"));
    }
    let role: Option<String> =
        sqlx::query_scalar("SELECT role FROM memberships WHERE team_id = $1 AND user_id = $2")
            .bind(team.0)
            .bind(user.0)
            .fetch_optional(&mut **tx)
            .await
            .map_err(map)?;
    let role: Role = parse(
        "membership role",
        &role.ok_or(Error::not_found("membership"))?,
    )?;
    if role == Role::Admin && new_role != Some(Role::Admin) {
        let admins: i64 = sqlx::query_scalar(
            "SELECT count(*) FROM memberships WHERE team_id = $1 AND role = 'admin'",
        )
        .bind(team.0)
        .fetch_one(&mut **tx)
        .await
        .map_err(map)?;
        if admins <= 1 {
            return Err(Error::LastAdmin);
        }
    }
    Ok(())
}

#[async_trait]
impl TeamsStore for PgStore {
    #[tracing::instrument(skip_all, fields(team.id = %team.id))]
    async fn create_team(&self, team: &Team, first_admin: &Membership) -> Result<()> {
        if first_admin.role != Role::Admin {
            return Err(Error::invalid("role", "the first member must be an admin"));
        }
        if first_admin.team_id != team.id {
            return Err(Error::invalid(
                "team_id",
                "the first member must belong to the new team",
            ));
        }
        let mut tx = self.pool.begin().await.map_err(map)?;
        sqlx::query(
            "INSERT INTO teams (id, name, slug, description, created_at, updated_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(team.id.0)
        .bind(&team.name)
        .bind(&team.slug)
        .bind(&team.description)
        .bind(team.created_at)
        .bind(team.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        insert_membership(&mut *tx, first_admin).await?;
        tx.commit().await.map_err(map)
    }

    #[tracing::instrument(skip_all, fields(team.id = %id))]
    async fn get_team(&self, id: TeamId) -> Result<Team> {
        sqlx::query_as::<_, TeamRow>(
            "SELECT id, name, slug, description, created_at, updated_at FROM teams WHERE id = $1",
        )
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .map(Team::from)
        .ok_or(Error::not_found("team"))
    }

    #[tracing::instrument(skip_all, fields(team.id = %team.id))]
    async fn update_team(&self, team: &Team) -> Result<()> {
        let done = sqlx::query(
            "UPDATE teams SET name = $2, slug = $3, description = $4, created_at = $5, \
             updated_at = $6 WHERE id = $1",
        )
        .bind(team.id.0)
        .bind(&team.name)
        .bind(&team.slug)
        .bind(&team.description)
        .bind(team.created_at)
        .bind(team.updated_at)
        .execute(&self.pool)
        .await
        .map_err(map)?;
        one_affected(done.rows_affected(), "team")
    }

    #[tracing::instrument(skip_all, fields(team.id = %id))]
    async fn delete_team(&self, id: TeamId) -> Result<()> {
        // Memberships and the team's projects (with everything in them) go by cascade.
        let done = sqlx::query("DELETE FROM teams WHERE id = $1")
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        one_affected(done.rows_affected(), "team")
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn list_teams_for_user(&self, user: UserId, page: &PageRequest) -> Result<Page<Team>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, TeamRow>(
            "SELECT t.id, t.name, t.slug, t.description, t.created_at, t.updated_at \
             FROM memberships m JOIN teams t ON t.id = m.team_id \
             WHERE m.user_id = $1 AND ($2::uuid IS NULL OR t.id > $2) \
             ORDER BY t.id LIMIT $3",
        )
        .persistent(false)
        .bind(user.0)
        .bind(after)
        .bind(fetch_limit(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        let teams = rows.into_iter().map(Team::from).collect();
        Ok(page_of(teams, page.limit, |t: &Team| t.id.to_string()))
    }

    #[tracing::instrument(skip_all, fields(team.id = %membership.team_id, user.id = %membership.user_id))]
    async fn add_member(&self, membership: &Membership) -> Result<()> {
        insert_membership(&self.pool, membership).await
    }

    #[tracing::instrument(skip_all, fields(team.id = %team, user.id = %user))]
    async fn get_membership(&self, team: TeamId, user: UserId) -> Result<Option<Membership>> {
        sqlx::query_as::<_, MembershipRow>(
            "SELECT team_id, user_id, role, joined_at, updated_at FROM memberships \
             WHERE team_id = $1 AND user_id = $2",
        )
        .bind(team.0)
        .bind(user.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .map(Membership::try_from)
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(team.id = %team))]
    async fn list_members(&self, team: TeamId, page: &PageRequest) -> Result<Page<Membership>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, MembershipRow>(
            "SELECT team_id, user_id, role, joined_at, updated_at FROM memberships \
             WHERE team_id = $1 AND ($2::uuid IS NULL OR user_id > $2) \
             ORDER BY user_id LIMIT $3",
        )
        .persistent(false)
        .bind(team.0)
        .bind(after)
        .bind(fetch_limit(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        let members = convert(rows, Membership::try_from)?;
        Ok(page_of(members, page.limit, |m: &Membership| {
            m.user_id.to_string()
        }))
    }

    #[tracing::instrument(skip_all, fields(team.id = %team, user.id = %user, role = %role))]
    async fn update_member_role(
        &self,
        team: TeamId,
        user: UserId,
        role: Role,
        at: Timestamp,
    ) -> Result<Membership> {
        let mut tx = self.pool.begin().await.map_err(map)?;
        lock_and_check(&mut tx, team, user, Some(role)).await?;
        let row = sqlx::query_as::<_, MembershipRow>(
            "UPDATE memberships SET role = $3, updated_at = $4 \
             WHERE team_id = $1 AND user_id = $2 \
             RETURNING team_id, user_id, role, joined_at, updated_at",
        )
        .bind(team.0)
        .bind(user.0)
        .bind(role.as_str())
        .bind(at)
        .fetch_one(&mut *tx)
        .await
        .map_err(map)?;
        tx.commit().await.map_err(map)?;
        Membership::try_from(row)
    }

    #[tracing::instrument(skip_all, fields(team.id = %team, user.id = %user))]
    async fn remove_member(&self, team: TeamId, user: UserId) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map)?;
        lock_and_check(&mut tx, team, user, None).await?;
        sqlx::query("DELETE FROM memberships WHERE team_id = $1 AND user_id = $2")
            .bind(team.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .map_err(map)?;
        tx.commit().await.map_err(map)
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn list_memberships_for_user(&self, user: UserId) -> Result<Vec<Membership>> {
        let rows = sqlx::query_as::<_, MembershipRow>(
            "SELECT team_id, user_id, role, joined_at, updated_at FROM memberships \
             WHERE user_id = $1 ORDER BY team_id",
        )
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        convert(rows, Membership::try_from)
    }
}
