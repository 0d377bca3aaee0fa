//! Refresh tokens (rotating, with reuse detection) and API keys.

use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde_json::json;
use tracing::instrument;

use super::{AuditRecord, Vibebox};
use crate::clock::Timestamp;
use crate::domain::{ApiKey, RefreshSession, Scope, TokenHash, User};
use crate::error::{Error, Result};
use crate::id::{ApiKeyId, RefreshFamilyId, RefreshSessionId, UserId};
use crate::rbac::{Action, Actor, UserActor};
use crate::store::cursor::page_by_id;
use crate::store::{Page, PageRequest};
use crate::tokens;
use crate::validate;

/// Where a request came from, recorded with sign-ins.
#[derive(Clone, Debug, Default)]
pub struct ClientInfo {
    /// The user agent.
    pub user_agent: Option<String>,
    /// The IP address.
    pub ip: Option<String>,
}

/// A refresh token just issued. The token is shown to the client once; only its hash is kept.
#[derive(Debug)]
pub struct IssuedRefreshToken {
    /// The stored session.
    pub session: RefreshSession,
    /// The opaque token.
    pub token: SecretString,
}

/// A new API key.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
pub struct NewApiKey {
    /// A label (1–100 characters).
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: String,
    /// What the key may do (at least one scope).
    #[cfg_attr(feature = "openapi", schema(min_items = 1))]
    pub scopes: Vec<Scope>,
    /// When it expires (default: the configured default lifetime; at most the maximum).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>, format = DateTime))]
    pub expires_at: Option<Timestamp>,
}

/// An API key just created. `token` is shown once.
#[derive(Debug)]
pub struct CreatedApiKey {
    /// The stored key.
    pub key: ApiKey,
    /// The whole key (`vbx_…`).
    pub token: SecretString,
}

/// What every token of one sign-in shares.
struct RefreshFamily {
    user_id: UserId,
    family_id: RefreshFamilyId,
    expires_at: Timestamp,
}

impl RefreshFamily {
    fn of(session: &RefreshSession) -> Self {
        Self {
            user_id: session.user_id,
            family_id: session.family_id,
            expires_at: session.expires_at,
        }
    }

    /// A new, unused token of this family.
    fn session(&self, token_hash: TokenHash, client: ClientInfo, now: Timestamp) -> RefreshSession {
        RefreshSession {
            id: RefreshSessionId::new(),
            user_id: self.user_id,
            family_id: self.family_id,
            token_hash,
            expires_at: self.expires_at,
            used_at: None,
            revoked_at: None,
            user_agent: clip(client.user_agent, 512),
            ip: clip(client.ip, 64),
            created_at: now,
            updated_at: now,
        }
    }
}

fn duration(d: Duration) -> chrono::TimeDelta {
    chrono::TimeDelta::from_std(d).unwrap_or(chrono::TimeDelta::MAX)
}

fn clip(s: Option<String>, max: usize) -> Option<String> {
    s.map(|s| s.chars().filter(|c| !c.is_control()).take(max).collect())
}

impl Vibebox {
    /// Issues the first refresh token of a new sign-in (a new token family) with an absolute
    /// expiry of the configured lifetime (7 days by default).
    #[instrument(skip_all, fields(user.id = %user))]
    pub async fn issue_refresh_token(
        &self,
        user: UserId,
        client: ClientInfo,
    ) -> Result<IssuedRefreshToken> {
        let now = self.now();
        let (token, token_hash) = tokens::generate_refresh_token()?;
        let family = RefreshFamily {
            user_id: user,
            family_id: RefreshFamilyId::new(),
            expires_at: now + duration(self.config().refresh_token_ttl),
        };
        let session = family.session(token_hash, client, now);
        self.store().create_refresh_session(&session).await?;
        Ok(IssuedRefreshToken { session, token })
    }

    /// Rotates a refresh token: the presented token is used up and a new one of the same
    /// family (with the same absolute expiry) is returned. Presenting a token that was already
    /// used revokes the whole family and is recorded in the audit log.
    ///
    /// Errors: `Unauthenticated` for an unknown, used, revoked or expired token, or a
    /// disabled user.
    #[instrument(skip_all)]
    pub async fn rotate_refresh_token(
        &self,
        token: &SecretString,
        client: ClientInfo,
    ) -> Result<(User, IssuedRefreshToken)> {
        let now = self.now();
        let hash = tokens::hash_token(token.expose_secret());
        let Some(old) = self.store().find_refresh_session(&hash).await? else {
            return Err(Error::Unauthenticated);
        };
        if old.used_at.is_some() {
            return Err(self.refresh_reuse(&old, now).await);
        }
        if old.revoked_at.is_some() || old.expires_at <= now {
            return Err(Error::Unauthenticated);
        }
        let user = self.store().get_user(old.user_id).await?;
        if user.disabled {
            return Err(Error::Unauthenticated);
        }
        let (new_token, new_hash) = tokens::generate_refresh_token()?;
        let session = RefreshFamily::of(&old).session(new_hash, client, now);
        if !self
            .store()
            .rotate_refresh_session(old.id, &session, now)
            .await?
        {
            return Err(self.refresh_reuse(&old, now).await);
        }
        Ok((
            user,
            IssuedRefreshToken {
                session,
                token: new_token,
            },
        ))
    }

    async fn refresh_reuse(&self, old: &RefreshSession, now: Timestamp) -> Error {
        match self.store().revoke_refresh_family(old.family_id, now).await {
            Ok(n) => {
                tracing::warn!(user.id = %old.user_id, revoked = n, "refresh token reused; family revoked")
            }
            Err(e) => tracing::error!(error = %e, "failed to revoke a reused refresh token family"),
        }
        self.audit(
            &Actor::System,
            AuditRecord::new("auth.refresh_reuse", "user", old.user_id)
                .details(json!({ "family_id": old.family_id })),
        )
        .await;
        Error::Unauthenticated
    }

    /// Signs out: revokes the presented token's whole family. Unknown tokens are ignored.
    #[instrument(skip_all)]
    pub async fn revoke_refresh_token(&self, token: &SecretString) -> Result<()> {
        let hash = tokens::hash_token(token.expose_secret());
        if let Some(session) = self.store().find_refresh_session(&hash).await? {
            self.store()
                .revoke_refresh_family(session.family_id, self.now())
                .await?;
            self.audit(
                &Actor::System,
                AuditRecord::new("auth.logout", "user", session.user_id),
            )
            .await;
        }
        Ok(())
    }

    /// One page of the actor's signed-in devices (current refresh tokens), ordered by id. The
    /// page is cut from the whole list of current sign-ins, each of which lives at most the
    /// refresh lifetime. A device's id changes when its token is rotated, so a walk that spans
    /// that device's refresh may miss it or meet it twice.
    ///
    /// Errors: `InvalidInput` (`cursor`); `PermissionDenied`; `Unauthenticated`.
    #[instrument(skip_all)]
    pub async fn list_devices(
        &self,
        actor: &Actor,
        page: &PageRequest,
    ) -> Result<Page<RefreshSession>> {
        self.authorize_platform(actor, Action::ReadOwnAccount)?;
        let user = actor.user_id().ok_or(Error::Unauthenticated)?;
        let devices = self.store().list_refresh_sessions(user, self.now()).await?;
        page_by_id(devices, |d| d.id.0, page, false)
    }

    /// Signs a device out (revokes the family of the given current token).
    ///
    /// Errors: `NotFound` (`session`) if it is not one of the actor's current devices.
    pub async fn revoke_device(&self, actor: &Actor, id: RefreshSessionId) -> Result<()> {
        self.authorize_platform(actor, Action::ManageOwnAccount)?;
        let user = actor.user_id().ok_or(Error::Unauthenticated)?;
        let now = self.now();
        let device = self
            .store()
            .list_refresh_sessions(user, now)
            .await?
            .into_iter()
            .find(|s| s.id == id)
            .ok_or_else(|| Error::not_found("session"))?;
        self.store()
            .revoke_refresh_family(device.family_id, now)
            .await?;
        self.audit(actor, AuditRecord::new("auth.device_revoke", "user", user))
            .await;
        Ok(())
    }

    /// Creates an API key for the actor. The key's scopes can only narrow what the user may do;
    /// the `admin` scope needs a platform admin.
    ///
    /// Errors: `InvalidInput` naming `name`, `scopes` or `expires_at`.
    #[instrument(skip_all)]
    pub async fn create_api_key(&self, actor: &Actor, new: NewApiKey) -> Result<CreatedApiKey> {
        self.authorize_platform(actor, Action::ManageOwnAccount)?;
        let user = actor.user().ok_or(Error::Unauthenticated)?;
        let name = validate::name("name", &new.name)?;
        let mut scopes = new.scopes;
        scopes.sort();
        scopes.dedup();
        if scopes.is_empty() {
            return Err(Error::invalid("scopes", "must name at least one scope"));
        }
        if scopes.contains(&Scope::Admin) && !user.is_platform_admin {
            return Err(Error::invalid(
                "scopes",
                "the admin scope needs a platform admin",
            ));
        }
        if let Actor::ApiKey { scopes: own, .. } = actor
            && scopes.iter().any(|s| !own.contains(s))
        {
            return Err(Error::invalid(
                "scopes",
                "a key cannot grant scopes it lacks",
            ));
        }
        let now = self.now();
        let expires_at = new
            .expires_at
            .unwrap_or(now + duration(self.config().api_key_default_ttl));
        if expires_at <= now {
            return Err(Error::invalid("expires_at", "must be in the future"));
        }
        if expires_at > now + duration(self.config().api_key_max_ttl) {
            return Err(Error::invalid(
                "expires_at",
                "is further away than keys may live",
            ));
        }
        let generated = tokens::generate_api_key()?;
        let key = ApiKey {
            id: ApiKeyId::new(),
            user_id: user.id,
            name,
            prefix: generated.prefix,
            secret_hash: generated.secret_hash,
            scopes,
            expires_at,
            last_used_at: None,
            created_at: now,
            updated_at: now,
        };
        self.store().create_api_key(&key).await?;
        self.audit(
            actor,
            AuditRecord::new("api_key.create", "api_key", key.id)
                .details(json!({ "prefix": key.prefix, "scopes": key.scopes })),
        )
        .await;
        Ok(CreatedApiKey {
            key,
            token: generated.token,
        })
    }

    /// One page of the actor's API keys, ordered by id (creation order). The page is cut from
    /// the user's whole list of keys.
    ///
    /// Errors: `InvalidInput` (`cursor`); `PermissionDenied`; `Unauthenticated`.
    #[instrument(skip_all)]
    pub async fn list_api_keys(&self, actor: &Actor, page: &PageRequest) -> Result<Page<ApiKey>> {
        self.authorize_platform(actor, Action::ReadOwnAccount)?;
        let user = actor.user_id().ok_or(Error::Unauthenticated)?;
        let keys = self.store().list_api_keys(user).await?;
        page_by_id(keys, |k| k.id.0, page, false)
    }

    /// Deletes one of the actor's API keys. Errors: `NotFound` (`api_key`).
    pub async fn delete_api_key(&self, actor: &Actor, id: ApiKeyId) -> Result<()> {
        self.authorize_platform(actor, Action::ManageOwnAccount)?;
        let user = actor.user_id().ok_or(Error::Unauthenticated)?;
        self.store().delete_api_key(user, id).await?;
        self.audit(actor, AuditRecord::new("api_key.delete", "api_key", id))
            .await;
        Ok(())
    }

    /// Whether `user`'s API key `key` still exists and has not expired: for a long-lived
    /// connection opened with the key, which re-checks it now and then (a deletion made by
    /// another replica reaches it this way).
    pub async fn api_key_is_valid(&self, user: UserId, key: ApiKeyId) -> Result<bool> {
        let keys = self.store().list_api_keys(user).await?;
        let now = self.clock().now();
        Ok(keys.iter().any(|k| k.id == key && k.expires_at > now))
    }

    /// Turns a presented API key into an actor. The secret is compared by hash in constant
    /// time; expired keys and keys of disabled users are refused.
    ///
    /// Errors: `Unauthenticated`.
    pub async fn authenticate_api_key(&self, token: &SecretString) -> Result<Actor> {
        let (prefix, secret) =
            tokens::parse_api_key(token.expose_secret()).ok_or(Error::Unauthenticated)?;
        let Some(found) = self.store().find_api_key_by_prefix(prefix).await? else {
            return Err(Error::Unauthenticated);
        };
        let key = found.key;
        let now = self.now();
        if !tokens::hash_token(secret).ct_eq(&key.secret_hash)
            || key.expires_at <= now
            || found.owner_disabled
        {
            return Err(Error::Unauthenticated);
        }
        let user = UserActor {
            id: key.user_id,
            is_platform_admin: found.owner_is_platform_admin,
        };
        let stale = key
            .last_used_at
            .is_none_or(|t| now - t > chrono::TimeDelta::minutes(1));
        if stale {
            self.store().touch_api_key(key.id, now).await?;
        }
        Ok(Actor::ApiKey {
            user,
            key_id: key.id,
            scopes: key.scopes,
        })
    }
}
