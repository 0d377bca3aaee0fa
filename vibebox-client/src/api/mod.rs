//! The REST operations, one module per area of the API; each adds methods to
//! [`Client`](crate::Client) and holds the request and answer types it needs beyond
//! `vibebox-core`'s.

pub mod api_keys;
pub mod audit;
pub mod auth;
pub mod devices;
pub mod environments;
pub mod exec;
pub mod extensions;
pub mod files;
pub mod health;
pub mod logs;
pub mod oauth;
pub mod ports;
pub mod preview;
pub mod projects;
pub mod sessions;
pub mod ssh_gateway;
pub mod ssh_keys;
pub mod teams;
pub mod users;
pub mod variables;
