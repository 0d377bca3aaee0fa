//! Pagination cursors (`vibebox_core::store::cursor`) and `PageRequest::new`: a malformed
//! cursor or limit is `InvalidInput` naming it; encoded cursors decode to what they name; paging
//! a list in memory with any limit and any cursor visits every item once, in order.

use proptest::prelude::*;
use uuid::Uuid;
use vibebox_core::ErrorKind;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{LogEntry, LogStream};
use vibebox_core::id::EnvironmentId;
use vibebox_core::store::PageRequest;
use vibebox_core::store::cursor::{
    clamp_limit, decode_id_cursor, decode_log_cursor, encode_log_cursor, page_by_id,
};

use crate::harness::{apply_all, edit, fuzz};

fn assert_cursor_error(e: &vibebox_core::Error) -> Result<(), TestCaseError> {
    prop_assert_eq!(e.kind(), ErrorKind::InvalidInput, "{}", e);
    prop_assert_eq!(e.field(), Some("cursor"), "{}", e);
    Ok(())
}

/// Number-like text: right, signed, padded, overflowing, or not ASCII digits.
fn number_text() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        (0i64..2_000_000_000_000_000).prop_map(|n| n.to_string()),
        prop::sample::select(vec![
            "",
            "+5",
            "-0",
            " 5",
            "5 ",
            "0x10",
            "1e3",
            "99999999999999999999",
            "-9223372036854775809",
            "9223372036854775807",
            "-9223372036854775808",
            "٣",
            "１",
            "_",
        ])
        .prop_map(str::to_string),
    ]
}

fn log_cursor_text() -> impl Strategy<Value = String> {
    prop_oneof![
        1 => ".{0,60}",
        4 => (number_text(), prop::sample::select(vec!["_", "__", "-", "", ":", "_ "]), number_text())
            .prop_map(|(a, sep, b)| format!("{a}{sep}{b}")),
        2 => (any::<i64>(), any::<i64>(), proptest::collection::vec(edit(), 1..3))
            .prop_map(|(a, b, e)| apply_all(&format!("{a}_{b}"), &e)),
    ]
}

#[test]
fn log_cursors_decode_or_name_the_cursor() {
    fuzz("log_cursor_decode", 2000, log_cursor_text, |text| {
        match decode_log_cursor(&text) {
            Err(e) => assert_cursor_error(&e),
            Ok((at, id)) => {
                // Only `<micros>_<id>` decodes, and it decodes to exactly that.
                let (micros, rest) = text
                    .split_once('_')
                    .ok_or_else(|| TestCaseError::fail("decoded without a '_'"))?;
                prop_assert_eq!(micros.parse::<i64>().ok(), Some(at.timestamp_micros()));
                prop_assert_eq!(rest.parse::<i64>().ok(), Some(id));
                Ok(())
            }
        }
    });
}

#[test]
fn log_cursors_round_trip() {
    // chrono's range in microseconds, roughly ±262,000 years.
    let micros = prop_oneof![
        -8_210_266_876_800_000_000i64..8_210_298_412_799_999_999,
        Just(0i64),
        Just(-1i64),
    ];
    fuzz(
        "log_cursor_round_trip",
        2000,
        move || (micros, any::<i64>()),
        |(micros, id)| {
            let Some(timestamp) = Timestamp::from_timestamp_micros(micros) else {
                return Ok(());
            };
            let entry = LogEntry {
                id,
                environment_id: EnvironmentId::new(),
                timestamp,
                stream: LogStream::Stdout,
                message: String::new(),
            };
            prop_assert_eq!(
                decode_log_cursor(&encode_log_cursor(&entry))?,
                (timestamp, id)
            );
            Ok(())
        },
    );
}

fn id_cursor_text() -> impl Strategy<Value = String> {
    let uuid = any::<u128>().prop_map(Uuid::from_u128);
    prop_oneof![
        1 => ".{0,60}",
        2 => (uuid.clone(), 0..5u8).prop_map(|(u, form)| match form {
            0 => u.hyphenated().to_string(),
            1 => u.simple().to_string(),
            2 => u.urn().to_string(),
            3 => u.braced().to_string(),
            _ => u.hyphenated().to_string().to_uppercase(),
        }),
        3 => (uuid, proptest::collection::vec(edit(), 1..3))
            .prop_map(|(u, e)| apply_all(&u.to_string(), &e)),
    ]
}

#[test]
fn id_cursors_decode_or_name_the_cursor() {
    fuzz("id_cursor_decode", 2000, id_cursor_text, |text| {
        match decode_id_cursor(Some(&text)) {
            Err(e) => assert_cursor_error(&e),
            Ok(id) => {
                let id = id.ok_or_else(|| TestCaseError::fail("Some(cursor) decoded to None"))?;
                // What a page hands out (the hyphenated form) decodes back to the same id.
                prop_assert_eq!(decode_id_cursor(Some(&id.to_string()))?, Some(id));
                Ok(())
            }
        }
    });
}

/// Where a page request starts: nowhere, an item, an id between items, or garbage.
#[derive(Clone, Debug)]
enum Start {
    First,
    Item(usize),
    Between(u128),
    Text(String),
}

fn start() -> impl Strategy<Value = Start> {
    prop_oneof![
        Just(Start::First),
        any::<usize>().prop_map(Start::Item),
        any::<u128>().prop_map(Start::Between),
        id_cursor_text().prop_map(Start::Text),
    ]
}

#[test]
fn paging_in_memory_visits_every_item_once_in_order() {
    fuzz(
        "page_by_id",
        1000,
        move || {
            (
                proptest::collection::btree_set(any::<u128>(), 0..40),
                prop_oneof![0u32..8, any::<u32>()],
                any::<bool>(),
                start(),
            )
        },
        |(ids, limit, newest_first, start)| {
            let ids: Vec<Uuid> = ids.into_iter().map(Uuid::from_u128).collect();
            let cursor = match &start {
                Start::First => None,
                Start::Item(i) => ids.get(i % ids.len().max(1)).map(Uuid::to_string),
                Start::Between(u) => Some(Uuid::from_u128(*u).to_string()),
                Start::Text(t) => Some(t.clone()),
            };
            let after = match decode_id_cursor(cursor.as_deref()) {
                Ok(after) => after,
                Err(_) => {
                    let page = PageRequest { limit, cursor };
                    let r = page_by_id(ids, |u| *u, &page, newest_first);
                    let e = r
                        .err()
                        .ok_or_else(|| TestCaseError::fail("a malformed cursor paged"))?;
                    return assert_cursor_error(&e);
                }
            };
            // What the walk must see: the ids after the cursor, in list order.
            let mut expected: Vec<Uuid> = ids
                .iter()
                .copied()
                .filter(|u| match after {
                    None => true,
                    Some(a) if newest_first => *u < a,
                    Some(a) => *u > a,
                })
                .collect();
            if newest_first {
                expected.reverse();
            }
            // Feed the list shuffled: the pager sorts.
            let mut shuffled = ids.clone();
            shuffled.reverse();
            let mut page = PageRequest { limit, cursor };
            let mut seen = Vec::new();
            for _ in 0..=ids.len() + 1 {
                let got = page_by_id(shuffled.clone(), |u| *u, &page, newest_first)?;
                prop_assert!(got.items.len() <= clamp_limit(limit) as usize);
                seen.extend(got.items);
                match got.next_cursor {
                    Some(c) => page.cursor = Some(c),
                    None => break,
                }
            }
            prop_assert_eq!(seen, expected);
            Ok(())
        },
    );
}

#[test]
fn page_requests_accept_limits_1_to_500_only() {
    let limit = prop_oneof![
        Just(None),
        any::<u32>().prop_map(Some),
        (0u32..600).prop_map(Some)
    ];
    fuzz(
        "page_request",
        2000,
        move || (limit, proptest::option::of(".{0,20}")),
        |(limit, cursor)| {
            match PageRequest::new(limit, cursor.clone()) {
                Ok(p) => {
                    prop_assert!((1..=PageRequest::MAX_LIMIT).contains(&p.limit));
                    prop_assert_eq!(p.limit, limit.unwrap_or(PageRequest::DEFAULT_LIMIT));
                    prop_assert_eq!(p.cursor, cursor);
                }
                Err(e) => {
                    prop_assert!(limit.is_some_and(|l| !(1..=500).contains(&l)));
                    prop_assert_eq!(e.field(), Some("limit"));
                }
            }
            Ok(())
        },
    );
}
