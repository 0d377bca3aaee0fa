//! Structure-aware mutations of JSON: start from a valid document and remove a member, set
//! one to an awkward value, add an unknown one, edit a string, or wrap a value; or write a raw
//! literal serde_json must refuse. Shared by the request body and WebSocket frame targets.

use proptest::prelude::*;
use serde_json::{Map, Value, json};

use crate::harness::{Edit, apply_all, edit};

/// One structural edit; the `usize` picks the place (any value in the document, the root
/// included, modulo their number).
#[derive(Clone, Debug)]
pub enum JsonEdit {
    /// Remove the member or element there (the root becomes `{}`).
    Remove(usize),
    /// Replace the value there.
    Set(usize, Value),
    /// Add a member to the object there (or the root).
    AddKey(usize, String, Value),
    /// Edit the string there (or the text of a number or bool there).
    EditString(usize, Vec<Edit>),
    /// Put the value there inside an array (`true`) or an object.
    Wrap(usize, bool),
}

#[derive(Clone, Debug)]
enum Step {
    Key(String),
    Index(usize),
}

/// Every place in the document: the root first, then depth first.
fn places(value: &Value) -> Vec<Vec<Step>> {
    fn walk(v: &Value, at: &mut Vec<Step>, out: &mut Vec<Vec<Step>>) {
        out.push(at.clone());
        match v {
            Value::Object(map) => {
                for (k, child) in map {
                    at.push(Step::Key(k.clone()));
                    walk(child, at, out);
                    at.pop();
                }
            }
            Value::Array(items) => {
                for (i, child) in items.iter().enumerate() {
                    at.push(Step::Index(i));
                    walk(child, at, out);
                    at.pop();
                }
            }
            _ => {}
        }
    }
    let mut out = Vec::new();
    walk(value, &mut Vec::new(), &mut out);
    out
}

fn get_mut<'a>(value: &'a mut Value, path: &[Step]) -> Option<&'a mut Value> {
    path.iter().try_fold(value, |v, step| match step {
        Step::Key(k) => v.get_mut(k.as_str()),
        Step::Index(i) => v.get_mut(*i),
    })
}

/// Applies the edits in turn.
pub fn mutate(seed: &Value, edits: &[JsonEdit]) -> Value {
    let mut doc = seed.clone();
    for e in edits {
        apply(&mut doc, e);
    }
    doc
}

fn apply(doc: &mut Value, e: &JsonEdit) {
    let all = places(doc);
    let pick = |i: usize| all[i % all.len()].clone();
    match e {
        JsonEdit::Remove(i) => {
            let path = pick(*i);
            match path.split_last() {
                None => *doc = json!({}),
                Some((last, parent)) => match (get_mut(doc, parent), last) {
                    (Some(Value::Object(map)), Step::Key(k)) => {
                        map.remove(k.as_str());
                    }
                    (Some(Value::Array(items)), Step::Index(i)) if *i < items.len() => {
                        items.remove(*i);
                    }
                    _ => {}
                },
            }
        }
        JsonEdit::Set(i, v) => {
            if let Some(slot) = get_mut(doc, &pick(*i)) {
                *slot = v.clone();
            }
        }
        JsonEdit::AddKey(i, k, v) => {
            let path = pick(*i);
            let target = match get_mut(doc, &path) {
                Some(Value::Object(_)) => path,
                _ => Vec::new(),
            };
            if let Some(Value::Object(map)) = get_mut(doc, &target) {
                map.insert(k.clone(), v.clone());
            }
        }
        JsonEdit::EditString(i, edits) => {
            if let Some(slot) = get_mut(doc, &pick(*i)) {
                let text = match slot {
                    Value::String(s) => s.clone(),
                    Value::Number(n) => n.to_string(),
                    Value::Bool(b) => b.to_string(),
                    _ => return,
                };
                *slot = Value::String(apply_all(&text, edits));
            }
        }
        JsonEdit::Wrap(i, array) => {
            if let Some(slot) = get_mut(doc, &pick(*i)) {
                let inner = slot.take();
                *slot = if *array {
                    Value::Array(vec![inner])
                } else {
                    let mut map = Map::new();
                    map.insert("value".into(), inner);
                    Value::Object(map)
                };
            }
        }
    }
}

/// Values that break rules: wrong types, edges of every numeric range, empty, long, control
/// and non-ASCII strings, ids that name nothing, dates out of range.
pub fn awkward_value() -> impl Strategy<Value = Value> {
    let number = prop_oneof![
        prop::sample::select(vec![
            json!(0),
            json!(-1),
            json!(1),
            json!(i64::MIN),
            json!(i64::MAX),
            json!(u64::MAX),
            json!(65_535),
            json!(65_536),
            json!(1e308),
            json!(-1e-308),
            json!(0.5),
            json!(1.5),
            json!(i64::from(i32::MAX) + 1),
            json!(-0.0),
        ]),
        any::<i64>().prop_map(Value::from),
        any::<f64>()
            .prop_map(|f| serde_json::Number::from_f64(f).map_or(Value::Null, Value::Number)),
    ];
    let string = prop_oneof![
        ".{0,12}".prop_map(Value::String),
        prop::sample::select(vec![129usize, 255, 2001, 40_000])
            .prop_map(|n| Value::String("x".repeat(n))),
        prop::sample::select(vec![
            "",
            " ",
            "\u{0}",
            "a\nb",
            "\u{202e}",
            "../../etc/passwd",
            "vbx_",
            "00000000-0000-0000-0000-000000000000",
            "2099-01-01T00:00:00Z",
            "1970-01-01T00:00:00Z",
            "not-a-date",
            "read",
            "admin",
            "shell",
            "public",
            "base64",
            "tcp",
            "ssh-ed25519 AAAA",
            "https://example.com/x",
            "NaN",
        ])
        .prop_map(|s| Value::String(s.to_string())),
        any::<u128>().prop_map(|u| Value::String(uuid::Uuid::from_u128(u).to_string())),
    ];
    prop_oneof![
        1 => Just(Value::Null),
        1 => any::<bool>().prop_map(Value::Bool),
        3 => number,
        3 => string,
        1 => prop::sample::select(vec![json!([]), json!({}), json!([1]), json!({"a": 1}), json!([null])]),
    ]
}

/// Any JSON value, up to a few levels deep, with keys the API's bodies use.
pub fn any_json() -> impl Strategy<Value = Value> {
    let key = prop_oneof![
        prop::sample::select(vec![
            "type",
            "name",
            "slug",
            "email",
            "password",
            "command",
            "role",
            "scopes",
            "key",
            "value",
            "cols",
            "rows",
            "data",
            "idle_policy",
            "project_id",
            "extension_id",
        ])
        .prop_map(str::to_string),
        "[a-z_]{0,8}",
    ];
    awkward_value().prop_recursive(3, 24, 5, move |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..5).prop_map(Value::Array),
            proptest::collection::btree_map(key.clone(), inner, 0..5)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    })
}

/// One structural edit.
pub fn json_edit() -> impl Strategy<Value = JsonEdit> {
    let key = prop_oneof![
        "[a-z_]{1,10}",
        prop::sample::select(vec!["type", "__proto__", "", "name ", "Name", "\u{0}"])
            .prop_map(str::to_string),
    ];
    prop_oneof![
        2 => any::<usize>().prop_map(JsonEdit::Remove),
        4 => (any::<usize>(), awkward_value()).prop_map(|(i, v)| JsonEdit::Set(i, v)),
        1 => (any::<usize>(), any_json()).prop_map(|(i, v)| JsonEdit::Set(i, v)),
        1 => (any::<usize>(), key, awkward_value()).prop_map(|(i, k, v)| JsonEdit::AddKey(i, k, v)),
        2 => (any::<usize>(), proptest::collection::vec(edit(), 1..3))
            .prop_map(|(i, e)| JsonEdit::EditString(i, e)),
        1 => (any::<usize>(), any::<bool>()).prop_map(|(i, a)| JsonEdit::Wrap(i, a)),
    ]
}

/// Literals that are not valid JSON values (or are at the edge of what serde_json takes).
pub const RAW_LITERALS: &[&str] = &[
    "1e400",
    "-1e400",
    "-0",
    "00",
    "+1",
    "NaN",
    "Infinity",
    "0x10",
    "1.",
    ".5",
    "\"\\ud800\"",
    "\"\\u0000\"",
    "\"\\x41\"",
    "18446744073709551616",
    "-9223372036854775809",
    "1E5",
    "nul",
    "tru",
    "'single'",
    "\"unterminated",
    "[1,]",
    "{\"a\":1,}",
    "undefined",
];

/// The document with the value at one place written as a raw literal.
pub fn with_raw_literal(seed: &Value, place: usize, literal: &str) -> String {
    const MARK: &str = "\u{1}raw-literal\u{1}";
    let mut doc = seed.clone();
    let all = places(&doc);
    if let Some(slot) = get_mut(&mut doc, &all[place % all.len()]) {
        *slot = Value::String(MARK.into());
    }
    let marked = serde_json::to_string(&Value::String(MARK.into())).unwrap_or_default();
    serde_json::to_string(&doc)
        .unwrap_or_default()
        .replacen(&marked, literal, 1)
}

/// `depth` nested arrays or objects around a value: past serde_json's recursion limit (128)
/// when `depth` is large.
pub fn nested(depth: usize, arrays: bool) -> String {
    let (open, close) = if arrays { ("[", "]") } else { ("{\"a\":", "}") };
    format!("{}1{}", open.repeat(depth), close.repeat(depth))
}
