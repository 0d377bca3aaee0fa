//! `GET /ssh`: where the server's SSH gateway listens and the host keys it shows, so that a
//! client can pin them (a `known_hosts` file) before it first connects.

use hyper::Method;
use serde::{Deserialize, Serialize};

use crate::Client;
use crate::error::Result;
use crate::transport::Call;

/// The SSH gateway as clients reach it. It serializes to the JSON the server sends.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshGateway {
    /// The host to connect to; `None` when it is the host of the API's URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The port to connect to.
    pub port: u16,
    /// The gateway's host keys.
    pub host_keys: Vec<SshHostKey>,
}

/// One host key of the gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SshHostKey {
    /// The public key as a `known_hosts` line holds it: `ssh-ed25519 AAAA…`.
    pub public_key: String,
    /// Its fingerprint as OpenSSH prints it (`SHA256:…`).
    pub fingerprint: String,
}

impl Client {
    /// `GET /ssh` (no credential needed): the gateway's address and host keys. Users log in
    /// as `<project-slug>.<env-slug>` (or the environment's id) with a key registered through
    /// [`Client::add_ssh_key`]. Errors: `NotFound` when the server runs no gateway.
    pub async fn ssh_gateway(&self) -> Result<SshGateway> {
        self.transport
            .json(Call::api(Method::GET, "/ssh").public())
            .await
    }
}
