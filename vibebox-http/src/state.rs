//! What every handler shares.

use std::sync::Arc;

use vibebox_core::Vibebox;

use crate::HttpConfig;
use crate::access_token::AccessTokens;
use crate::ws::Tickets;

/// The router's state: the service and the HTTP configuration.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The service every handler calls.
    pub vibebox: Arc<Vibebox>,
    /// Issues and verifies access tokens.
    pub tokens: Arc<AccessTokens>,
    /// The configuration.
    pub config: Arc<HttpConfig>,
    /// One-time WebSocket tickets.
    pub tickets: Arc<Tickets>,
}
