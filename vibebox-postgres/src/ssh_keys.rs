//! [`SshKeysStore`]: users' SSH public keys. The fingerprint is unique over the table
//! (`ssh_keys_fingerprint_key`).

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::SshKey;
use vibebox_core::id::{SshKeyId, UserId};
use vibebox_core::store::cursor::{decode_id_cursor, fetch_limit, page_of};
use vibebox_core::store::{Page, PageRequest, SshKeysStore, one_affected};
use vibebox_core::{Error, Result};

use crate::PgStore;
use crate::error::map;

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
    last_used_at: Option<Timestamp>,
    created_at: Timestamp,
    updated_at: Timestamp,
}

impl From<SshKeyRow> for SshKey {
    fn from(r: SshKeyRow) -> Self {
        SshKey {
            id: SshKeyId(r.id),
            user_id: UserId(r.user_id),
            name: r.name,
            algorithm: r.algorithm,
            blob: r.key_data,
            comment: r.comment,
            fingerprint: r.fingerprint,
            last_used_at: r.last_used_at,
            created_at: r.created_at,
            updated_at: r.updated_at,
        }
    }
}

#[async_trait]
impl SshKeysStore for PgStore {
    #[tracing::instrument(skip_all, fields(user.id = %key.user_id, ssh_key.id = %key.id))]
    async fn create_ssh_key(&self, key: &SshKey) -> Result<()> {
        sqlx::query(concat!(
            "INSERT INTO ssh_keys (",
            columns!(),
            ") VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)"
        ))
        .bind(key.id.0)
        .bind(key.user_id.0)
        .bind(&key.name)
        .bind(&key.algorithm)
        .bind(&key.blob)
        .bind(&key.comment)
        .bind(&key.fingerprint)
        .bind(key.last_used_at)
        .bind(key.created_at)
        .bind(key.updated_at)
        .execute(&self.pool)
        .await
        .map(|_| ())
        .map_err(map)
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn list_ssh_keys(&self, user: UserId, page: &PageRequest) -> Result<Page<SshKey>> {
        let after = decode_id_cursor(page.cursor.as_deref())?;
        let rows = sqlx::query_as::<_, SshKeyRow>(concat!(
            "SELECT ",
            columns!(),
            " FROM ssh_keys WHERE user_id = $1 AND ($2::uuid IS NULL OR id > $2) \
             ORDER BY id LIMIT $3"
        ))
        .persistent(false)
        .bind(user.0)
        .bind(after)
        .bind(fetch_limit(page.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(map)?;
        let keys = rows.into_iter().map(SshKey::from).collect();
        Ok(page_of(keys, page.limit, |k: &SshKey| k.id.to_string()))
    }

    #[tracing::instrument(skip_all, fields(user.id = %user))]
    async fn count_ssh_keys(&self, user: UserId) -> Result<u64> {
        let n: i64 = sqlx::query_scalar("SELECT count(*) FROM ssh_keys WHERE user_id = $1")
            .bind(user.0)
            .fetch_one(&self.pool)
            .await
            .map_err(map)?;
        Ok(u64::try_from(n).unwrap_or_default())
    }

    #[tracing::instrument(skip_all, fields(user.id = %user, ssh_key.id = %id))]
    async fn get_ssh_key(&self, user: UserId, id: SshKeyId) -> Result<SshKey> {
        sqlx::query_as::<_, SshKeyRow>(concat!(
            "SELECT ",
            columns!(),
            " FROM ssh_keys WHERE id = $1 AND user_id = $2"
        ))
        .bind(id.0)
        .bind(user.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .map(SshKey::from)
        .ok_or_else(|| Error::not_found("ssh_key"))
    }

    #[tracing::instrument(skip_all, fields(user.id = %user, ssh_key.id = %id))]
    async fn delete_ssh_key(&self, user: UserId, id: SshKeyId) -> Result<()> {
        let done = sqlx::query("DELETE FROM ssh_keys WHERE id = $1 AND user_id = $2")
            .bind(id.0)
            .bind(user.0)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        one_affected(done.rows_affected(), "ssh_key")
    }

    #[tracing::instrument(skip_all)]
    async fn find_ssh_key_by_fingerprint(&self, fingerprint: &str) -> Result<Option<SshKey>> {
        Ok(sqlx::query_as::<_, SshKeyRow>(concat!(
            "SELECT ",
            columns!(),
            " FROM ssh_keys WHERE fingerprint = $1"
        ))
        .bind(fingerprint)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .map(SshKey::from))
    }

    #[tracing::instrument(skip_all, fields(ssh_key.id = %id))]
    async fn touch_ssh_key(&self, id: SshKeyId, at: Timestamp) -> Result<()> {
        sqlx::query("UPDATE ssh_keys SET last_used_at = $1 WHERE id = $2")
            .bind(at)
            .bind(id.0)
            .execute(&self.pool)
            .await
            .map_err(map)?;
        Ok(())
    }
}
