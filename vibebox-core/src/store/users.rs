use async_trait::async_trait;

use super::{Page, PageRequest};
use crate::domain::{OAuthIdentity, User};
use crate::error::Result;
use crate::id::UserId;

/// Users and their OAuth identities.
#[cfg_attr(feature = "mock", mockall::automock)]
#[async_trait]
pub trait UsersStore: Send + Sync {
    /// Creates a user, and atomically links an OAuth identity when one is given.
    ///
    /// Errors: `AlreadyExists` naming `email` if another user has the email (compared
    /// case-insensitively), or naming `provider, subject` if the identity is taken.
    async fn create_user(&self, user: &User, identity: Option<OAuthIdentity>) -> Result<()>;

    /// Errors: `NotFound` (`user`).
    async fn get_user(&self, id: UserId) -> Result<User>;

    /// Finds a user by email, case-insensitively.
    async fn find_user_by_email(&self, email: &str) -> Result<Option<User>>;

    /// Replaces every field of the stored user.
    ///
    /// Errors: `NotFound` (`user`); `AlreadyExists` (`email`).
    async fn update_user(&self, user: &User) -> Result<()>;

    /// All users, ordered by id.
    async fn list_users(&self, page: &PageRequest) -> Result<Page<User>>;

    /// How many users exist.
    async fn count_users(&self) -> Result<u64>;

    /// Links an OAuth identity to an existing user.
    ///
    /// Errors: `NotFound` (`user`); `AlreadyExists` (`provider, subject`).
    async fn create_oauth_identity(&self, identity: &OAuthIdentity) -> Result<()>;

    /// Finds the identity for (provider, subject).
    async fn find_oauth_identity(
        &self,
        provider: &str,
        subject: &str,
    ) -> Result<Option<OAuthIdentity>>;
}
