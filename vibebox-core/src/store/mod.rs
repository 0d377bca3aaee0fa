//! Persistence: the [`Store`] trait, split into one trait per aggregate.
//!
//! # Contract
//!
//! Every backend (in memory, SQLite, PostgreSQL, or an embedder's own) promises:
//!
//! - **Uniqueness and foreign keys are enforced.** A duplicate is `AlreadyExists` naming the
//!   field; a missing parent is `NotFound` naming the parent resource.
//! - **Status changes are compare-and-set** on the expected status (and, for environments, the
//!   version). A lost race is `StaleVersion` (kind `Conflict`), never a blind overwrite.
//! - **A failed call changes nothing.** Each method is atomic.
//! - **Timestamps round-trip exactly** at microsecond precision.
//! - An unreachable database is `Unavailable` within the backend's timeout.
//!
//! The conformance suite (`store_conformance!`, feature `testing`) checks all of this; every
//! backend runs it against its real database.

mod audit;
mod auth;
pub mod cursor;
mod environments;
mod extensions;
mod logs;
mod projects;
mod sessions;
mod ssh_keys;
mod teams;
mod users;

pub use audit::{AuditFilter, AuditStore};
pub use auth::{ApiKeyWithOwner, AuthStore};
pub use environments::{EnvironmentAccessRecord, EnvironmentFilter, EnvironmentsStore};
pub use extensions::ExtensionsStore;
pub use logs::{LogOrder, LogQuery, LogsStore, RetentionPolicy, RetentionReport};
pub use projects::ProjectsStore;
pub use sessions::SessionsStore;
pub use ssh_keys::SshKeysStore;
pub use teams::TeamsStore;
pub use users::UsersStore;

#[cfg(feature = "mock")]
pub use audit::MockAuditStore;
#[cfg(feature = "mock")]
pub use auth::MockAuthStore;
#[cfg(feature = "mock")]
pub use environments::MockEnvironmentsStore;
#[cfg(feature = "mock")]
pub use extensions::MockExtensionsStore;
#[cfg(feature = "mock")]
pub use logs::MockLogsStore;
#[cfg(feature = "mock")]
pub use projects::MockProjectsStore;
#[cfg(feature = "mock")]
pub use sessions::MockSessionsStore;
#[cfg(feature = "mock")]
pub use ssh_keys::MockSshKeysStore;
#[cfg(feature = "mock")]
pub use teams::MockTeamsStore;
#[cfg(feature = "mock")]
pub use users::MockUsersStore;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Health of the backend itself.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait StoreHealth: Send + Sync {
    /// The backend's name (`memory`, `sqlite`, `postgres`).
    fn backend(&self) -> &'static str;

    /// Checks that the database answers. Errors: `Unavailable`.
    async fn ping(&self) -> Result<()>;
}

/// Everything VibeBox persists. Implemented automatically for any type that implements every
/// aggregate trait.
pub trait Store:
    StoreHealth
    + UsersStore
    + TeamsStore
    + ProjectsStore
    + EnvironmentsStore
    + SessionsStore
    + ExtensionsStore
    + LogsStore
    + AuthStore
    + AuditStore
    + SshKeysStore
    + Send
    + Sync
    + std::fmt::Debug
    + 'static
{
}

impl<T> Store for T where
    T: StoreHealth
        + UsersStore
        + TeamsStore
        + ProjectsStore
        + EnvironmentsStore
        + SessionsStore
        + ExtensionsStore
        + LogsStore
        + AuthStore
        + AuditStore
        + SshKeysStore
        + Send
        + Sync
        + std::fmt::Debug
        + 'static
{
}

/// For backends: the result of a write that must touch one row (an update or delete by key).
/// Zero rows means the row does not exist: `NotFound` naming `resource`.
pub fn one_affected(rows_affected: u64, resource: &'static str) -> Result<()> {
    if rows_affected == 0 {
        Err(Error::not_found(resource))
    } else {
        Ok(())
    }
}

/// For backends: the error for a compare-and-set that matched no row. If the row still exists,
/// another writer changed it first (`StaleVersion`); otherwise it is `NotFound` naming
/// `resource`.
pub fn cas_missed(row_exists: bool, resource: &'static str) -> Error {
    if row_exists {
        Error::StaleVersion { resource }
    } else {
        Error::not_found(resource)
    }
}

/// Which page of a list to return. Cursors are opaque strings returned in
/// [`Page::next_cursor`]; a malformed cursor is `InvalidInput` naming `cursor`.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PageRequest {
    /// At most this many items (1–[`PageRequest::MAX_LIMIT`]).
    pub limit: u32,
    /// Continue after the item this cursor names.
    pub cursor: Option<String>,
}

impl PageRequest {
    /// The page size when none is given.
    pub const DEFAULT_LIMIT: u32 = 50;
    /// The largest page a caller may ask for.
    pub const MAX_LIMIT: u32 = 500;

    /// The first page of `limit` items.
    pub fn first(limit: u32) -> Self {
        Self {
            limit,
            cursor: None,
        }
    }

    /// A validated request: `limit` defaults to 50 and must be 1–500.
    pub fn new(limit: Option<u32>, cursor: Option<String>) -> Result<Self> {
        let limit = limit.unwrap_or(Self::DEFAULT_LIMIT);
        if !(1..=Self::MAX_LIMIT).contains(&limit) {
            return Err(Error::invalid("limit", "must be between 1 and 500"));
        }
        Ok(Self { limit, cursor })
    }
}

/// One page of a list.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Page<T> {
    /// The items, in the list's order.
    pub items: Vec<T>,
    /// The cursor for the next page; `None` when this is the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Transforms the items, keeping the cursor.
    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}
