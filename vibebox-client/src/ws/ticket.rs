//! `POST /ws-tickets`: a one-time ticket for opening a socket where headers cannot be set (a
//! browser). This client itself authenticates sockets with `Authorization`.

use hyper::Method;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};

use crate::Client;
use crate::error::Result;
use crate::transport::Call;

/// A one-time socket ticket (a secret: `Debug` leaves it out). It serializes to the JSON the
/// server sends, the ticket included.
#[derive(Clone, Serialize, Deserialize)]
pub struct WsTicket {
    /// Pass it as `?ticket=` when opening a socket, within `expires_in` seconds, once.
    #[serde(serialize_with = "crate::api::auth::expose")]
    pub ticket: SecretString,
    /// Seconds it stays valid.
    pub expires_in: u64,
}

impl std::fmt::Debug for WsTicket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsTicket")
            .field("ticket", &"<redacted>")
            .field("expires_in", &self.expires_in)
            .finish()
    }
}

impl Client {
    /// `POST /ws-tickets`: a ticket valid once for 30 s.
    pub async fn create_ws_ticket(&self) -> Result<WsTicket> {
        self.transport
            .json(Call::api(Method::POST, "/ws-tickets"))
            .await
    }
}
