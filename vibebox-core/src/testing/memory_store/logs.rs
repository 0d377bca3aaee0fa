use std::collections::BTreeMap;

use async_trait::async_trait;

use super::MemoryStore;
use crate::clock::Timestamp;
use crate::domain::{LogEntry, NewLogEntry};
use crate::error::Result;
use crate::id::EnvironmentId;
use crate::store::cursor::{clamp_limit, decode_log_cursor, encode_log_cursor, page_of};
use crate::store::{LogOrder, LogQuery, LogsStore, Page, RetentionPolicy, RetentionReport};

/// A log line's position in (timestamp, id) order.
type LogKey = (Timestamp, i64);

fn key(entry: &LogEntry) -> LogKey {
    (entry.timestamp, entry.id)
}

#[async_trait]
impl LogsStore for MemoryStore {
    async fn append_logs(&self, entries: &[NewLogEntry]) -> Result<()> {
        self.with(|s| {
            for entry in entries {
                s.require_environment(entry.environment_id)?;
            }
            for entry in entries {
                s.last_log_id += 1;
                let id = s.last_log_id;
                s.logs.insert(
                    id,
                    LogEntry {
                        id,
                        environment_id: entry.environment_id,
                        timestamp: entry.timestamp,
                        stream: entry.stream,
                        message: entry.message.clone(),
                    },
                );
            }
            Ok(())
        })
    }

    async fn query_logs(&self, query: &LogQuery) -> Result<Page<LogEntry>> {
        let after = query.cursor.as_deref().map(decode_log_cursor).transpose()?;
        let newest_first = query.order == LogOrder::NewestFirst;
        self.with(|s| {
            let mut lines: Vec<LogEntry> = s
                .logs
                .values()
                .filter(|l| {
                    l.environment_id == query.environment_id
                        && query.since.is_none_or(|t| l.timestamp >= t)
                        && query.until.is_none_or(|t| l.timestamp < t)
                        && query.stream.is_none_or(|st| l.stream == st)
                        && after.is_none_or(|c| if newest_first { key(l) < c } else { key(l) > c })
                })
                .cloned()
                .collect();
            lines.sort_by_key(key);
            if newest_first {
                lines.reverse();
            }
            lines.truncate(clamp_limit(query.limit) as usize + 1);
            Ok(page_of(lines, query.limit, encode_log_cursor))
        })
    }

    async fn latest_log(&self, env: EnvironmentId) -> Result<Option<LogEntry>> {
        self.with(|s| {
            Ok(s.logs
                .values()
                .filter(|l| l.environment_id == env)
                .max_by_key(|l| key(l))
                .cloned())
        })
    }

    async fn log_bytes(&self, env: EnvironmentId) -> Result<u64> {
        self.with(|s| {
            Ok(s.logs
                .values()
                .filter(|l| l.environment_id == env)
                .map(|l| l.message.len() as u64)
                .sum())
        })
    }

    async fn apply_log_retention(&self, policy: &RetentionPolicy) -> Result<RetentionReport> {
        self.with(|s| {
            let before = s.logs.len();
            s.logs.retain(|_, l| l.timestamp >= policy.older_than);
            let deleted_by_age = (before - s.logs.len()) as u64;

            let mut per_env: BTreeMap<EnvironmentId, Vec<(LogKey, u64)>> = BTreeMap::new();
            for line in s.logs.values() {
                per_env
                    .entry(line.environment_id)
                    .or_default()
                    .push((key(line), line.message.len() as u64));
            }
            let mut doomed = Vec::new();
            for mut lines in per_env.into_values() {
                let mut total: u64 = lines.iter().map(|(_, bytes)| bytes).sum();
                lines.sort_unstable();
                for ((_, id), bytes) in lines {
                    if total <= policy.max_bytes_per_environment {
                        break;
                    }
                    total -= bytes;
                    doomed.push(id);
                }
            }
            for id in &doomed {
                s.logs.remove(id);
            }
            Ok(RetentionReport {
                deleted_by_age,
                deleted_by_size: doomed.len() as u64,
            })
        })
    }
}
