//! The server's HTTP client towards OAuth providers: HTTPS with the system's root
//! certificates (rustls, ring), or plain HTTP for a provider on loopback in tests. Every
//! call is bounded in time and in response size.

use std::time::Duration;

use axum::http::{HeaderValue, Method, Request, StatusCode, header};
use bytes::Bytes;
use http_body_util::{BodyExt, Full, Limited};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::{ExposeSecret, SecretString};
use serde::de::DeserializeOwned;
use vibebox_core::error::{Error, Result};

/// How long one call to a provider may take, response body included.
pub const PROVIDER_TIMEOUT: Duration = Duration::from_secs(10);
/// The largest provider response read.
const MAX_RESPONSE_BYTES: usize = 1024 * 1024;
/// Providers (GitHub) refuse API calls without a user agent.
const USER_AGENT: &str = concat!("vibebox/", env!("CARGO_PKG_VERSION"));

/// An HTTP(S) client for provider calls.
#[derive(Clone, Debug)]
pub struct ProviderClient {
    inner: Client<HttpsConnector<HttpConnector>, Full<Bytes>>,
}

/// A provider's answer: the status and the body.
#[derive(Debug)]
pub struct ProviderResponse {
    /// The status.
    pub status: StatusCode,
    /// The body (at most 1 MiB).
    pub body: Bytes,
}

impl ProviderResponse {
    /// The body as JSON of type `T`. Errors: `Unavailable` (the provider answered something
    /// else).
    pub fn json<T: DeserializeOwned>(&self, what: &str) -> Result<T> {
        serde_json::from_slice(&self.body).map_err(|e| {
            tracing::warn!(error = %e, what, "the OAuth provider's answer is not the expected JSON");
            unavailable(&format!("its {what} answer could not be read"))
        })
    }
}

impl ProviderClient {
    /// A client trusting the system's root certificates. Without any (no CA bundle
    /// installed), HTTPS providers fail their handshake and say so; HTTP still works.
    pub fn new() -> Self {
        let provider = std::sync::Arc::new(rustls::crypto::ring::default_provider());
        let builder = hyper_rustls::HttpsConnectorBuilder::new();
        let builder = match builder.with_provider_and_native_roots(provider.clone()) {
            Ok(b) => b,
            Err(e) => {
                tracing::warn!(error = %e, "no system root certificates: HTTPS OAuth providers cannot be verified");
                let config = rustls::ClientConfig::builder_with_provider(provider)
                    .with_safe_default_protocol_versions()
                    .map(|b| {
                        b.with_root_certificates(rustls::RootCertStore::empty())
                            .with_no_client_auth()
                    });
                match config {
                    Ok(config) => {
                        hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
                    }
                    Err(e) => {
                        tracing::error!(error = %e, "no usable TLS configuration");
                        hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(
                            rustls::ClientConfig::builder()
                                .with_root_certificates(rustls::RootCertStore::empty())
                                .with_no_client_auth(),
                        )
                    }
                }
            }
        };
        let connector = builder.https_or_http().enable_http1().build();
        Self {
            inner: Client::builder(TokioExecutor::new()).build(connector),
        }
    }

    /// `POST url` with a form body, asking for JSON.
    pub async fn post_form(&self, url: &str, form: &[(&str, &str)]) -> Result<ProviderResponse> {
        let body = form_urlencoded::Serializer::new(String::new())
            .extend_pairs(form)
            .finish();
        let request = request(Method::POST, url)?
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
            .body(Full::new(Bytes::from(body)))
            .map_err(|_| unavailable("the request could not be built"))?;
        self.send(request).await
    }

    /// `GET url` with a bearer token, asking for JSON.
    pub async fn get_with_token(
        &self,
        url: &str,
        token: &SecretString,
    ) -> Result<ProviderResponse> {
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| unavailable("its access token is not a valid header value"))?;
        auth.set_sensitive(true);
        let request = request(Method::GET, url)?
            .header(header::AUTHORIZATION, auth)
            .body(Full::new(Bytes::new()))
            .map_err(|_| unavailable("the request could not be built"))?;
        self.send(request).await
    }

    async fn send(&self, request: Request<Full<Bytes>>) -> Result<ProviderResponse> {
        let host = request.uri().host().unwrap_or_default().to_string();
        let call = async {
            let response = self.inner.request(request).await.map_err(|e| {
                tracing::warn!(error = %e, host, "the OAuth provider cannot be reached");
                unavailable("it cannot be reached")
            })?;
            let status = response.status();
            let body = Limited::new(response.into_body(), MAX_RESPONSE_BYTES)
                .collect()
                .await
                .map_err(|e| {
                    tracing::warn!(error = %e, host, "the OAuth provider's answer could not be read");
                    unavailable("its answer could not be read")
                })?
                .to_bytes();
            Ok(ProviderResponse { status, body })
        };
        tokio::time::timeout(PROVIDER_TIMEOUT, call)
            .await
            .map_err(|_| {
                tracing::warn!(host, "the OAuth provider did not answer in time");
                unavailable("it did not answer in time")
            })?
    }
}

impl Default for ProviderClient {
    fn default() -> Self {
        Self::new()
    }
}

fn request(method: Method, url: &str) -> Result<axum::http::request::Builder> {
    let uri: axum::http::Uri = url
        .parse()
        .map_err(|_| Error::internal("an OAuth provider URL is not valid", None))?;
    Ok(Request::builder()
        .method(method)
        .uri(uri)
        .header(header::ACCEPT, "application/json")
        .header(header::USER_AGENT, USER_AGENT))
}

/// The provider failed (unreachable, slow, or answering nonsense): 503.
pub fn unavailable(why: &str) -> Error {
    Error::unavailable("the OAuth provider", why, None)
}
