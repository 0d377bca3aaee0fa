//! The store conformance suite (every check of `vibebox_core::store_conformance!`) against a
//! real PostgreSQL, each check on its own fresh database.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

vibebox_core::store_conformance!(async { vibebox_postgres::testing::fresh_store().await.unwrap() });
