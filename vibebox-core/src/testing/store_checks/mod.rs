//! STUB — replaced by the store conformance work package.

/// Generates one `#[tokio::test]` per store check.
#[macro_export]
macro_rules! store_conformance {
    ($make:expr) => {};
}
