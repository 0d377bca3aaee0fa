//! MemoryStore runs the store conformance suite.
#![cfg(feature = "testing")]
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

vibebox_core::store_conformance!(async { vibebox_core::testing::MemoryStore::new() });
