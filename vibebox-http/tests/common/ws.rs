//! A real WebSocket client against a served router: connect with a token or a ticket, read
//! JSON text frames and the close code.

use std::net::SocketAddr;
use std::time::Duration;

use futures::StreamExt;
use serde_json::Value;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::client::IntoClientRequest;
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;

pub type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// How long a test waits for one frame.
pub const WAIT: Duration = Duration::from_secs(10);

/// Opens a socket; `Err(status)` when the upgrade is refused.
pub async fn connect(
    addr: SocketAddr,
    path: &str,
    protocols: Option<&str>,
    origin: Option<&str>,
) -> Result<Socket, u16> {
    let mut request = format!("ws://{addr}{path}").into_client_request().unwrap();
    if let Some(p) = protocols {
        request
            .headers_mut()
            .insert("sec-websocket-protocol", p.parse().unwrap());
    }
    if let Some(o) = origin {
        request.headers_mut().insert("origin", o.parse().unwrap());
    }
    match tokio_tungstenite::connect_async(request).await {
        Ok((socket, _)) => Ok(socket),
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Err(response.status().as_u16())
        }
        Err(e) => panic!("connect failed: {e}"),
    }
}

/// Opens a socket with the token in the `bearer.` subprotocol.
pub async fn connect_as(addr: SocketAddr, path: &str, token: &str) -> Socket {
    connect(
        addr,
        path,
        Some(&format!("vibebox.v1, bearer.{token}")),
        None,
    )
    .await
    .unwrap()
}

/// The next JSON text frame.
pub async fn next_json(socket: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(WAIT, socket.next())
            .await
            .expect("a message in time")
            .expect("the socket is open")
            .unwrap();
        if let Message::Text(text) = msg {
            return serde_json::from_str(&text).unwrap();
        }
    }
}

/// Reads frames until one matches.
pub async fn until(socket: &mut Socket, pred: impl Fn(&Value) -> bool) -> Value {
    loop {
        let v = next_json(socket).await;
        if pred(&v) {
            return v;
        }
    }
}

/// The next close frame's code, skipping other messages.
pub async fn close_code(socket: &mut Socket) -> CloseCode {
    loop {
        match tokio::time::timeout(WAIT, socket.next()).await.unwrap() {
            Some(Ok(Message::Close(frame))) => break frame.unwrap().code,
            Some(Ok(_)) => continue,
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}
