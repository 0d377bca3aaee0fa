//! `GET/POST /users/me/ssh-keys`, `DELETE /users/me/ssh-keys/{id}`: the SSH public keys the
//! gateway signs the caller in with.

use hyper::Method;
pub use vibebox_core::domain::SshKey;
use vibebox_core::id::SshKeyId;
pub use vibebox_core::service::NewSshKey;

use crate::Client;
use crate::error::Result;
use crate::page::{Page, PageRequest};
use crate::transport::Call;

impl Client {
    /// `GET /users/me/ssh-keys?limit=&cursor=`: the caller's SSH keys, ordered by id.
    pub async fn ssh_keys(&self, page: PageRequest) -> Result<Page<SshKey>> {
        let call = page.apply(Call::api(Method::GET, "/users/me/ssh-keys"));
        self.transport.json(call).await
    }

    /// `POST /users/me/ssh-keys`: registers an OpenSSH public key; the answer has its
    /// fingerprint. Errors: `Invalid` naming `name` or `public_key`; `Conflict` when any user
    /// has the key; `RateLimited` beyond 50 keys.
    pub async fn add_ssh_key(&self, new: &NewSshKey) -> Result<SshKey> {
        let call = Call::api(Method::POST, "/users/me/ssh-keys").json(new)?;
        self.transport.json(call).await
    }

    /// `DELETE /users/me/ssh-keys/{id}`. Errors: `NotFound`.
    pub async fn remove_ssh_key(&self, id: SshKeyId) -> Result<()> {
        self.transport
            .empty(Call::api(
                Method::DELETE,
                format!("/users/me/ssh-keys/{id}"),
            ))
            .await
    }
}
