//! How the gateway listens and what it tolerates.

use std::net::SocketAddr;
use std::time::Duration;

use crate::host_key::HostKey;

/// The gateway's settings. [`SshConfig::new`] gives the defaults below; change fields as
/// needed.
#[derive(Clone, Debug)]
pub struct SshConfig {
    /// Where [`SshServer::run`](crate::SshServer::run) listens (VibeBox's server:
    /// `127.0.0.1:2222`).
    pub listen: SocketAddr,
    /// The host key clients pin.
    pub host_key: HostKey,
    /// How long a client has from connecting to a successful login (default 30 s); a half-open
    /// or silent connection is dropped then.
    pub auth_timeout: Duration,
    /// The most connections not yet logged in at once (default 64); more are closed at once,
    /// so a flood of half-open connections cannot starve real users of memory or tasks.
    pub max_unauthenticated: usize,
    /// The most login attempts on one connection (default 6, as OpenSSH's `MaxAuthTries`).
    pub max_auth_attempts: usize,
    /// Every refused login is answered this long after its request (default 1 s), so a
    /// refusal's timing tells nothing about why.
    pub auth_rejection_time: Duration,
    /// The most channels (sessions and tunnels) open at once on one connection (default 64).
    pub max_channels_per_connection: usize,
    /// How often an open connection's grant is checked again (default 2 s); a grant that no
    /// longer holds closes the connection.
    pub grant_check_interval: Duration,
    /// A client silent for this long is sent a keepalive (default 30 s); after three
    /// unanswered ones the connection is dropped.
    pub keepalive_interval: Duration,
    /// The SSH window of each channel, in bytes (default 2 MiB): how much a client may send
    /// ahead before waiting.
    pub window_size: u32,
}

impl SshConfig {
    /// The defaults, listening on `listen` with `host_key`.
    pub fn new(listen: SocketAddr, host_key: HostKey) -> Self {
        Self {
            listen,
            host_key,
            auth_timeout: Duration::from_secs(30),
            max_unauthenticated: 64,
            max_auth_attempts: 6,
            auth_rejection_time: Duration::from_secs(1),
            max_channels_per_connection: 64,
            grant_check_interval: Duration::from_secs(2),
            keepalive_interval: Duration::from_secs(30),
            window_size: 2 * 1024 * 1024,
        }
    }

    /// The russh server configuration these settings make.
    pub(crate) fn russh(&self) -> russh::server::Config {
        use russh::{MethodKind, MethodSet, SshId};
        russh::server::Config {
            server_id: SshId::Standard(
                concat!("SSH-2.0-VibeBox_", env!("CARGO_PKG_VERSION")).into(),
            ),
            methods: MethodSet::from(&[MethodKind::PublicKey][..]),
            auth_rejection_time: self.auth_rejection_time,
            // OpenSSH first asks with `none` to learn the methods: that answer is the same for
            // everyone, so it need not wait.
            auth_rejection_time_initial: Some(Duration::ZERO),
            keys: vec![self.host_key.private_key().clone()],
            max_auth_attempts: self.max_auth_attempts,
            // The gateway's own timers cut silent or stuck connections; an idle interactive
            // shell is a normal thing to keep open.
            inactivity_timeout: None,
            keepalive_interval: Some(self.keepalive_interval),
            keepalive_max: 3,
            window_size: self.window_size,
            nodelay: true,
            ..Default::default()
        }
    }
}
