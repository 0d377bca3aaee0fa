//! One-time WebSocket tickets: `POST /ws-tickets` trades a bearer token for a random 256-bit
//! ticket valid for 30 s, redeemable once. Only its hash is kept.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use secrecy::ExposeSecret;
use serde::Serialize;
use vibebox_core::domain::TokenHash;
use vibebox_core::error::{Error, Result};
use vibebox_core::rbac::Actor;
use vibebox_core::tokens::{generate_refresh_token, hash_token};

use crate::auth::Caller;
use crate::openapi::Authenticated;
use crate::problem::ApiError;
use crate::state::AppState;

/// How long a ticket is valid.
pub const TICKET_TTL: Duration = Duration::from_secs(30);

/// Tickets not yet redeemed.
#[derive(Debug, Default)]
pub struct Tickets {
    open: Mutex<HashMap<TokenHash, (Actor, Instant)>>,
}

/// `POST /ws-tickets`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
pub struct TicketResponse {
    /// Pass it as `?ticket=` when opening a socket.
    pub ticket: String,
    /// Seconds it stays valid.
    pub expires_in: u64,
}

impl Tickets {
    /// Issues a ticket for the actor.
    pub fn issue(&self, actor: Actor) -> Result<String> {
        let (token, hash) = generate_refresh_token()?;
        let now = Instant::now();
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        open.retain(|_, (_, expires)| *expires > now);
        open.insert(hash, (actor, now + TICKET_TTL));
        Ok(token.expose_secret().to_string())
    }

    /// Redeems a ticket: once, before it expires. Errors: `Unauthenticated`.
    pub fn redeem(&self, ticket: &str) -> Result<Actor> {
        let hash = hash_token(ticket);
        let mut open = self.open.lock().unwrap_or_else(|e| e.into_inner());
        match open.remove(&hash) {
            Some((actor, expires)) if expires > Instant::now() => Ok(actor),
            _ => Err(Error::Unauthenticated),
        }
    }
}

/// Issues a one-time ticket for opening a socket.
#[utoipa::path(
    post,
    path = "/ws-tickets",
    tag = "websockets",
    responses(
        (status = 201, description = "A ticket, valid once for 30 s", body = TicketResponse),
        Authenticated,
    ),
    security(("bearer" = []))
)]
pub async fn create_ticket(
    State(s): State<AppState>,
    Caller(actor): Caller,
) -> std::result::Result<(StatusCode, Json<TicketResponse>), ApiError> {
    let ticket = s.tickets.issue(actor)?;
    Ok((
        StatusCode::CREATED,
        Json(TicketResponse {
            ticket,
            expires_in: TICKET_TTL.as_secs(),
        }),
    ))
}
