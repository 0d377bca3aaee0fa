//! [`LogsStore`]: persisted container logs and their retention.
//!
//! - Appends send a whole chunk of lines as five arrays through `UNNEST … WITH ORDINALITY`, so
//!   one statement inserts thousands of lines and the identity ids follow the given order.
//! - Retention deletes at most `batch_size` lines per statement (each statement is its own
//!   transaction), so writers are never blocked for long. Each batch continues where the last
//!   one stopped (keyset), so none re-walks deleted index entries. The per-environment size
//!   cut-offs come from one window query over `logs_environment_timestamp_idx` that stops at
//!   the first line past each environment's excess; size deletions then go in rounds across
//!   environments so that each round touches few pages.

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

/// One batch of age retention: the oldest lines from `$2` (inclusive; NULL for the first batch)
/// up to the cut-off `$1`, at most `$3` of them. Returns how many went and the newest
/// timestamp among them, where the next batch starts, so no batch walks the index entries of
/// lines an earlier batch deleted. Rows are picked by `ctid` inside the same statement (a TID
/// scan, no primary-key lookup per line).
const DELETE_OLDER_THAN: &str = "WITH gone AS ( \
         DELETE FROM logs WHERE ctid = ANY(ARRAY( \
             SELECT ctid FROM logs \
             WHERE timestamp < $1 AND ($2::timestamptz IS NULL OR timestamp >= $2) \
             ORDER BY timestamp LIMIT $3)) \
         RETURNING timestamp) \
     SELECT count(*)::int8, max(timestamp) FROM gone";

/// Per environment whose lines at or after `$1` (those age retention keeps) take more than
/// `$2` bytes: the line where, counting from the oldest of them, the excess is reached. That
/// line and every older one go. Computed before the age pass, it walks only lines that are
/// about to be deleted, from the old end of `logs_environment_timestamp_idx`.
const SIZE_CUTOFFS: &str = "SELECT o.environment_id, c.timestamp, c.id \
     FROM ( \
         SELECT environment_id, sum(bytes) - $2 AS excess FROM logs \
         WHERE timestamp >= $1 GROUP BY environment_id HAVING sum(bytes) > $2 \
     ) o \
     CROSS JOIN LATERAL ( \
         SELECT w.timestamp, w.id FROM ( \
             SELECT l.timestamp, l.id, sum(l.bytes) OVER ( \
                 ORDER BY l.timestamp, l.id ROWS UNBOUNDED PRECEDING) AS older_bytes \
             FROM logs l WHERE l.environment_id = o.environment_id AND l.timestamp >= $1 \
             ORDER BY l.timestamp, l.id \
         ) w WHERE w.older_bytes >= o.excess LIMIT 1 \
     ) c";

/// One round of size retention over several environments (`$1`–`$3`: each one's bound, the
/// newest line to delete). Takes at most `$5` of each environment's newest lines at or before
/// its bound and not older than `$4` (older ones went by age), so a round holds lines of many
/// environments from the same stretch of time, which sit on the same pages. Returns, per
/// environment, how many lines went and the oldest (timestamp, id) among them, where its next
/// round continues.
const DELETE_OVER_SIZE: &str = "WITH gone AS ( \
         DELETE FROM logs WHERE ctid = ANY(ARRAY( \
             SELECT d.ctid \
             FROM UNNEST($1::uuid[], $2::timestamptz[], $3::int8[]) AS c(env, ts, id) \
             CROSS JOIN LATERAL ( \
                 SELECT l.ctid FROM logs l \
                 WHERE l.environment_id = c.env AND (l.timestamp, l.id) <= (c.ts, c.id) \
                   AND l.timestamp >= $4 \
                 ORDER BY l.timestamp DESC, l.id DESC LIMIT $5) d)) \
         RETURNING environment_id, timestamp, id) \
     SELECT DISTINCT ON (environment_id) environment_id, \
         count(*) OVER (PARTITION BY environment_id)::int8, timestamp, id \
     FROM gone ORDER BY environment_id, timestamp, id";

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

/// Retention statements walk an index in order and stop early (LIMIT, or the first line past
/// the excess). Right after a bulk load the table may have no statistics, and the planner then
/// prefers a bitmap scan plus sort that reads the whole range on every batch; with statistics
/// it may walk `logs_timestamp_idx` filtering out other environments' lines and sort the rest
/// (incrementally). Turning bitmap scans and both sorts off for the statement's own transaction
/// leaves the index whose order matches as the only cheap plan, whatever the statistics say.
const PLAN_IN_INDEX_ORDER: &str = "SELECT set_config('enable_bitmapscan', 'off', true), \
     set_config('enable_sort', 'off', true), set_config('enable_incremental_sort', 'off', true)";

/// Runs one retention statement in its own short transaction, planned in index order.
async fn in_index_order<T>(
    store: &PgStore,
    query: sqlx::query::QueryAs<'_, sqlx::Postgres, T, sqlx::postgres::PgArguments>,
) -> Result<Vec<T>>
where
    T: Send + Unpin + for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow>,
{
    let mut tx = store.pool.begin().await.map_err(map)?;
    sqlx::query(PLAN_IN_INDEX_ORDER)
        .execute(&mut *tx)
        .await
        .map_err(map)?;
    let rows = query.fetch_all(&mut *tx).await.map_err(map)?;
    tx.commit().await.map_err(map)?;
    Ok(rows)
}

/// The single row an aggregate statement returns.
fn one<T>(rows: Vec<T>) -> Result<T> {
    rows.into_iter()
        .next()
        .ok_or_else(|| Error::internal("retention statement returned no row", None))
}

/// Deletes lines older than `cutoff`, `batch` at a time, oldest first.
async fn delete_older_than(store: &PgStore, cutoff: Timestamp, batch: i64) -> Result<u64> {
    let mut total = 0u64;
    let mut from: Option<Timestamp> = None;
    loop {
        let query = sqlx::query_as(DELETE_OLDER_THAN)
            .persistent(false)
            .bind(cutoff)
            .bind(from)
            .bind(batch);
        let (deleted, newest): (i64, Option<Timestamp>) = one(in_index_order(store, query).await?)?;
        total += deleted.max(0) as u64;
        if deleted < batch {
            return Ok(total);
        }
        from = newest;
    }
}

/// Deletes, per environment, the lines at or before its cut-off and not older than
/// `older_than`, in rounds of at most `batch` lines shared equally among the environments.
async fn delete_over_size(
    store: &PgStore,
    mut bounds: Vec<(Uuid, Timestamp, i64)>,
    older_than: Timestamp,
    batch: i64,
) -> Result<u64> {
    let mut total = 0u64;
    while !bounds.is_empty() {
        let take = bounds
            .len()
            .min(usize::try_from(batch).unwrap_or(usize::MAX))
            .max(1);
        let quota = (batch / take as i64).max(1);
        let (round, later) = bounds.split_at(take);
        let query = sqlx::query_as(DELETE_OVER_SIZE)
            .persistent(false)
            .bind(round.iter().map(|b| b.0).collect::<Vec<_>>())
            .bind(round.iter().map(|b| b.1).collect::<Vec<_>>())
            .bind(round.iter().map(|b| b.2).collect::<Vec<_>>())
            .bind(older_than)
            .bind(quota);
        let rows: Vec<(Uuid, i64, Timestamp, i64)> = in_index_order(store, query).await?;
        let mut next = Vec::with_capacity(bounds.len());
        for (env, deleted, at, id) in rows {
            total += deleted.max(0) as u64;
            // A full share means more may be left below the oldest line this round took.
            if deleted >= quota {
                next.push((env, at, id));
            }
        }
        next.extend_from_slice(later);
        bounds = next;
    }
    Ok(total)
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
            .persistent(false)
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
        let max_bytes = i64::try_from(policy.max_bytes_per_environment).unwrap_or(i64::MAX);
        // Size cut-offs first, over the lines the age pass keeps: reading from their old end
        // then never walks index entries the age pass is about to kill.
        let query = sqlx::query_as(SIZE_CUTOFFS)
            .persistent(false)
            .bind(policy.older_than)
            .bind(max_bytes);
        let cutoffs: Vec<(Uuid, Timestamp, i64)> = in_index_order(self, query).await?;
        let deleted_by_age = delete_older_than(self, policy.older_than, batch).await?;
        let deleted_by_size = delete_over_size(self, cutoffs, policy.older_than, batch).await?;
        tracing::debug!(deleted_by_age, deleted_by_size, "log retention pass");
        Ok(RetentionReport {
            deleted_by_age,
            deleted_by_size,
        })
    }
}
