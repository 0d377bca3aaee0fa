//! The WebSockets under `/api/v1/ws/`: live logs, status (of an environment, or of all of a
//! project's), terminals, streaming exec and TCP tunnels. Each is opened with
//! `Authorization: Bearer` (an API key or an access token alike, refreshed and retried once
//! on 401) and the `vibebox.v1` subprotocol; a refused upgrade is the server's problem
//! document, as for any request.

pub mod connect;
pub mod exec;
pub(crate) mod frames;
pub mod json;
pub mod logs;
pub mod project_status;
pub mod status;
pub mod terminal;
pub mod ticket;
pub mod tunnel;
