//! `GET /audit` (platform admins) and `GET /teams/{id}/audit` (team admins).

use hyper::Method;
use vibebox_core::domain::AuditEvent;
use vibebox_core::id::TeamId;

use crate::Client;
use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::transport::Call;

impl Client {
    /// `GET /audit`: the platform's audit events, newest first (platform admins).
    pub async fn list_audit(&self, page: PageRequest) -> Result<Page<AuditEvent>> {
        let call = page.apply(Call::api(Method::GET, "/audit"));
        self.transport.json(call).await
    }

    /// `GET /teams/{id}/audit`: the team's audit events, newest first (team admins).
    pub async fn list_team_audit(
        &self,
        team: TeamId,
        page: PageRequest,
    ) -> Result<Page<AuditEvent>> {
        let call = page.apply(Call::api(Method::GET, format!("/teams/{team}/audit")));
        self.transport.json(call).await
    }
}
