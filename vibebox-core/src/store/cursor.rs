//! Cursors and page assembly shared by every backend, so that a cursor from one page means the
//! same thing whichever store produced it.
//!
//! - Lists ordered by id use the last item's UUID as the cursor.
//! - Log queries use `<timestamp in microseconds>_<id>` of the last line.
//!
//! A backend fetches `limit + 1` rows after the cursor and hands them to [`page_of`], which
//! keeps `limit` of them and sets `next_cursor` exactly when the extra row was there. A list
//! held whole in memory (the memory store, or the service paging a bounded set such as an
//! environment's ports) goes through [`page_by_id`], which gives the same cursors.

use uuid::Uuid;

use super::{Page, PageRequest};
use crate::clock::Timestamp;
use crate::domain::LogEntry;
use crate::error::{Error, Result};

/// The effective page size: at least 1, at most [`PageRequest::MAX_LIMIT`].
pub fn clamp_limit(limit: u32) -> u32 {
    limit.clamp(1, PageRequest::MAX_LIMIT)
}

/// How many rows to fetch for a page of `limit` items: one more, to learn whether more follow.
pub fn fetch_limit(limit: u32) -> i64 {
    i64::from(clamp_limit(limit)) + 1
}

/// Parses an id cursor. Errors: `InvalidInput` (`cursor`).
pub fn decode_id_cursor(cursor: Option<&str>) -> Result<Option<Uuid>> {
    cursor
        .map(|c| Uuid::parse_str(c).map_err(|_| malformed()))
        .transpose()
}

/// The cursor naming a log line.
pub fn encode_log_cursor(entry: &LogEntry) -> String {
    format!("{}_{}", entry.timestamp.timestamp_micros(), entry.id)
}

/// Parses a log cursor into the line's (timestamp, id). Errors: `InvalidInput` (`cursor`).
pub fn decode_log_cursor(cursor: &str) -> Result<(Timestamp, i64)> {
    let (micros, id) = cursor.split_once('_').ok_or_else(malformed)?;
    let micros: i64 = micros.parse().map_err(|_| malformed())?;
    let id: i64 = id.parse().map_err(|_| malformed())?;
    let at = Timestamp::from_timestamp_micros(micros).ok_or_else(malformed)?;
    Ok((at, id))
}

/// Builds a page from rows fetched with [`fetch_limit`], in list order: keeps the first
/// `limit` and names the last kept one in `next_cursor` when an extra row follows.
pub fn page_of<T>(mut rows: Vec<T>, limit: u32, cursor_of: impl Fn(&T) -> String) -> Page<T> {
    let limit = clamp_limit(limit) as usize;
    let more = rows.len() > limit;
    rows.truncate(limit);
    let next_cursor = if more {
        rows.last().map(cursor_of)
    } else {
        None
    };
    Page {
        items: rows,
        next_cursor,
    }
}

/// Pages through a whole list held in memory, ordered by `id` (ascending, or descending when
/// `newest_first`), starting after the item the request's cursor names, with the same id
/// cursors a database backend returns. The cursor need not name an item still in the list:
/// the page continues with the ids after it.
///
/// Errors: `InvalidInput` (`cursor`) for a malformed cursor.
pub fn page_by_id<T>(
    mut items: Vec<T>,
    id: impl Fn(&T) -> Uuid,
    page: &PageRequest,
    newest_first: bool,
) -> Result<Page<T>> {
    let after = decode_id_cursor(page.cursor.as_deref())?;
    items.sort_by_key(|t| id(t));
    if newest_first {
        items.reverse();
    }
    if let Some(after) = after {
        items.retain(|t| {
            if newest_first {
                id(t) < after
            } else {
                id(t) > after
            }
        });
    }
    items.truncate(clamp_limit(page.limit) as usize + 1);
    Ok(page_of(items, page.limit, |t| id(t).to_string()))
}

fn malformed() -> Error {
    Error::invalid("cursor", "malformed cursor")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::LogStream;
    use crate::id::EnvironmentId;

    type TestResult = std::result::Result<(), Box<dyn std::error::Error>>;

    #[test]
    fn log_cursor_round_trips() -> TestResult {
        let entry = LogEntry {
            id: 42,
            environment_id: EnvironmentId::new(),
            timestamp: Timestamp::from_timestamp_micros(1_700_000_000_123_456)
                .ok_or("a timestamp in range")?,
            stream: LogStream::Stdout,
            message: "x".into(),
        };
        let cursor = encode_log_cursor(&entry);
        assert_eq!(decode_log_cursor(&cursor)?, (entry.timestamp, 42));
        Ok(())
    }

    #[test]
    fn malformed_cursors_name_the_cursor_field() -> TestResult {
        for bad in ["", "12", "a_1", "1_b", "1_2_3"] {
            let err = decode_log_cursor(bad)
                .err()
                .ok_or_else(|| format!("{bad:?} decoded"))?;
            assert_eq!(err.field(), Some("cursor"), "{bad:?}");
        }
        let err = decode_id_cursor(Some("nope"))
            .err()
            .ok_or("\"nope\" decoded")?;
        assert_eq!(err.field(), Some("cursor"));
        Ok(())
    }

    #[test]
    fn page_of_sets_the_cursor_only_when_an_extra_row_follows() {
        let page = page_of(vec![1, 2, 3], 2, |n| n.to_string());
        assert_eq!(page.items, [1, 2]);
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        let last = page_of(vec![1, 2], 2, |n| n.to_string());
        assert_eq!(last.next_cursor, None);
    }

    #[test]
    fn page_by_id_walks_every_item_once_in_id_order() -> TestResult {
        let ids: Vec<Uuid> = (0..5).map(|_| Uuid::now_v7()).collect();
        let mut shuffled = ids.clone();
        shuffled.reverse();
        let mut seen = Vec::new();
        let mut page = PageRequest::first(2);
        loop {
            let got = page_by_id(shuffled.clone(), |u| *u, &page, false)?;
            assert!(got.items.len() <= 2);
            seen.extend(got.items);
            match got.next_cursor {
                Some(c) => page.cursor = Some(c),
                None => break,
            }
        }
        assert_eq!(seen, ids);
        Ok(())
    }

    #[test]
    fn page_by_id_continues_after_a_cursor_whose_item_is_gone() -> TestResult {
        let ids: Vec<Uuid> = (0..3).map(|_| Uuid::now_v7()).collect();
        let page = PageRequest {
            limit: 10,
            cursor: Some(ids[0].to_string()),
        };
        let got = page_by_id(ids[1..].to_vec(), |u| *u, &page, false)?;
        assert_eq!(got.items, ids[1..]);
        assert_eq!(got.next_cursor, None);
        let bad = PageRequest {
            limit: 10,
            cursor: Some("nope".into()),
        };
        let err = page_by_id(ids, |u| *u, &bad, false)
            .err()
            .ok_or("a malformed cursor paged")?;
        assert_eq!(err.field(), Some("cursor"));
        Ok(())
    }
}
