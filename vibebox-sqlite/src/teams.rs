//! Teams and memberships. Changes to roles run in `BEGIN IMMEDIATE` transactions, so the
//! last-admin check and the write see the same state; the schema's triggers back it up.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{Membership, Role, Team};
use vibebox_core::error::{Error, Result};
use vibebox_core::id::{TeamId, UserId};
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::one_affected;
use vibebox_core::store::{Page, PageRequest, TeamsStore};

use crate::codec::{after_id, micros, parse_enum, timestamp};
use crate::error::DbResultExt;
use crate::store::{SqliteStore, exists};

macro_rules! team_columns {
    () => {
        "id, name, slug, description, created_at, updated_at"
    };
}

macro_rules! membership_columns {
    () => {
        "team_id, user_id, role, joined_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct TeamRow {
    id: Uuid,
    name: String,
    slug: String,
    description: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<TeamRow> for Team {
    type Error = Error;

    fn try_from(r: TeamRow) -> Result<Self> {
        Ok(Team {
            id: TeamId(r.id),
            name: r.name,
            slug: r.slug,
            description: r.description,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct MembershipRow {
    team_id: Uuid,
    user_id: Uuid,
    role: String,
    joined_at: i64,
    updated_at: i64,
}

impl TryFrom<MembershipRow> for Membership {
    type Error = Error;

    fn try_from(r: MembershipRow) -> Result<Self> {
        Ok(Membership {
            team_id: TeamId(r.team_id),
            user_id: UserId(r.user_id),
            role: parse_enum(&r.role, "role")?,
            joined_at: timestamp(r.joined_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

fn memberships(rows: Vec<MembershipRow>) -> Result<Vec<Membership>> {
    rows.into_iter().map(Membership::try_from).collect()
}

const INSERT_MEMBERSHIP: &str = concat!(
    "INSERT INTO memberships (",
    membership_columns!(),
    ") VALUES (?, ?, ?, ?, ?)"
);

fn bind_membership<'q>(
    m: &'q Membership,
) -> sqlx::query::Query<'q, sqlx::Sqlite, sqlx::sqlite::SqliteArguments> {
    sqlx::query(INSERT_MEMBERSHIP)
        .bind(m.team_id.0)
        .bind(m.user_id.0)
        .bind(m.role.as_str())
        .bind(micros(m.joined_at))
        .bind(micros(m.updated_at))
}

/// The member's current role and how many admins the team has, read inside a write
/// transaction. Errors: `NotFound` (`membership`).
async fn role_and_admins(
    conn: &mut sqlx::SqliteConnection,
    team: TeamId,
    user: UserId,
) -> Result<(Role, i64)> {
    let row: Option<(String, i64)> = sqlx::query_as(
        "SELECT role, (SELECT COUNT(*) FROM memberships a WHERE a.team_id = m.team_id \
         AND a.role = 'admin') FROM memberships m WHERE team_id = ? AND user_id = ?",
    )
    .bind(team.0)
    .bind(user.0)
    .fetch_optional(conn)
    .await
    .db()?;
    let (role, admins) = row.ok_or(Error::not_found("membership"))?;
    Ok((parse_enum(&role, "role")?, admins))
}

#[async_trait]
impl TeamsStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(team.id = %team.id, user.id = %first_admin.user_id))]
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
        let mut tx = self.begin_write().await?;
        if !exists(
            &mut *tx,
            "SELECT 1 FROM users WHERE id = ?",
            first_admin.user_id.0,
        )
        .await?
        {
            return Err(Error::not_found("user"));
        }
        sqlx::query(concat!(
            "INSERT INTO teams (",
            team_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?)"
        ))
        .bind(team.id.0)
        .bind(&team.name)
        .bind(&team.slug)
        .bind(&team.description)
        .bind(micros(team.created_at))
        .bind(micros(team.updated_at))
        .execute(&mut *tx)
        .await
        .db()?;
        bind_membership(first_admin)
            .execute(&mut *tx)
            .await
            .db_parent("user")?;
        tx.commit().await.db()
    }

    #[tracing::instrument(skip_all, fields(team.id = %id))]
    async fn get_team(&self, id: TeamId) -> Result<Team> {
        sqlx::query_as::<_, TeamRow>(concat!(
            "SELECT ",
            team_columns!(),
            " FROM teams WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .db()?
        .ok_or(Error::not_found("team"))?
        .try_into()
    }

    #[tracing::instrument(skip_all, fields(team.id = %team.id))]
    async fn update_team(&self, team: &Team) -> Result<()> {
        let done = sqlx::query(
            "UPDATE teams SET name = ?, slug = ?, description = ?, created_at = ?, \
             updated_at = ? WHERE id = ?",
        )
        .bind(&team.name)
        .bind(&team.slug)
        .bind(&team.description)
        .bind(micros(team.created_at))
        .bind(micros(team.updated_at))
        .bind(team.id.0)
        .execute(self.pool())
        .await
        .db()?;
        one_affected(done.rows_affected(), "team")
    }

    #[tracing::instrument(skip_all, fields(team.id = %id))]
    async fn delete_team(&self, id: TeamId) -> Result<()> {
        // Memberships and projects (with everything in them) go by ON DELETE CASCADE.
        let done = sqlx::query("DELETE FROM teams WHERE id = ?")
            .bind(id.0)
            .execute(self.pool())
            .await
            .db()?;
        one_affected(done.rows_affected(), "team")
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn list_teams_for_user(&self, user: UserId, page: &PageRequest) -> Result<Page<Team>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, TeamRow>(
            "SELECT t.id, t.name, t.slug, t.description, t.created_at, t.updated_at \
             FROM memberships m JOIN teams t ON t.id = m.team_id \
             WHERE m.user_id = ? AND m.team_id > ? ORDER BY m.team_id LIMIT ?",
        )
        .bind(user.0)
        .bind(after_id(after))
        .bind(fetch_limit(page.limit))
        .fetch_all(self.pool())
        .await
        .db()?;
        let teams = rows
            .into_iter()
            .map(Team::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(teams, page.limit, |t| t.id.to_string()))
    }

    #[tracing::instrument(skip_all, fields(team.id = %membership.team_id, user.id = %membership.user_id))]
    async fn add_member(&self, membership: &Membership) -> Result<()> {
        let mut tx = self.begin_write().await?;
        if !exists(
            &mut *tx,
            "SELECT 1 FROM teams WHERE id = ?",
            membership.team_id.0,
        )
        .await?
        {
            return Err(Error::not_found("team"));
        }
        if !exists(
            &mut *tx,
            "SELECT 1 FROM users WHERE id = ?",
            membership.user_id.0,
        )
        .await?
        {
            return Err(Error::not_found("user"));
        }
        bind_membership(membership)
            .execute(&mut *tx)
            .await
            .db_parent("user")?;
        tx.commit().await.db()
    }

    #[tracing::instrument(skip_all, fields(team.id = %team, user.id = %user))]
    async fn get_membership(&self, team: TeamId, user: UserId) -> Result<Option<Membership>> {
        sqlx::query_as::<_, MembershipRow>(concat!(
            "SELECT ",
            membership_columns!(),
            " FROM memberships WHERE team_id = ? AND user_id = ?"
        ))
        .bind(team.0)
        .bind(user.0)
        .fetch_optional(self.pool())
        .await
        .db()?
        .map(TryInto::try_into)
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(team.id = %team))]
    async fn list_members(&self, team: TeamId, page: &PageRequest) -> Result<Page<Membership>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, MembershipRow>(concat!(
            "SELECT ",
            membership_columns!(),
            " FROM memberships WHERE team_id = ? AND user_id > ? ORDER BY user_id LIMIT ?"
        ))
        .bind(team.0)
        .bind(after_id(after))
        .bind(fetch_limit(page.limit))
        .fetch_all(self.pool())
        .await
        .db()?;
        Ok(page_of(memberships(rows)?, page.limit, |m| {
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
        let mut tx = self.begin_write().await?;
        let (current, admins) = role_and_admins(&mut tx, team, user).await?;
        if current == Role::Admin && role != Role::Admin && admins <= 1 {
            return Err(Error::LastAdmin);
        }
        let row = sqlx::query_as::<_, MembershipRow>(concat!(
            "UPDATE memberships SET role = ?, updated_at = ? WHERE team_id = ? AND user_id = ? \
             RETURNING ",
            membership_columns!()
        ))
        .bind(role.as_str())
        .bind(micros(at))
        .bind(team.0)
        .bind(user.0)
        .fetch_one(&mut *tx)
        .await
        .db()?;
        tx.commit().await.db()?;
        row.try_into()
    }

    #[tracing::instrument(skip_all, fields(team.id = %team, user.id = %user))]
    async fn remove_member(&self, team: TeamId, user: UserId) -> Result<()> {
        let mut tx = self.begin_write().await?;
        let (current, admins) = role_and_admins(&mut tx, team, user).await?;
        if current == Role::Admin && admins <= 1 {
            return Err(Error::LastAdmin);
        }
        sqlx::query("DELETE FROM memberships WHERE team_id = ? AND user_id = ?")
            .bind(team.0)
            .bind(user.0)
            .execute(&mut *tx)
            .await
            .db()?;
        tx.commit().await.db()
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn list_memberships_for_user(&self, user: UserId) -> Result<Vec<Membership>> {
        let rows = sqlx::query_as::<_, MembershipRow>(concat!(
            "SELECT ",
            membership_columns!(),
            " FROM memberships WHERE user_id = ? ORDER BY team_id"
        ))
        .bind(user.0)
        .fetch_all(self.pool())
        .await
        .db()?;
        memberships(rows)
    }
}
