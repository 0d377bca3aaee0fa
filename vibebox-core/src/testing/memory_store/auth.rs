use async_trait::async_trait;

use super::{MemoryStore, State};
use crate::clock::Timestamp;
use crate::domain::{ApiKey, RefreshSession, TokenHash};
use crate::error::{Error, Result};
use crate::id::{ApiKeyId, RefreshFamilyId, RefreshSessionId, UserId};
use crate::store::{ApiKeyWithOwner, AuthStore};

impl State {
    fn check_new_refresh_session(&self, session: &RefreshSession) -> Result<()> {
        self.require_user(session.user_id)?;
        if self.refresh_sessions.contains_key(&session.id) {
            return Err(Error::already_exists("refresh_session", "id"));
        }
        if self
            .refresh_sessions
            .values()
            .any(|r| r.token_hash == session.token_hash)
        {
            return Err(Error::already_exists("refresh_session", "token"));
        }
        Ok(())
    }

    fn revoke_where(&mut self, at: Timestamp, pred: impl Fn(&RefreshSession) -> bool) -> u64 {
        let mut count = 0;
        for r in self.refresh_sessions.values_mut() {
            if r.revoked_at.is_none() && pred(r) {
                r.revoked_at = Some(at);
                r.updated_at = at;
                count += 1;
            }
        }
        count
    }
}

#[async_trait]
impl AuthStore for MemoryStore {
    async fn create_api_key(&self, key: &ApiKey) -> Result<()> {
        self.with(|s| {
            s.require_user(key.user_id)?;
            if s.api_keys.contains_key(&key.id) {
                return Err(Error::already_exists("api_key", "id"));
            }
            if s.api_keys.values().any(|k| k.prefix == key.prefix) {
                return Err(Error::already_exists("api_key", "prefix"));
            }
            s.api_keys.insert(key.id, key.clone());
            Ok(())
        })
    }

    async fn find_api_key_by_prefix(&self, prefix: &str) -> Result<Option<ApiKeyWithOwner>> {
        self.with(|s| {
            let Some(key) = s.api_keys.values().find(|k| k.prefix == prefix) else {
                return Ok(None);
            };
            let Some(owner) = s.users.get(&key.user_id) else {
                return Ok(None);
            };
            Ok(Some(ApiKeyWithOwner {
                key: key.clone(),
                owner_disabled: owner.disabled,
                owner_is_platform_admin: owner.is_platform_admin,
            }))
        })
    }

    async fn list_api_keys(&self, user: UserId) -> Result<Vec<ApiKey>> {
        self.with(|s| {
            Ok(s.api_keys
                .values()
                .filter(|k| k.user_id == user)
                .cloned()
                .collect())
        })
    }

    async fn delete_api_key(&self, user: UserId, id: ApiKeyId) -> Result<()> {
        self.with(|s| {
            if s.api_keys.get(&id).is_none_or(|k| k.user_id != user) {
                return Err(Error::not_found("api_key"));
            }
            s.api_keys.remove(&id);
            Ok(())
        })
    }

    async fn touch_api_key(&self, id: ApiKeyId, at: Timestamp) -> Result<()> {
        self.with(|s| {
            if let Some(key) = s.api_keys.get_mut(&id) {
                key.last_used_at = Some(at);
            }
            Ok(())
        })
    }

    async fn create_refresh_session(&self, session: &RefreshSession) -> Result<()> {
        self.with(|s| {
            s.check_new_refresh_session(session)?;
            s.refresh_sessions.insert(session.id, session.clone());
            Ok(())
        })
    }

    async fn find_refresh_session(&self, hash: &TokenHash) -> Result<Option<RefreshSession>> {
        self.with(|s| {
            Ok(s.refresh_sessions
                .values()
                .find(|r| r.token_hash.ct_eq(hash))
                .cloned())
        })
    }

    async fn rotate_refresh_session(
        &self,
        old: RefreshSessionId,
        new: &RefreshSession,
        at: Timestamp,
    ) -> Result<bool> {
        self.with(|s| {
            let current = s
                .refresh_sessions
                .get(&old)
                .ok_or(Error::not_found("refresh_session"))?;
            if current.used_at.is_some() || current.revoked_at.is_some() {
                return Ok(false);
            }
            s.check_new_refresh_session(new)?;
            if let Some(current) = s.refresh_sessions.get_mut(&old) {
                current.used_at = Some(at);
                current.updated_at = at;
            }
            s.refresh_sessions.insert(new.id, new.clone());
            Ok(true)
        })
    }

    async fn revoke_refresh_family(&self, family: RefreshFamilyId, at: Timestamp) -> Result<u64> {
        self.with(|s| Ok(s.revoke_where(at, |r| r.family_id == family)))
    }

    async fn revoke_user_refresh_sessions(&self, user: UserId, at: Timestamp) -> Result<u64> {
        self.with(|s| Ok(s.revoke_where(at, |r| r.user_id == user)))
    }

    async fn list_refresh_sessions(
        &self,
        user: UserId,
        now: Timestamp,
    ) -> Result<Vec<RefreshSession>> {
        self.with(|s| {
            Ok(s.refresh_sessions
                .values()
                .filter(|r| {
                    r.user_id == user
                        && r.used_at.is_none()
                        && r.revoked_at.is_none()
                        && r.expires_at > now
                })
                .cloned()
                .collect())
        })
    }
}
