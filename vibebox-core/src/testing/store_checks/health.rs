//! The backend itself.

use super::prelude::*;

/// The backend has a non-empty name and answers a ping.
pub async fn backend_answers_ping(store: &dyn Store) {
    assert!(!store.backend().is_empty());
    store.ping().await.unwrap();
}
