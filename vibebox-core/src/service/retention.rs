//! Log retention and cleanup of old terminated sessions.

use tracing::instrument;

use super::Vibebox;
use crate::error::Result;
use crate::store::{RetentionPolicy, RetentionReport};

/// Terminated sessions are kept this long for the record.
const TERMINATED_SESSION_KEEP: chrono::TimeDelta = chrono::TimeDelta::days(1);

impl Vibebox {
    /// One retention pass: deletes logs older than the configured age, then the oldest lines of
    /// environments over the configured size, in batches; and purges old terminated sessions.
    #[instrument(skip_all)]
    pub async fn apply_retention(&self) -> Result<RetentionReport> {
        let now = self.now();
        let max_age = chrono::TimeDelta::from_std(self.config().log_max_age)
            .unwrap_or(chrono::TimeDelta::MAX);
        let report = self
            .store()
            .apply_log_retention(&RetentionPolicy {
                older_than: now - max_age,
                max_bytes_per_environment: self.config().log_max_bytes_per_environment,
                batch_size: 5000,
            })
            .await?;
        self.store()
            .purge_terminated_sessions(now - TERMINATED_SESSION_KEEP)
            .await?;
        if report.deleted_by_age + report.deleted_by_size > 0 {
            tracing::info!(
                by_age = report.deleted_by_age,
                by_size = report.deleted_by_size,
                "log retention"
            );
        }
        Ok(report)
    }
}
