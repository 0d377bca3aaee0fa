//! Persisted container logs and their retention.
//!
//! - Appends insert a batch in one transaction with multi-row `INSERT`s of up to
//!   [`CHUNK_SIZES`]`[0]` rows, so ids (AUTOINCREMENT) increase in the given order.
//! - Queries walk `logs_environment_timestamp_idx` (environment, timestamp DESC, id DESC,
//!   bytes) in either direction, with a `(timestamp, id)` row-value cursor.
//! - Retention lives in [`retention`](crate::retention).

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
        crate::retention::apply(self, policy).await
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
        assert_eq!(CHUNK_SIZES.last(), Some(&1), "any batch can be cut");
    }
}
