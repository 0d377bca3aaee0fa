//! What every command starts from: the server, a client signed in to it, and how to print.
//!
//! The credential is `VIBEBOX_TOKEN` when set (an API key or an access token, never stored),
//! else the sign-in that `vibebox login` stored for the server. Tokens that the client
//! refreshes are written back at once: the refresh token rotates, and the old one is dead.

use std::sync::Arc;

use secrecy::SecretString;
use vibebox_client::{Client, Credential, TokenPair};

use crate::config::{Hosts, StoredCredential};
use crate::error::CliError;
use crate::output::Output;

/// The user agent the CLI sends.
pub const USER_AGENT: &str = concat!("vibebox-cli/", env!("CARGO_PKG_VERSION"));

/// A signed-in client and the output settings.
pub struct Context {
    /// The client.
    pub client: Client,
    /// The server's URL (the hosts file's key).
    pub server: String,
    /// How to print.
    pub out: Output,
}

impl Context {
    /// A client of the server that `--url`/`VIBEBOX_URL` or the hosts file names, with its
    /// credential. Errors: not signed in (exit 3) with the command that fixes it.
    pub fn signed_in(url: Option<&str>, json: bool) -> Result<Self, CliError> {
        let hosts = Hosts::load()?;
        let server = hosts.server(url)?;
        let env_token = std::env::var("VIBEBOX_TOKEN")
            .ok()
            .filter(|t| !t.trim().is_empty());
        let credential = match env_token {
            Some(token) => Credential::ApiKey(SecretString::from(token.trim().to_owned())),
            None => match hosts.servers.get(&server) {
                Some(login) => match &login.credential {
                    StoredCredential::Tokens {
                        access_token,
                        refresh_token,
                    } => Credential::Tokens {
                        access: access_token.clone(),
                        refresh: refresh_token.clone(),
                    },
                    StoredCredential::Bearer { token } => Credential::ApiKey(token.clone()),
                },
                None => {
                    return Err(CliError::auth(
                        format!("not signed in to {server}"),
                        format!("run `vibebox login {server}`"),
                    ));
                }
            },
        };
        let client = client(&server, credential)?;
        let key = server.clone();
        client.on_tokens_refreshed(Arc::new(move |pair: &TokenPair| {
            save_rotated(&key, pair);
        }));
        Ok(Self {
            client,
            server,
            out: Output::detect(json),
        })
    }
}

/// A client of `server` with `credential` and the CLI's user agent.
pub fn client(server: &str, credential: Credential) -> Result<Client, CliError> {
    Client::builder(server)
        .credential(credential)
        .user_agent(USER_AGENT)
        .build()
        .map_err(|e| {
            CliError::usage(
                format!("{server}: {e}"),
                "give a URL like http://127.0.0.1:8080",
            )
        })
}

/// Writes a refreshed pair to the hosts file; a failure is reported, not fatal (the command
/// goes on, and the next one signs in again).
fn save_rotated(server: &str, pair: &TokenPair) {
    let result = Hosts::load().and_then(|mut hosts| {
        hosts.replace_tokens(server, &pair.access, &pair.refresh);
        hosts.save()
    });
    match result {
        Ok(()) => tracing::debug!(server, "saved the rotated tokens"),
        Err(e) => eprintln!("warning: could not save the refreshed sign-in: {e}"),
    }
}
