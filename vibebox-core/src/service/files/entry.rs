//! What a file is ([`FileEntry`]) and how the scripts' records become one.

use serde::{Deserialize, Serialize};

use super::path;
use crate::clock::{Timestamp, truncate};
use crate::error::{Error, Result};

/// What kind of thing a directory entry is.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FileKind {
    /// A regular file.
    File,
    /// A directory.
    Directory,
    /// A symbolic link (its target is in [`FileEntry::link_target`]).
    Symlink,
    /// A device, a FIFO or a socket: listed, never read or written.
    Other,
}

/// A file, directory or other entry inside an environment, as its user sees it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct FileEntry {
    /// Its name (invalid UTF-8 is replaced with U+FFFD).
    pub name: String,
    /// Its absolute path inside the container.
    pub path: String,
    /// What it is (a symlink is reported as such, not as what it points to).
    pub kind: FileKind,
    /// Its size in bytes, as `stat` reports it (pseudo-files such as `/proc`'s report 0).
    pub size: u64,
    /// Its permission bits, setuid, setgid and sticky included (`0o644` is 420).
    #[cfg_attr(feature = "openapi", schema(maximum = 4095))]
    pub mode: u32,
    /// When its content last changed.
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = DateTime))]
    pub mtime: Timestamp,
    /// Where a symlink points, as written in the link (relative or absolute, possibly
    /// dangling); absent for anything else.
    pub link_target: Option<String>,
}

/// Fields per record.
pub(super) const FIELDS: usize = 6;

/// Splits `bytes` into complete records; the unfinished tail, if any, is dropped.
pub(super) fn records(bytes: &[u8]) -> impl Iterator<Item = [&[u8]; FIELDS]> {
    let mut fields = bytes.split(|b| *b == 0);
    std::iter::from_fn(move || {
        let mut record: [&[u8]; FIELDS] = [&[]; FIELDS];
        for slot in &mut record {
            *slot = fields.next()?;
        }
        Some(record)
    })
    // The last split piece follows the last NUL: never part of a complete record.
    .take(bytes.iter().filter(|b| **b == 0).count() / FIELDS)
}

/// The entry a record describes, found at `location`.
pub(super) fn parse(record: [&[u8]; FIELDS], location: Location<'_>) -> Result<FileEntry> {
    let [name, kind, mode, size, mtime, target] = record;
    let name = String::from_utf8_lossy(name).into_owned();
    if name.is_empty() {
        return Err(bad("an empty name"));
    }
    let kind = match kind {
        b"f" => FileKind::File,
        b"d" => FileKind::Directory,
        b"l" => FileKind::Symlink,
        b"p" | b"s" | b"c" | b"b" | b"D" | b"u" | b"?" => FileKind::Other,
        _ => return Err(bad("an unknown type")),
    };
    let mode = std::str::from_utf8(mode)
        .ok()
        .and_then(|m| u32::from_str_radix(m, 8).ok())
        .filter(|m| *m <= 0o7777)
        .ok_or_else(|| bad("a bad mode"))?;
    let size = std::str::from_utf8(size)
        .ok()
        .and_then(|s| s.parse::<u64>().ok())
        .ok_or_else(|| bad("a bad size"))?;
    let mtime = parse_mtime(mtime).ok_or_else(|| bad("a bad mtime"))?;
    let link_target =
        (kind == FileKind::Symlink).then(|| String::from_utf8_lossy(target).into_owned());
    let path = match location {
        Location::In(dir) => path::join(dir, &name),
        Location::At(full) => full.to_string(),
    };
    Ok(FileEntry {
        name,
        path,
        kind,
        size,
        mode,
        mtime,
        link_target,
    })
}

/// Where a record's entry is.
#[derive(Clone, Copy, Debug)]
pub(super) enum Location<'a> {
    /// In this directory (a listing).
    In(&'a str),
    /// At this path (an upload's target, a download's resolved path).
    At(&'a str),
}

/// Seconds since the epoch, with an optional fraction (GNU find's `%T@`).
fn parse_mtime(raw: &[u8]) -> Option<Timestamp> {
    let raw = std::str::from_utf8(raw).ok()?;
    let (whole, fraction) = raw.split_once('.').unwrap_or((raw, ""));
    let secs: i64 = whole.parse().ok()?;
    if !fraction.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let digits: String = fraction
        .chars()
        .chain(std::iter::repeat('0'))
        .take(9)
        .collect();
    let mut nanos: i64 = digits.parse().ok()?;
    if whole.starts_with('-') {
        nanos = -nanos;
    }
    let at = chrono::DateTime::from_timestamp(secs, 0)?
        .checked_add_signed(chrono::TimeDelta::nanoseconds(nanos))?;
    Some(truncate(at))
}

fn bad(what: &str) -> Error {
    Error::internal(
        format!("the file listing inside the container had {what}"),
        None,
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Fields, each NUL-terminated.
    fn rec(fields: &[&str]) -> Vec<u8> {
        fields.iter().flat_map(|f| f.bytes().chain([0])).collect()
    }

    fn one(bytes: &[u8]) -> Result<FileEntry> {
        let record = records(bytes).next().ok_or_else(|| bad("nothing"))?;
        parse(record, Location::In("/home/vibebox"))
    }

    #[test]
    fn a_gnu_record_parses_with_its_fraction_of_a_second() -> Result<()> {
        let e = one(&rec(&[
            "a b",
            "f",
            "644",
            "12",
            "1700000000.1234567890",
            "",
        ]))?;
        assert_eq!(e.name, "a b");
        assert_eq!(e.path, "/home/vibebox/a b");
        assert_eq!((e.kind, e.mode, e.size), (FileKind::File, 0o644, 12));
        assert_eq!(e.mtime.timestamp(), 1_700_000_000);
        assert_eq!(e.mtime.timestamp_subsec_micros(), 123_456);
        assert_eq!(e.link_target, None);
        Ok(())
    }

    #[test]
    fn a_busybox_symlink_record_keeps_its_target_with_newlines() -> Result<()> {
        let e = one(&rec(&[
            "we\nird",
            "l",
            "777",
            "7",
            "1700000000",
            "/tm p\nx",
        ]))?;
        assert_eq!(e.name, "we\nird");
        assert_eq!(e.kind, FileKind::Symlink);
        assert_eq!(e.link_target.as_deref(), Some("/tm p\nx"));
        let at = records(&rec(&["x", "d", "1777", "0", "1", ""]))
            .next()
            .map(|r| parse(r, Location::At("/tmp/x")));
        assert_eq!(
            at.and_then(Result::ok).map(|e| (e.path, e.mode)),
            Some(("/tmp/x".into(), 0o1777))
        );
        Ok(())
    }

    #[test]
    fn devices_fifos_and_sockets_are_other() -> Result<()> {
        for kind in ["p", "s", "c", "b"] {
            assert_eq!(
                one(&rec(&["x", kind, "644", "0", "1", ""]))?.kind,
                FileKind::Other,
                "{kind}"
            );
        }
        Ok(())
    }

    #[test]
    fn an_unfinished_record_is_not_a_record() {
        let mut bytes = rec(&["a", "f", "644", "1", "1", ""]);
        bytes.extend(rec(&["b", "f"]));
        bytes.extend(b"644");
        assert_eq!(records(&bytes).count(), 1);
        assert_eq!(records(b"").count(), 0);
    }

    #[test]
    fn malformed_fields_are_refused() {
        for bad in [
            ["", "f", "644", "1", "1", ""],
            ["a", "z", "644", "1", "1", ""],
            ["a", "f", "999", "1", "1", ""],
            ["a", "f", "644", "-1", "1", ""],
            ["a", "f", "644", "1", "x", ""],
            ["a", "f", "644", "1", "1.5e3", ""],
        ] {
            assert!(one(&rec(&bad)).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn mtimes_before_the_epoch_count_backwards() {
        let t = parse_mtime(b"-1.5");
        assert_eq!(t.map(|t| t.timestamp_micros()), Some(-1_500_000));
    }
}
