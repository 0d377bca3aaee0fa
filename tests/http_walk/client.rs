//! The walk's clients: REST over a real loopback connection (hyper-util's client) and
//! WebSockets with tokio-tungstenite, both against the router served on 127.0.0.1.

use std::net::SocketAddr;
use std::sync::Arc;

use axum::http::{Method, Request, header};
use bytes::Bytes;
use futures::StreamExt;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::rt::TokioExecutor;
use secrecy::SecretBox;
use serde_json::{Value, json};
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use vibebox_http::{AccessTokens, HttpConfig, SigningKey};

use crate::docker::{D, WAIT};

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// An answer: the status and the body as JSON (`Null` when empty).
#[derive(Debug)]
pub struct Reply {
    pub status: u16,
    pub body: Value,
    /// The body as sent, to check that a secret never appears in it.
    pub raw: String,
}

/// The API of one server, spoken over HTTP/1.1 on loopback.
#[derive(Clone)]
pub struct Api {
    pub addr: SocketAddr,
    client: Client<HttpConnector, Full<Bytes>>,
}

/// Serves the harness's service with `vibebox_http::router` on a free 127.0.0.1 port (with
/// the peer address, as the example server does) and returns a client for it.
pub async fn serve(d: &D) -> Api {
    let mut key = vec![0u8; 32];
    getrandom::fill(&mut key).unwrap();
    let tokens = AccessTokens::new(
        "vibebox",
        "vibebox-api",
        SigningKey::new("walk", SecretBox::new(Box::new(key))).unwrap(),
    );
    let app = vibebox_http::router(Arc::new(d.vb.clone()), HttpConfig::new(tokens));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(
            listener,
            app.into_make_service_with_connect_info::<SocketAddr>(),
        )
        .await
        .unwrap();
    });
    Api {
        addr,
        client: Client::builder(TokioExecutor::new()).build_http(),
    }
}

impl Api {
    /// One request; `token` goes in `Authorization: Bearer`, `body` as JSON.
    pub async fn call(
        &self,
        method: Method,
        path: &str,
        token: Option<&str>,
        body: Option<Value>,
    ) -> Reply {
        let mut request = Request::builder()
            .method(method.clone())
            .uri(format!("http://{}/api/v1{path}", self.addr));
        if let Some(token) = token {
            request = request.header(header::AUTHORIZATION, format!("Bearer {token}"));
        }
        let payload = match body {
            Some(v) => {
                request = request.header(header::CONTENT_TYPE, "application/json");
                Bytes::from(v.to_string())
            }
            None => Bytes::new(),
        };
        let response = tokio::time::timeout(
            WAIT,
            self.client
                .request(request.body(Full::new(payload)).unwrap()),
        )
        .await
        .unwrap_or_else(|_| panic!("{method} {path} did not answer in time"))
        .unwrap_or_else(|e| panic!("{method} {path}: {e}"));
        let status = response.status().as_u16();
        let bytes = response.into_body().collect().await.unwrap().to_bytes();
        let raw = String::from_utf8_lossy(&bytes).into_owned();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes)
                .unwrap_or_else(|e| panic!("{method} {path} answered non-JSON ({e}): {raw}"))
        };
        Reply { status, body, raw }
    }

    pub async fn get(&self, path: &str, token: &str) -> Reply {
        self.call(Method::GET, path, Some(token), None).await
    }

    pub async fn post(&self, path: &str, token: &str, body: Value) -> Reply {
        self.call(Method::POST, path, Some(token), Some(body)).await
    }

    pub async fn delete(&self, path: &str, token: &str) -> Reply {
        self.call(Method::DELETE, path, Some(token), None).await
    }

    /// `GET`, asserting 200; returns the body.
    pub async fn read(&self, path: &str, token: &str) -> Value {
        let reply = self.get(path, token).await;
        assert_eq!(reply.status, 200, "GET {path}: {}", reply.raw);
        reply.body
    }

    /// Registers an account and signs in: registration answers 201 (with tokens) or 202
    /// (without, so that it never tells whether the email was taken); either way the token
    /// pair comes from `POST /auth/login`. Returns the user's id and access token.
    pub async fn register_and_sign_in(&self, name: &str) -> (String, String) {
        let email = format!("{name}@example.com");
        let password = crate::docker::PASSWORD;
        let registered = self
            .call(
                Method::POST,
                "/auth/register",
                None,
                Some(json!({"email": email, "password": password, "display_name": name})),
            )
            .await;
        assert!(
            matches!(registered.status, 201 | 202),
            "registering {email}: {} {}",
            registered.status,
            registered.raw
        );
        let login = self
            .call(
                Method::POST,
                "/auth/login",
                None,
                Some(json!({"email": email, "password": password})),
            )
            .await;
        assert_eq!(login.status, 200, "signing in {email}: {}", login.raw);
        assert_eq!(login.body["token_type"], "Bearer");
        assert_eq!(login.body["user"]["email"], email.as_str());
        let user = login.body["user"]["id"].as_str().unwrap().to_string();
        let token = login.body["access_token"].as_str().unwrap().to_string();
        (user, token)
    }

    /// Opens a socket under `/api/v1` with the token in the `bearer.<token>` subprotocol.
    /// Errors: the HTTP status the upgrade was refused with.
    pub async fn socket(&self, path: &str, token: &str) -> Result<Socket, u16> {
        let mut request = format!("ws://{}/api/v1{path}", self.addr)
            .into_client_request()
            .unwrap();
        request.headers_mut().insert(
            "sec-websocket-protocol",
            format!("vibebox.v1, bearer.{token}").parse().unwrap(),
        );
        match tokio::time::timeout(WAIT, tokio_tungstenite::connect_async(request))
            .await
            .unwrap_or_else(|_| panic!("opening {path} timed out"))
        {
            Ok((socket, response)) => {
                assert_eq!(
                    response
                        .headers()
                        .get("sec-websocket-protocol")
                        .and_then(|v| v.to_str().ok()),
                    Some("vibebox.v1"),
                    "the server speaks vibebox.v1"
                );
                Ok(socket)
            }
            Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
                Err(response.status().as_u16())
            }
            Err(e) => panic!("opening {path}: {e}"),
        }
    }
}

/// Reads JSON text frames until one satisfies `pred`.
pub async fn until_json(ws: &mut Socket, what: &str, pred: impl Fn(&Value) -> bool) -> Value {
    let mut seen = Vec::new();
    let found = tokio::time::timeout(WAIT, async {
        loop {
            match ws.next().await {
                Some(Ok(Message::Text(t))) => {
                    let v: Value = serde_json::from_str(&t).unwrap();
                    if pred(&v) {
                        return v;
                    }
                    seen.push(v);
                }
                Some(Ok(_)) => {}
                other => panic!("the socket ended before {what}: {other:?}; saw {seen:?}"),
            }
        }
    })
    .await;
    found.unwrap_or_else(|_| panic!("never got {what}; saw {seen:?}"))
}

/// Reads a terminal's binary frames until the output contains `needle`; returns all of it.
pub async fn until_output(ws: &mut Socket, needle: &str) -> String {
    let mut seen = String::new();
    let done = tokio::time::timeout(WAIT, async {
        while !seen.contains(needle) {
            match ws.next().await {
                Some(Ok(Message::Binary(b))) => seen.push_str(&String::from_utf8_lossy(&b)),
                Some(Ok(_)) => {}
                other => panic!("the terminal ended: {other:?}; saw {seen:?}"),
            }
        }
    })
    .await;
    assert!(done.is_ok(), "{needle:?} never came; saw {seen:?}");
    seen
}

/// Sends keystrokes to a terminal.
pub async fn type_in(ws: &mut Socket, keys: &str) {
    futures::SinkExt::send(ws, Message::Binary(keys.as_bytes().to_vec().into()))
        .await
        .unwrap();
}

/// Sends a JSON control frame.
pub async fn control(ws: &mut Socket, message: Value) {
    futures::SinkExt::send(ws, Message::Text(message.to_string().into()))
        .await
        .unwrap();
}
