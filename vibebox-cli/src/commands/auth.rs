//! `vibebox login`, `logout` and `whoami`.

use secrecy::{ExposeSecret, SecretString};
use vibebox_client::{Credential, ErrorKind};

use crate::cli::LoginArgs;
use crate::config::{self, Hosts, Login, StoredCredential};
use crate::context::{self, Context};
use crate::error::CliError;
use crate::terminal;

/// Signs in and stores the credential for the server (which becomes the default).
pub async fn login(url: Option<&str>, args: LoginArgs) -> Result<u8, CliError> {
    let mut hosts = Hosts::load()?;
    let server = hosts.server(args.server.as_deref().or(url))?;
    let env_token = std::env::var("VIBEBOX_TOKEN")
        .ok()
        .filter(|t| !t.trim().is_empty());
    let (user, credential) = if args.token || args.api_key || env_token.is_some() {
        let token = match env_token {
            Some(token) => SecretString::from(token.trim().to_owned()),
            None => terminal::prompt_secret("Token: ")?,
        };
        let token = SecretString::from(token.expose_secret().trim().to_owned());
        if token.expose_secret().is_empty() {
            return Err(CliError::usage(
                "no token was given",
                "pipe it in: `echo $TOKEN | vibebox login --token URL`",
            ));
        }
        if args.api_key && !token.expose_secret().starts_with("vbx_") {
            return Err(CliError::usage(
                "that is not an API key (they start with vbx_)",
                "create one with `vibebox keys create NAME`, or use --token",
            ));
        }
        let client = context::client(&server, Credential::ApiKey(token.clone()))?;
        let me = client.me().await.map_err(refused)?;
        (me, StoredCredential::Bearer { token })
    } else {
        let email = match args.email {
            Some(email) => email,
            None => terminal::prompt_line("Email: ")?,
        };
        if email.is_empty() {
            return Err(CliError::usage("no email was given", "pass --email"));
        }
        let password = terminal::prompt_secret("Password: ")?;
        let client = context::client(&server, Credential::None)?;
        let signed_in = client.login(&email, &password).await.map_err(refused)?;
        (
            signed_in.user,
            StoredCredential::Tokens {
                access_token: signed_in.tokens.access,
                refresh_token: signed_in.tokens.refresh,
            },
        )
    };
    hosts.servers.insert(
        server.clone(),
        Login {
            user: Some(user.email.clone()),
            credential,
        },
    );
    hosts.default = Some(server.clone());
    hosts.save()?;
    eprintln!("Signed in to {server} as {}.", user.email);
    Ok(0)
}

/// A refused sign-in says so plainly (not "sign in again").
fn refused(e: vibebox_client::ClientError) -> CliError {
    if e.kind() == ErrorKind::Unauthenticated {
        CliError::auth(
            "the server refused these credentials",
            "check the email and password, or the token",
        )
    } else {
        e.into()
    }
}

/// Revokes this device's refresh token (when it is one) and forgets the server.
pub async fn logout(url: Option<&str>) -> Result<u8, CliError> {
    let mut hosts = Hosts::load()?;
    let server = hosts.server(url)?;
    let Some(login) = hosts.servers.remove(&server) else {
        eprintln!("Not signed in to {server}.");
        return Ok(0);
    };
    if let StoredCredential::Tokens { refresh_token, .. } = &login.credential {
        let client = context::client(&server, Credential::None)?;
        if let Err(e) = client.revoke_refresh_token(refresh_token).await {
            // Forget it anyway: the user asked to be signed out of this machine.
            eprintln!("warning: the server did not revoke the sign-in: {e}");
        }
    }
    if hosts.default.as_deref() == Some(server.as_str()) {
        hosts.default = hosts.servers.keys().next().cloned();
    }
    hosts.save()?;
    eprintln!("Signed out of {server}.");
    Ok(0)
}

/// Who the credential belongs to, according to the server.
pub async fn whoami(ctx: &Context) -> Result<u8, CliError> {
    let me = ctx.client.me().await?;
    ctx.out.print(&me, |out| {
        out.fields(&[
            ("email", me.email.clone()),
            ("name", me.display_name.clone()),
            ("id", me.id.to_string()),
            ("server", config::normalize(&ctx.server)),
        ])
    })?;
    Ok(0)
}
