//! Log retention: by age, then by size per environment, in bounded transactions.
//!
//! - Age: lines older than the cut-off go through `logs_timestamp_idx`, at most `batch_size`
//!   per `DELETE` (each its own transaction, so writers wait at most one batch).
//! - Size: each oversized environment's cut-off (its newest line that no longer fits when lines
//!   are kept newest first) comes from a window sum over the covering index
//!   `logs_environment_timestamp_idx`, which needs no sort. The cut-offs go into a temporary
//!   table of one connection, and the deletes walk the logs in id order across all
//!   environments, so each page is rewritten once rather than once per environment.

use uuid::Uuid;
use vibebox_core::error::Result;
use vibebox_core::store::{RetentionPolicy, RetentionReport};

use crate::codec::micros;
use crate::error::DbResultExt;
use crate::store::SqliteStore;

/// One retention pass (see the module docs).
pub(crate) async fn apply(
    store: &SqliteStore,
    policy: &RetentionPolicy,
) -> Result<RetentionReport> {
    let batch = i64::from(policy.batch_size.max(1));
    let deleted_by_age = by_age(store, micros(policy.older_than), batch).await?;
    let max_bytes = i64::try_from(policy.max_bytes_per_environment).unwrap_or(i64::MAX);
    let deleted_by_size = by_size(store, max_bytes, batch).await?;
    tracing::debug!(deleted_by_age, deleted_by_size, "log retention pass");
    Ok(RetentionReport {
        deleted_by_age,
        deleted_by_size,
    })
}

/// Deletes lines older than `cutoff` (microseconds), `batch` at a time; returns how many.
async fn by_age(store: &SqliteStore, cutoff: i64, batch: i64) -> Result<u64> {
    let mut deleted = 0;
    loop {
        let done = sqlx::query(
            "DELETE FROM logs WHERE id IN (SELECT id FROM logs WHERE timestamp < ? LIMIT ?)",
        )
        .bind(cutoff)
        .bind(batch)
        .execute(store.pool())
        .await
        .db()?;
        deleted += done.rows_affected();
        if done.rows_affected() < batch.unsigned_abs() {
            return Ok(deleted);
        }
    }
}

/// Deletes the oldest lines of every environment whose logs take more than `max_bytes`,
/// keeping the newest lines that fit.
///
/// The cut-off of each oversized environment (its newest line that no longer fits) goes
/// into a temporary table of one connection; the deletes then walk the table in id order
/// across all environments, so each page is rewritten once rather than once per
/// environment, in transactions of at most `batch` rows.
async fn by_size(store: &SqliteStore, max_bytes: i64, batch: i64) -> Result<u64> {
    let oversized: Vec<Uuid> = sqlx::query_scalar(
        "SELECT environment_id FROM logs GROUP BY environment_id HAVING SUM(bytes) > ?",
    )
    .bind(max_bytes)
    .fetch_all(store.pool())
    .await
    .db()?;
    if oversized.is_empty() {
        return Ok(0);
    }
    let mut conn = store.pool().acquire().await.db()?;
    sqlx::query(
        "CREATE TEMP TABLE IF NOT EXISTS retention_cuts (\
         environment_id BLOB PRIMARY KEY, timestamp INTEGER NOT NULL, id INTEGER NOT NULL)",
    )
    .execute(&mut *conn)
    .await
    .db()?;
    sqlx::query("DELETE FROM temp.retention_cuts")
        .execute(&mut *conn)
        .await
        .db()?;
    for env in oversized {
        // How many of the oldest lines must go: those that do not fit when lines are kept
        // newest first. The window walks the covering index in its own order: no sort.
        let doomed: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM ( \
               SELECT SUM(bytes) OVER ( \
                 ORDER BY timestamp DESC, id DESC \
                 ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS kept \
               FROM logs WHERE environment_id = ?1) \
             WHERE kept > ?2",
        )
        .bind(env)
        .bind(max_bytes)
        .fetch_one(&mut *conn)
        .await
        .db()?;
        if doomed == 0 {
            continue;
        }
        // The newest doomed line: deleting up to it (rather than "the N oldest") stays
        // right if lines are appended or deleted meanwhile.
        sqlx::query(
            "INSERT INTO temp.retention_cuts (environment_id, timestamp, id) \
             SELECT environment_id, timestamp, id FROM logs WHERE environment_id = ? \
             ORDER BY timestamp, id LIMIT 1 OFFSET ?",
        )
        .bind(env)
        .bind(doomed - 1)
        .execute(&mut *conn)
        .await
        .db()?;
    }
    let mut deleted = 0;
    let mut after = 0_i64;
    loop {
        let ids: Vec<i64> = sqlx::query_scalar(
            "DELETE FROM logs WHERE id IN ( \
               SELECT l.id FROM logs l CROSS JOIN temp.retention_cuts c \
                 ON c.environment_id = l.environment_id \
               WHERE l.id > ?1 AND (l.timestamp, l.id) <= (c.timestamp, c.id) \
               ORDER BY l.id LIMIT ?2) \
             RETURNING id",
        )
        .bind(after)
        .bind(batch)
        .fetch_all(&mut *conn)
        .await
        .db()?;
        deleted += ids.len() as u64;
        match ids.iter().max() {
            Some(last) if ids.len() as i64 >= batch => after = *last,
            _ => break,
        }
    }
    sqlx::query("DELETE FROM temp.retention_cuts")
        .execute(&mut *conn)
        .await
        .db()?;
    Ok(deleted)
}
