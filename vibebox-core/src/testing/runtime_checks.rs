//! STUB — replaced by the runtime conformance work package.

/// Generates one `#[tokio::test]` per runtime check.
#[macro_export]
macro_rules! runtime_conformance {
    ($make:expr) => {};
}
