//! The caller's user agent and address, recorded with sign-ins.

use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::header;
use axum::http::request::Parts;
use vibebox_core::service::ClientInfo;

use crate::client_ip::ClientIp;

/// The client of this request. The address is [`ClientIp`]'s (the TCP peer, or the client a
/// trusted proxy names) when the server runs with
/// `into_make_service_with_connect_info::<SocketAddr>()`, else unknown.
#[derive(Clone, Debug)]
pub struct Client(pub ClientInfo);

impl<S: Send + Sync> FromRequestParts<S> for Client {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Infallible> {
        let user_agent = parts
            .headers
            .get(header::USER_AGENT)
            .and_then(|v| v.to_str().ok())
            // Core clips it to what a refresh session stores.
            .map(str::to_string);
        let ip = parts
            .extensions
            .get::<ClientIp>()
            .map(|ClientIp(ip)| ip.to_string());
        Ok(Client(ClientInfo { user_agent, ip }))
    }
}
