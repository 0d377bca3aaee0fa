//! `/ws/projects/{id}/status`: one socket for a list of a project's environments. First a
//! [`ProjectFrame::Snapshot`] of them, then their status and health changes, creations,
//! deletions, and metrics of the running ones (at most one per environment every two
//! seconds). The frames are the server's own type, shared from `vibebox-core`; a frame this
//! client does not know reads as [`ProjectFrame::Unknown`].

use vibebox_core::id::ProjectId;

pub use vibebox_core::service::{ProjectFrame, WatchedEnvironment};

use super::json::JsonSocket;
use crate::Client;
use crate::error::Result;

/// The project status socket: a `Stream` of [`ProjectFrame`]s.
pub type ProjectStatusSocket = JsonSocket<ProjectFrame>;

impl Client {
    /// Opens `/ws/projects/{id}/status`. Errors (before the upgrade): `NotFound` for a
    /// project the caller cannot read.
    pub async fn project_status(&self, project: ProjectId) -> Result<ProjectStatusSocket> {
        let path = format!("/ws/projects/{project}/status");
        let ws = self.connect_ws(&path, &[]).await?;
        Ok(ProjectStatusSocket::new(ws, path))
    }
}
