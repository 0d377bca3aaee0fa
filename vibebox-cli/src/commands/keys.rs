//! `vibebox keys list|create|rm`: API keys. A new key's secret is printed once, on stdout
//! (so it can be piped into a secret store), and never again.

use std::str::FromStr;

use secrecy::ExposeSecret;
use vibebox_client::{NewApiKey, collect_all};
use vibebox_core::domain::Scope;
use vibebox_core::id::ApiKeyId;

use crate::cli::KeysCommand;
use crate::context::Context;
use crate::error::{CliError, Kind};
use crate::output::when;

/// Runs a keys command.
pub async fn run(ctx: &Context, command: KeysCommand) -> Result<u8, CliError> {
    let client = &ctx.client;
    match command {
        KeysCommand::List => {
            let keys = collect_all(|page| client.list_api_keys(page)).await?;
            ctx.out.print(&keys, |out| {
                let rows = keys
                    .iter()
                    .map(|k| {
                        vec![
                            k.name.clone(),
                            k.prefix.clone(),
                            k.scopes
                                .iter()
                                .map(|s| s.to_string())
                                .collect::<Vec<_>>()
                                .join(","),
                            when(Some(k.expires_at)),
                            when(k.last_used_at),
                            k.id.to_string(),
                        ]
                    })
                    .collect::<Vec<_>>();
                out.table(
                    &["name", "prefix", "scopes", "expires", "last used", "id"],
                    &rows,
                )
            })?;
        }
        KeysCommand::Create {
            name,
            expires_in_days,
            scopes,
        } => {
            let scopes = if scopes.is_empty() {
                Scope::ALL
                    .iter()
                    .copied()
                    .filter(|s| *s != Scope::Admin)
                    .collect()
            } else {
                scopes
                    .iter()
                    .map(|s| {
                        Scope::from_str(s).map_err(|_| {
                            CliError::usage(
                                format!("--scope: `{s}` is not a scope"),
                                "see `vibebox keys create --help` for the list",
                            )
                        })
                    })
                    .collect::<Result<Vec<_>, _>>()?
            };
            let expires_at = expires_in_days
                .map(|days| chrono::Utc::now() + chrono::Duration::days(i64::from(days)));
            let created = client
                .create_api_key(&NewApiKey {
                    name,
                    scopes,
                    expires_at,
                })
                .await?;
            if ctx.out.json {
                crate::output::print_json(&created)?;
            } else {
                eprintln!(
                    "Created key {} ({}); it is shown once, store it now:",
                    created.key.name, created.key.prefix
                );
                println!("{}", created.token.expose_secret());
            }
        }
        KeysCommand::Rm { key } => {
            let id = match ApiKeyId::from_str(&key) {
                Ok(id) => id,
                Err(_) => collect_all(|page| client.list_api_keys(page))
                    .await?
                    .into_iter()
                    .find(|k| k.prefix == key || k.name == key)
                    .map(|k| k.id)
                    .ok_or_else(|| {
                        CliError::new(
                            Kind::NotFound,
                            format!("no API key `{key}`"),
                            "`vibebox keys list` shows them",
                        )
                    })?,
            };
            client.delete_api_key(id).await?;
            eprintln!("Revoked key {key}.");
        }
    }
    Ok(0)
}
