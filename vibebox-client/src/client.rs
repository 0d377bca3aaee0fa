//! [`Client`] and [`ClientBuilder`]: one cheap, cloneable handle on one connection pool and one
//! credential. The API's operations are methods of [`Client`], one module per area under
//! `api/` and `ws/`.

use std::sync::Arc;
use std::time::Duration;

use crate::base_url::BaseUrl;
use crate::credential::{Credential, RefreshHook, TokenPair};
use crate::error::Result;
use crate::transport::Transport;

/// A client of one VibeBox server. Clones share the connection pool and the credential: a
/// sign-in or a refresh through one clone is seen by all.
#[derive(Clone, Debug)]
pub struct Client {
    pub(crate) transport: Arc<Transport>,
}

impl Client {
    /// A client of the server at `base_url` (`http://host:port` or `https://…`, optionally
    /// with a path prefix) with the defaults of [`ClientBuilder`].
    ///
    /// Errors: `InvalidUrl`.
    pub fn new(base_url: &str, credential: Credential) -> Result<Self> {
        Self::builder(base_url).credential(credential).build()
    }

    /// A builder for the server at `base_url`.
    pub fn builder(base_url: &str) -> ClientBuilder {
        ClientBuilder {
            base_url: base_url.to_string(),
            credential: Credential::None,
            connect_timeout: Duration::from_secs(10),
            timeout: None,
            user_agent: concat!("vibebox-client/", env!("CARGO_PKG_VERSION")).to_string(),
            hook: None,
        }
    }

    /// The base URL, as parsed (without a trailing slash).
    pub fn base_url(&self) -> String {
        self.transport.base.display()
    }

    /// Replaces the credential of this client and its clones.
    pub fn set_credential(&self, credential: Credential) {
        self.transport.set_credential(credential, None);
    }

    /// The current token pair (after a sign-in or a refresh), if the credential is one.
    pub fn tokens(&self) -> Option<TokenPair> {
        self.transport.tokens()
    }

    /// Calls `hook` with the new pair after every transparent refresh, so the caller can
    /// persist the rotated refresh token (the old one no longer works).
    pub fn on_tokens_refreshed(&self, hook: RefreshHook) {
        self.transport.set_hook(Some(hook));
    }

    /// Refreshes the access token now, whatever its expiry. Errors: `Unauthenticated` when
    /// the credential is not a token pair or the refresh token is refused.
    pub async fn refresh_tokens(&self) -> Result<TokenPair> {
        let (_, generation, _) = self.transport.bearer();
        self.transport.refresh_after(generation).await?;
        self.tokens()
            .ok_or_else(|| crate::ClientError::SignInAgain {
                reason: "there is no refresh token".into(),
            })
    }
}

/// Builds a [`Client`].
#[must_use]
pub struct ClientBuilder {
    base_url: String,
    credential: Credential,
    connect_timeout: Duration,
    timeout: Option<Duration>,
    user_agent: String,
    hook: Option<RefreshHook>,
}

impl std::fmt::Debug for ClientBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ClientBuilder")
            .field("base_url", &self.base_url)
            .field("credential", &self.credential)
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl ClientBuilder {
    /// The credential (default [`Credential::None`]).
    pub fn credential(mut self, credential: Credential) -> Self {
        self.credential = credential;
        self
    }

    /// How long connecting may take (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// How long a request may take until its answer's headers arrive (default: no limit,
    /// since a one-shot exec or a start may take long).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The `User-Agent` sent (default `vibebox-client/<version>`); the server shows it in the
    /// list of signed-in devices.
    pub fn user_agent(mut self, user_agent: impl Into<String>) -> Self {
        self.user_agent = user_agent.into();
        self
    }

    /// See [`Client::on_tokens_refreshed`].
    pub fn on_tokens_refreshed(mut self, hook: RefreshHook) -> Self {
        self.hook = Some(hook);
        self
    }

    /// The client. Errors: `InvalidUrl`; `Invalid` for a user agent that is not a header
    /// value or a TLS set-up that cannot work.
    pub fn build(self) -> Result<Client> {
        let base = BaseUrl::parse(&self.base_url)?;
        let transport = Transport::new(
            base,
            self.credential,
            self.connect_timeout,
            self.timeout,
            &self.user_agent,
            self.hook,
        )?;
        Ok(Client {
            transport: Arc::new(transport),
        })
    }
}
