use async_trait::async_trait;

use super::{MemoryStore, paginate};
use crate::clock::Timestamp;
use crate::domain::SshKey;
use crate::error::{Error, Result};
use crate::id::{SshKeyId, UserId};
use crate::store::{Page, PageRequest, SshKeysStore};

#[async_trait]
impl SshKeysStore for MemoryStore {
    async fn create_ssh_key(&self, key: &SshKey) -> Result<()> {
        self.with(|s| {
            s.require_user(key.user_id)?;
            if s.ssh_keys.contains_key(&key.id) {
                return Err(Error::already_exists("ssh_key", "id"));
            }
            if s.ssh_keys
                .values()
                .any(|k| k.fingerprint == key.fingerprint)
            {
                return Err(Error::already_exists("ssh_key", "public_key"));
            }
            s.ssh_keys.insert(key.id, key.clone());
            Ok(())
        })
    }

    async fn list_ssh_keys(&self, user: UserId, page: &PageRequest) -> Result<Page<SshKey>> {
        let keys = self.with(|s| {
            Ok(s.ssh_keys
                .values()
                .filter(|k| k.user_id == user)
                .cloned()
                .collect::<Vec<_>>())
        })?;
        paginate(keys, |k| k.id.0, page, false)
    }

    async fn count_ssh_keys(&self, user: UserId) -> Result<u64> {
        self.with(|s| Ok(s.ssh_keys.values().filter(|k| k.user_id == user).count() as u64))
    }

    async fn get_ssh_key(&self, user: UserId, id: SshKeyId) -> Result<SshKey> {
        self.with(|s| {
            s.ssh_keys
                .get(&id)
                .filter(|k| k.user_id == user)
                .cloned()
                .ok_or_else(|| Error::not_found("ssh_key"))
        })
    }

    async fn delete_ssh_key(&self, user: UserId, id: SshKeyId) -> Result<()> {
        self.with(|s| {
            if s.ssh_keys.get(&id).is_none_or(|k| k.user_id != user) {
                return Err(Error::not_found("ssh_key"));
            }
            s.ssh_keys.remove(&id);
            Ok(())
        })
    }

    async fn find_ssh_key_by_fingerprint(&self, fingerprint: &str) -> Result<Option<SshKey>> {
        self.with(|s| {
            Ok(s.ssh_keys
                .values()
                .find(|k| k.fingerprint == fingerprint)
                .cloned())
        })
    }

    async fn touch_ssh_key(&self, id: SshKeyId, at: Timestamp) -> Result<()> {
        self.with(|s| {
            if let Some(key) = s.ssh_keys.get_mut(&id) {
                key.last_used_at = Some(at);
            }
            Ok(())
        })
    }
}
