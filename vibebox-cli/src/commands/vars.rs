//! `vibebox vars list|set|secret|rm ENV …`. Secret values are read from stdin or a prompt,
//! never from the command line, and the server masks them in every listing.

use secrecy::SecretString;
use vibebox_client::{NewVariable, collect_all};

use crate::cli::VarsCommand;
use crate::context::Context;
use crate::error::CliError;
use crate::output::when;
use crate::{parse, resolve, terminal};

/// Runs a variables command.
pub async fn run(ctx: &Context, command: VarsCommand) -> Result<u8, CliError> {
    let client = &ctx.client;
    match command {
        VarsCommand::List { env } => {
            let id = resolve::environment_id(client, &env).await?;
            let vars = collect_all(|page| client.list_variables(id, page)).await?;
            ctx.out.print(&vars, |out| {
                let rows = vars
                    .iter()
                    .map(|v| {
                        vec![
                            v.key.clone(),
                            v.value.clone(),
                            if v.is_encrypted { "yes" } else { "no" }.into(),
                            when(Some(v.updated_at)),
                        ]
                    })
                    .collect::<Vec<_>>();
                out.table(&["key", "value", "encrypted", "updated"], &rows)
            })?;
        }
        VarsCommand::Set { env, pairs } => {
            let parsed = pairs
                .iter()
                .map(|p| parse::pair("KEY=VALUE", p))
                .collect::<Result<Vec<_>, _>>()?;
            let id = resolve::environment_id(client, &env).await?;
            for (key, value) in parsed {
                client.set_variable(id, &plain(key, value)).await?;
            }
            eprintln!(
                "Set {} variable(s); they apply at the next start.",
                pairs.len()
            );
        }
        VarsCommand::Secret { env, key } => {
            let id = resolve::environment_id(client, &env).await?;
            let value = terminal::prompt_secret(&format!("{key}: "))?;
            client.set_variable(id, &secret(&key, value)).await?;
            eprintln!("Set secret {key}; it applies at the next start.");
        }
        VarsCommand::Rm { env, keys } => {
            let id = resolve::environment_id(client, &env).await?;
            for key in &keys {
                client.delete_variable(id, key).await?;
            }
            eprintln!("Removed {} variable(s).", keys.len());
        }
    }
    Ok(0)
}

/// A plain variable.
pub fn plain(key: &str, value: &str) -> NewVariable {
    NewVariable {
        key: key.to_owned(),
        value: SecretString::from(value.to_owned()),
        is_encrypted: false,
    }
}

/// An encrypted variable.
pub fn secret(key: &str, value: SecretString) -> NewVariable {
    NewVariable {
        key: key.to_owned(),
        value,
        is_encrypted: true,
    }
}
