//! Registration, sign-in, profiles and platform user management.

use secrecy::SecretString;
use serde::Deserialize;
use serde_json::json;
use tracing::instrument;

use super::auth::ClientInfo;
use super::{AuditRecord, Patch, Vibebox};
use crate::domain::{OAuthIdentity, User};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{OAuthIdentityId, UserId};
use crate::rbac::{Action, Actor, UserActor};
use crate::store::{Page, PageRequest};
use crate::validate;

/// A new account.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Deserialize)]
pub struct Registration {
    /// The email address (stored lowercase).
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub email: String,
    /// The password (8–1024 characters).
    #[cfg_attr(feature = "openapi", schema(value_type = String, format = Password, write_only))]
    pub password: SecretString,
    /// The name shown to others.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub display_name: String,
}

/// What an OAuth provider says about the person signing in.
#[derive(Clone, Debug)]
pub struct OAuthProfile {
    /// The provider (`github`, `google`).
    pub provider: String,
    /// The provider's stable id for the person.
    pub subject: String,
    /// A verified email, used only for a new account.
    pub email: Option<String>,
    /// A display name, used only for a new account.
    pub display_name: Option<String>,
}

/// What platform admins change about an account (`PATCH /users/{id}`).
#[derive(Clone, Debug, Default, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct UserAdminPatch {
    /// Disable or re-enable the account; disabling ends its sign-ins at once.
    #[serde(default)]
    pub disabled: Option<bool>,
    /// Grant or withdraw platform admin rights.
    #[serde(default)]
    pub is_platform_admin: Option<bool>,
}

/// Changes to one's own profile.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, Deserialize)]
pub struct ProfilePatch {
    /// A new display name.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub display_name: Option<String>,
    /// A new SSH public key, or `null` to remove it.
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub ssh_public_key: Patch<String>,
    /// New notification settings (a JSON object).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<Object>))]
    pub notification_settings: Option<serde_json::Value>,
}

impl Vibebox {
    /// Registers a user with a password. The first user becomes a platform admin unless
    /// configured otherwise.
    ///
    /// Errors: `InvalidInput` naming the field; `AlreadyExists` (`email`).
    #[instrument(skip_all)]
    pub async fn register(&self, registration: Registration) -> Result<User> {
        let email = validate::email(&registration.email)?;
        validate::password(&registration.password)?;
        let display_name = validate::display_name(&registration.display_name)?;
        let password_hash = self.hasher().hash(&registration.password).await?;
        let user = self
            .new_user(email, Some(password_hash), display_name)
            .await?;
        self.store().create_user(&user, None).await?;
        self.audit(
            &Actor::User(UserActor {
                id: user.id,
                is_platform_admin: user.is_platform_admin,
            }),
            AuditRecord::new("user.register", "user", user.id),
        )
        .await;
        tracing::info!(user.id = %user.id, "user registered");
        Ok(user)
    }

    /// Registers a user the way a public sign-up must: the answer never reveals whether the
    /// email already has an account. A taken email is not an error (it is logged, and the
    /// existing account is left as it was); both paths hash the password, so they also take
    /// the same time. The new account then signs in.
    ///
    /// Errors: `InvalidInput` naming the field (the rules do not depend on stored data).
    pub async fn sign_up(&self, registration: Registration) -> Result<()> {
        match self.register(registration).await {
            Ok(_) => Ok(()),
            Err(e) if e.kind() == ErrorKind::AlreadyExists => {
                tracing::info!("sign-up for an email that already has an account");
                Ok(())
            }
            Err(e) => Err(e),
        }
    }

    async fn new_user(
        &self,
        email: String,
        password_hash: Option<crate::domain::PasswordHash>,
        display_name: String,
    ) -> Result<User> {
        let now = self.now();
        let is_platform_admin =
            self.config().first_user_is_platform_admin && self.store().count_users().await? == 0;
        Ok(User {
            id: UserId::new(),
            email,
            password_hash,
            display_name,
            ssh_public_key: None,
            notification_settings: json!({}),
            is_platform_admin,
            disabled: false,
            last_login_at: None,
            created_at: now,
            updated_at: now,
        })
    }

    /// Signs in with email and password, with the caller's address unknown. See
    /// [`login_from`](Self::login_from).
    pub async fn login(&self, email: &str, password: &SecretString) -> Result<User> {
        self.login_from(email, password, &ClientInfo::default())
            .await
    }

    /// Signs in with email and password from the given client. Unknown emails, wrong passwords
    /// and disabled accounts all fail the same way and take the same time. Attempts are
    /// throttled ([`crate::throttle`]): per address and account with backoff, per address, and
    /// per account (at most `Config::login_throttle.account_failures_per_hour` failures an hour
    /// from addresses the owner never signed in from).
    ///
    /// Errors: `Unauthenticated`; `RateLimited` with the time to wait.
    #[instrument(skip_all)]
    pub async fn login_from(
        &self,
        email: &str,
        password: &SecretString,
        client: &ClientInfo,
    ) -> Result<User> {
        let address = client.ip.as_deref();
        if let Some(retry_after) = self.inner.login_throttle.check(email, address, self.now()) {
            tracing::info!(retry_after_s = retry_after.as_secs(), "sign-in throttled");
            return Err(Error::RateLimited { retry_after });
        }
        let result = self.verify_login(email, password).await;
        match &result {
            Ok(_) => self.inner.login_throttle.succeeded(email, address),
            Err(Error::Unauthenticated) => {
                self.inner.login_throttle.failed(email, address, self.now())
            }
            Err(_) => {}
        }
        result
    }

    async fn verify_login(&self, email: &str, password: &SecretString) -> Result<User> {
        let user = match validate::email(email) {
            Ok(email) => self.store().find_user_by_email(&email).await?,
            Err(_) => None,
        };
        let hash = user.as_ref().and_then(|u| u.password_hash.as_ref());
        let verified = self.hasher().verify(password, hash).await;
        let Some(mut user) = user.filter(|u| verified && !u.disabled) else {
            self.audit(
                &Actor::System,
                AuditRecord::new("auth.login_failed", "user", "unknown"),
            )
            .await;
            return Err(Error::Unauthenticated);
        };
        let now = self.now();
        user.last_login_at = Some(now);
        user.updated_at = now;
        if let Some(hash) = &user.password_hash
            && self.hasher().needs_rehash(hash)
        {
            user.password_hash = Some(self.hasher().hash(password).await?);
        }
        self.store().update_user(&user).await?;
        self.audit(
            &self.actor_for(&user),
            AuditRecord::new("auth.login", "user", user.id),
        )
        .await;
        Ok(user)
    }

    /// Signs in with an OAuth identity, creating the account on first sign-in. Users are found
    /// by (provider, subject), never by email: an email that already belongs to another account
    /// is refused rather than linked.
    ///
    /// Errors: `Unauthenticated` for a disabled account; `AlreadyExists` (`email`);
    /// `InvalidInput`.
    #[instrument(skip_all, fields(provider = %profile.provider))]
    pub async fn oauth_login(&self, profile: OAuthProfile) -> Result<User> {
        validate::oauth_provider(&profile.provider)?;
        validate::oauth_subject(&profile.subject)?;
        if let Some(identity) = self
            .store()
            .find_oauth_identity(&profile.provider, &profile.subject)
            .await?
        {
            let mut user = self.store().get_user(identity.user_id).await?;
            if user.disabled {
                return Err(Error::Unauthenticated);
            }
            let now = self.now();
            user.last_login_at = Some(now);
            user.updated_at = now;
            self.store().update_user(&user).await?;
            self.audit(
                &self.actor_for(&user),
                AuditRecord::new("auth.login", "user", user.id)
                    .details(json!({ "provider": profile.provider })),
            )
            .await;
            return Ok(user);
        }
        let email = validate::email(profile.email.as_deref().unwrap_or_default())?;
        let display_name = validate::display_name(
            profile
                .display_name
                .as_deref()
                .filter(|n| !n.trim().is_empty())
                .unwrap_or(email.split('@').next().unwrap_or("user")),
        )?;
        let mut user = self.new_user(email, None, display_name).await?;
        user.last_login_at = Some(user.created_at);
        let identity = OAuthIdentity {
            id: OAuthIdentityId::new(),
            user_id: user.id,
            provider: profile.provider.clone(),
            subject: profile.subject,
            created_at: user.created_at,
            updated_at: user.created_at,
        };
        self.store().create_user(&user, Some(identity)).await?;
        self.audit(
            &self.actor_for(&user),
            AuditRecord::new("user.register", "user", user.id)
                .details(json!({ "provider": profile.provider })),
        )
        .await;
        Ok(user)
    }

    /// The actor for a signed-in user, checking that the account still exists and is enabled.
    ///
    /// Errors: `Unauthenticated`.
    pub async fn actor_for_user(&self, id: UserId) -> Result<Actor> {
        match self.store().get_user(id).await {
            Ok(user) if !user.disabled => Ok(self.actor_for(&user)),
            Ok(_) => Err(Error::Unauthenticated),
            Err(e) if e.kind() == ErrorKind::NotFound => Err(Error::Unauthenticated),
            Err(e) => Err(e),
        }
    }

    pub(crate) fn actor_for(&self, user: &User) -> Actor {
        Actor::User(UserActor {
            id: user.id,
            is_platform_admin: user.is_platform_admin,
        })
    }

    fn require_user(actor: &Actor) -> Result<UserId> {
        actor.user_id().ok_or(Error::Unauthenticated)
    }

    /// The actor's own profile.
    pub async fn me(&self, actor: &Actor) -> Result<User> {
        self.authorize_platform(actor, Action::ReadOwnAccount)?;
        self.store().get_user(Self::require_user(actor)?).await
    }

    /// Updates the actor's own profile. Setting `ssh_public_key` also registers it as the SSH
    /// key named `profile` (replacing the previous one); clearing it removes that key.
    ///
    /// Errors: `InvalidInput` naming the field; `AlreadyExists` (`ssh_public_key`) when another
    /// user has registered the key; `QuotaExceeded` when the user has the most SSH keys.
    #[instrument(skip_all)]
    pub async fn update_profile(&self, actor: &Actor, patch: ProfilePatch) -> Result<User> {
        self.authorize_platform(actor, Action::ManageOwnAccount)?;
        let mut user = self.store().get_user(Self::require_user(actor)?).await?;
        if let Some(name) = patch.display_name {
            user.display_name = validate::display_name(&name)?;
        }
        // The profile's key is also the SSH key named `profile` (see `ssh_keys`).
        let profile_key = match patch.ssh_public_key {
            Patch::Set(key) => {
                let key = validate::ssh_public_key(&key)?;
                let line = crate::ssh::PublicKeyLine::parse(&key)?;
                user.ssh_public_key = Some(key);
                Some(Some(line))
            }
            Patch::Clear => {
                user.ssh_public_key = None;
                Some(None)
            }
            Patch::Keep => None,
        };
        if let Some(settings) = patch.notification_settings {
            validate::notification_settings(&settings)?;
            user.notification_settings = settings;
        }
        if let Some(Some(line)) = &profile_key {
            self.check_profile_ssh_key(user.id, line).await?;
        }
        user.updated_at = self.now();
        self.store().update_user(&user).await?;
        if let Some(line) = &profile_key {
            self.sync_profile_ssh_key(actor, user.id, line.as_ref())
                .await?;
        }
        self.audit(actor, AuditRecord::new("user.update", "user", user.id))
            .await;
        Ok(user)
    }

    /// Changes the actor's password after checking the current one, and signs out every device.
    ///
    /// Errors: `Unauthenticated` if `current` is wrong; `InvalidInput` (`password`).
    #[instrument(skip_all)]
    pub async fn change_password(
        &self,
        actor: &Actor,
        current: &SecretString,
        new: &SecretString,
    ) -> Result<()> {
        self.authorize_platform(actor, Action::ManageOwnAccount)?;
        let mut user = self.store().get_user(Self::require_user(actor)?).await?;
        if !self
            .hasher()
            .verify(current, user.password_hash.as_ref())
            .await
        {
            return Err(Error::Unauthenticated);
        }
        validate::password(new)?;
        user.password_hash = Some(self.hasher().hash(new).await?);
        let now = self.now();
        user.updated_at = now;
        self.store().update_user(&user).await?;
        self.store()
            .revoke_user_refresh_sessions(user.id, now)
            .await?;
        self.audit(
            actor,
            AuditRecord::new("user.password_change", "user", user.id),
        )
        .await;
        Ok(())
    }

    /// Every user (platform admins).
    pub async fn list_users(&self, actor: &Actor, page: &PageRequest) -> Result<Page<User>> {
        self.authorize_platform(actor, Action::ManageUsers)?;
        self.store().list_users(page).await
    }

    /// Disables or enables a user (platform admins). See [`administer_user`](Self::administer_user).
    ///
    /// Errors: `InvalidInput` (`disabled`) when admins try to disable themselves.
    pub async fn set_user_disabled(
        &self,
        actor: &Actor,
        id: UserId,
        disabled: bool,
    ) -> Result<User> {
        let patch = UserAdminPatch {
            disabled: Some(disabled),
            is_platform_admin: None,
        };
        self.administer_user(actor, id, patch).await
    }

    /// Grants or withdraws platform admin rights (platform admins). See
    /// [`administer_user`](Self::administer_user).
    ///
    /// Errors: `InvalidInput` (`is_platform_admin`) when admins try to demote themselves.
    pub async fn set_platform_admin(&self, actor: &Actor, id: UserId, admin: bool) -> Result<User> {
        let patch = UserAdminPatch {
            disabled: None,
            is_platform_admin: Some(admin),
        };
        self.administer_user(actor, id, patch).await
    }

    /// Changes what platform admins manage about an account, in one write: every field is
    /// checked before anything changes. Disabling revokes every refresh token, announces the
    /// revocation ([`access_revocations`](Self::access_revocations)), and access tokens and API
    /// keys stop working at their next check ([`Vibebox::actor_for_user`],
    /// [`Vibebox::authenticate_api_key`]).
    ///
    /// Errors: `InvalidInput` naming `disabled` (admins cannot disable themselves),
    /// `is_platform_admin` (nor demote themselves), or `disabled` for an empty patch;
    /// `NotFound`; `PermissionDenied` for everyone but platform admins.
    #[instrument(skip_all, fields(user.id = %id))]
    pub async fn administer_user(
        &self,
        actor: &Actor,
        id: UserId,
        patch: UserAdminPatch,
    ) -> Result<User> {
        self.authorize_platform(actor, Action::ManageUsers)?;
        let myself = actor.user_id() == Some(id);
        if patch.disabled.is_none() && patch.is_platform_admin.is_none() {
            return Err(Error::invalid(
                "disabled",
                "give disabled or is_platform_admin",
            ));
        }
        if patch.disabled == Some(true) && myself {
            return Err(Error::invalid("disabled", "you cannot disable yourself"));
        }
        if patch.is_platform_admin == Some(false) && myself {
            return Err(Error::invalid(
                "is_platform_admin",
                "you cannot remove your own admin rights",
            ));
        }
        let mut user = self.store().get_user(id).await?;
        let now = self.now();
        if let Some(disabled) = patch.disabled {
            user.disabled = disabled;
        }
        if let Some(admin) = patch.is_platform_admin {
            user.is_platform_admin = admin;
        }
        user.updated_at = now;
        self.store().update_user(&user).await?;
        if patch.disabled == Some(true) {
            self.store().revoke_user_refresh_sessions(id, now).await?;
            self.announce_revocation(id);
        }
        if let Some(disabled) = patch.disabled {
            let action = if disabled {
                "user.disable"
            } else {
                "user.enable"
            };
            self.audit(actor, AuditRecord::new(action, "user", id))
                .await;
        }
        if let Some(admin) = patch.is_platform_admin {
            self.audit(
                actor,
                AuditRecord::new("user.set_platform_admin", "user", id)
                    .details(json!({ "is_platform_admin": admin })),
            )
            .await;
        }
        Ok(user)
    }
}
