//! API keys and refresh sessions. Only SHA-256 hashes of secrets are stored (32-byte blobs).

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{ApiKey, RefreshSession, Scope, TokenHash};
use vibebox_core::error::{Error, Result};
use vibebox_core::id::{ApiKeyId, RefreshFamilyId, RefreshSessionId, UserId};
use vibebox_core::store::one_affected;
use vibebox_core::store::{ApiKeyWithOwner, AuthStore};

use crate::codec::{micros, opt_micros, opt_timestamp, parse_enum, timestamp};
use crate::error::DbResultExt;
use crate::store::{SqliteStore, exists};

macro_rules! api_key_columns {
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

/// A stored 32-byte hash. Errors: `Internal` for any other length.
fn token_hash(bytes: &[u8]) -> Result<TokenHash> {
    <[u8; 32]>::try_from(bytes)
        .map(TokenHash)
        .map_err(|_| Error::internal("stored token hash is not 32 bytes", None))
}

#[derive(sqlx::FromRow)]
struct ApiKeyRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    prefix: String,
    secret_hash: Vec<u8>,
    scopes: String,
    expires_at: i64,
    last_used_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

/// An API key row with its owner's account state.
#[derive(sqlx::FromRow)]
struct ApiKeyWithOwnerRow {
    #[sqlx(flatten)]
    key: ApiKeyRow,
    owner_disabled: bool,
    owner_is_platform_admin: bool,
}

impl TryFrom<ApiKeyWithOwnerRow> for ApiKeyWithOwner {
    type Error = Error;

    fn try_from(r: ApiKeyWithOwnerRow) -> Result<Self> {
        Ok(ApiKeyWithOwner {
            key: r.key.try_into()?,
            owner_disabled: r.owner_disabled,
            owner_is_platform_admin: r.owner_is_platform_admin,
        })
    }
}

impl TryFrom<ApiKeyRow> for ApiKey {
    type Error = Error;

    fn try_from(r: ApiKeyRow) -> Result<Self> {
        let names: Vec<String> = serde_json::from_str(&r.scopes)
            .map_err(|e| Error::internal("stored scopes are not a JSON array", Some(e.into())))?;
        let scopes = names
            .iter()
            .map(|s| parse_enum::<Scope>(s, "scope"))
            .collect::<Result<Vec<_>>>()?;
        Ok(ApiKey {
            id: ApiKeyId(r.id),
            user_id: UserId(r.user_id),
            name: r.name,
            prefix: r.prefix,
            secret_hash: token_hash(&r.secret_hash)?,
            scopes,
            expires_at: timestamp(r.expires_at)?,
            last_used_at: opt_timestamp(r.last_used_at)?,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

#[derive(sqlx::FromRow)]
struct RefreshRow {
    id: Uuid,
    user_id: Uuid,
    family_id: Uuid,
    token_hash: Vec<u8>,
    expires_at: i64,
    used_at: Option<i64>,
    revoked_at: Option<i64>,
    user_agent: Option<String>,
    ip: Option<String>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<RefreshRow> for RefreshSession {
    type Error = Error;

    fn try_from(r: RefreshRow) -> Result<Self> {
        Ok(RefreshSession {
            id: RefreshSessionId(r.id),
            user_id: UserId(r.user_id),
            family_id: RefreshFamilyId(r.family_id),
            token_hash: token_hash(&r.token_hash)?,
            expires_at: timestamp(r.expires_at)?,
            used_at: opt_timestamp(r.used_at)?,
            revoked_at: opt_timestamp(r.revoked_at)?,
            user_agent: r.user_agent,
            ip: r.ip,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

const INSERT_REFRESH: &str = concat!(
    "INSERT INTO refresh_sessions (",
    refresh_columns!(),
    ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
);

async fn insert_refresh<'c>(conn: impl sqlx::SqliteExecutor<'c>, s: &RefreshSession) -> Result<()> {
    sqlx::query(INSERT_REFRESH)
        .bind(s.id.0)
        .bind(s.user_id.0)
        .bind(s.family_id.0)
        .bind(&s.token_hash.0[..])
        .bind(micros(s.expires_at))
        .bind(opt_micros(s.used_at))
        .bind(opt_micros(s.revoked_at))
        .bind(&s.user_agent)
        .bind(&s.ip)
        .bind(micros(s.created_at))
        .bind(micros(s.updated_at))
        .execute(conn)
        .await
        .db_parent("user")?;
    Ok(())
}

#[async_trait]
impl AuthStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(user.id = %key.user_id, api_key.id = %key.id))]
    async fn create_api_key(&self, key: &ApiKey) -> Result<()> {
        let scopes: Vec<&str> = key.scopes.iter().map(|s| s.as_str()).collect();
        sqlx::query(concat!(
            "INSERT INTO api_keys (",
            api_key_columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(key.id.0)
        .bind(key.user_id.0)
        .bind(&key.name)
        .bind(&key.prefix)
        .bind(&key.secret_hash.0[..])
        .bind(serde_json::Value::from(scopes).to_string())
        .bind(micros(key.expires_at))
        .bind(opt_micros(key.last_used_at))
        .bind(micros(key.created_at))
        .bind(micros(key.updated_at))
        .execute(self.pool())
        .await
        .db_parent("user")?;
        Ok(())
    }

    #[tracing::instrument(skip_all)]
    async fn find_api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyWithOwner>> {
        sqlx::query_as::<_, ApiKeyWithOwnerRow>(concat!(
            "SELECT k.*, u.disabled AS owner_disabled, u.is_platform_admin AS owner_is_platform_admin \
             FROM (SELECT ",
            api_key_columns!(),
            " FROM api_keys WHERE prefix = ?) AS k JOIN users u ON u.id = k.user_id"
        ))
        .bind(prefix)
        .fetch_optional(self.pool())
        .await
        .db()?
        .map(TryInto::try_into)
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn list_api_keys(&self, user: UserId) -> Result<Vec<ApiKey>> {
        sqlx::query_as::<_, ApiKeyRow>(concat!(
            "SELECT ",
            api_key_columns!(),
            " FROM api_keys WHERE user_id = ? ORDER BY id"
        ))
        .bind(user.0)
        .fetch_all(self.pool())
        .await
        .db()?
        .into_iter()
        .map(ApiKey::try_from)
        .collect()
    }

    #[tracing::instrument(skip_all, fields(user.id = %user, api_key.id = %id))]
    async fn delete_api_key(&self, user: UserId, id: ApiKeyId) -> Result<()> {
        let done = sqlx::query("DELETE FROM api_keys WHERE id = ? AND user_id = ?")
            .bind(id.0)
            .bind(user.0)
            .execute(self.pool())
            .await
            .db()?;
        one_affected(done.rows_affected(), "api_key")
    }

    #[tracing::instrument(skip_all, fields(api_key.id = %id))]
    async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE api_keys SET last_used_at = ? WHERE id = ?")
            .bind(micros(at))
            .bind(id.0)
            .execute(self.pool())
            .await
            .db()?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user.id = %session.user_id))]
    async fn create_refresh_session(&self, session: &RefreshSession) -> Result<()> {
        insert_refresh(self.pool(), session).await
    }

    #[tracing::instrument(skip_all)]
    async fn find_refresh_session(&self, hash: &TokenHash) -> Result<Option<RefreshSession>> {
        sqlx::query_as::<_, RefreshRow>(concat!(
            "SELECT ",
            refresh_columns!(),
            " FROM refresh_sessions WHERE token_hash = ?"
        ))
        .bind(&hash.0[..])
        .fetch_optional(self.pool())
        .await
        .db()?
        .map(TryInto::try_into)
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(refresh_session.id = %old))]
    async fn rotate_refresh_session(
        &self,
        old: RefreshSessionId,
        new: &RefreshSession,
        at: Timestamp,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let used = sqlx::query(
            "UPDATE refresh_sessions SET used_at = ?1, updated_at = ?1 \
             WHERE id = ?2 AND used_at IS NULL AND revoked_at IS NULL",
        )
        .bind(micros(at))
        .bind(old.0)
        .execute(&mut *tx)
        .await
        .db()?;
        if used.rows_affected() == 0 {
            return if exists(
                &mut *tx,
                "SELECT 1 FROM refresh_sessions WHERE id = ?",
                old.0,
            )
            .await?
            {
                Ok(false)
            } else {
                Err(Error::not_found("refresh_session"))
            };
        }
        insert_refresh(&mut *tx, new).await?;
        tx.commit().await.db()?;
        Ok(true)
    }

    #[tracing::instrument(skip_all)]
    async fn revoke_refresh_family(&self, family: RefreshFamilyId, at: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE refresh_sessions SET revoked_at = ?1, updated_at = ?1 \
             WHERE family_id = ?2 AND revoked_at IS NULL",
        )
        .bind(micros(at))
        .bind(family.0)
        .execute(self.pool())
        .await
        .db()?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn revoke_user_refresh_sessions(&self, user: UserId, at: Timestamp) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE refresh_sessions SET revoked_at = ?1, updated_at = ?1 \
             WHERE user_id = ?2 AND revoked_at IS NULL",
        )
        .bind(micros(at))
        .bind(user.0)
        .execute(self.pool())
        .await
        .db()?;
        Ok(done.rows_affected())
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn list_refresh_sessions(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<Vec<RefreshSession>> {
        sqlx::query_as::<_, RefreshRow>(concat!(
            "SELECT ",
            refresh_columns!(),
            " FROM refresh_sessions WHERE user_id = ? AND used_at IS NULL \
             AND revoked_at IS NULL AND expires_at > ? ORDER BY id"
        ))
        .bind(user.0)
        .bind(micros(now))
        .fetch_all(self.pool())
        .await
        .db()?
        .into_iter()
        .map(RefreshSession::try_from)
        .collect()
    }
}
