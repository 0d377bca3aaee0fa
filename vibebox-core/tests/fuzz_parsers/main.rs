//! Fuzz targets on stable Rust (issue 19, item 7): proptest strategies that build near-valid
//! input from each grammar (and plain random bytes), run with a case count that
//! `PROPTEST_CASES` sets. CI runs the defaults (a few thousand cases a target, seconds in all);
//! `scripts/fuzz` runs the same targets with a large count. The oracle everywhere: no panic,
//! only the documented error; round trips hold; a changed token or ciphertext is refused.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod harness;

mod api_keys;
mod ciphertexts;
mod cursors;
mod validators;
