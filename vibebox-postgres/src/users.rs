//! [`UsersStore`]: users and their OAuth identities.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{OAuthIdentity, PasswordHash, User};
use vibebox_core::id::UserId;
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::one_affected;
use vibebox_core::store::{Page, PageRequest, UsersStore};
use vibebox_core::{Error, Result};

use crate::PgStore;
use crate::error::map;

macro_rules! user_columns {
    () => {
        "id, email, password_hash, display_name, ssh_public_key, notification_settings, \
         is_platform_admin, disabled, last_login_at, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    password_hash: Option<String>,
    display_name: String,
    ssh_public_key: Option<String>,
    notification_settings: serde_json::Value,
    is_platform_admin: bool,
    disabled: bool,
    last_login_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<UserRow> for User {
    fn from(r: UserRow) -> Self {
        User {
            id: UserId(r.id),
            email: r.email,
            password_hash: r.password_hash.map(PasswordHash::from_phc),
            display_name: r.display_name,
            ssh_public_key: r.ssh_public_key,
            notification_settings: r.notification_settings,
            is_platform_admin: r.is_platform_admin,
            disabled: r.disabled,
            last_login_at: r.last_login_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[derive(sqlx::FromRow)]
struct IdentityRow {
    id: Uuid,
    user_id: Uuid,
    provider: String,
    subject: String,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<IdentityRow> for OAuthIdentity {
    fn from(r: IdentityRow) -> Self {
        OAuthIdentity {
            id: r.id.into(),
            user_id: UserId(r.user_id),
            provider: r.provider,
            subject: r.subject,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

async fn insert_identity<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    identity: &OAuthIdentity,
) -> Result<()> {
    sqlx::query(
        "INSERT INTO oauth_identities (id, user_id, provider, subject, created_at, updated_at) \
         VALUES ($1, $2, $3, $4, $5, $6)",
    )
    .bind(identity.id.0)
    .bind(identity.user_id.0)
    .bind(&identity.provider)
    .bind(&identity.subject)
    .bind(identity.created_at)
    .bind(identity.updated_at)
    .execute(exec)
    .await
    .map(|_| ())
    .map_err(map)
}

#[async_trait]
impl UsersStore for PgStore {
    #[tracing::instrument(skip_all, fields(user.id = %user.id))]
    async fn create_user(&self, user: &User, identity: Option<OAuthIdentity>) -> Result<()> {
        let mut tx = self.pool.begin().await.map_err(map)?;
        sqlx::query(concat!(
            "INSERT INTO users (",
            user_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
        ))
        .bind(user.id.0)
        .bind(&user.email)
        .bind(user.password_hash.as_ref().map(PasswordHash::as_phc))
        .bind(&user.display_name)
        .bind(&user.ssh_public_key)
        .bind(&user.notification_settings)
        .bind(user.is_platform_admin)
        .bind(user.disabled)
        .bind(user.last_login_at)
        .bind(user.created_at)
        .bind(user.updated_at)
        .execute(&mut *tx)
        .await
        .map_err(map)?;
        if let Some(identity) = &identity {
            insert_identity(&mut *tx, identity).await?;
        }
        tx.commit().await.map_err(map)
    }

    #[tracing::instrument(skip_all, fields(user.id = %id))]
    async fn get_user(&self, id: UserId) -> Result<User> {
        sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = $1"
        ))
        .bind(id.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .map(User::from)
        .ok_or(Error::not_found("user"))
    }

    #[tracing::instrument(skip_all)]
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let row = sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE lower(email) = lower($1)"
        ))
        .bind(email)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?;
        Ok(row.map(User::from))
    }

    #[tracing::instrument(skip_all, fields(user.id = %user.id))]
    async fn update_user(&self, user: &User) -> Result<()> {
        let done = sqlx::query(
            "UPDATE users SET email = $2, password_hash = $3, display_name = $4, \
             ssh_public_key = $5, notification_settings = $6, is_platform_admin = $7, \
             disabled = $8, last_login_at = $9, created_at = $10, updated_at = $11 \
             WHERE id = $1",
        )
        .bind(user.id.0)
        .bind(&user.email)
        .bind(user.password_hash.as_ref().map(PasswordHash::as_phc))
        .bind(&user.display_name)
        .bind(&user.ssh_public_key)
        .bind(&user.notification_settings)
        .bind(user.is_platform_admin)
        .bind(user.disabled)
        .bind(user.last_login_at)
        .bind(user.created_at)
        .bind(user.updated_at)
        .execute(&self.pool)
        .await
        .map_err(map)?;
        one_affected(done.rows_affected(), "user")
    }

    #[tracing::instrument(skip_all)]
    async fn list_users(&self, page: &PageRequest) -> Result<Page<User>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE ($1::uuid IS NULL OR id > $1) ORDER BY id LIMIT $2"
        ))
        .persistent(false)
        .bind(after)
        .bind(fetch_limit(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        let users = rows.into_iter().map(User::from).collect();
        Ok(page_of(users, page.limit, |u: &User| u.id.to_string()))
    }

    #[tracing::instrument(skip_all)]
    async fn count_users(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM users")
            .fetch_one(&self.pool)
            .await
            .map_err(map)?;
        Ok(n.max(0) as u64)
    }

    #[tracing::instrument(skip_all, fields(user.id = %identity.user_id))]
    async fn create_oauth_identity(&self, identity: &OAuthIdentity) -> Result<()> {
        insert_identity(&self.pool, identity).await
    }

    #[tracing::instrument(skip_all)]
    async fn find_oauth_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<OAuthIdentity>> {
        let row = sqlx::query_as::<_, IdentityRow>(
            "SELECT id, user_id, provider, subject, created_at, updated_at \
             FROM oauth_identities WHERE provider = $1 AND subject = $2",
        )
        .bind(provider)
        .bind(subject)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?;
        Ok(row.map(OAuthIdentity::from))
    }
}
