//! Fakes and conformance suites for tests (feature `testing`).
//!
//! - [`MemoryStore`]: a complete in-memory [`Store`](crate::Store) that enforces the same
//!   uniqueness and foreign-key rules as a database.
//! - [`FakeRuntime`]: in-memory containers with scripted exec and injectable failures.
//! - [`ManualClock`]: a clock tests move by hand.
//! - [`TraceCapture`]: what the code traced, to check that no secret reaches the logs.
//! - [`store_conformance!`](crate::store_conformance) and
//!   [`runtime_conformance!`](crate::runtime_conformance): the behaviour every backend promises.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic, missing_docs)]

mod clock;
mod fake_runtime;
mod memory_store;
pub mod runtime_checks;
pub mod store_checks;
mod traces;

pub use clock::ManualClock;
pub use fake_runtime::{ExecRecord, FakeFailure, FakeRuntime, Outage, ScriptedExec};
pub use memory_store::MemoryStore;
pub use traces::TraceCapture;
