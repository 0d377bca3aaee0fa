//! Opening a socket: the TCP (or TLS) connection through the client's connector, the
//! handshake with the credential, and a refused upgrade read as a problem.

use std::time::Duration;

use hyper::StatusCode;
use hyper::header::{self, HeaderValue};
use hyper_rustls::MaybeHttpsStream;
use hyper_util::rt::TokioIo;
use secrecy::SecretString;
use tokio::net::TcpStream;
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Error as WsError;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;

use crate::Client;
use crate::base_url::API_PREFIX;
use crate::error::{ClientError, Result};
use crate::transport::{Transport, problem_from, retry_after};

/// The subprotocol every VibeBox socket speaks.
pub const PROTOCOL: &str = "vibebox.v1";

/// How long the WebSocket handshake may take once connected.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(30);

/// An open socket.
pub(crate) type WsStream = WebSocketStream<TokioIo<MaybeHttpsStream<TokioIo<TcpStream>>>>;

impl Client {
    /// Opens the socket at `path` (under `/api/v1`), refreshing the access token and trying
    /// once more if the upgrade is refused with 401.
    pub(crate) async fn connect_ws(
        &self,
        path: &str,
        query: &[(&str, String)],
    ) -> Result<WsStream> {
        let (token, generation, refreshable) = self.transport.bearer();
        match self.connect_ws_once(path, query, token.as_ref()).await {
            Err(e) if refreshable && e.status() == Some(401) => {
                tracing::debug!(path, "socket refused with 401; refreshing");
                self.transport.refresh_after(generation).await?;
                let (token, _, _) = self.transport.bearer();
                self.connect_ws_once(path, query, token.as_ref()).await
            }
            other => other,
        }
    }

    async fn connect_ws_once(
        &self,
        path: &str,
        query: &[(&str, String)],
        token: Option<&SecretString>,
    ) -> Result<WsStream> {
        let full = format!("{API_PREFIX}{path}");
        let base = &self.transport.base;
        let http_uri = base.uri(&full, &[])?;
        let ws_uri = base.ws_uri(&full, query)?;
        let mut request = ws_uri
            .into_client_request()
            .map_err(|e| ClientError::InvalidUrl(format!("cannot open a socket at {full}: {e}")))?;
        let headers = request.headers_mut();
        headers.insert(
            header::SEC_WEBSOCKET_PROTOCOL,
            HeaderValue::from_static(PROTOCOL),
        );
        if let Some(token) = token {
            headers.insert(header::AUTHORIZATION, Transport::authorization(token)?);
        }
        let io = tower::ServiceExt::oneshot(self.transport.connector.clone(), http_uri)
            .await
            .map_err(|e| ClientError::Transport {
                message: format!(
                    "cannot reach the VibeBox server at {}: {}",
                    base.display(),
                    crate::error::chain_message(e.as_ref())
                ),
                source: Some(e),
            })?;
        tracing::debug!(path = %full, "opening a socket");
        let handshake = tokio_tungstenite::client_async(request, TokioIo::new(io));
        let result = tokio::time::timeout(HANDSHAKE_TIMEOUT, handshake)
            .await
            .map_err(|_| ClientError::websocket(&full, "the handshake timed out"))?;
        match result {
            Ok((ws, _)) => Ok(ws),
            Err(WsError::Http(response)) => {
                let status = response.status();
                let retry = retry_after(response.headers());
                let body = response.body().clone().unwrap_or_default();
                Err(problem_from(
                    StatusCode::from_u16(status.as_u16()).unwrap_or(StatusCode::BAD_GATEWAY),
                    retry,
                    &body,
                ))
            }
            Err(e) => Err(ClientError::websocket(
                &full,
                format!("the handshake failed: {e}"),
            )),
        }
    }
}
