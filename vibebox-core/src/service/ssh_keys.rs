//! Users' SSH public keys (issue 17): the keys the SSH gateway signs users in with.
//!
//! - A user has at most `Config::max_ssh_keys_per_user` keys (default 50).
//! - A fingerprint belongs to one user: adding a key another user (or oneself) has is
//!   `AlreadyExists` naming `public_key`, without saying whose it is.
//! - The profile's `ssh_public_key` field counts as the first key: setting it registers the
//!   key under the name `profile` (replacing the previous one), clearing it removes that key,
//!   and removing the `profile` key here clears the field. Profile keys set before SSH keys
//!   existed are not registered until the profile's key is set again (no backfill: SQLite
//!   cannot compute the fingerprint in a migration).

use serde::{Deserialize, Serialize};
use serde_json::json;
use tracing::instrument;

use super::{AuditRecord, Vibebox};
use crate::domain::{PROFILE_SSH_KEY_NAME, SshKey};
use crate::error::{Error, ErrorKind, Result};
use crate::id::{SshKeyId, UserId};
use crate::rbac::{Action, Actor};
use crate::ssh::PublicKeyLine;
use crate::store::{Page, PageRequest};
use crate::validate;

/// A key to register (`POST /users/me/ssh-keys`).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct NewSshKey {
    /// A label, 1–100 characters (`profile` is kept for the profile's key).
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub name: String,
    /// The OpenSSH public key line: `<type> <base64 key> [comment]`.
    #[cfg_attr(feature = "openapi", schema(min_length = 1))]
    pub public_key: String,
}

impl Vibebox {
    /// Registers an SSH public key for the actor. Recorded in the audit log
    /// (`user.ssh_key.add`, with the fingerprint).
    ///
    /// Errors: `InvalidInput` naming `name` or `public_key` (see
    /// [`PublicKeyLine::parse`]); `AlreadyExists` (`public_key`) when any user has the key;
    /// `QuotaExceeded` beyond `Config::max_ssh_keys_per_user`; `PermissionDenied` for an API
    /// key without `account:write`.
    #[instrument(skip_all)]
    pub async fn add_ssh_key(&self, actor: &Actor, new: NewSshKey) -> Result<SshKey> {
        self.authorize_platform(actor, Action::ManageOwnAccount)?;
        let user = actor.user_id().ok_or(Error::Unauthenticated)?;
        let name = validate::name("name", &new.name)?;
        if name.eq_ignore_ascii_case(PROFILE_SSH_KEY_NAME) {
            return Err(Error::invalid(
                "name",
                "\"profile\" is kept for the key of the profile's ssh_public_key",
            ));
        }
        let line = PublicKeyLine::parse(&new.public_key)?;
        self.check_ssh_key_quota(user, 0).await?;
        let key = self.new_ssh_key(user, name, &line);
        self.store().create_ssh_key(&key).await?;
        self.audit_ssh_key(actor, "user.ssh_key.add", &key).await;
        Ok(key)
    }

    /// One page of the actor's SSH keys, ordered by id (creation order).
    ///
    /// Errors: `InvalidInput` (`cursor`); `PermissionDenied`; `Unauthenticated`.
    #[instrument(skip_all)]
    pub async fn list_ssh_keys(&self, actor: &Actor, page: &PageRequest) -> Result<Page<SshKey>> {
        self.authorize_platform(actor, Action::ReadOwnAccount)?;
        let user = actor.user_id().ok_or(Error::Unauthenticated)?;
        self.store().list_ssh_keys(user, page).await
    }

    /// Removes one of the actor's SSH keys. SSH connections signed in with it end at the
    /// gateway's next [`ssh_grant_valid`](Self::ssh_grant_valid) check. Removing the `profile`
    /// key also clears the profile's `ssh_public_key`. Recorded in the audit log
    /// (`user.ssh_key.remove`, with the fingerprint).
    ///
    /// Errors: `NotFound` (`ssh_key`) for a key that does not exist or is another user's.
    #[instrument(skip_all, fields(ssh_key.id = %id))]
    pub async fn remove_ssh_key(&self, actor: &Actor, id: SshKeyId) -> Result<()> {
        self.authorize_platform(actor, Action::ManageOwnAccount)?;
        let user = actor.user_id().ok_or(Error::Unauthenticated)?;
        let key = self.store().get_ssh_key(user, id).await?;
        self.store().delete_ssh_key(user, id).await?;
        if key.name == PROFILE_SSH_KEY_NAME {
            self.clear_profile_key_field(user, &key).await?;
        }
        self.audit_ssh_key(actor, "user.ssh_key.remove", &key).await;
        Ok(())
    }

    /// Makes the `profile` key match the profile's `ssh_public_key` (already validated and
    /// stored; [`check_profile_ssh_key`](Self::check_profile_ssh_key) ran before): registers
    /// `line` as `profile`, replacing the previous one, or removes it for `None`. A key the
    /// user already registered under another name is not registered twice.
    ///
    /// Errors: `AlreadyExists` naming `ssh_public_key` when another user has the key;
    /// `QuotaExceeded`.
    pub(crate) async fn sync_profile_ssh_key(
        &self,
        actor: &Actor,
        user: UserId,
        line: Option<&PublicKeyLine>,
    ) -> Result<()> {
        let previous = self.profile_ssh_key(user).await?;
        if let Some(line) = line {
            let fingerprint = line.fingerprint();
            match self
                .store()
                .find_ssh_key_by_fingerprint(&fingerprint)
                .await?
            {
                Some(existing) if existing.user_id != user => {
                    return Err(Error::already_exists("ssh_key", "ssh_public_key"));
                }
                // Already registered: as the profile key (nothing to do) or by another name.
                Some(existing) if previous.as_ref().is_some_and(|p| p.id == existing.id) => {
                    return Ok(());
                }
                Some(_) => {}
                None => {
                    let replaced = u64::from(previous.is_some());
                    self.check_ssh_key_quota(user, replaced).await?;
                    let key = self.new_ssh_key(user, PROFILE_SSH_KEY_NAME.to_string(), line);
                    self.store()
                        .create_ssh_key(&key)
                        .await
                        .map_err(|e| match e.kind() {
                            ErrorKind::AlreadyExists => {
                                Error::already_exists("ssh_key", "ssh_public_key")
                            }
                            _ => e,
                        })?;
                    self.audit_ssh_key(actor, "user.ssh_key.add", &key).await;
                }
            }
        }
        if let Some(previous) = previous {
            match self.store().delete_ssh_key(user, previous.id).await {
                Ok(()) => {
                    self.audit_ssh_key(actor, "user.ssh_key.remove", &previous)
                        .await
                }
                Err(e) if e.kind() == ErrorKind::NotFound => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }

    /// Checks, before the profile changes, that `line` can become the user's `profile` key:
    /// no other user has it, and it fits the quota.
    ///
    /// Errors: `AlreadyExists` naming `ssh_public_key`; `QuotaExceeded`.
    pub(crate) async fn check_profile_ssh_key(
        &self,
        user: UserId,
        line: &PublicKeyLine,
    ) -> Result<()> {
        match self
            .store()
            .find_ssh_key_by_fingerprint(&line.fingerprint())
            .await?
        {
            Some(existing) if existing.user_id != user => {
                Err(Error::already_exists("ssh_key", "ssh_public_key"))
            }
            Some(_) => Ok(()),
            None => {
                let replaced = u64::from(self.profile_ssh_key(user).await?.is_some());
                self.check_ssh_key_quota(user, replaced).await
            }
        }
    }

    /// The user's key named `profile`, if any.
    async fn profile_ssh_key(&self, user: UserId) -> Result<Option<SshKey>> {
        let mut page = PageRequest::first(PageRequest::MAX_LIMIT);
        loop {
            let got = self.store().list_ssh_keys(user, &page).await?;
            if let Some(found) = got
                .items
                .into_iter()
                .find(|k| k.name == PROFILE_SSH_KEY_NAME)
            {
                return Ok(Some(found));
            }
            match got.next_cursor {
                Some(cursor) => page.cursor = Some(cursor),
                None => return Ok(None),
            }
        }
    }

    /// Clears the profile field when it still holds the removed `profile` key.
    async fn clear_profile_key_field(&self, user: UserId, removed: &SshKey) -> Result<()> {
        let mut profile = self.store().get_user(user).await?;
        let holds_it = profile
            .ssh_public_key
            .as_deref()
            .and_then(|l| PublicKeyLine::parse(l).ok())
            .is_some_and(|l| l.fingerprint() == removed.fingerprint);
        if holds_it {
            profile.ssh_public_key = None;
            profile.updated_at = self.now();
            self.store().update_user(&profile).await?;
        }
        Ok(())
    }

    /// Refuses a new key when the user has the maximum, not counting `replaced` keys that the
    /// new one replaces.
    async fn check_ssh_key_quota(&self, user: UserId, replaced: u64) -> Result<()> {
        let limit = self.config().max_ssh_keys_per_user;
        let count = self.store().count_ssh_keys(user).await?;
        if count.saturating_sub(replaced) >= limit {
            return Err(Error::QuotaExceeded {
                what: "ssh keys per user",
                limit,
            });
        }
        Ok(())
    }

    fn new_ssh_key(&self, user: UserId, name: String, line: &PublicKeyLine) -> SshKey {
        let now = self.now();
        SshKey {
            id: SshKeyId::new(),
            user_id: user,
            name,
            algorithm: line.algorithm().name().to_string(),
            blob: line.blob_base64(),
            comment: line.comment().map(str::to_string),
            fingerprint: line.fingerprint(),
            last_used_at: None,
            created_at: now,
            updated_at: now,
        }
    }

    async fn audit_ssh_key(&self, actor: &Actor, action: &str, key: &SshKey) {
        self.audit(
            actor,
            AuditRecord::new(action, "ssh_key", key.id).details(json!({
                "fingerprint": key.fingerprint,
                "name": key.name,
                "algorithm": key.algorithm,
            })),
        )
        .await;
    }
}
