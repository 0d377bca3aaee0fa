//! Requests: building them (URL, `Authorization`, JSON), sending them on the shared connection
//! pool, reading problem documents, and the transparent refresh of access tokens.
//!
//! A request with [`Credential::Tokens`](crate::Credential::Tokens) that is answered 401 makes
//! one `POST /auth/refresh` (single-flight: concurrent requests wait for the same refresh) and
//! is sent once more. JSON bodies are [`Bytes`], so they can be sent again; streaming bodies
//! cannot, so [`Transport::ensure_fresh`] refreshes before them when the access token is about
//! to expire.

use std::io;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use futures::stream::BoxStream;
use futures::{StreamExt, TryStreamExt};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::header::{self, HeaderMap, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client as HyperClient;
use hyper_util::client::legacy::connect::HttpConnector;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use serde::de::DeserializeOwned;

use crate::base_url::{API_PREFIX, BaseUrl};
use crate::credential::{Credential, RefreshHook, TokenPair};
use crate::error::{ApiProblem, ClientError, Result};

/// A request body: bytes (replayable) or a stream (sent once).
pub(crate) type Body = UnsyncBoxBody<Bytes, io::Error>;

/// The largest JSON answer read into memory.
const MAX_JSON_BYTES: usize = 64 * 1024 * 1024;
/// The largest error document read.
const MAX_PROBLEM_BYTES: usize = 64 * 1024;
/// Streaming uploads refresh first when the access token expires within this.
pub(crate) const REFRESH_MARGIN: Duration = Duration::from_secs(30);

/// The credential in use and how many times it changed (so concurrent refreshes after one
/// 401 happen once).
struct AuthState {
    credential: Credential,
    expires_at: Option<SystemTime>,
    generation: u64,
}

/// What the client shares between clones: the connection pool and the credential.
pub(crate) struct Transport {
    pub(crate) base: BaseUrl,
    http: HyperClient<HttpsConnector<HttpConnector>, Body>,
    pub(crate) connector: HttpsConnector<HttpConnector>,
    auth: Mutex<AuthState>,
    refresh_lock: tokio::sync::Mutex<()>,
    hook: Mutex<Option<RefreshHook>>,
    user_agent: HeaderValue,
    timeout: Option<Duration>,
}

impl std::fmt::Debug for Transport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Transport")
            .field("base", &self.base.display())
            .finish_non_exhaustive()
    }
}

/// One API request, described so it can be sent twice. `Debug` shows the method and path only
/// (the body may hold a password or a variable's value, the query a one-time code).
#[derive(Clone)]
pub(crate) struct Call {
    pub(crate) method: Method,
    /// The path from the server's root (`/api/v1/teams`, `/healthz`).
    pub(crate) path: String,
    pub(crate) query: Vec<(&'static str, String)>,
    /// The body (JSON unless `content_type` says otherwise).
    pub(crate) body: Option<Bytes>,
    /// The body's media type.
    pub(crate) content_type: &'static str,
    /// Whether to send the credential.
    pub(crate) authenticated: bool,
    /// Extra headers (e.g. a cookie for the OAuth callback).
    pub(crate) headers: HeaderMap,
}

impl std::fmt::Debug for Call {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Call")
            .field("request", &self.what())
            .finish_non_exhaustive()
    }
}

impl Call {
    /// An authenticated request to `path` under `/api/v1`.
    pub(crate) fn api(method: Method, path: impl AsRef<str>) -> Self {
        Self {
            method,
            path: format!("{API_PREFIX}{}", path.as_ref()),
            query: Vec::new(),
            body: None,
            content_type: "application/json",
            authenticated: true,
            headers: HeaderMap::new(),
        }
    }

    /// A request without credentials.
    pub(crate) fn public(mut self) -> Self {
        self.authenticated = false;
        self
    }

    /// Adds a query parameter.
    pub(crate) fn query(mut self, key: &'static str, value: impl ToString) -> Self {
        self.query.push((key, value.to_string()));
        self
    }

    /// Adds a query parameter when there is a value.
    pub(crate) fn query_opt(self, key: &'static str, value: Option<impl ToString>) -> Self {
        match value {
            Some(v) => self.query(key, v),
            None => self,
        }
    }

    /// Sets a JSON body.
    pub(crate) fn json(mut self, body: &impl serde::Serialize) -> Result<Self> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| ClientError::InvalidRequest(format!("cannot encode the body: {e}")))?;
        self.body = Some(Bytes::from(bytes));
        Ok(self)
    }

    /// Sets a body of bytes of the given media type.
    pub(crate) fn bytes(mut self, body: Bytes, content_type: &'static str) -> Self {
        self.body = Some(body);
        self.content_type = content_type;
        self
    }

    /// `METHOD /path`, for messages (never the query, which may carry a one-time secret).
    pub(crate) fn what(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

/// What a refresh answers (the same body as a sign-in).
#[derive(Deserialize)]
pub(crate) struct TokenBody {
    pub(crate) user: vibebox_core::domain::User,
    pub(crate) access_token: SecretString,
    pub(crate) refresh_token: SecretString,
    #[serde(default)]
    pub(crate) expires_in: Option<u64>,
}

impl TokenBody {
    /// The pair, expiring `expires_in` from now (or as the JWT says).
    pub(crate) fn pair(&self) -> TokenPair {
        let mut pair = TokenPair::new(self.access_token.clone(), self.refresh_token.clone());
        if let Some(secs) = self.expires_in {
            pair.expires_at = SystemTime::now().checked_add(Duration::from_secs(secs));
        }
        pair
    }
}

impl Transport {
    pub(crate) fn new(
        base: BaseUrl,
        credential: Credential,
        connect_timeout: Duration,
        timeout: Option<Duration>,
        user_agent: &str,
        hook: Option<RefreshHook>,
    ) -> Result<Self> {
        let connector = connector(connect_timeout, base.https)?;
        let http = HyperClient::builder(hyper_util::rt::TokioExecutor::new())
            .pool_idle_timeout(Duration::from_secs(60))
            .build(connector.clone());
        let user_agent = HeaderValue::from_str(user_agent).map_err(|_| {
            ClientError::InvalidRequest("the user agent is not a header value".into())
        })?;
        let expires_at = expiry_of(&credential);
        Ok(Self {
            base,
            http,
            connector,
            auth: Mutex::new(AuthState {
                credential,
                expires_at,
                generation: 0,
            }),
            refresh_lock: tokio::sync::Mutex::new(()),
            hook: Mutex::new(hook),
            user_agent,
            timeout,
        })
    }

    fn auth(&self) -> MutexGuard<'_, AuthState> {
        self.auth.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Replaces the credential (after a sign-in, or to sign out).
    pub(crate) fn set_credential(&self, credential: Credential, expires_at: Option<SystemTime>) {
        let mut auth = self.auth();
        auth.expires_at = expires_at.or_else(|| expiry_of(&credential));
        auth.credential = credential;
        auth.generation += 1;
    }

    /// The current token pair, if the credential is one.
    pub(crate) fn tokens(&self) -> Option<TokenPair> {
        let auth = self.auth();
        match &auth.credential {
            Credential::Tokens { access, refresh } => Some(TokenPair {
                access: access.clone(),
                refresh: refresh.clone(),
                expires_at: auth.expires_at,
            }),
            _ => None,
        }
    }

    pub(crate) fn set_hook(&self, hook: Option<RefreshHook>) {
        *self.hook.lock().unwrap_or_else(|e| e.into_inner()) = hook;
    }

    /// The bearer token to send and the credential's generation.
    pub(crate) fn bearer(&self) -> (Option<SecretString>, u64, bool) {
        let auth = self.auth();
        let (token, refreshable) = match &auth.credential {
            Credential::None => (None, false),
            Credential::ApiKey(key) => (Some(key.clone()), false),
            Credential::Tokens { access, .. } => (Some(access.clone()), true),
        };
        (token, auth.generation, refreshable)
    }

    /// `Authorization: Bearer …`, marked sensitive.
    pub(crate) fn authorization(token: &SecretString) -> Result<HeaderValue> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret()))
            .map_err(|_| {
                ClientError::InvalidRequest("the credential is not a valid header value".into())
            })?;
        value.set_sensitive(true);
        Ok(value)
    }

    /// Sends a call (refreshing and sending again once on 401) and returns the response,
    /// whatever its status.
    pub(crate) async fn send(&self, call: &Call) -> Result<Response<Incoming>> {
        let (token, generation, refreshable) = self.bearer();
        let token = if call.authenticated { token } else { None };
        let response = self
            .send_once(call, token.as_ref(), json_body(call))
            .await?;
        if response.status() != StatusCode::UNAUTHORIZED || !call.authenticated || !refreshable {
            return Ok(response);
        }
        tracing::debug!(request = %call.what(), "access token refused; refreshing");
        self.refresh_after(generation).await?;
        let (token, _, _) = self.bearer();
        self.send_once(call, token.as_ref(), json_body(call)).await
    }

    /// Sends a call with a body that cannot be sent twice (refreshing first if the access
    /// token is about to expire).
    pub(crate) async fn send_streaming(
        &self,
        call: &Call,
        body: Body,
    ) -> Result<Response<Incoming>> {
        self.ensure_fresh().await?;
        let (token, _, _) = self.bearer();
        self.send_once(call, token.as_ref(), body).await
    }

    /// Sends a call and decodes its JSON answer; an error status becomes [`ClientError::Api`].
    pub(crate) async fn json<T: DeserializeOwned>(&self, call: Call) -> Result<T> {
        let response = self.send(&call).await?;
        read_json(&call, response).await
    }

    /// Sends a call whose success has no body worth reading.
    pub(crate) async fn empty(&self, call: Call) -> Result<()> {
        let response = self.send(&call).await?;
        if !response.status().is_success() {
            return Err(problem(&call, response).await);
        }
        Ok(())
    }

    async fn send_once(
        &self,
        call: &Call,
        token: Option<&SecretString>,
        body: Body,
    ) -> Result<Response<Incoming>> {
        let uri = self.base.uri(&call.path, &call.query)?;
        let mut builder = Request::builder()
            .method(call.method.clone())
            .uri(uri)
            .header(header::USER_AGENT, self.user_agent.clone())
            .header(header::ACCEPT, "application/json");
        if call.body.is_some() {
            builder = builder.header(header::CONTENT_TYPE, call.content_type);
        }
        if let Some(token) = token {
            builder = builder.header(header::AUTHORIZATION, Self::authorization(token)?);
        }
        let mut request = builder.body(body).map_err(|e| {
            ClientError::InvalidRequest(format!("cannot build {}: {e}", call.what()))
        })?;
        for (name, value) in &call.headers {
            request.headers_mut().insert(name.clone(), value.clone());
        }
        tracing::debug!(request = %call.what(), "sending");
        let pending = self.http.request(request);
        let result =
            match self.timeout {
                Some(limit) => tokio::time::timeout(limit, pending).await.map_err(|_| {
                    ClientError::Transport {
                        message: format!(
                            "{} to {} took more than {} s",
                            call.what(),
                            self.base.display(),
                            limit.as_secs_f64()
                        ),
                        source: None,
                    }
                })?,
                None => pending.await,
            };
        result.map_err(|e| {
            let message = if e.is_connect() {
                format!(
                    "cannot reach the VibeBox server at {}: {}",
                    self.base.display(),
                    crate::error::chain_message(&e)
                )
            } else {
                format!(
                    "{} to {} failed: {}",
                    call.what(),
                    self.base.display(),
                    crate::error::chain_message(&e)
                )
            };
            tracing::debug!(%message, "request failed");
            ClientError::transport(message, e)
        })
    }

    /// Refreshes now if the access token expires within [`REFRESH_MARGIN`].
    pub(crate) async fn ensure_fresh(&self) -> Result<()> {
        let (due, generation) = {
            let auth = self.auth();
            let due = matches!(auth.credential, Credential::Tokens { .. })
                && auth
                    .expires_at
                    .is_some_and(|at| at <= SystemTime::now() + REFRESH_MARGIN);
            (due, auth.generation)
        };
        if due {
            tracing::debug!("access token about to expire; refreshing first");
            self.refresh_after(generation).await?;
        }
        Ok(())
    }

    /// Trades the refresh token for a new pair, unless the credential changed since
    /// `generation` (another request refreshed meanwhile). Errors: `Unauthenticated`
    /// ([`ClientError::SignInAgain`]) when the server refuses the refresh token.
    pub(crate) async fn refresh_after(&self, generation: u64) -> Result<()> {
        let _single_flight = self.refresh_lock.lock().await;
        let refresh = {
            let auth = self.auth();
            if auth.generation != generation {
                return Ok(());
            }
            match &auth.credential {
                Credential::Tokens { refresh, .. } => refresh.clone(),
                _ => {
                    return Err(ClientError::SignInAgain {
                        reason: "there is no refresh token".into(),
                    });
                }
            }
        };
        let call = Call::api(Method::POST, "/auth/refresh")
            .public()
            .json(&serde_json::json!({ "refresh_token": refresh.expose_secret() }))?;
        let response = self.send_once(&call, None, json_body(&call)).await?;
        if response.status() == StatusCode::UNAUTHORIZED {
            tracing::info!("the refresh token was refused; the caller must sign in again");
            return Err(ClientError::SignInAgain {
                reason: "the session expired or was revoked".into(),
            });
        }
        let body: TokenBody = read_json(&call, response).await?;
        let pair = body.pair();
        {
            let mut auth = self.auth();
            auth.credential = Credential::from(pair.clone());
            auth.expires_at = pair.expires_at;
            auth.generation += 1;
        }
        tracing::debug!("access token refreshed");
        let hook = self.hook.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(hook) = hook {
            hook(&pair);
        }
        Ok(())
    }
}

fn expiry_of(credential: &Credential) -> Option<SystemTime> {
    match credential {
        Credential::Tokens { access, .. } => crate::credential::jwt_expiry(access.expose_secret()),
        _ => None,
    }
}

/// The TLS-or-plain connector shared by requests and WebSockets (ring, the system's roots).
/// The system's roots are read only for an `https` server: reading them costs milliseconds,
/// a third of a short command's run.
fn connector(connect_timeout: Duration, https: bool) -> Result<HttpsConnector<HttpConnector>> {
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let roots = if https {
        hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_native_roots(provider.clone())
            .map_err(|e| {
                tracing::warn!(error = %e, "no system root certificates: https servers cannot be verified");
            })
            .ok()
    } else {
        None
    };
    let builder = match roots {
        Some(builder) => builder,
        None => {
            let config = rustls::ClientConfig::builder_with_provider(provider)
                .with_safe_default_protocol_versions()
                .map_err(|e| {
                    ClientError::InvalidRequest(format!("no usable TLS configuration: {e}"))
                })?
                .with_root_certificates(rustls::RootCertStore::empty())
                .with_no_client_auth();
            hyper_rustls::HttpsConnectorBuilder::new().with_tls_config(config)
        }
    };
    let mut http = HttpConnector::new();
    http.enforce_http(false);
    http.set_connect_timeout(Some(connect_timeout));
    http.set_nodelay(true);
    Ok(builder.https_or_http().enable_http1().wrap_connector(http))
}

/// A call's JSON body (or none) as a request body.
pub(crate) fn json_body(call: &Call) -> Body {
    let bytes = call.body.clone().unwrap_or_default();
    Full::new(bytes)
        .map_err(|never| match never {})
        .boxed_unsync()
}

/// Reads a JSON answer; an error status becomes [`ClientError::Api`].
pub(crate) async fn read_json<T: DeserializeOwned>(
    call: &Call,
    response: Response<Incoming>,
) -> Result<T> {
    if !response.status().is_success() {
        return Err(problem(call, response).await);
    }
    let bytes = Limited::new(response.into_body(), MAX_JSON_BYTES)
        .collect()
        .await
        .map_err(|e| ClientError::Transport {
            message: format!("reading the answer to {} failed: {e}", call.what()),
            source: None,
        })?
        .to_bytes();
    serde_json::from_slice(&bytes).map_err(|e| ClientError::decode(call.what(), e))
}

/// The problem document of an error answer; a body that is not one still gives the status.
pub(crate) async fn problem(call: &Call, response: Response<Incoming>) -> ClientError {
    let status = response.status();
    let retry_after = retry_after(response.headers());
    let body = Limited::new(response.into_body(), MAX_PROBLEM_BYTES)
        .collect()
        .await
        .map(|c| c.to_bytes())
        .unwrap_or_default();
    let error = problem_from(status, retry_after, &body);
    tracing::debug!(request = %call.what(), status = status.as_u16(), error = %error, "request refused");
    error
}

#[derive(Deserialize)]
struct ProblemDoc {
    #[serde(default)]
    status: Option<u16>,
    #[serde(default)]
    code: Option<String>,
    #[serde(default)]
    field: Option<String>,
    #[serde(default)]
    detail: Option<String>,
    #[serde(default)]
    title: Option<String>,
    #[serde(default)]
    correlation_id: Option<String>,
}

/// A problem from a status and a body (a problem document, or anything else).
pub(crate) fn problem_from(
    status: StatusCode,
    retry_after: Option<Duration>,
    body: &[u8],
) -> ClientError {
    let reason = status.canonical_reason().unwrap_or("error");
    let doc: Option<ProblemDoc> = serde_json::from_slice(body).ok();
    let (code, field, detail, title, doc_status, correlation_id) = match doc {
        Some(d) => (
            d.code,
            d.field,
            d.detail,
            d.title,
            d.status,
            d.correlation_id,
        ),
        None => (None, None, None, None, None, None),
    };
    let detail = detail.unwrap_or_else(|| {
        let text = String::from_utf8_lossy(body);
        let text = text.trim();
        if text.is_empty() || text.len() > 300 {
            reason.to_lowercase()
        } else {
            text.to_string()
        }
    });
    ClientError::Api(Box::new(ApiProblem {
        status: doc_status.unwrap_or(status.as_u16()),
        code: code.unwrap_or_else(|| reason.to_lowercase().replace(' ', "_")),
        field,
        detail,
        title: title.unwrap_or_else(|| reason.to_string()),
        retry_after,
        correlation_id,
    }))
}

pub(crate) fn retry_after(headers: &HeaderMap) -> Option<Duration> {
    headers
        .get(header::RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
        .map(Duration::from_secs)
}

/// A response body as a stream of chunks; a connection cut mid-way is a `Transport` error.
pub(crate) fn body_stream(
    what: String,
    response: Response<Incoming>,
) -> BoxStream<'static, Result<Bytes>> {
    response
        .into_body()
        .into_data_stream()
        .map_err(move |e| ClientError::transport(format!("{what} was cut short"), e))
        .boxed()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_problem_document_gives_its_fields() {
        let body = br#"{"type":"urn:vibebox:problem:invalid_input","title":"Unprocessable Entity","status":422,"detail":"invalid slug","code":"invalid_input","field":"slug"}"#;
        let e = problem_from(StatusCode::UNPROCESSABLE_ENTITY, None, body);
        assert_eq!(e.status(), Some(422));
        assert_eq!(e.code(), Some("invalid_input"));
        assert_eq!(e.field(), Some("slug"));
        assert_eq!(e.detail(), Some("invalid slug"));
    }

    #[test]
    fn a_body_that_is_not_a_problem_still_gives_the_status() {
        let e = problem_from(StatusCode::BAD_GATEWAY, None, b"<html>bad gateway</html>");
        assert_eq!(e.status(), Some(502));
        assert_eq!(e.code(), Some("bad_gateway"));
        assert_eq!(e.kind(), crate::ErrorKind::Server);
    }
}
