//! OAuth sign-in: `GET /auth/providers` (what the server offers), `GET /auth/oauth/{provider}`
//! (where to send the browser) and
//! `GET /auth/oauth/{provider}/callback` (the tokens).

use hyper::Method;
use hyper::header::{self, HeaderValue};
use secrecy::{ExposeSecret, SecretString};

use crate::Client;
use crate::api::auth::SignIn;
use crate::base_url::segment;
use crate::credential::Credential;
use crate::error::{ClientError, Result};
use crate::transport::{Call, TokenBody, problem};

/// The start of an OAuth sign-in: the provider's page, and the flow cookie the callback
/// needs back (a secret, left out of `Debug`).
#[derive(Clone)]
pub struct OAuthStart {
    /// The provider's authorization URL, to open in a browser.
    pub authorize_url: String,
    /// The `Set-Cookie` value of the signed flow cookie (`name=value`), to send back with the
    /// callback.
    pub flow_cookie: SecretString,
}

/// An OAuth provider the server offers.
#[derive(Clone, Debug, PartialEq, Eq, serde::Deserialize)]
pub struct OAuthProviderInfo {
    /// The name in `/auth/oauth/{provider}`: `github`, `google`, …
    pub name: String,
    /// The name for people: `GitHub`, `Google`, …
    pub display_name: String,
}

#[derive(serde::Deserialize)]
struct ProviderList {
    items: Vec<OAuthProviderInfo>,
}

impl std::fmt::Debug for OAuthStart {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthStart")
            .field("authorize_url", &"<redacted>")
            .field("flow_cookie", &"<redacted>")
            .finish()
    }
}

impl Client {
    /// `GET /auth/providers`: the OAuth providers the server offers (none is an empty list).
    pub async fn oauth_providers(&self) -> Result<Vec<OAuthProviderInfo>> {
        let call = Call::api(Method::GET, "/auth/providers").public();
        let list: ProviderList = self.transport.json(call).await?;
        Ok(list.items)
    }

    /// `GET /auth/oauth/{provider}`: the provider's sign-in page (the server answers 302) and
    /// the flow cookie. Errors: `NotFound` for a provider the server does not offer.
    pub async fn oauth_start(&self, provider: &str) -> Result<OAuthStart> {
        let call = Call::api(Method::GET, format!("/auth/oauth/{}", segment(provider))).public();
        let response = self.transport.send(&call).await?;
        if !response.status().is_redirection() {
            return Err(problem(&call, response).await);
        }
        let text = |name: header::HeaderName| {
            response
                .headers()
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let authorize_url = text(header::LOCATION)
            .ok_or_else(|| ClientError::decode(call.what(), "the redirect has no Location"))?;
        let cookie = text(header::SET_COOKIE)
            .and_then(|c| c.split(';').next().map(str::to_string))
            .ok_or_else(|| ClientError::decode(call.what(), "the redirect sets no flow cookie"))?;
        Ok(OAuthStart {
            authorize_url,
            flow_cookie: SecretString::from(cookie),
        })
    }

    /// `GET /auth/oauth/{provider}/callback?code=&state=`: finishes a sign-in with the query
    /// the provider sent the browser back with and the flow cookie from
    /// [`Client::oauth_start`]. On success this client uses the returned tokens. Errors:
    /// `Unauthenticated` for a missing, expired or mismatched flow or a refused code.
    pub async fn oauth_callback(
        &self,
        provider: &str,
        code: &SecretString,
        state: &str,
        flow_cookie: &SecretString,
    ) -> Result<SignIn> {
        let mut cookie = HeaderValue::from_str(flow_cookie.expose_secret()).map_err(|_| {
            ClientError::InvalidRequest("the flow cookie is not a header value".into())
        })?;
        cookie.set_sensitive(true);
        let mut call = Call::api(
            Method::GET,
            format!("/auth/oauth/{}/callback", segment(provider)),
        )
        .public()
        .query("code", code.expose_secret())
        .query("state", state);
        call.headers.insert(header::COOKIE, cookie);
        let body: TokenBody = self.transport.json(call).await?;
        let sign_in = SignIn::from(body);
        self.transport.set_credential(
            Credential::from(sign_in.tokens.clone()),
            sign_in.tokens.expires_at,
        );
        Ok(sign_in)
    }
}
