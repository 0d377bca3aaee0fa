//! Sign-in with OAuth 2.0 providers (GitHub, Google, or any with the same shape): the
//! authorization code flow with `state` and PKCE S256. People are identified by
//! (provider, subject), never by email; core creates the account on first sign-in.

mod client;
mod exchange;
mod flow;
mod provider;

pub use client::{PROVIDER_TIMEOUT, ProviderClient};
pub use flow::{FLOW_TTL, MAX_RETURN_TO, check_return_to};
pub use provider::{OAuthProvider, ProfileFormat};

pub(crate) use exchange::{exchange_code, printable, profile};
pub(crate) use flow::{cookie, cookie_name, returned, set_cookie, start};
