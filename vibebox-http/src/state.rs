//! What every handler shares.

use std::sync::Arc;

use vibebox_core::Vibebox;

use crate::HttpConfig;
use crate::oauth::ProviderClient;
use crate::rate_limit::RateLimiters;
use crate::ws::Tickets;

/// The router's state: the service and the HTTP configuration.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The service every handler calls.
    pub vibebox: Arc<Vibebox>,
    /// The configuration (with the access-token keys).
    pub config: Arc<HttpConfig>,
    /// One-time WebSocket tickets.
    pub tickets: Arc<Tickets>,
    /// The request rate limiters.
    pub limiters: Arc<RateLimiters>,
    /// The HTTP client towards OAuth providers.
    pub oauth_client: ProviderClient,
}
