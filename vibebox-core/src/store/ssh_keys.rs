use async_trait::async_trait;

use super::{Page, PageRequest};
use crate::clock::Timestamp;
use crate::domain::SshKey;
use crate::error::Result;
use crate::id::{SshKeyId, UserId};

/// Users' SSH public keys. A fingerprint is unique across all users.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait SshKeysStore: Send + Sync {
    /// Stores a new key.
    ///
    /// Errors: `NotFound` (`user`); `AlreadyExists` naming `public_key` when any user (this
    /// one included) has a key with the same fingerprint. The error does not say whose.
    async fn create_ssh_key(&self, key: &SshKey) -> Result<()>;

    /// One page of the user's keys, ordered by id. Errors: `InvalidInput` (`cursor`).
    async fn list_ssh_keys(&self, user: UserId, page: &PageRequest) -> Result<Page<SshKey>>;

    /// How many keys the user has.
    async fn count_ssh_keys(&self, user: UserId) -> Result<u64>;

    /// One of the user's keys.
    ///
    /// Errors: `NotFound` (`ssh_key`) if the key does not exist or belongs to another user.
    async fn get_ssh_key(&self, user: UserId, id: SshKeyId) -> Result<SshKey>;

    /// Deletes one of the user's keys.
    ///
    /// Errors: `NotFound` (`ssh_key`) if the key does not exist or belongs to another user.
    async fn delete_ssh_key(&self, user: UserId, id: SshKeyId) -> Result<()>;

    /// The key with this fingerprint (`SHA256:…`), whoever's it is.
    async fn find_ssh_key_by_fingerprint(&self, fingerprint: &str) -> Result<Option<SshKey>>;

    /// Records a sign-in with the key at `at`. A key that is gone is ignored.
    async fn touch_ssh_key(&self, id: SshKeyId, at: Timestamp) -> Result<()>;
}
