use async_trait::async_trait;

use super::{MemoryStore, paginate};
use crate::domain::AuditEvent;
use crate::error::{Error, Result};
use crate::store::{AuditFilter, AuditStore, Page, PageRequest};

#[async_trait]
impl AuditStore for MemoryStore {
    async fn record_audit(&self, event: &AuditEvent) -> Result<()> {
        self.with(|s| {
            if s.audit.contains_key(&event.id) {
                return Err(Error::already_exists("audit_event", "id"));
            }
            s.audit.insert(event.id, event.clone());
            Ok(())
        })
    }

    async fn list_audit(
        &self,
        filter: &AuditFilter,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        self.with(|s| {
            let events = s
                .audit
                .values()
                .filter(|e| {
                    filter.team_id.is_none_or(|t| e.team_id == Some(t))
                        && filter
                            .actor_user_id
                            .is_none_or(|u| e.actor.user_id() == Some(u))
                })
                .cloned()
                .collect();
            paginate(events, |e| e.id.0, page, true)
        })
    }
}
