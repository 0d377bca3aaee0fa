use async_trait::async_trait;

use crate::clock::Timestamp;
use crate::domain::{ApiKey, RefreshSession, TokenHash};
use crate::error::Result;
use crate::id::{ApiKeyId, RefreshFamilyId, RefreshSessionId, UserId};

/// An API key with its owner's account state: what authenticating a request with it takes.
#[derive(Clone, Debug, PartialEq)]
pub struct ApiKeyWithOwner {
    /// The key.
    pub key: ApiKey,
    /// Whether the owner's account is disabled.
    pub owner_disabled: bool,
    /// Whether the owner is a platform admin.
    pub owner_is_platform_admin: bool,
}

/// API keys and refresh sessions. Only hashes of secrets are stored.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait AuthStore: Send + Sync {
    /// Errors: `NotFound` (`user`); `AlreadyExists` (`prefix`).
    async fn create_api_key(&self, key: &ApiKey) -> Result<()>;

    /// Finds a key by its public prefix, with its owner's account state as of the same moment
    /// (SQL backends read both in one query).
    async fn find_api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyWithOwner>>;

    /// The user's keys, ordered by id.
    async fn list_api_keys(&self, user: UserId) -> Result<Vec<ApiKey>>;

    /// Errors: `NotFound` (`api_key`) if the key does not exist or belongs to another user.
    async fn delete_api_key(&self, user: UserId, id: ApiKeyId) -> Result<()>;

    /// Records a use of the key.
    async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> Result<()>;

    /// Errors: `NotFound` (`user`); `AlreadyExists` (`token`) if the hash is taken.
    async fn create_refresh_session(&self, session: &RefreshSession) -> Result<()>;

    /// Finds a refresh session by its token's hash, used or not.
    async fn find_refresh_session(&self, hash: &TokenHash) -> Result<Option<RefreshSession>>;

    /// Rotation, atomically: if `old` is neither used nor revoked, marks it used at `at` and
    /// inserts `new`, returning `true`. Otherwise changes nothing and returns `false` (the
    /// caller treats that as a replay).
    ///
    /// Errors: `NotFound` (`refresh_session`).
    async fn rotate_refresh_session(
        &self,
        old: RefreshSessionId,
        new: &RefreshSession,
        at: Timestamp,
    ) -> Result<bool>;

    /// Revokes every session of the family that is not yet revoked; returns how many.
    async fn revoke_refresh_family(&self, family: RefreshFamilyId, at: Timestamp) -> Result<u64>;

    /// Revokes every session of the user that is not yet revoked; returns how many.
    async fn revoke_user_refresh_sessions(&self, user: UserId, at: Timestamp) -> Result<u64>;

    /// The user's current sessions (neither used, revoked nor expired at `now`), ordered by id.
    async fn list_refresh_sessions(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<Vec<RefreshSession>>;
}
