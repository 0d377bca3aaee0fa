//! STUB — replaced by the MemoryStore work package.

/// A complete in-memory store.
#[derive(Debug, Default)]
pub struct MemoryStore {}
