//! The [`Gatekeeper`] on VibeBox's own rule: users' registered SSH keys and
//! [`Vibebox::authorize_ssh`], re-checked with [`Vibebox::ssh_access_holds`].

use std::net::IpAddr;
use std::sync::Arc;

use async_trait::async_trait;
use vibebox_core::Vibebox;
use vibebox_core::error::ErrorKind;
use vibebox_core::id::SshKeyId;
use vibebox_core::rbac::Actor;
use vibebox_core::service::SshLogin;
use vibebox_core::ssh::PublicKeyLine;

use crate::gatekeeper::{Gatekeeper, Grant, PublicKeyInfo, Refusal};

/// Logins decided by the service: the key must be registered to an enabled user who may
/// exec in the environment the username names (owner, team admin, team developer; never a
/// viewer). Failed attempts are throttled per key and per address, and every attempt is an
/// audit event (`environment.ssh_login`, `auth.ssh_login_failed`), by the service.
///
/// While a connection lasts, its grant is checked again against the store: a removed key, a
/// disabled user or a lost role ends it. A store that cannot answer keeps connections open
/// (logged), as a database outage should not cut every shell.
pub struct ServiceGatekeeper {
    vibebox: Arc<Vibebox>,
}

impl ServiceGatekeeper {
    /// The gatekeeper for `vibebox`'s users and environments.
    pub fn new(vibebox: Arc<Vibebox>) -> Self {
        Self { vibebox }
    }
}

impl std::fmt::Debug for ServiceGatekeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServiceGatekeeper").finish_non_exhaustive()
    }
}

#[async_trait]
impl Gatekeeper for ServiceGatekeeper {
    async fn authorize(
        &self,
        username: &str,
        key: &PublicKeyInfo,
        peer: Option<IpAddr>,
    ) -> Result<Grant, Refusal> {
        // The gateway checked the signature; core reads the key the way users register it.
        let public_key = PublicKeyLine::from_blob(&key.blob)
            .map_err(|e| Refusal::new(format!("unsupported key: {e}")))?;
        let login = SshLogin {
            username: username.to_string(),
            public_key,
            peer,
        };
        match self.vibebox.authorize_ssh(&login).await {
            Ok(grant) => Ok(Grant {
                actor: grant.actor,
                environment_id: grant.environment.id,
                key_id: grant.key_id.to_string(),
                fingerprint: grant.fingerprint,
            }),
            Err(e) => match e.kind() {
                // The service logged and audited why.
                ErrorKind::Unauthenticated => Err(Refusal::new("refused by the login rule")),
                ErrorKind::RateLimited => Err(Refusal::new("throttled")),
                _ => {
                    tracing::warn!(error = %e, "the SSH login rule could not be checked");
                    Err(Refusal::new("the login rule could not be checked"))
                }
            },
        }
    }

    async fn still_valid(&self, grant: &Grant) -> bool {
        let Actor::User(user) = &grant.actor else {
            return false;
        };
        let Ok(key_id) = grant.key_id.parse::<SshKeyId>() else {
            return false;
        };
        match self
            .vibebox
            .ssh_access_holds(user.id, key_id, &grant.fingerprint, grant.environment_id)
            .await
        {
            Ok(holds) => holds,
            Err(e) => {
                tracing::warn!(
                    error = %e,
                    environment.id = %grant.environment_id,
                    "could not check an SSH connection's access; keeping it open"
                );
                true
            }
        }
    }
}
