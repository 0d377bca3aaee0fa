//! The SSH login rule (issue 17): which key may open which environment over SSH.
//!
//! The gateway verifies that the client holds the private key (the signature of the SSH
//! `publickey` method) and then asks [`Vibebox::authorize_ssh`]. The rule:
//!
//! - The username names the environment: its id, or `<project-slug>.<env-slug>`. Project slugs
//!   are unique per owner only, so only projects the key's user can see count (archived ones
//!   do not); a name that still matches several environments names none.
//! - The key must be registered; its user must be enabled and allowed to exec in the
//!   environment ([`Action::ExecEnvironment`]: the owner, team admins, and team developers on
//!   environments they created; never viewers).
//! - Every refusal is the same `Unauthenticated` error, whether or not the environment exists,
//!   so a stranger learns nothing by probing.
//! - Failures are throttled per key fingerprint and address, per key and per address
//!   (`Config::ssh_login_throttle`, the sign-in throttle's rules with the fingerprint in place of
//!   the email); a throttled attempt is `RateLimited`.
//! - A success records the key's last use and the audit event `environment.ssh_login` (key
//!   fingerprint and peer address); a failure records `auth.ssh_login_failed` and a tracing
//!   line with the reason, never more than the fingerprint, the address and the clipped
//!   username.
//!
//! An open connection stays valid while [`Vibebox::ssh_grant_valid`] says so; the gateway
//! polls it every few seconds, so removing the key, disabling the user or withdrawing their
//! access ends the connection within that time.

use std::net::IpAddr;

use serde_json::json;
use tracing::instrument;

use super::Vibebox;
use crate::domain::{AuditEvent, Environment};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{AuditEventId, EnvironmentId, SshKeyId, TeamId, UserId};
use crate::rbac::{Action, Actor};
use crate::ssh::{PublicKeyLine, SshTarget};

/// One SSH sign-in attempt, after the client proved it holds the private key.
#[derive(Clone, Debug)]
pub struct SshLogin {
    /// The SSH username: an environment id or `<project-slug>.<env-slug>`.
    pub username: String,
    /// The public key the client signed with.
    pub public_key: PublicKeyLine,
    /// The client's address, for throttling and the audit log.
    pub peer: Option<IpAddr>,
}

/// Permission to use one environment over SSH, as [`Vibebox::authorize_ssh`] granted it.
/// Channels act as `actor`, so every exec, terminal and tunnel is checked and audited again.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct SshGrant {
    /// The key's user, as the actor of everything the connection does.
    pub actor: Actor,
    /// The environment, as it was at sign-in.
    pub environment: Environment,
    /// The key signed in with.
    pub key_id: SshKeyId,
    /// The key's fingerprint (`SHA256:…`).
    pub fingerprint: String,
    /// The key's user.
    pub user_id: UserId,
}

/// Why an attempt was refused: for logs and the audit log only, never for the client.
#[derive(Clone, Copy, Debug)]
enum Refusal {
    UnknownKey,
    UnknownUser,
    DisabledUser,
    BadUsername,
    NoSuchEnvironment,
    AmbiguousUsername,
    NotAllowed,
}

impl Refusal {
    fn as_str(self) -> &'static str {
        match self {
            Refusal::UnknownKey => "unknown_key",
            Refusal::UnknownUser => "unknown_user",
            Refusal::DisabledUser => "disabled_user",
            Refusal::BadUsername => "bad_username",
            Refusal::NoSuchEnvironment => "no_such_environment",
            Refusal::AmbiguousUsername => "ambiguous_username",
            Refusal::NotAllowed => "not_allowed",
        }
    }
}

/// A decision: a grant with the team owning the environment's project, or a refusal (with the
/// key's user when the key was known).
type Decision = std::result::Result<(SshGrant, Option<TeamId>), (Refusal, Option<UserId>)>;

/// At most this many characters of a username reach logs and the audit log.
const USERNAME_LOGGED: usize = 64;

/// A username fit for logs: control characters dropped, clipped.
fn clip_username(username: &str) -> String {
    username
        .chars()
        .filter(|c| !c.is_control())
        .take(USERNAME_LOGGED)
        .collect()
}

/// Whether an error means "the actor may not use this environment" rather than a failure.
fn is_refusal(e: &Error) -> bool {
    matches!(e.kind(), ErrorKind::NotFound | ErrorKind::PermissionDenied)
}

impl Vibebox {
    /// Decides an SSH sign-in, by the rules of this file's module docs. Call it only after the
    /// client proved it holds the key's private half.
    ///
    /// Errors: `Unauthenticated` for every refusal (one generic message); `RateLimited` with
    /// the time to wait once failures from this key or address are throttled; `Unavailable`
    /// or `Internal` when the store fails.
    #[instrument(skip_all, fields(ssh.fingerprint = tracing::field::Empty))]
    pub async fn authorize_ssh(&self, login: &SshLogin) -> Result<SshGrant> {
        let fingerprint = login.public_key.fingerprint();
        tracing::Span::current().record("ssh.fingerprint", fingerprint.as_str());
        let peer = login.peer.map(|ip| ip.to_string());
        let throttle = &self.inner.ssh_throttle;
        if let Some(retry_after) = throttle.check(&fingerprint, peer.as_deref(), self.now()) {
            tracing::info!(
                retry_after_s = retry_after.as_secs(),
                peer = peer.as_deref().unwrap_or("unknown"),
                "ssh sign-in throttled"
            );
            return Err(Error::RateLimited { retry_after });
        }
        match self.decide_ssh(login, &fingerprint).await? {
            Ok((grant, team)) => {
                throttle.succeeded(&fingerprint, peer.as_deref());
                self.store().touch_ssh_key(grant.key_id, self.now()).await?;
                self.record_ssh_audit(
                    &grant.actor,
                    "environment.ssh_login",
                    ("environment", grant.environment.id.to_string()),
                    team,
                    json!({
                        "fingerprint": fingerprint,
                        "ssh_key_id": grant.key_id,
                        "peer": peer,
                    }),
                    peer.clone(),
                )
                .await;
                tracing::info!(
                    environment.id = %grant.environment.id,
                    user.id = %grant.user_id,
                    peer = peer.as_deref().unwrap_or("unknown"),
                    "ssh sign-in"
                );
                Ok(grant)
            }
            Err((reason, user)) => {
                throttle.failed(&fingerprint, peer.as_deref(), self.now());
                let username = clip_username(&login.username);
                tracing::info!(
                    reason = reason.as_str(),
                    username = %username,
                    peer = peer.as_deref().unwrap_or("unknown"),
                    "ssh sign-in refused"
                );
                let actor = match user {
                    Some(id) => Actor::User(crate::rbac::UserActor {
                        id,
                        is_platform_admin: false,
                    }),
                    None => Actor::System,
                };
                self.record_ssh_audit(
                    &actor,
                    "auth.ssh_login_failed",
                    ("ssh_key", fingerprint.clone()),
                    None,
                    json!({
                        "reason": reason.as_str(),
                        "username": username,
                        "peer": peer,
                    }),
                    peer.clone(),
                )
                .await;
                Err(Error::Unauthenticated)
            }
        }
    }

    /// Whether a grant still holds: the key is still registered to the user, the user is
    /// still enabled and may still exec in the environment (which still exists). Cheap enough
    /// to poll every few seconds per connection (three store reads).
    ///
    /// Errors: only store failures (`Unavailable`, `Internal`); the caller decides whether a
    /// connection survives a store outage.
    pub async fn ssh_grant_valid(&self, grant: &SshGrant) -> Result<bool> {
        self.ssh_access_holds(
            grant.user_id,
            grant.key_id,
            &grant.fingerprint,
            grant.environment.id,
        )
        .await
    }

    /// [`ssh_grant_valid`](Self::ssh_grant_valid) from the parts of a grant a gateway keeps:
    /// the key's user, the key's id and fingerprint, and the environment.
    #[instrument(skip(self, fingerprint))]
    pub async fn ssh_access_holds(
        &self,
        user_id: UserId,
        key_id: SshKeyId,
        fingerprint: &str,
        environment_id: EnvironmentId,
    ) -> Result<bool> {
        let key = match self.store().get_ssh_key(user_id, key_id).await {
            Ok(key) => key,
            Err(e) if is_refusal(&e) => return Ok(false),
            Err(e) => return Err(e),
        };
        if key.fingerprint != fingerprint {
            return Ok(false);
        }
        let actor = match self.actor_for_user(user_id).await {
            Ok(actor) => actor,
            Err(e) if e.kind() == ErrorKind::Unauthenticated => return Ok(false),
            Err(e) => return Err(e),
        };
        match self
            .environment_for(&actor, environment_id, Action::ExecEnvironment)
            .await
        {
            Ok(_) => Ok(true),
            Err(e) if is_refusal(&e) => Ok(false),
            Err(e) => Err(e),
        }
    }

    /// The decision without side effects. Store failures are errors; refusals are `Ok(Err)`.
    async fn decide_ssh(&self, login: &SshLogin, fingerprint: &str) -> Result<Decision> {
        let Some(key) = self
            .store()
            .find_ssh_key_by_fingerprint(fingerprint)
            .await?
        else {
            return Ok(Err((Refusal::UnknownKey, None)));
        };
        let refuse = |reason| Ok(Err((reason, Some(key.user_id))));
        let user = match self.store().get_user(key.user_id).await {
            Ok(user) => user,
            Err(e) if e.kind() == ErrorKind::NotFound => return refuse(Refusal::UnknownUser),
            Err(e) => return Err(e),
        };
        if user.disabled {
            return refuse(Refusal::DisabledUser);
        }
        let actor = self.actor_for(&user);
        let Some(target) = SshTarget::parse(&login.username) else {
            return refuse(Refusal::BadUsername);
        };
        let id = match target {
            SshTarget::Id(id) => id,
            SshTarget::Slugs {
                project,
                environment,
            } => match self
                .visible_environments(&actor, &project, &environment)
                .await?
            {
                found if found.len() == 1 => found[0],
                found if found.is_empty() => return refuse(Refusal::NoSuchEnvironment),
                _ => return refuse(Refusal::AmbiguousUsername),
            },
        };
        let access = match self
            .environment_for(&actor, id, Action::ExecEnvironment)
            .await
        {
            Ok(access) => access,
            Err(e) if is_refusal(&e) => return refuse(Refusal::NotAllowed),
            Err(e) => return Err(e),
        };
        let team = access.project.owner.team_id();
        let grant = SshGrant {
            actor,
            environment: access.env,
            key_id: key.id,
            fingerprint: key.fingerprint.clone(),
            user_id: key.user_id,
        };
        Ok(Ok((grant, team)))
    }

    /// The environments `<project>.<environment>` names among those `actor` can see, in
    /// projects that are not archived.
    async fn visible_environments(
        &self,
        actor: &Actor,
        project: &str,
        environment: &str,
    ) -> Result<Vec<crate::id::EnvironmentId>> {
        let candidates = self
            .store()
            .find_environments_by_slugs(project, environment)
            .await?;
        let mut visible = Vec::new();
        for env in candidates {
            match self
                .environment_for(actor, env.id, Action::ReadProject)
                .await
            {
                Ok(access) if !access.project.is_archived => visible.push(env.id),
                Ok(_) => {}
                Err(e) if is_refusal(&e) => {}
                Err(e) => return Err(e),
            }
        }
        Ok(visible)
    }

    /// Records an SSH audit event with the peer's address (the shared helper records none).
    async fn record_ssh_audit(
        &self,
        actor: &Actor,
        action: &str,
        (resource_type, resource_id): (&str, String),
        team_id: Option<TeamId>,
        details: serde_json::Value,
        ip: Option<String>,
    ) {
        let event = AuditEvent {
            id: AuditEventId::new(),
            actor: actor.audit_actor(),
            action: action.to_string(),
            resource_type: resource_type.to_string(),
            resource_id,
            team_id,
            details,
            ip,
            at: self.now(),
        };
        if let Err(e) = self.store().record_audit(&event).await {
            tracing::error!(error = %e, action, "failed to record audit event");
        }
    }
}
