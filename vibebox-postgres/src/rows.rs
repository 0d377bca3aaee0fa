//! Small conversions shared by the row structs of every aggregate.

use std::str::FromStr;

use vibebox_core::{Error, Result};

use crate::error::corrupt;

/// Parses a stored enum value (`status`, `role`, …); a value the domain does not know is an
/// internal error, since the schema's CHECKs only allow known values.
pub(crate) fn parse<T>(what: &'static str, value: &str) -> Result<T>
where
    T: FromStr<Err = Error>,
{
    value.parse().map_err(|e| corrupt(what, e))
}

/// Converts a stored port number back to `u16`.
pub(crate) fn port(what: &'static str, value: i32) -> Result<u16> {
    u16::try_from(value).map_err(|_| corrupt(what, Error::invalid(what, "out of range")))
}

/// Converts every row with `f`, stopping at the first failure.
pub(crate) fn convert<R, T>(rows: Vec<R>, f: impl Fn(R) -> Result<T>) -> Result<Vec<T>> {
    rows.into_iter().map(f).collect()
}
