//! Users' SSH public keys. The fingerprint is unique over the table (`ssh_keys_fingerprint_key`).

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::SshKey;
use vibebox_core::error::{Error, Result};
use vibebox_core::id::{SshKeyId, UserId};
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::{Page, PageRequest, SshKeysStore, one_affected};

use crate::codec::{after_id, micros, opt_micros, opt_timestamp, timestamp};
use crate::error::DbResultExt;
use crate::store::SqliteStore;

macro_rules! columns {
    () => {
        "id, user_id, name, algorithm, key_data, comment, fingerprint, last_used_at, created_at, \
         updated_at"
    };
}

#[derive(sqlx::FromRow)]
struct SshKeyRow {
    id: Uuid,
    user_id: Uuid,
    name: String,
    algorithm: String,
    key_data: String,
    comment: Option<String>,
    fingerprint: String,
    last_used_at: Option<i64>,
    created_at: i64,
    updated_at: i64,
}

impl TryFrom<SshKeyRow> for SshKey {
    type Error = Error;

    fn try_from(r: SshKeyRow) -> Result<Self> {
        Ok(SshKey {
            id: SshKeyId(r.id),
            user_id: UserId(r.user_id),
            name: r.name,
            algorithm: r.algorithm,
            blob: r.key_data,
            comment: r.comment,
            fingerprint: r.fingerprint,
            last_used_at: opt_timestamp(r.last_used_at)?,
            created_at: timestamp(r.created_at)?,
            updated_at: timestamp(r.updated_at)?,
        })
    }
}

#[async_trait]
impl SshKeysStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(user.id = %key.user_id, ssh_key.id = %key.id))]
    async fn create_ssh_key(&self, key: &SshKey) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO ssh_keys (",
            columns!(),
            ") VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)"
        ))
        .bind(key.id.0)
        .bind(key.user_id.0)
        .bind(&key.name)
        .bind(&key.algorithm)
        .bind(&key.blob)
        .bind(&key.comment)
        .bind(&key.fingerprint)
        .bind(opt_micros(key.last_used_at))
        .bind(micros(key.created_at))
        .bind(micros(key.updated_at))
        .execute(self.pool())
        .await
        .db_parent("user")?;
        Ok(())
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn list_ssh_keys(&self, user: UserId, page: &PageRequest) -> Result<Page<SshKey>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let keys = sqlx::query_as::<_, SshKeyRow>(concat!(
            "SELECT ",
            columns!(),
            " FROM ssh_keys WHERE user_id = ? AND id > ? ORDER BY id LIMIT ?"
        ))
        .bind(user.0)
        .bind(after_id(after))
        .bind(fetch_limit(page.limit))
        .fetch_all(self.pool())
        .await
        .db()?
        .into_iter()
        .map(SshKey::try_from)
        .collect::<Result<Vec<_>>>()?;
        Ok(page_of(keys, page.limit, |k| k.id.to_string()))
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn count_ssh_keys(&self, user: UserId) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM ssh_keys WHERE user_id = ?")
            .bind(user.0)
            .fetch_one(self.pool())
            .await
            .db()?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    #[tracing::instrument(skip_all, fields(user.id = %user, ssh_key.id = %id))]
    async fn get_ssh_key(&self, user: UserId, id: SshKeyId) -> Result<SshKey> {
        sqlx::query_as::<_, SshKeyRow>(concat!(
            "SELECT ",
            columns!(),
            " FROM ssh_keys WHERE id = ? AND user_id = ?"
        ))
        .bind(id.0)
        .bind(user.0)
        .fetch_optional(self.pool())
        .await
        .db()?
        .ok_or_else(|| Error::not_found("ssh_key"))?
        .try_into()
    }

    #[tracing::instrument(skip_all, fields(user.id = %user, ssh_key.id = %id))]
    async fn delete_ssh_key(&self, user: UserId, id: SshKeyId) -> Result<()> {
        let done = sqlx::query("DELETE FROM ssh_keys WHERE id = ? AND user_id = ?")
            .bind(id.0)
            .bind(user.0)
            .execute(self.pool())
            .await
            .db()?;
        one_affected(done.rows_affected(), "ssh_key")
    }

    #[tracing::instrument(skip_all)]
    async fn find_ssh_key_by_fingerprint(&self, fingerprint: &str) -> Result<Option<SshKey>> {
        sqlx::query_as::<_, SshKeyRow>(concat!(
            "SELECT ",
            columns!(),
            " FROM ssh_keys WHERE fingerprint = ?"
        ))
        .bind(fingerprint)
        .fetch_optional(self.pool())
        .await
        .db()?
        .map(SshKey::try_from)
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(ssh_key.id = %id))]
    async fn touch_ssh_key(&self, id: SshKeyId, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE ssh_keys SET last_used_at = ? WHERE id = ?")
            .bind(micros(at))
            .bind(id.0)
            .execute(self.pool())
            .await
            .db()?;
        Ok(())
    }
}
