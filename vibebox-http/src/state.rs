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
    /// The HTTP client towards OAuth providers, made on the first sign-in that needs it (it
    /// loads the system's root certificates).
    pub oauth_client: Arc<std::sync::OnceLock<ProviderClient>>,
    /// Preview tickets and cookie sessions.
    pub(crate) preview_credentials: Arc<crate::preview::PreviewCredentials>,
    /// Idle connections to previewed apps.
    pub(crate) preview_pool: Arc<crate::preview::UpstreamPool>,
}

impl AppState {
    /// The client towards OAuth providers.
    pub fn oauth_client(&self) -> &ProviderClient {
        self.oauth_client.get_or_init(ProviderClient::new)
    }
}
