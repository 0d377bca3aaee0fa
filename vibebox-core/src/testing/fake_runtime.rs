//! STUB — replaced by the FakeRuntime work package.

/// An in-memory container engine.
#[derive(Debug, Default)]
pub struct FakeRuntime {}

/// A failure a test can inject.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FakeFailure {
    /// `create` fails.
    Create,
}
