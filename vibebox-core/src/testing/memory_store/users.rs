use async_trait::async_trait;

use super::{MemoryStore, State, paginate};
use crate::domain::{OAuthIdentity, User};
use crate::error::{Error, Result};
use crate::id::UserId;
use crate::store::{Page, PageRequest, UsersStore};

impl State {
    fn email_taken(&self, email: &str, except: Option<UserId>) -> bool {
        let email = email.to_lowercase();
        self.users
            .values()
            .any(|u| Some(u.id) != except && u.email.to_lowercase() == email)
    }

    fn check_identity(&self, identity: &OAuthIdentity, new_user: Option<UserId>) -> Result<()> {
        if Some(identity.user_id) != new_user {
            self.require_user(identity.user_id)?;
        }
        if self.identities.contains_key(&identity.id) {
            return Err(Error::already_exists("oauth_identity", "id"));
        }
        if self
            .identities
            .values()
            .any(|i| i.provider == identity.provider && i.subject == identity.subject)
        {
            return Err(Error::already_exists("oauth_identity", "provider, subject"));
        }
        Ok(())
    }
}

#[async_trait]
impl UsersStore for MemoryStore {
    async fn create_user(&self, user: &User, identity: Option<OAuthIdentity>) -> Result<()> {
        self.with(|s| {
            if s.users.contains_key(&user.id) {
                return Err(Error::already_exists("user", "id"));
            }
            if s.email_taken(&user.email, None) {
                return Err(Error::already_exists("user", "email"));
            }
            if let Some(identity) = &identity {
                s.check_identity(identity, Some(user.id))?;
            }
            s.users.insert(user.id, user.clone());
            if let Some(identity) = identity {
                s.identities.insert(identity.id, identity);
            }
            Ok(())
        })
    }

    async fn get_user(&self, id: UserId) -> Result<User> {
        self.with(|s| s.users.get(&id).cloned().ok_or(Error::not_found("user")))
    }

    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>> {
        let email = email.to_lowercase();
        self.with(|s| {
            Ok(s.users
                .values()
                .find(|u| u.email.to_lowercase() == email)
                .cloned())
        })
    }

    async fn update_user(&self, user: &User) -> Result<()> {
        self.with(|s| {
            if !s.users.contains_key(&user.id) {
                return Err(Error::not_found("user"));
            }
            if s.email_taken(&user.email, Some(user.id)) {
                return Err(Error::already_exists("user", "email"));
            }
            s.users.insert(user.id, user.clone());
            Ok(())
        })
    }

    async fn list_users(&self, page: &PageRequest) -> Result<Page<User>> {
        self.with(|s| {
            let users = s.users.values().cloned().collect();
            paginate(users, |u| u.id.0, page, false)
        })
    }

    async fn count_users(&self) -> Result<u64> {
        self.with(|s| Ok(s.users.len() as u64))
    }

    async fn create_oauth_identity(&self, identity: &OAuthIdentity) -> Result<()> {
        self.with(|s| {
            s.check_identity(identity, None)?;
            s.identities.insert(identity.id, identity.clone());
            Ok(())
        })
    }

    async fn find_oauth_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<OAuthIdentity>> {
        self.with(|s| {
            Ok(s.identities
                .values()
                .find(|i| i.provider == provider && i.subject == subject)
                .cloned())
        })
    }
}
