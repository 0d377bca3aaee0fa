//! Users and OAuth identities.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::domain::{OAuthIdentity, PasswordHash, User};
use vibebox_core::error::{Error, Result};
use vibebox_core::id::UserId;
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::one_affected;
use vibebox_core::store::{Page, PageRequest, UsersStore};

use crate::codec::{after_id, micros, opt_micros, opt_timestamp, timestamp};
use crate::error::DbResultExt;
use crate::store::SqliteStore;

macro_rules! user_columns {
    () => {
        "id, email, password_hash, display_name, ssh_public_key, notification_settings, \
         is_platform_admin, disabled, last_login_at, created_at, updated_at"
    };
}

macro_rules! identity_columns {
    () => {
        "id, user_id, provider, subject, created_at, updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct UserRow {
    id: Uuid,
    email: String,
    password_hash: Option<String>,
    display_name: String,
    ssh_public_key: Option<String>,
    notification_settings: String,
    is_platform_admin: bool,
    disabled: bool,
    last_login_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<UserRow> for User {
    type Error = Error;

    fn try_from(r: UserRow) -> Result<Self> {
        Ok(User {
            id: UserId(r.id),
            email: r.email,
            password_hash: r.password_hash.map(PasswordHash::from_phc),
            display_name: r.display_name,
            ssh_public_key: r.ssh_public_key,
            notification_settings: serde_json::from_str(&r.notification_settings).map_err(|e| {
                Error::internal("stored notification_settings is not JSON", Some(e.into()))
            })?,
            is_platform_admin: r.is_platform_admin,
            disabled: r.disabled,
            last_login_at: opt_timestamp(r.last_login_at)?,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct IdentityRow {
    id: Uuid,
    user_id: Uuid,
    provider: String,
    subject: String,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<IdentityRow> for OAuthIdentity {
    type Error = Error;

    fn try_from(r: IdentityRow) -> Result<Self> {
        Ok(OAuthIdentity {
            id: r.id.into(),
            user_id: UserId(r.user_id),
            provider: r.provider,
            subject: r.subject,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

const INSERT_IDENTITY: &str = concat!(
    "INSERT INTO oauth_identities (",
    identity_columns!(),
    ") VALUES (?, ?, ?, ?, ?, ?)"
);

async fn insert_identity<'c>(
    conn: impl sqlx::SqliteExecutor<'c>,
    identity: &OAuthIdentity,
) -> Result<()> {
    sqlx::query(INSERT_IDENTITY)
        .bind(identity.id.0)
        .bind(identity.user_id.0)
        .bind(&identity.provider)
        .bind(&identity.subject)
        .bind(micros(identity.created_at))
        .bind(micros(identity.updated_at))
        .execute(conn)
        .await
        .db_parent("user")?;
    Ok(())
}

#[async_trait]
impl UsersStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(user.id = %user.id))]
    async fn create_user(&self, user: &User, identity: Option<OAuthIdentity>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(concat!(
            "INSERT INTO users (",
            user_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(user.id.0)
        .bind(&user.email)
        .bind(user.password_hash.as_ref().map(PasswordHash::as_phc))
        .bind(&user.display_name)
        .bind(&user.ssh_public_key)
        .bind(user.notification_settings.to_string())
        .bind(user.is_platform_admin)
        .bind(user.disabled)
        .bind(opt_micros(user.last_login_at))
        .bind(micros(user.created_at))
        .bind(micros(user.updated_at))
        .execute(&mut *tx)
        .await
        .db()?;
        if let Some(identity) = &identity {
            insert_identity(&mut *tx, identity).await?;
        }
        tx.commit().await.db()
    }

    #[tracing::instrument(skip_all, fields(user.id = %id))]
    async fn get_user(&self, id: UserId) -> Result<User> {
        sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id = ?"
        ))
        .bind(id.0)
        .fetch_optional(self.pool())
        .await
        .db()?
        .ok_or(Error::not_found("user"))?
        .try_into()
    }

    #[tracing::instrument(skip_all)]
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE lower(email) = lower(?)"
        ))
        .bind(email)
        .fetch_optional(self.pool())
        .await
        .db()?
        .map(TryInto::try_into)
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(user.id = %user.id))]
    async fn update_user(&self, user: &User) -> Result<()> {
        let done = sqlx::query(
            "UPDATE users SET email = ?, password_hash = ?, display_name = ?, \
             ssh_public_key = ?, notification_settings = ?, is_platform_admin = ?, \
             disabled = ?, last_login_at = ?, created_at = ?, updated_at = ? WHERE id = ?",
        )
        .bind(&user.email)
        .bind(user.password_hash.as_ref().map(PasswordHash::as_phc))
        .bind(&user.display_name)
        .bind(&user.ssh_public_key)
        .bind(user.notification_settings.to_string())
        .bind(user.is_platform_admin)
        .bind(user.disabled)
        .bind(opt_micros(user.last_login_at))
        .bind(micros(user.created_at))
        .bind(micros(user.updated_at))
        .bind(user.id.0)
        .execute(self.pool())
        .await
        .db()?;
        one_affected(done.rows_affected(), "user")
    }

    #[tracing::instrument(skip_all)]
    async fn list_users(&self, page: &PageRequest) -> Result<Page<User>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, UserRow>(concat!(
            "SELECT ",
            user_columns!(),
            " FROM users WHERE id > ? ORDER BY id LIMIT ?"
        ))
        .bind(after_id(after))
        .bind(fetch_limit(page.limit))
        .fetch_all(self.pool())
        .await
        .db()?;
        let users = rows
            .into_iter()
            .map(User::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(users, page.limit, |u| u.id.to_string()))
    }

    #[tracing::instrument(skip_all)]
    async fn count_users(&self) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT COUNT(*) FROM users")
            .fetch_one(self.pool())
            .await
            .db()?;
        Ok(n.unsigned_abs())
    }

    #[tracing::instrument(skip_all, fields(user.id = %identity.user_id))]
    async fn create_oauth_identity(&self, identity: &OAuthIdentity) -> Result<()> {
        insert_identity(self.pool(), identity).await
    }

    #[tracing::instrument(skip_all)]
    async fn find_oauth_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<OAuthIdentity>> {
        sqlx::query_as::<_, IdentityRow>(concat!(
            "SELECT ",
            identity_columns!(),
            " FROM oauth_identities WHERE provider = ? AND subject = ?"
        ))
        .bind(provider)
        .bind(subject)
        .fetch_optional(self.pool())
        .await
        .db()?
        .map(TryInto::try_into)
        .transpose()
    }
}
