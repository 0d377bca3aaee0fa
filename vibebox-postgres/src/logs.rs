//! [`LogsStore`]: persisted container logs and their retention.
//!
//! - Appends send a whole chunk of lines as five arrays through `UNNEST … WITH ORDINALITY`, so
//!   one statement inserts thousands of lines and the identity ids follow the given order.
//! - Retention deletes at most `batch_size` lines per statement (each statement is its own
//!   transaction), so writers are never blocked for long. The per-environment size cut-offs
//!   come from one window query that walks each over-limit environment newest first over
//!   `logs_environment_timestamp_idx` and stops at the first line past the limit.

use std::borrow::Cow;

use async_trait::async_trait;
use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{LogEntry, NewLogEntry};
use vibebox_core::id::EnvironmentId;
use vibebox_core::store::cursor::{decode_log_cursor, encode_log_cursor, fetch_limit, page_of};
use vibebox_core::store::{LogOrder, LogQuery, LogsStore, Page, RetentionPolicy, RetentionReport};
use vibebox_core::{Error, Result};

use crate::PgStore;
use crate::error::map;
use crate::rows::{convert, parse};

/// Lines per INSERT statement.
const CHUNK: usize = 5_000;

const INSERT: &str = "INSERT INTO logs (environment_id, timestamp, stream, message, bytes) \
     SELECT e, t, s, m, b \
     FROM UNNEST($1::uuid[], $2::timestamptz[], $3::text[], $4::text[], $5::int8[]) \
     WITH ORDINALITY AS u(e, t, s, m, b, n) \
     ORDER BY n";

macro_rules! log_query {
    ($cmp:literal, $order:literal) => {
        concat!(
            "SELECT id, environment_id, timestamp, stream, message FROM logs ",
            "WHERE environment_id = $1 ",
            "AND ($2::timestamptz IS NULL OR timestamp >= $2) ",
            "AND ($3::timestamptz IS NULL OR timestamp < $3) ",
            "AND ($4::text IS NULL OR stream = $4) ",
            "AND ($5::timestamptz IS NULL OR (timestamp, id) ",
            $cmp,
            " ($5, $6::int8)) ",
            "ORDER BY ",
            $order,
            " LIMIT $7"
        )
    };
}

const QUERY_OLDEST_FIRST: &str = log_query!(">", "timestamp, id");
const QUERY_NEWEST_FIRST: &str = log_query!("<", "timestamp DESC, id DESC");

const DELETE_OLDER_THAN: &str = "DELETE FROM logs WHERE id IN \
     (SELECT id FROM logs WHERE timestamp < $1 LIMIT $2)";

/// Per environment over the limit, the newest line at which the bytes of it and every newer
/// line exceed the limit: that line and all older ones go.
const SIZE_CUTOFFS: &str = "SELECT o.environment_id, c.timestamp, c.id \
     FROM (SELECT environment_id FROM logs GROUP BY environment_id HAVING sum(bytes) > $1) o \
     CROSS JOIN LATERAL ( \
         SELECT w.timestamp, w.id FROM ( \
             SELECT l.timestamp, l.id, sum(l.bytes) OVER ( \
                 ORDER BY l.timestamp DESC, l.id DESC ROWS UNBOUNDED PRECEDING) AS newer_bytes \
             FROM logs l WHERE l.environment_id = o.environment_id \
             ORDER BY l.timestamp DESC, l.id DESC \
         ) w WHERE w.newer_bytes > $1 LIMIT 1 \
     ) c";

const DELETE_UP_TO: &str = "DELETE FROM logs WHERE id IN \
     (SELECT id FROM logs WHERE environment_id = $1 AND (timestamp, id) <= ($2, $3) LIMIT $4)";

#[derive(sqlx::FromRow)]
struct LogRow {
    id: i64,
    environment_id: Uuid,
    timestamp: Timestamp,
    stream: String,
    message: String,
}

impl TryFrom<LogRow> for LogEntry {
    type Error = Error;
    fn try_from(r: LogRow) -> Result<Self> {
        Ok(LogEntry {
            id: r.id,
            environment_id: EnvironmentId(r.environment_id),
            timestamp: r.timestamp,
            stream: parse("log stream", &r.stream)?,
            message: r.message,
        })
    }
}

/// PostgreSQL text cannot hold NUL, so a NUL in a line is stored as U+FFFD.
fn storable(message: &str) -> Cow<'_, str> {
    if message.contains('\0') {
        Cow::Owned(message.replace('\0', "\u{FFFD}"))
    } else {
        Cow::Borrowed(message)
    }
}

async fn insert_chunk<'e>(exec: impl sqlx::PgExecutor<'e>, lines: &[NewLogEntry]) -> Result<()> {
    let stored: Vec<Cow<'_, str>> = lines.iter().map(|l| storable(&l.message)).collect();
    let envs: Vec<Uuid> = lines.iter().map(|l| l.environment_id.0).collect();
    let times: Vec<Timestamp> = lines.iter().map(|l| l.timestamp).collect();
    let streams: Vec<&str> = lines.iter().map(|l| l.stream.as_str()).collect();
    let messages: Vec<&str> = stored.iter().map(|m| m.as_ref()).collect();
    let bytes: Vec<i64> = stored
        .iter()
        .map(|m| i64::try_from(m.len()).unwrap_or(i64::MAX))
        .collect();
    sqlx::query(INSERT)
        .bind(envs)
        .bind(times)
        .bind(streams)
        .bind(messages)
        .bind(bytes)
        .execute(exec)
        .await
        .map(|_| ())
        .map_err(map)
}

/// Deletes with `sql` (whose last parameter is the batch size) until a batch comes back
/// short; returns how many lines went.
async fn delete_in_batches(
    store: &PgStore,
    batch: i64,
    run: impl Fn(i64) -> sqlx::query::Query<'static, sqlx::Postgres, sqlx::postgres::PgArguments>,
) -> Result<u64> {
    let mut total = 0u64;
    loop {
        let deleted = run(batch)
            .execute(&store.pool)
            .await
            .map_err(map)?
            .rows_affected();
        total += deleted;
        if deleted < batch.max(1) as u64 {
            return Ok(total);
        }
    }
}

#[async_trait]
impl LogsStore for PgStore {
    #[tracing::instrument(skip_all, fields(lines = entries.len()))]
    async fn append_logs(&self, entries: &[NewLogEntry]) -> Result<()> {
        if entries.len() <= CHUNK {
            if entries.is_empty() {
                return Ok(());
            }
            return insert_chunk(&self.pool, entries).await;
        }
        let mut tx = self.pool.begin().await.map_err(map)?;
        for chunk in entries.chunks(CHUNK) {
            insert_chunk(&mut *tx, chunk).await?;
        }
        tx.commit().await.map_err(map)
    }

    #[tracing::instrument(skip_all, fields(environment.id = %query.environment_id))]
    async fn query_logs(&self, query: &LogQuery) -> Result<Page<LogEntry>> {
        let after = query.cursor.as_deref().map(decode_log_cursor).transpose()?;
        let sql = match query.order {
            LogOrder::OldestFirst => QUERY_OLDEST_FIRST,
            LogOrder::NewestFirst => QUERY_NEWEST_FIRST,
        };
        let rows = sqlx::query_as::<_, LogRow>(sql)
            .bind(query.environment_id.0)
            .bind(query.since)
            .bind(query.until)
            .bind(query.stream.map(|s| s.as_str()))
            .bind(after.map(|(at, _)| at))
            .bind(after.map(|(_, id)| id))
            .bind(fetch_limit(query.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        let lines = convert(rows, LogEntry::try_from)?;
        Ok(page_of(lines, query.limit, encode_log_cursor))
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn latest_log(&self, env: EnvironmentId) -> Result<Option<LogEntry>> {
        sqlx::query_as::<_, LogRow>(
            "SELECT id, environment_id, timestamp, stream, message FROM logs \
             WHERE environment_id = $1 ORDER BY timestamp DESC, id DESC LIMIT 1",
        )
        .bind(env.0)
        .fetch_optional(&self.pool)
        .await
        .map_err(map)?
        .map(LogEntry::try_from)
        .transpose()
    }

    #[tracing::instrument(skip_all, fields(environment.id = %env))]
    async fn log_bytes(&self, env: EnvironmentId) -> Result<u64> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COALESCE(sum(bytes), 0)::int8 FROM logs WHERE environment_id = $1",
        )
        .bind(env.0)
        .fetch_one(&self.pool)
        .await
        .map_err(map)?;
        Ok(n.max(0) as u64)
    }

    #[tracing::instrument(skip_all, fields(batch_size = policy.batch_size))]
    async fn apply_log_retention(&self, policy: &RetentionPolicy) -> Result<RetentionReport> {
        let batch = i64::from(policy.batch_size.max(1));
        let older_than = policy.older_than;
        let deleted_by_age = delete_in_batches(self, batch, |n| {
            sqlx::query(DELETE_OLDER_THAN).bind(older_than).bind(n)
        })
        .await?;

        let max_bytes = i64::try_from(policy.max_bytes_per_environment).unwrap_or(i64::MAX);
        let cutoffs: Vec<(Uuid, Timestamp, i64)> = sqlx::query_as(SIZE_CUTOFFS)
            .bind(max_bytes)
            .fetch_all(&self.pool)
            .await
            .map_err(map)?;
        let mut deleted_by_size = 0;
        for (env, at, id) in cutoffs {
            deleted_by_size += delete_in_batches(self, batch, |n| {
                sqlx::query(DELETE_UP_TO)
                    .bind(env)
                    .bind(at)
                    .bind(id)
                    .bind(n)
            })
            .await?;
        }
        tracing::debug!(deleted_by_age, deleted_by_size, "log retention pass");
        Ok(RetentionReport {
            deleted_by_age,
            deleted_by_size,
        })
    }
}
