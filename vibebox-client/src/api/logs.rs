//! `GET /environments/{id}/logs`: stored log lines (the live form is
//! [`Client::logs_socket`](crate::Client::logs_socket)).

use hyper::Method;
use vibebox_core::clock::Timestamp;
use vibebox_core::domain::{LogEntry, LogStream};
use vibebox_core::id::EnvironmentId;

use crate::Client;
use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::transport::Call;

/// `?since=&until=&stream=` of a log query.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct LogQuery {
    /// Lines at or after this time.
    pub since: Option<Timestamp>,
    /// Lines before this time.
    pub until: Option<Timestamp>,
    /// Only stdout or stderr.
    pub stream: Option<LogStream>,
}

impl Client {
    /// `GET /environments/{id}/logs`: stored lines, oldest first.
    pub async fn query_logs(
        &self,
        env: EnvironmentId,
        query: &LogQuery,
        page: PageRequest,
    ) -> Result<Page<LogEntry>> {
        let stream = query.stream.map(|s| match s {
            LogStream::Stdout => "stdout",
            LogStream::Stderr => "stderr",
        });
        let call = page.apply(
            Call::api(Method::GET, format!("/environments/{env}/logs"))
                .query_opt("since", query.since.map(|t| t.to_rfc3339()))
                .query_opt("until", query.until.map(|t| t.to_rfc3339()))
                .query_opt("stream", stream),
        );
        self.transport.json(call).await
    }
}
