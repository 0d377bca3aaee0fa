//! Where the SSH gateway listens and which host key it shows (`GET /ssh`), so that clients
//! can write `known_hosts` lines and pin the key before they first connect.

use axum::Json;
use axum::extract::State;
use serde::Serialize;
use vibebox_core::error::Error;

use crate::openapi::{NotFound, Public};
use crate::problem::ApiError;
use crate::state::AppState;

/// The SSH gateway an embedder runs beside the router (`vibebox-ssh`), as clients should
/// reach it. Set it in [`HttpConfig::ssh`](crate::HttpConfig::ssh).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SshGateway {
    /// The host clients connect to; absent when it is the host they reach the API on.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// The port clients connect to.
    pub port: u16,
    /// The gateway's host keys.
    pub host_keys: Vec<SshHostKey>,
}

/// One host key of the gateway.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct SshHostKey {
    /// The public key as a `known_hosts` line holds it: `ssh-ed25519 AAAA…`.
    #[schema(
        example = "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl"
    )]
    pub public_key: String,
    /// Its fingerprint as OpenSSH prints it.
    #[schema(example = "SHA256:2aE5uUdIfWRa3yDdJPAo2vsk6WVtFQZyJ6jgt2IAk6c")]
    pub fingerprint: String,
}

/// The SSH gateway: where to connect and its host key. Users connect as
/// `<project-slug>.<env-slug>` (or the environment's id) with a key registered at
/// `/users/me/ssh-keys`. 404 when this server runs no gateway.
#[utoipa::path(
    get,
    path = "/ssh",
    tag = "ssh",
    responses(
        (status = 200, description = "The gateway's address and host keys", body = SshGateway),
        NotFound, Public,
    )
)]
pub async fn gateway(State(state): State<AppState>) -> Result<Json<SshGateway>, ApiError> {
    state.config.ssh.clone().map(Json).ok_or_else(|| {
        Error::NotFound {
            resource: "SSH gateway",
        }
        .into()
    })
}
