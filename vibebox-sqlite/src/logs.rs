//! Persisted container logs and their retention.
//!
//! - Appends insert a batch in one transaction with multi-row `INSERT`s of up to
//!   [`CHUNK_SIZES`]`[0]` rows, so ids (AUTOINCREMENT) increase in the given order.
//! - Queries walk `logs_environment_timestamp_idx` (environment, timestamp DESC, id DESC,
//!   bytes) in either direction, with a `(timestamp, id)` row-value cursor.
//! - Retention deletes by age through `logs_timestamp_idx`, then finds each oversized
//!   environment's cut-off with a window sum over the covering index (no sort) and deletes
//!   past the cut-offs in id order. Every delete is its own transaction of at most
//!   `batch_size` rows, so writers wait at most one batch.

use std::sync::LazyLock;

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::domain::{LogEntry, NewLogEntry};
use vibebox_core::error::{Error, Result};
use vibebox_core::id::EnvironmentId;
use vibebox_core::store::cursor::{decode_log_cursor, encode_log_cursor, fetch_limit, page_of};
use vibebox_core::store::{LogOrder, LogQuery, LogsStore, Page, RetentionPolicy, RetentionReport};

use crate::codec::{micros, parse_enum, timestamp};
use crate::error::DbResultExt;
use crate::store::SqliteStore;

/// Rows per `INSERT` statement: a batch is cut into as many of the largest size as fit, then
/// the rest into smaller ones, so only a few statement shapes are ever prepared.
const CHUNK_SIZES: [usize; 5] = [256, 64, 16, 4, 1];

/// `INSERT INTO logs … VALUES (…), (…), …` for each of [`CHUNK_SIZES`].
static INSERTS: LazyLock<[String; 5]> = LazyLock::new(|| CHUNK_SIZES.map(insert_sql));

fn insert_sql(rows: usize) -> String {
    let mut sql = String::from(
        "INSERT INTO logs (environment_id, timestamp, stream, message, bytes) VALUES ",
    );
    for i in 0..rows {
        if i > 0 {
            sql.push_str(", ");
        }
        sql.push_str("(?, ?, ?, ?, ?)");
    }
    sql
}

const QUERY_OLDEST_FIRST: &str = "SELECT id, environment_id, timestamp, stream, message \
     FROM logs WHERE environment_id = ?1 AND timestamp >= ?2 AND timestamp < ?3 \
     AND (?4 IS NULL OR stream = ?4) AND (timestamp, id) > (?5, ?6) \
     ORDER BY timestamp, id LIMIT ?7";

const QUERY_NEWEST_FIRST: &str = "SELECT id, environment_id, timestamp, stream, message \
     FROM logs WHERE environment_id = ?1 AND timestamp >= ?2 AND timestamp < ?3 \
     AND (?4 IS NULL OR stream = ?4) AND (timestamp, id) < (?5, ?6) \
     ORDER BY timestamp DESC, id DESC LIMIT ?7";

#[derive(sqlx::FromRow)]
struct LogRow {
    id: i64,
    environment_id: Uuid,
    timestamp: i64,
    stream: String,
    message: String,
}

impl TryFrom<LogRow> for LogEntry {
    type Error = Error;

    fn try_from(r: LogRow) -> Result<Self> {
        Ok(LogEntry {
            id: r.id,
            environment_id: EnvironmentId(r.environment_id),
            timestamp: timestamp(r.timestamp)?,
            stream: parse_enum(&r.stream, "stream")?,
            message: r.message,
        })
    }
}

impl SqliteStore {
    /// Deletes, batch by batch, the rows `select` (`SELECT id … LIMIT ?`, whose other
    /// parameters `bind` supplies) finds; returns how many.
    async fn delete_in_batches(
        &self,
        delete: &'static str,
        batch: i64,
        bind: impl Fn(
            sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
        )
            -> sqlx::query::Query<'static, sqlx::Sqlite, sqlx::sqlite::SqliteArguments>,
    ) -> Result<u64> {
        let mut total = 0;
        loop {
            let done = bind(sqlx::query(delete))
                .bind(batch)
                .execute(self.pool())
                .await
                .db()?;
            total += done.rows_affected();
            if done.rows_affected() < batch.unsigned_abs() {
                return Ok(total);
            }
        }
    }
}

impl SqliteStore {
    /// Deletes the oldest lines of every environment whose logs take more than `max_bytes`,
    /// keeping the newest lines that fit.
    ///
    /// The cut-off of each oversized environment (its newest line that no longer fits) goes
    /// into a temporary table of one connection; the deletes then walk the table in id order
    /// across all environments, so each page is rewritten once rather than once per
    /// environment, in transactions of at most `batch` rows.
    async fn apply_size_retention(&self, max_bytes: i64, batch: i64) -> Result<u64> {
        let oversized: Vec<Uuid> = sqlx::query_scalar(
            "SELECT environment_id FROM logs GROUP BY environment_id HAVING SUM(bytes) > ?",
        )
        .bind(max_bytes)
        .fetch_all(self.pool())
        .await
        .db()?;
        if oversized.is_empty() {
            return Ok(0);
        }
        let mut conn = self.pool().acquire().await.db()?;
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
}

#[async_trait]
impl LogsStore for SqliteStore {
    #[tracing::instrument(skip_all, fields(lines = entries.len()))]
    async fn append_logs(&self, entries: &[NewLogEntry]) -> Result<()> {
        if entries.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let mut rest = entries;
        while !rest.is_empty() {
            let (size, sql) = CHUNK_SIZES
                .iter()
                .zip(INSERTS.iter())
                .find(|(size, _)| **size <= rest.len())
                .map(|(size, sql)| (*size, sql.as_str()))
                .unwrap_or((1, INSERTS[4].as_str()));
            let (chunk, tail) = rest.split_at(size.min(rest.len()));
            let mut query = sqlx::query(sql);
            for line in chunk {
                query = query
                    .bind(line.environment_id.0)
                    .bind(micros(line.timestamp))
                    .bind(line.stream.as_str())
                    .bind(line.message.as_str())
                    .bind(i64::try_from(line.message.len()).unwrap_or(i64::MAX));
            }
            query.execute(&mut *tx).await.db_parent("environment")?;
            rest = tail;
        }
        tx.commit().await.db()
    }

    #[tracing::instrument(skip_all, fields(environment.id = %query.environment_id))]
    async fn query_logs(&self, query: &LogQuery) -> Result<Page<LogEntry>> {
        let cursor = query.cursor.as_deref().map(decode_log_cursor).transpose()?;
        let (sql, (after_at, after_id)) = match query.order {
            LogOrder::OldestFirst => (
                QUERY_OLDEST_FIRST,
                cursor.map_or((i64::MIN, i64::MIN), |(at, id)| (micros(at), id)),
            ),
            LogOrder::NewestFirst => (
                QUERY_NEWEST_FIRST,
                cursor.map_or((i64::MAX, i64::MAX), |(at, id)| (micros(at), id)),
            ),
        };
        let rows = sqlx::query_as::<_, LogRow>(sql)
            .bind(query.environment_id.0)
            .bind(query.since.map_or(i64::MIN, micros))
            .bind(query.until.map_or(i64::MAX, micros))
            .bind(query.stream.map(|s| s.as_str()))
            .bind(after_at)
            .bind(after_id)
            .bind(fetch_limit(query.limit))
            .fetch_all(self.pool())
            .await
            .db()?;
        let lines = rows
            .into_iter()
            .map(LogEntry::try_from)
            .collect::<Result<Vec<_>>>()?;
        Ok(page_of(lines, query.limit, encode_log_cursor))
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn latest_log(&self, env: EnvironmentId) -> Result<Option<LogEntry>> {
        sqlx::query_as::<_, LogRow>(
            "SELECT id, environment_id, timestamp, stream, message FROM logs \
             WHERE environment_id = ? ORDER BY timestamp DESC, id DESC LIMIT 1",
        )
        .bind(env.0)
        .fetch_optional(self.pool())
        .await
        .db()?
        .map(TryInto::try_into)
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn log_bytes(&self, env: EnvironmentId) -> Result<u64> {
        let bytes: i64 =
            sqlx::query_scalar("SELECT COALESCE(SUM(bytes), 0) FROM logs WHERE environment_id = ?")
                .bind(env.0)
                .fetch_one(self.pool())
                .await
                .db()?;
        Ok(bytes.unsigned_abs())
    }

    #[tracing::instrument(skip_all)]
    async fn apply_log_retention(&self, policy: &RetentionPolicy) -> Result<RetentionReport> {
        let batch = i64::from(policy.batch_size.max(1));
        let cutoff = micros(policy.older_than);
        let deleted_by_age = self
            .delete_in_batches(
                "DELETE FROM logs WHERE id IN \
                 (SELECT id FROM logs WHERE timestamp < ? LIMIT ?)",
                batch,
                |q| q.bind(cutoff),
            )
            .await?;

        let max_bytes = i64::try_from(policy.max_bytes_per_environment).unwrap_or(i64::MAX);
        let deleted_by_size = self.apply_size_retention(max_bytes, batch).await?;
        tracing::debug!(deleted_by_age, deleted_by_size, "log retention pass");
        Ok(RetentionReport {
            deleted_by_age,
            deleted_by_size,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn insert_statements_have_five_parameters_per_row() {
        for (size, sql) in CHUNK_SIZES.iter().zip(INSERTS.iter()) {
            assert_eq!(sql.matches('?').count(), size * 5);
        }
        assert_eq!(*CHUNK_SIZES.last().unwrap(), 1, "any batch can be cut");
    }
}
