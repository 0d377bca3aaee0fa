//! The accept loop: one task per connection, a cap on connections not yet logged in, and a
//! clean stop on shutdown.

use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;
use vibebox_core::Vibebox;

use crate::config::SshConfig;
use crate::connection;
use crate::error::{Error, Result};
use crate::gatekeeper::Gatekeeper;
use crate::handler::Shared;

/// How long shutdown waits for connections to say goodbye.
const DRAIN: Duration = Duration::from_secs(5);
/// The pause after a failed accept (out of file descriptors, say), so the loop does not spin.
const ACCEPT_BACKOFF: Duration = Duration::from_millis(100);

/// The SSH gateway. Build it with [`SshServer::new`], then [`run`](Self::run) it beside the
/// HTTP router until shutdown.
pub struct SshServer {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for SshServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SshServer")
            .field("listen", &self.shared.config.listen)
            .field("host_key", &self.shared.config.host_key)
            .finish_non_exhaustive()
    }
}

impl SshServer {
    /// A gateway into `vibebox`'s environments, whose logins `gatekeeper` decides.
    pub fn new(vibebox: Arc<Vibebox>, gatekeeper: Arc<dyn Gatekeeper>, config: SshConfig) -> Self {
        Self {
            shared: Arc::new(Shared {
                vibebox,
                gatekeeper,
                config,
            }),
        }
    }

    /// A gateway whose logins follow VibeBox's own rule: users' registered keys, through a
    /// [`ServiceGatekeeper`](crate::ServiceGatekeeper).
    pub fn for_vibebox(vibebox: Arc<Vibebox>, config: SshConfig) -> Self {
        let gatekeeper = Arc::new(crate::ServiceGatekeeper::new(vibebox.clone()));
        Self::new(vibebox, gatekeeper, config)
    }

    /// The host key's fingerprint (`SHA256:…`), for clients to pin.
    pub fn fingerprint(&self) -> String {
        self.shared.config.host_key.fingerprint()
    }

    /// Listens on [`SshConfig::listen`] and serves until `shutdown` is cancelled.
    ///
    /// Errors: `Bind` when the address cannot be had; `Accept` when the listener fails for
    /// good. A connection's own failure (garbage, a dropped client) is logged at debug and
    /// never ends the server.
    pub async fn run(self, shutdown: CancellationToken) -> Result<()> {
        let addr = self.shared.config.listen;
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| Error::Bind { addr, source })?;
        self.run_on(listener, shutdown).await
    }

    /// Serves connections from a listener the caller bound (port 0 in tests, a socket handed
    /// over by systemd) until `shutdown` is cancelled; then disconnects every client with a
    /// reason and waits a few seconds for them.
    pub async fn run_on(self, listener: TcpListener, shutdown: CancellationToken) -> Result<()> {
        let local = listener.local_addr().map_err(Error::Accept)?;
        tracing::info!(
            addr = %local,
            fingerprint = %self.fingerprint(),
            "SSH gateway listening"
        );
        let unauthenticated = Arc::new(Semaphore::new(self.shared.config.max_unauthenticated));
        let connections = TaskTracker::new();
        loop {
            let accepted = tokio::select! {
                () = shutdown.cancelled() => break,
                accepted = listener.accept() => accepted,
            };
            let (tcp, peer) = match accepted {
                Ok(a) => a,
                Err(e) => {
                    tracing::debug!(error = %e, "accepting an SSH connection failed");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            };
            let Ok(permit) = unauthenticated.clone().try_acquire_owned() else {
                tracing::debug!(%peer, "too many SSH connections not logged in; dropping one");
                drop(tcp);
                continue;
            };
            connections.spawn(connection::serve(
                self.shared.clone(),
                tcp,
                peer,
                permit,
                shutdown.clone(),
            ));
        }
        connections.close();
        if tokio::time::timeout(DRAIN, connections.wait())
            .await
            .is_err()
        {
            tracing::debug!("some SSH connections did not close in time");
        }
        tracing::info!("SSH gateway stopped");
        Ok(())
    }
}
