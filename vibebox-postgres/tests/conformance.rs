//! The store conformance suite (every check of `vibebox_core::store_conformance!`) against a
//! real PostgreSQL, each check on its own fresh database.

vibebox_core::store_conformance!(async { vibebox_postgres::testing::fresh_store().await.unwrap() });
