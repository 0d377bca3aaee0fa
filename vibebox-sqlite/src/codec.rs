//! Conversions between domain values and the column values this schema stores: timestamps as
//! INTEGER microseconds since the Unix epoch, ids as 16-byte UUID blobs, enums as their
//! snake_case names, lists of enums as JSON arrays.

use std::str::FromStr;

use uuid::Uuid;
use vibebox_core::clock::Timestamp;
use vibebox_core::error::{Error, Result};

/// A timestamp as stored: microseconds since the Unix epoch.
pub(crate) fn micros(at: Timestamp) -> i64 {
    at.timestamp_micros()
}

/// An optional timestamp as stored.
pub(crate) fn opt_micros(at: Option<Timestamp>) -> Option<i64> {
    at.map(micros)
}

/// A stored timestamp. Errors: `Internal` if it is out of chrono's range.
pub(crate) fn timestamp(micros: i64) -> Result<Timestamp> {
    Timestamp::from_timestamp_micros(micros)
        .ok_or_else(|| Error::internal("stored timestamp is out of range", None))
}

/// An optional stored timestamp.
pub(crate) fn opt_timestamp(micros: Option<i64>) -> Result<Option<Timestamp>> {
    micros.map(timestamp).transpose()
}

/// A stored enum value (`status`, `role`, …). Errors: `Internal` for an unknown value.
pub(crate) fn parse_enum<T: FromStr>(value: &str, column: &str) -> Result<T> {
    value
        .parse()
        .map_err(|_| Error::internal(format!("unknown {column} value in the store"), None))
}

/// A stored port number. Errors: `Internal` if it is not a valid port.
pub(crate) fn port(value: i64, column: &str) -> Result<u16> {
    u16::try_from(value)
        .map_err(|_| Error::internal(format!("stored {column} is out of range"), None))
}

/// An optional stored port number.
pub(crate) fn opt_port(value: Option<i64>, column: &str) -> Result<Option<u16>> {
    value.map(|v| port(v, column)).transpose()
}

/// A list of enum values as a JSON array of their names (for `IN (SELECT value FROM
/// json_each(?))`), or `None` when the list is empty and so does not filter.
pub(crate) fn names_json<T: Copy>(
    values: &[T],
    name: impl Fn(T) -> &'static str,
) -> Option<String> {
    if values.is_empty() {
        return None;
    }
    let names: Vec<&str> = values.iter().map(|v| name(*v)).collect();
    Some(serde_json::Value::from(names).to_string())
}

/// The lower bound for `id > ?` paging: the cursor's id, or an empty blob (below every id).
pub(crate) fn after_id(cursor: Option<Uuid>) -> Vec<u8> {
    cursor.map(|c| c.as_bytes().to_vec()).unwrap_or_default()
}

/// The upper bound for `id < ?` paging (newest first): the cursor's id, or a blob above every
/// 16-byte id.
pub(crate) fn before_id(cursor: Option<Uuid>) -> Vec<u8> {
    cursor.map_or_else(|| vec![0xff; 17], |c| c.as_bytes().to_vec())
}

/// A page size or batch limit as an SQL integer.
pub(crate) fn limit(n: u32) -> i64 {
    i64::from(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_round_trip_through_micros() -> Result<(), Box<dyn std::error::Error>> {
        let t = Timestamp::from_timestamp_micros(1_709_210_096_123_456)
            .ok_or("a timestamp in range")?;
        assert_eq!(timestamp(micros(t))?, t);
        assert!(timestamp(i64::MAX).is_err());
        Ok(())
    }

    #[test]
    fn paging_bounds_sort_around_every_id() {
        let id = Uuid::max();
        assert!(after_id(None) < id.as_bytes().to_vec());
        assert!(before_id(None) > id.as_bytes().to_vec());
    }
}
