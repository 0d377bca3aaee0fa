use async_trait::async_trait;

use super::{Page, PageRequest};
use crate::domain::AuditEvent;
use crate::error::Result;
use crate::id::{TeamId, UserId};

/// Which audit events to list.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// Only events about this team's resources.
    pub team_id: Option<TeamId>,
    /// Only events performed by this user (directly or through a key).
    pub actor_user_id: Option<UserId>,
}

/// The append-only audit log.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AuditStore: Send + Sync {
    /// Appends an event.
    async fn record_audit(&self, event: &AuditEvent) -> Result<()>;

    /// Events matching the filter, newest first (by id).
    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>>;
}
