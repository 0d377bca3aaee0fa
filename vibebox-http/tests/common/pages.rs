//! Checks of paged lists (DESIGN.md §6): `{items, next_cursor}`, walked with `?limit=&cursor=`.

use axum::http::StatusCode;
use serde_json::Value;

use super::App;

/// `path` joined with more query parameters.
pub fn with_query(path: &str, query: &str) -> String {
    let sep = if path.contains('?') { '&' } else { '?' };
    format!("{path}{sep}{query}")
}

/// The ids of one page's items, checking the page's shape.
pub fn page_ids(path: &str, body: &Value) -> Vec<String> {
    let object = body.as_object().unwrap_or_else(|| panic!("{path}: {body}"));
    let mut keys: Vec<&String> = object.keys().collect();
    keys.sort();
    assert_eq!(keys, ["items", "next_cursor"], "{path}: {body}");
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_string())
        .collect()
}

/// Follows `next_cursor` with `limit=1` to the end; returns the ids in the order seen.
pub async fn walk_one_by_one(app: &App, token: &str, path: &str) -> Vec<String> {
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let uri = match &cursor {
            None => with_query(path, "limit=1"),
            Some(c) => with_query(path, &format!("limit=1&cursor={c}")),
        };
        let r = app.call("GET", &uri, token, None).await;
        assert_eq!(r.status, StatusCode::OK, "{uri}: {}", r.body);
        let ids = page_ids(&uri, &r.body);
        assert!(ids.len() <= 1, "{uri}: {}", r.body);
        seen.extend(ids);
        match r.body["next_cursor"].as_str() {
            Some(c) => cursor = Some(c.to_string()),
            None => break,
        }
        assert!(seen.len() <= 50, "{path}: the walk does not end");
    }
    seen
}

/// Walks `path` one item at a time and checks that it meets every item of the full list
/// exactly once, in the same order, and that the order is by id.
pub async fn assert_limit_1_walks_every_item_once(app: &App, token: &str, path: &str, n: usize) {
    let full = app.call("GET", path, token, None).await;
    assert_eq!(full.status, StatusCode::OK, "{path}: {}", full.body);
    assert!(full.body["next_cursor"].is_null(), "{path}: {}", full.body);
    let all = page_ids(path, &full.body);
    assert_eq!(all.len(), n, "{path}: {}", full.body);
    let mut by_id = all.clone();
    by_id.sort();
    assert_eq!(all, by_id, "{path} is ordered by id");
    assert_eq!(walk_one_by_one(app, token, path).await, all, "{path}");
}
