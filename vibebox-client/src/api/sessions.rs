//! `GET/POST /environments/{id}/sessions`, `DELETE /sessions/{id}`.

use hyper::Method;
use serde::Serialize;
use vibebox_core::domain::{Session, SessionType};
use vibebox_core::id::{EnvironmentId, SessionId};

use crate::Client;
use crate::error::Result;
use crate::page::{Page, PageOrList, PageRequest};
use crate::transport::Call;

/// `POST /environments/{id}/sessions`.
#[derive(Clone, Debug, Serialize)]
pub struct NewSession {
    /// What it runs.
    pub session_type: SessionType,
    /// Its name (`^[A-Za-z0-9_-]{1,64}$`), unique per type among live sessions.
    pub session_name: String,
    /// Minutes without activity before it goes idle (default from the server's
    /// configuration).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub idle_timeout_minutes: Option<i64>,
}

impl Client {
    /// `GET /environments/{id}/sessions?include_terminated=&limit=&cursor=`.
    pub async fn list_sessions(
        &self,
        env: EnvironmentId,
        include_terminated: bool,
        page: PageRequest,
    ) -> Result<Page<Session>> {
        let call = page.apply(
            Call::api(Method::GET, format!("/environments/{env}/sessions"))
                .query_opt("include_terminated", include_terminated.then_some(true)),
        );
        let page: PageOrList<Session> = self.transport.json(call).await?;
        Ok(page.into())
    }

    /// `POST /environments/{id}/sessions`: starts a session in a running environment.
    pub async fn create_session(&self, env: EnvironmentId, new: &NewSession) -> Result<Session> {
        let call = Call::api(Method::POST, format!("/environments/{env}/sessions")).json(new)?;
        self.transport.json(call).await
    }

    /// `DELETE /sessions/{id}`: ends a session; returns it, terminated.
    pub async fn terminate_session(&self, id: SessionId) -> Result<Session> {
        self.transport
            .json(Call::api(Method::DELETE, format!("/sessions/{id}")))
            .await
    }
}
