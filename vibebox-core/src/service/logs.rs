//! Reading logs, live events and metrics.

use futures::StreamExt;
use futures::stream::BoxStream;
use tokio::sync::broadcast;

use super::Vibebox;
use crate::clock::Timestamp;
use crate::domain::{LogEntry, LogStream};
use crate::error::{Error, Result};
use crate::events::Event;
use crate::id::EnvironmentId;
use crate::rbac::{Action, Actor};
use crate::runtime::{ContainerId, ContainerStats};
use crate::store::{LogOrder, LogQuery, Page, PageRequest};

/// A log query from a reader.
#[derive(Clone, Debug, Default, serde::Deserialize)]
pub struct LogFilter {
    /// Lines at or after this time.
    #[serde(default)]
    pub since: Option<Timestamp>,
    /// Lines before this time.
    #[serde(default)]
    pub until: Option<Timestamp>,
    /// Only this stream.
    #[serde(default)]
    pub stream: Option<LogStream>,
    /// Newest first instead of oldest first.
    #[serde(default)]
    pub newest_first: bool,
}

impl Vibebox {
    /// Persisted logs of an environment, filtered and paged.
    ///
    /// Errors: `InvalidInput` (`limit`, `cursor`, `since`); `NotFound` (`environment`).
    pub async fn query_logs(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
        filter: LogFilter,
        page: &PageRequest,
    ) -> Result<Page<LogEntry>> {
        self.environment_for(actor, env_id, Action::ReadProject)
            .await?;
        if let (Some(s), Some(u)) = (filter.since, filter.until)
            && s > u
        {
            return Err(Error::invalid("since", "must not be after until"));
        }
        self.store()
            .query_logs(&LogQuery {
                environment_id: env_id,
                since: filter.since,
                until: filter.until,
                stream: filter.stream,
                limit: page.limit,
                cursor: page.cursor.clone(),
                order: if filter.newest_first {
                    LogOrder::NewestFirst
                } else {
                    LogOrder::OldestFirst
                },
            })
            .await
    }

    /// Subscribes to an environment's live events: status changes, log lines, session and
    /// extension changes. A subscriber that falls behind receives `Lagged(n)` and goes on.
    ///
    /// Errors: `NotFound` (`environment`).
    pub async fn subscribe(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
    ) -> Result<broadcast::Receiver<Event>> {
        self.environment_for(actor, env_id, Action::ReadProject)
            .await?;
        Ok(self.events().subscribe(env_id))
    }

    /// Live resource usage of a running or suspended environment, about once a second (a
    /// suspended one uses no CPU and keeps its memory). Watching it is not activity: it
    /// neither resumes a suspended environment nor keeps an idle one awake.
    ///
    /// Errors: `Conflict` if it has no live container; `NotFound` (`environment`).
    pub async fn metrics(
        &self,
        actor: &Actor,
        env_id: EnvironmentId,
    ) -> Result<BoxStream<'static, Result<ContainerStats>>> {
        let access = self
            .environment_for(actor, env_id, Action::ReadProject)
            .await?;
        let env = &access.env;
        let container = match &env.container_id {
            Some(c) if env.status.has_live_container() => ContainerId(c.clone()),
            _ => super::sessions::running_container(env)?,
        };
        Ok(self.runtime().stats(&container).boxed())
    }
}
