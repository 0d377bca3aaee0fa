//! [`AuthStore`]: API keys and refresh sessions. Only SHA-256 hashes of secrets are stored
//! (`BYTEA`, 32 bytes).
//!
//! Rotation is one transaction whose first statement is a conditional `UPDATE … WHERE used_at
//! IS NULL AND revoked_at IS NULL`: concurrent rotations of one token queue on its row lock,
//! and every one after the first finds it used, so exactly one inserts a successor.

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{ApiKey, RefreshSession, TokenHash};
use vibebox_core::id::{ApiKeyId, RefreshFamilyId, RefreshSessionId, UserId};
use vibebox_core::store::one_affected;
use vibebox_core::store::{ApiKeyWithOwner, AuthStore};
use vibebox_core::{Error, Result};

use crate::PgStore;
use crate::error::{corrupt, map};
use crate::rows::{convert, parse};

macro_rules! key_columns {
    () => {
        "id, user_id, name, prefix, secret_hash, scopes, expires_at, last_used_at, created_at, \
         updated_at"
    };
}

macro_rules! refresh_columns {
    () => {
        "id, user_id, family_id, token_hash, expires_at, used_at, revoked_at, user_agent, ip, \
         created_at, updated_at"
    };
}

fn hash(what: &'static str, bytes: Vec<u8>) -> Result<TokenHash> {
    <[u8; 32]>::try_from(bytes)
        .map(TokenHash)
        .map_err(|_| corrupt(what, Error::invalid(what, "must be 32 bytes")))
}

/// An API key row with its owner's account state.
#[derive(sqlx::FromRow)]
struct KeyWithOwnerRow {
    #[sqlx(flatten)]
    key: KeyRow,
    owner_disabled: bool,
    owner_is_platform_admin: bool,
}

impl TryFrom<KeyWithOwnerRow> for ApiKeyWithOwner {
    type Error = Error;

    fn try_from(r: KeyWithOwnerRow) -> Result<Self> {
        Ok(ApiKeyWithOwner {
            key: r.key.try_into()?,
            owner_disabled: r.owner_disabled,
            owner_is_platform_admin: r.owner_is_platform_admin,
        })
    }
}

#[derive(sqlx::FromRow)]
struct KeyRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    prefix: String,
    secret_hash: Vec<u8>,
    scopes: Vec<String>,
    expires_at: Timestamp,
    last_used_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<KeyRow> for ApiKey {
    type Error = Error;
    fn try_from(r: KeyRow) -> Result<Self> {
        Ok(ApiKey {
            id: ApiKeyId(r.id),
            user_id: UserId(r.user_id),
            name: r.name,
            prefix: r.prefix,
            secret_hash: hash("api key hash", r.secret_hash)?,
            scopes: r
                .scopes
                .iter()
                .map(|s| parse("api key scope", s))
                .collect::<Result<_>>()?,
            expires_at: r.expires_at,
            last_used_at: r.last_used_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RefreshRow {
    id: Uuid,
    user_id: Uuid,
    family_id: Uuid,
    token_hash: Vec<u8>,
    expires_at: Timestamp,
    used_at: Option<Timestamp>,
    revoked_at: Option<Timestamp>,
    user_agent: Option<String>,
    ip: Option<String>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl TryFrom<RefreshRow> for RefreshSession {
    type Error = Error;
    fn try_from(r: RefreshRow) -> Result<Self> {
        Ok(RefreshSession {
            id: RefreshSessionId(r.id),
            user_id: UserId(r.user_id),
            family_id: RefreshFamilyId(r.family_id),
            token_hash: hash("refresh token hash", r.token_hash)?,
            expires_at: r.expires_at,
            used_at: r.used_at,
            revoked_at: r.revoked_at,
            user_agent: r.user_agent,
            ip: r.ip,
            created_at: r.created_at,
            updated_at: r.updated_at,
        })
    }
}

async fn insert_refresh_session<'e>(
    exec: impl sqlx::PgExecutor<'e>,
    s: &RefreshSession,
) -> Result<()> {
    sqlx::query(concat!(
        "INSERT INTO refresh_sessions (",
        refresh_columns!(),
        ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)"
    ))
    .bind(s.id.0)
    .bind(s.user_id.0)
    .bind(s.family_id.0)
    .bind(&s.token_hash.0[..])
    .bind(s.expires_at)
    .bind(s.used_at)
    .bind(s.revoked_at)
    .bind(&s.user_agent)
    .bind(&s.ip)
    .bind(s.created_at)
    .bind(s.updated_at)
    .execute(exec)
    .await
    .map(|_| ())
    .map_err(map)
}

#[async_trait]
impl AuthStore for PgStore {
    #[tracing::instrument(skip_all, fields(user.id = %key.user_id, api_key.id = %key.id))]
    async fn create_api_key(&self, key: &ApiKey) -> Result<()> {
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        sqlx::query(concat!(
            "INSERT INTO api_keys (",
            key_columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(key.id.0)
        .bind(key.user_id.0)
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&key.secret_hash.0[..])
        .bind(scopes)
        .bind(key.expires_at)
        .bind(key.last_used_at)
        .bind(key.created_at)
        .bind(key.updated_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map)
    }

    #[tracing::instrument(skip_all)]
    async fn find_api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyWithOwner>> {
        sqlx::query_as::<_, KeyWithOwnerRow>(concat!(
            "SELECT k.*, u.disabled AS owner_disabled, u.is_platform_admin AS owner_is_platform_admin \
             FROM (SELECT ",
            key_columns!(),
            " FROM api_keys WHERE prefix = $1) AS k JOIN users u ON u.id = k.user_id"
        ))
        .bind(prefix)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .map(ApiKeyWithOwner::try_from)
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn list_api_keys(&self, user: UserId) -> Result<Vec<ApiKey>> {
        let rows = sqlx::query_as::<_, KeyRow>(concat!(
            "SELECT ",
            key_columns!(),
            " FROM api_keys WHERE user_id = $1 ORDER BY id"
        ))
        .bind(user.0)
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        convert(rows, ApiKey::try_from)
    }

    #[tracing::instrument(skip_all, fields(user.id = %user, api_key.id = %id))]
    async fn delete_api_key(&self, user: UserId, id: ApiKeyId) -> Result<()> {
        let done = sqlx::query("DELETE FROM api_keys WHERE id = $1 AND user_id = $2")
            .bind(id.0)
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        one_affected(done.rows_affected(), "api_key")
    }

    #[tracing::instrument(skip_all, fields(api_key.id = %id))]
    async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = $2 WHERE id = $1")
            .bind(id.0)
            .bind(at)
            .execute(&self.pool)
            .await
            .map(|_| ())
            .map_err(map)
    }

    #[tracing::instrument(skip_all, fields(user.id = %session.user_id))]
    async fn create_refresh_session(&self, session: &RefreshSession) -> Result<()> {
        insert_refresh_session(&self.pool, session).await
    }

    #[tracing::instrument(skip_all)]
    async fn find_refresh_session(&self, hash: &TokenHash) -> Result<Option<RefreshSession>> {
        sqlx::query_as::<_, RefreshRow>(concat!(
            "SELECT ",
            refresh_columns!(),
            " FROM refresh_sessions WHERE token_hash = $1"
        ))
        .bind(&hash.0[..])
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .map(RefreshSession::try_from)
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(refresh_session.id = %old))]
    async fn rotate_refresh_session(
        &self,
        old: RefreshSessionId,
        new: &RefreshSession,
        at: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.pool.begin().await.map_err(map)?;
        let won = sqlx::query(
            "UPDATE refresh_sessions SET used_at = $2, updated_at = $2 \
             WHERE id = $1 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(old.0)
        .bind(at)
        .execute(&mut *tx)
        .await
        .map_err(map)?
        .rows_affected()
            == 1;
        if !won {
            let exists: bool =
                sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM refresh_sessions WHERE id = $1)")
                    .bind(old.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(map)?;
            return if exists {
                Ok(false)
            } else {
                Err(Error::not_found("refresh_session"))
            };
        }
        insert_refresh_session(&mut *tx, new).await?;
        tx.commit().await.map_err(map)?;
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_refresh_family(&self, family: RefreshFamilyId, at: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE refresh_sessions SET revoked_at = $2, updated_at = $2 \
             WHERE family_id = $1 AND revoked_at IS NULL",
        )
        .bind(family.0)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(map)?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn revoke_user_refresh_sessions(&self, user: UserId, at: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE refresh_sessions SET revoked_at = $2, updated_at = $2 \
             WHERE user_id = $1 AND revoked_at IS NULL",
        )
        .bind(user.0)
        .bind(at)
        .execute(&self.pool)
        .await
        .map_err(map)?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn list_refresh_sessions(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<Vec<RefreshSession>> {
        let rows = sqlx::query_as::<_, RefreshRow>(concat!(
            "SELECT ",
            refresh_columns!(),
            " FROM refresh_sessions WHERE user_id = $1 AND used_at IS NULL ",
            "AND revoked_at IS NULL AND expires_at > $2 ORDER BY id"
        ))
        .bind(user.0)
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        convert(rows, RefreshSession::try_from)
    }
}
