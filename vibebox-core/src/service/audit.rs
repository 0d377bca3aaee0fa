//! Reading the audit log.

use super::Vibebox;
use crate::domain::AuditEvent;
use crate::error::Result;
use crate::id::TeamId;
use crate::rbac::{Action, Actor};
use crate::store::{AuditFilter, Page, PageRequest};

impl Vibebox {
    /// The whole audit log, newest first (platform admins).
    pub async fn list_audit(&self, actor: &Actor, page: &PageRequest) -> Result<Page<AuditEvent>> {
        self.authorize_platform(actor, Action::ReadAuditLog)?;
        self.store().list_audit(&AuditFilter::default(), page).await
    }

    /// A team's audit log, newest first (team admins).
    pub async fn list_team_audit(
        &self,
        actor: &Actor,
        team: TeamId,
        page: &PageRequest,
    ) -> Result<Page<AuditEvent>> {
        self.team_for(actor, team, Action::ReadTeamAudit).await?;
        let filter = AuditFilter {
            team_id: Some(team),
            ..Default::default()
        };
        self.store().list_audit(&filter, page).await
    }
}
